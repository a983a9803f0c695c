//! A small tar writer for the Build page: the files a user typed or picked become the build
//! context the browser posts to `POST /build` (ustar headers, GNU long names for paths over
//! 100 bytes, regular files and their parent directories only).

const BLOCK: usize = 512;

/// Builds an uncompressed tar in memory.
#[derive(Default)]
pub struct TarWriter {
    out: Vec<u8>,
    dirs: Vec<String>,
}

/// `value` as a zero-padded octal field of `width` bytes (the last one NUL).
fn octal(field: &mut [u8], value: u64) {
    let width = field.len() - 1;
    let text = format!("{value:0width$o}");
    let bytes = text.as_bytes();
    let start = bytes.len().saturating_sub(width);
    field[..width].copy_from_slice(&bytes[start..]);
    field[width] = 0;
}

fn header(name: &[u8], size: u64, mode: u32, kind: u8, mtime: u64) -> [u8; BLOCK] {
    let mut h = [0u8; BLOCK];
    let n = name.len().min(100);
    h[..n].copy_from_slice(&name[..n]);
    octal(&mut h[100..108], u64::from(mode));
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    octal(&mut h[124..136], size);
    octal(&mut h[136..148], mtime);
    h[156] = kind;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].fill(b' ');
    let sum: u64 = h.iter().map(|b| u64::from(*b)).sum();
    let text = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(text.as_bytes());
    h
}

impl TarWriter {
    pub fn new() -> Self {
        Self::default()
    }

    fn pad(&mut self) {
        let rest = self.out.len() % BLOCK;
        if rest != 0 {
            self.out.resize(self.out.len() + BLOCK - rest, 0);
        }
    }

    fn entry(&mut self, name: &str, data: &[u8], mode: u32, kind: u8, mtime: u64) {
        if name.len() > 100 {
            // A GNU long-name record first: `././@LongLink`, typeflag 'L'.
            let mut long = name.as_bytes().to_vec();
            long.push(0);
            let h = header(b"././@LongLink", long.len() as u64, 0o644, b'L', 0);
            self.out.extend_from_slice(&h);
            self.out.extend_from_slice(&long);
            self.pad();
        }
        let h = header(name.as_bytes(), data.len() as u64, mode, kind, mtime);
        self.out.extend_from_slice(&h);
        self.out.extend_from_slice(data);
        self.pad();
    }

    /// Adds a file at `path` (relative, `/`-separated; `.`/`..` and empty parts dropped),
    /// with its parent directories before it. Returns the cleaned path, or `None` when
    /// nothing is left of it.
    pub fn add_file(&mut self, path: &str, data: &[u8], mode: u32, mtime: u64) -> Option<String> {
        let parts: Vec<&str> = path
            .split('/')
            .filter(|p| !p.is_empty() && *p != "." && *p != "..")
            .collect();
        let (name, parents) = parts.split_last()?;
        let mut dir = String::new();
        for part in parents {
            if !dir.is_empty() {
                dir.push('/');
            }
            dir.push_str(part);
            if !self.dirs.contains(&dir) {
                self.dirs.push(dir.clone());
                let entry = format!("{dir}/");
                self.entry(&entry, &[], 0o755, b'5', mtime);
            }
        }
        let full = if dir.is_empty() {
            (*name).to_string()
        } else {
            format!("{dir}/{name}")
        };
        self.entry(&full, data, mode, b'0', mtime);
        Some(full)
    }

    /// The archive, with its two end blocks.
    pub fn finish(mut self) -> Vec<u8> {
        self.out.resize(self.out.len() + 2 * BLOCK, 0);
        self.out
    }
}

/// Where a picked file goes in the context: a folder upload's files lose the folder's own
/// name (`site/index.html` → `index.html`), single files keep their name.
pub fn context_path(relative: &str, name: &str) -> String {
    match relative.split_once('/') {
        Some((_, rest)) if !rest.is_empty() => rest.to_string(),
        _ => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn the_tar_crate_reads_what_is_written() {
        let mut w = TarWriter::new();
        assert_eq!(
            w.add_file("Dockerfile", b"FROM busybox\n", 0o644, 1_700_000_000)
                .as_deref(),
            Some("Dockerfile")
        );
        w.add_file("./src//app/../main.rs", b"fn main() {}", 0o600, 0);
        let long = format!("{}/file.txt", "d".repeat(120));
        w.add_file(&long, b"x", 0o644, 0);
        assert_eq!(w.add_file("../..", b"", 0o644, 0), None);
        let bytes = w.finish();
        assert_eq!(bytes.len() % 512, 0);
        let mut archive = tar::Archive::new(&bytes[..]);
        let mut seen = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let mode = entry.header().mode().unwrap();
            let mut body = String::new();
            entry.read_to_string(&mut body).unwrap();
            seen.push((path, mode, body));
        }
        assert_eq!(
            seen[0],
            ("Dockerfile".into(), 0o644, "FROM busybox\n".into())
        );
        assert_eq!(seen[1].0, "src/");
        assert_eq!(seen[2].0, "src/app/");
        assert_eq!(
            seen[3],
            ("src/app/main.rs".into(), 0o600, "fn main() {}".into())
        );
        assert_eq!(seen.last().unwrap().0, long);
    }

    #[test]
    fn folder_uploads_drop_the_folder_name() {
        assert_eq!(context_path("site/index.html", "index.html"), "index.html");
        assert_eq!(context_path("site/a/b.txt", "b.txt"), "a/b.txt");
        assert_eq!(context_path("", "single.txt"), "single.txt");
    }
}
