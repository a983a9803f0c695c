//! Entry names: lexical normalisation and whiteout classification.
//!
//! Names are cleaned *lexically*, before the filesystem is touched: `.` and empty components
//! go, a leading `/` makes the name relative to the layer root (as Docker does), and `..` pops
//! the previous component — a `..` with nothing left to pop is an escape and an error
//! (CVE-2014-9356, CVE-2014-6407: `../` names and absolute names wrote outside the rootfs). The
//! cleaned name never contains `..`, so the kernel never walks up a directory on our behalf;
//! symlinks met on the way are handled by `openat2(RESOLVE_IN_ROOT)` in `resolve.rs`.

/// Why a name was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NameError {
    Empty,
    Nul,
    Escape,
}

/// A cleaned name relative to the layer root: components joined by `/`, no `.`, `..` or empty
/// components. The empty path is the layer root itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NormPath {
    bytes: Vec<u8>,
    /// Where the last component starts (0 when there is one component or none).
    name_start: usize,
}

impl NormPath {
    /// Cleans `raw` (see the module docs).
    pub(crate) fn new(raw: &[u8]) -> Result<Self, NameError> {
        if raw.is_empty() {
            return Err(NameError::Empty);
        }
        if raw.contains(&0) {
            return Err(NameError::Nul);
        }
        let mut bytes: Vec<u8> = Vec::with_capacity(raw.len());
        for component in raw.split(|&b| b == b'/') {
            match component {
                b"" | b"." => {}
                b".." => {
                    if bytes.is_empty() {
                        return Err(NameError::Escape);
                    }
                    let cut = bytes.iter().rposition(|&b| b == b'/').unwrap_or(0);
                    bytes.truncate(cut);
                }
                name => {
                    if !bytes.is_empty() {
                        bytes.push(b'/');
                    }
                    bytes.extend_from_slice(name);
                }
            }
        }
        let name_start = bytes
            .iter()
            .rposition(|&b| b == b'/')
            .map_or(0, |slash| slash + 1);
        Ok(Self { bytes, name_start })
    }

    /// The whole cleaned path (empty for the root).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// True for the layer root itself (`./`, `/`).
    pub(crate) fn is_root(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The parent directory (empty for the root and for top-level names).
    pub(crate) fn parent(&self) -> &[u8] {
        &self.bytes[..self.name_start.saturating_sub(1)]
    }

    /// The last component (empty for the root). Never contains `/`, never `.` or `..`.
    pub(crate) fn name(&self) -> &[u8] {
        &self.bytes[self.name_start..]
    }

    /// The path of `name` inside this directory.
    pub(crate) fn join(&self, name: &[u8]) -> NormPath {
        let mut bytes = self.bytes.clone();
        if !bytes.is_empty() {
            bytes.push(b'/');
        }
        let name_start = bytes.len();
        bytes.extend_from_slice(name);
        NormPath { bytes, name_start }
    }

    /// The parent directory as a path of its own.
    pub(crate) fn parent_path(&self) -> NormPath {
        let bytes = self.parent().to_vec();
        let name_start = bytes
            .iter()
            .rposition(|&b| b == b'/')
            .map_or(0, |slash| slash + 1);
        NormPath { bytes, name_start }
    }
}

/// `.wh.`: a whiteout marks `<name>` in the layers below as deleted.
const WHITEOUT_PREFIX: &[u8] = b".wh.";
/// `.wh..wh.`: AUFS metadata (`.wh..wh..opq`, `.wh..wh.plnk`, `.wh..wh.aufs`).
const WHITEOUT_META_PREFIX: &[u8] = b".wh..wh.";
/// `.wh..wh..opq`: the directory holding it hides the directory of the same path below.
const WHITEOUT_OPAQUE: &[u8] = b".wh..wh..opq";

/// What an entry's last component says about whiteouts.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Whiteout<'a> {
    /// An ordinary name.
    No,
    /// `.wh.<name>`: delete `<name>` from the layers below.
    Remove(&'a [u8]),
    /// `.wh..wh..opq`: make the parent directory opaque.
    Opaque,
    /// Other `.wh..wh.` names: AUFS bookkeeping, meaningless on overlayfs; skipped.
    AufsMeta,
}

/// Classifies the last component `name`. `.wh.`, `.wh..` and `.wh...` (whiting out nothing, `.`
/// or `..`) are invalid: containerd and moby reject them too, since a whiteout of `..` would
/// name the parent's parent (moby/go-archive `TestOverlayUntarInvalidWhiteoutNames`).
pub(crate) fn whiteout(name: &[u8]) -> Result<Whiteout<'_>, ()> {
    if name == WHITEOUT_OPAQUE {
        return Ok(Whiteout::Opaque);
    }
    if name.starts_with(WHITEOUT_META_PREFIX) {
        return Ok(Whiteout::AufsMeta);
    }
    match name.strip_prefix(WHITEOUT_PREFIX) {
        None => Ok(Whiteout::No),
        Some(b"" | b"." | b"..") => Err(()),
        Some(target) => Ok(Whiteout::Remove(target)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(raw: &str) -> Result<String, NameError> {
        NormPath::new(raw.as_bytes()).map(|p| String::from_utf8(p.as_bytes().to_vec()).unwrap())
    }

    #[test]
    fn strips_dot_slash_and_leading_slash() {
        assert_eq!(clean("./etc/passwd").unwrap(), "etc/passwd");
        assert_eq!(clean("/etc/passwd").unwrap(), "etc/passwd");
        assert_eq!(clean("//etc//./passwd/").unwrap(), "etc/passwd");
        assert_eq!(clean("./").unwrap(), "");
        assert_eq!(clean("/").unwrap(), "");
        assert_eq!(clean(".").unwrap(), "");
    }

    #[test]
    fn dotdot_inside_is_folded() {
        assert_eq!(clean("a/b/../c").unwrap(), "a/c");
        assert_eq!(clean("a/..").unwrap(), "");
        assert_eq!(clean("/a/../b").unwrap(), "b");
    }

    #[test]
    fn dotdot_above_the_root_is_an_escape() {
        for raw in [
            "..",
            "../x",
            "../../x",
            "a/../../x",
            "/../x",
            "./a/b/../../../etc",
        ] {
            assert_eq!(clean(raw), Err(NameError::Escape), "{raw}");
        }
    }

    #[test]
    fn empty_and_nul_are_refused() {
        assert_eq!(clean(""), Err(NameError::Empty));
        assert_eq!(NormPath::new(b"a\0b"), Err(NameError::Nul));
    }

    #[test]
    fn parent_and_name() {
        let p = NormPath::new(b"a/b/c").unwrap();
        assert_eq!(p.parent(), b"a/b");
        assert_eq!(p.name(), b"c");
        assert_eq!(p.parent_path().as_bytes(), b"a/b");
        assert_eq!(p.parent_path().name(), b"b");
        let top = NormPath::new(b"c").unwrap();
        assert_eq!(top.parent(), b"");
        assert_eq!(top.name(), b"c");
        let root = NormPath::new(b"./").unwrap();
        assert!(root.is_root());
        assert_eq!(root.parent(), b"");
        assert_eq!(root.name(), b"");
        assert_eq!(root.join(b"x").as_bytes(), b"x");
        assert_eq!(p.join(b"x").as_bytes(), b"a/b/c/x");
        assert_eq!(p.join(b"x").name(), b"x");
    }

    #[test]
    fn whiteouts() {
        assert_eq!(whiteout(b"file"), Ok(Whiteout::No));
        assert_eq!(whiteout(b".wh.file"), Ok(Whiteout::Remove(b"file")));
        assert_eq!(whiteout(b".wh..hidden"), Ok(Whiteout::Remove(b".hidden")));
        assert_eq!(whiteout(b".wh..wh..opq"), Ok(Whiteout::Opaque));
        assert_eq!(whiteout(b".wh..wh.plnk"), Ok(Whiteout::AufsMeta));
        assert_eq!(whiteout(b".wh."), Err(()));
        assert_eq!(whiteout(b".wh.."), Err(()));
        assert_eq!(whiteout(b".wh..."), Err(()));
        assert_eq!(whiteout(b"x.wh.file"), Ok(Whiteout::No));
    }
}
