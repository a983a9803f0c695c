//! Test helpers: temporary directories and a tar writer that writes whatever it is told —
//! `../` names, absolute hardlinks, lying sizes — which `tar::Builder` rightly refuses to.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A directory under /tmp, removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "berth-layer-{tag}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    pub(crate) fn root(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One header's fields.
#[derive(Clone)]
pub(crate) struct H {
    pub name: Vec<u8>,
    pub typeflag: u8,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    pub link: Vec<u8>,
    pub dev: (u32, u32),
    /// Size field when it should differ from the data written.
    pub size: Option<u64>,
    pub gnu: bool,
}

impl H {
    pub(crate) fn new(name: impl AsRef<[u8]>, typeflag: u8) -> Self {
        Self {
            name: name.as_ref().to_vec(),
            typeflag,
            mode: if typeflag == b'5' { 0o755 } else { 0o644 },
            uid: 0,
            gid: 0,
            mtime: 1_600_000_000,
            link: Vec::new(),
            dev: (0, 0),
            size: None,
            gnu: false,
        }
    }

    pub(crate) fn block(&self, data_len: u64) -> [u8; 512] {
        let mut h = if self.gnu {
            tar::Header::new_gnu()
        } else {
            tar::Header::new_ustar()
        };
        let old = h.as_old_mut();
        let n = self.name.len().min(100);
        old.name[..n].copy_from_slice(&self.name[..n]);
        let n = self.link.len().min(100);
        old.linkname[..n].copy_from_slice(&self.link[..n]);
        old.linkflag = [self.typeflag];
        h.set_mode(self.mode);
        h.set_uid(self.uid);
        h.set_gid(self.gid);
        h.set_mtime(self.mtime);
        h.set_size(self.size.unwrap_or(data_len));
        h.set_device_major(self.dev.0).unwrap();
        h.set_device_minor(self.dev.1).unwrap();
        h.set_cksum();
        *h.as_bytes()
    }
}

/// A tar stream under construction.
#[derive(Default)]
pub(crate) struct Tar {
    pub bytes: Vec<u8>,
}

impl Tar {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// A header, then `data` padded to a block.
    pub(crate) fn entry(&mut self, h: &H, data: &[u8]) -> &mut Self {
        self.bytes.extend_from_slice(&h.block(data.len() as u64));
        self.data(data)
    }

    /// Raw data padded to a block.
    pub(crate) fn data(&mut self, data: &[u8]) -> &mut Self {
        self.bytes.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.bytes.extend(std::iter::repeat_n(0u8, pad));
        self
    }

    pub(crate) fn file(&mut self, name: &str, data: &[u8]) -> &mut Self {
        self.entry(&H::new(name, b'0'), data)
    }

    pub(crate) fn file_with(
        &mut self,
        name: &str,
        data: &[u8],
        f: impl FnOnce(&mut H),
    ) -> &mut Self {
        let mut h = H::new(name, b'0');
        f(&mut h);
        self.entry(&h, data)
    }

    pub(crate) fn dir(&mut self, name: &str) -> &mut Self {
        self.entry(&H::new(name, b'5'), b"")
    }

    pub(crate) fn dir_with(&mut self, name: &str, f: impl FnOnce(&mut H)) -> &mut Self {
        let mut h = H::new(name, b'5');
        f(&mut h);
        self.entry(&h, b"")
    }

    pub(crate) fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        let mut h = H::new(name, b'2');
        h.link = target.as_bytes().to_vec();
        h.mode = 0o777;
        self.entry(&h, b"")
    }

    pub(crate) fn hardlink(&mut self, name: &str, target: &str) -> &mut Self {
        let mut h = H::new(name, b'1');
        h.link = target.as_bytes().to_vec();
        self.entry(&h, b"")
    }

    /// A PAX extended header for the next entry.
    pub(crate) fn pax(&mut self, records: &[(&str, &[u8])]) -> &mut Self {
        let mut data = Vec::new();
        for (key, value) in records {
            data.extend(pax_record(key, value));
        }
        let h = H::new("./PaxHeaders/x", b'x');
        self.entry(&h, &data)
    }

    /// A GNU long name for the next entry.
    pub(crate) fn long_name(&mut self, name: &[u8]) -> &mut Self {
        let mut data = name.to_vec();
        data.push(0);
        let mut h = H::new("././@LongLink", b'L');
        h.gnu = true;
        self.entry(&h, &data)
    }

    /// The end-of-archive marker; returns the bytes.
    pub(crate) fn finish(&mut self) -> Vec<u8> {
        self.bytes.extend_from_slice(&[0u8; 1024]);
        std::mem::take(&mut self.bytes)
    }
}

/// One PAX record with its length prefix.
pub(crate) fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let body_len = 1 + key.len() + 1 + value.len() + 1; // ' ' key '=' value '\n'
    let mut len = body_len + 1;
    while len.to_string().len() + body_len != len {
        len = len.to_string().len() + body_len;
    }
    let mut out = format!("{len} {key}=").into_bytes();
    out.extend_from_slice(value);
    out.push(b'\n');
    out
}
