//! The tar stream: blocks, checksums, extension headers (GNU long names, PAX) and sparse maps,
//! turned into one [`Entry`] at a time, with the entry's data read on demand.
//!
//! The `tar` crate parses each 512-byte header (`tar::Header`: fields, ustar prefix, base-256
//! numbers); the walk over the stream is ours, because its `Archive` iterator reads a GNU long
//! name or a PAX header whole, with no bound, before handing out the entry: a header declaring
//! a 1 GiB name costs 1 GiB of memory. Here every extension header's declared size is checked
//! against [`ApplyOptions::max_header_bytes`](super::ApplyOptions) *before* a byte of it is
//! read (CVE-2023-25153-class unbounded reads).
//!
//! Semantics follow Go's archive/tar, which Docker and containerd use, so that Berth sees the
//! same files they do: a PAX `size` overrides the ustar size (CVE-2026-33055); link, symlink,
//! device, directory and FIFO headers carry no data whatever their size field says; a `\0`
//! typeflag with a name ending in `/` is a directory; PAX global headers are skipped.

use std::io::{self, BufReader, Read};

use super::limits::Limits;
use super::pax::{self, Pax, Time};
use super::sparse::{Map1x0, SparseMap};
use crate::layer::LayerError;

const BLOCK: usize = 512;

/// What an entry creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    File,
    Dir,
    Symlink,
    Hardlink,
    CharDevice,
    BlockDevice,
    Fifo,
}

/// One archive member with every extension applied.
#[derive(Debug)]
pub(crate) struct Entry {
    /// The name as the archive gives it (PAX `path` > GNU long name > ustar prefix + name).
    pub path: Vec<u8>,
    /// Symlink or hardlink target (PAX `linkpath` > GNU long link > ustar linkname).
    pub link: Vec<u8>,
    pub kind: Kind,
    /// Permission bits including setuid, setgid and sticky (`0o7777`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: Time,
    pub atime: Time,
    pub dev_major: u32,
    pub dev_minor: u32,
    /// Bytes of data that follow in the archive (0 for header-only kinds).
    pub size: u64,
    /// For sparse files, where the data goes.
    pub sparse: Option<SparseMap>,
    /// `SCHILY.xattr.*` PAX records, unfiltered (policy is in `xattrs.rs`).
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

/// Extension headers collected for the next real entry.
#[derive(Default)]
struct Extensions {
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    pax: Option<Pax>,
}

impl Extensions {
    fn any(&self) -> bool {
        self.long_name.is_some() || self.long_link.is_some() || self.pax.is_some()
    }
}

/// A tar stream read one entry at a time.
pub(crate) struct TarStream<R> {
    inner: BufReader<R>,
    /// Bytes consumed so far (for error messages).
    offset: u64,
    /// Data bytes of the current entry not read yet.
    data_left: u64,
    /// Padding after the current entry's data.
    pad_left: u64,
    limits: Limits,
}

impl<R: Read> TarStream<R> {
    pub(crate) fn new(reader: R, limits: Limits) -> Self {
        Self {
            inner: BufReader::with_capacity(64 * 1024, reader),
            offset: 0,
            data_left: 0,
            pad_left: 0,
            limits,
        }
    }

    /// The limits, for the extractor's data budget.
    pub(crate) fn limits(&mut self) -> &mut Limits {
        &mut self.limits
    }

    /// The next entry, or `None` at the end of the archive. Unread data of the previous entry
    /// is skipped first.
    pub(crate) fn next_entry(&mut self) -> Result<Option<Entry>, LayerError> {
        self.skip(self.data_left)?;
        let pad = self.pad_left;
        self.data_left = 0;
        self.pad_left = 0;
        // A stream that ends in the last entry's padding (no end-of-archive blocks) is
        // complete, as Go's reader has it: the docker CLI sends such contexts when it
        // appends a file (`-f` outside the context).
        if !self.skip_padding(pad)? {
            return Ok(None);
        }
        self.limits.start_headers();
        let mut ext = Extensions::default();
        loop {
            let start = self.offset;
            let mut header = tar::Header::new_old();
            if !self.read_block(header.as_mut_bytes())? {
                // EOF on a block boundary: an archive without its two zero blocks, which Go's
                // reader also accepts. The caller's digest vouches for the bytes.
                return if ext.any() {
                    Err(self.malformed(start, "extension headers at the end of the stream"))
                } else {
                    Ok(None)
                };
            }
            if header.as_bytes().iter().all(|&b| b == 0) {
                return self.end_of_archive(start, &ext).map(|()| None);
            }
            self.check_checksum(&header, start)?;
            let typeflag = header.as_old().linkflag[0];
            match typeflag {
                b'L' | b'K' | b'x' | b'g' => {
                    let what = match typeflag {
                        b'L' => "GNU long name",
                        b'K' => "GNU long link name",
                        b'x' => "PAX header",
                        _ => "PAX global header",
                    };
                    let size = self.number(header.entry_size(), start)?;
                    if typeflag == b'g' {
                        // Skipped like Docker does (moby/go-archive `TestXGlobalNoParent`), but
                        // it still costs an entry and is bounded like any header.
                        if ext.any() {
                            return Err(self.malformed(start, "PAX global header inside an entry"));
                        }
                        self.limits.entry()?;
                        self.limits.header(what, &header.path_bytes(), size)?;
                        self.skip(padded(size))?;
                        self.limits.start_headers();
                        continue;
                    }
                    self.limits.header(what, &header.path_bytes(), size)?;
                    let data = self.read_extension(size)?;
                    let duplicate = match typeflag {
                        b'L' => ext.long_name.replace(trim_nuls(data)).is_some(),
                        b'K' => ext.long_link.replace(trim_nuls(data)).is_some(),
                        _ => {
                            let parsed = pax::parse(&data).map_err(|e| self.malformed(start, e))?;
                            ext.pax.replace(parsed).is_some()
                        }
                    };
                    if duplicate {
                        return Err(self.malformed(start, format!("two {what}s for one entry")));
                    }
                }
                _ => return self.entry(&header, ext, start).map(Some),
            }
        }
    }

    /// Reads up to `buf.len()` bytes of the current entry's data; 0 once it is all read.
    pub(crate) fn read_data(&mut self, buf: &mut [u8]) -> Result<usize, LayerError> {
        let want = buf
            .len()
            .min(usize::try_from(self.data_left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = self.read_some(&mut buf[..want])?;
        if n == 0 {
            return Err(self.malformed(self.offset, "the stream ends inside an entry's data"));
        }
        self.data_left -= n as u64;
        Ok(n)
    }

    /// Reads the stream to its end, so the caller's digest covers every byte. Returns the total
    /// number of bytes read.
    pub(crate) fn finish(mut self) -> Result<u64, LayerError> {
        let offset = self.offset;
        let rest = io::copy(&mut self.inner, &mut io::sink())
            .map_err(|source| LayerError::Read { offset, source })?;
        Ok(self.offset + rest)
    }

    /// Builds the entry from its header and the extension headers before it.
    fn entry(
        &mut self,
        header: &tar::Header,
        ext: Extensions,
        start: u64,
    ) -> Result<Entry, LayerError> {
        let Extensions {
            long_name,
            long_link,
            pax,
        } = ext;
        let mut pax = pax.unwrap_or_default();
        let mut path = pax
            .path
            .take()
            .or(long_name)
            .unwrap_or_else(|| header.path_bytes().into_owned());
        let link = pax
            .linkpath
            .take()
            .or(long_link)
            .or_else(|| header.link_name_bytes().map(|l| l.into_owned()))
            .unwrap_or_default();
        self.limits.entry()?;

        let typeflag = header.as_old().linkflag[0];
        let kind = match typeflag {
            b'0' | b'7' | b'S' => Kind::File,
            b'\0' if path.ends_with(b"/") => Kind::Dir,
            b'\0' => Kind::File,
            b'1' => Kind::Hardlink,
            b'2' => Kind::Symlink,
            b'3' => Kind::CharDevice,
            b'4' => Kind::BlockDevice,
            b'5' => Kind::Dir,
            b'6' => Kind::Fifo,
            other => {
                return Err(LayerError::InvalidEntry {
                    path: String::from_utf8_lossy(&path).into_owned(),
                    reason: format!("unsupported entry type {:?}", char::from(other)),
                });
            }
        };
        let old = header.as_old();
        let mode = self.number_or_zero(&old.mode, header.mode().map(u64::from), start)? & 0o7777;
        let mode = u32::try_from(mode).unwrap_or(0);
        let uid = match pax.uid {
            Some(uid) => uid,
            None => self.number_or_zero(&old.uid, header.uid(), start)?,
        };
        let uid = id(uid, "uid", &path)?;
        let gid = match pax.gid {
            Some(gid) => gid,
            None => self.number_or_zero(&old.gid, header.gid(), start)?,
        };
        let gid = id(gid, "gid", &path)?;
        let mtime = match pax.mtime {
            Some(t) => t,
            None => Time {
                secs: i64::try_from(self.number_or_zero(&old.mtime, header.mtime(), start)?)
                    .unwrap_or(i64::MAX),
                nanos: 0,
            },
        };
        let atime = pax.atime.unwrap_or(mtime);
        let (dev_major, dev_minor) = match kind {
            Kind::CharDevice | Kind::BlockDevice => {
                let raw = header
                    .as_ustar()
                    .map(|h| (h.dev_major, h.dev_minor))
                    .or_else(|| header.as_gnu().map(|h| (h.dev_major, h.dev_minor)));
                match raw {
                    // A v7 header has no device fields.
                    None => (0, 0),
                    Some((major, minor)) => (
                        self.device(&major, header.device_major(), start)?,
                        self.device(&minor, header.device_minor(), start)?,
                    ),
                }
            }
            _ => (0, 0),
        };
        let mut size = match pax.size {
            Some(size) => size,
            None => self.number_or_zero(&old.size, header.entry_size(), start)?,
        };
        if kind != Kind::File {
            size = 0;
        }

        // Sparse maps come before the data: in extension blocks after an old GNU header, in the
        // PAX records, or (1.0) at the start of the data itself.
        let mut sparse = None;
        if typeflag == b'S' {
            sparse = Some(self.gnu_sparse(header, &path, size, start)?);
        } else if kind == Kind::File && pax.sparse.any() {
            let records = &mut pax.sparse;
            let version = match (records.major, records.minor) {
                (Some(1), Some(0)) => Some(1),
                (Some(0), Some(0 | 1)) => Some(0),
                (None, None) if records.map.is_some() || !records.pairs.is_empty() => Some(0),
                (None, None) => None,
                (major, minor) => {
                    return Err(self.malformed(
                        start,
                        format!("unsupported GNU sparse format {major:?}.{minor:?}"),
                    ));
                }
            };
            if let Some(version) = version {
                if let Some(name) = records.name.take() {
                    path = name;
                }
                let real_size = records.real_size.unwrap_or(size);
                let pairs = if version == 1 {
                    // The map occupies whole blocks at the head of the data.
                    self.data_left = size;
                    let pairs = self.sparse_map_1x0(&path, start)?;
                    size = self.data_left;
                    self.data_left = 0;
                    pairs
                } else {
                    records
                        .map
                        .take()
                        .unwrap_or_else(|| std::mem::take(&mut records.pairs))
                };
                sparse = Some(
                    SparseMap::new(&pairs, real_size, size)
                        .map_err(|e| self.malformed(start, e))?,
                );
            }
        }

        // Only now is the entry's data (and its padding) "current".
        self.data_left = size;
        self.pad_left = padded(size) - size;
        Ok(Entry {
            path,
            link,
            kind,
            mode,
            uid,
            gid,
            mtime,
            atime,
            dev_major,
            dev_minor,
            size,
            sparse,
            xattrs: pax.xattrs,
        })
    }

    /// The old GNU sparse map: four slots in the header, then 21 per extension block.
    fn gnu_sparse(
        &mut self,
        header: &tar::Header,
        path: &[u8],
        size: u64,
        start: u64,
    ) -> Result<SparseMap, LayerError> {
        let Some(gnu) = header.as_gnu() else {
            return Err(self.malformed(start, "sparse entry without a GNU header"));
        };
        let mut pairs = Vec::new();
        let mut push = |slot: &tar::GnuSparseHeader, this: &Self| -> Result<(), LayerError> {
            if slot.offset.iter().all(|&b| b == 0) && slot.numbytes.iter().all(|&b| b == 0) {
                return Ok(());
            }
            pairs.push(this.number(slot.offset(), start)?);
            pairs.push(this.number(slot.length(), start)?);
            Ok(())
        };
        for slot in &gnu.sparse {
            push(slot, self)?;
        }
        let mut extended = gnu.is_extended();
        while extended {
            self.limits.header("GNU sparse map", path, BLOCK as u64)?;
            let mut block = tar::GnuExtSparseHeader::new();
            if !self.read_block(block.as_mut_bytes())? {
                return Err(self.malformed(self.offset, "the stream ends inside a sparse map"));
            }
            for slot in block.sparse() {
                push(slot, self)?;
            }
            extended = block.is_extended();
        }
        let real_size = self.number(gnu.real_size(), start)?;
        SparseMap::new(&pairs, real_size, size).map_err(|e| self.malformed(start, e))
    }

    /// The PAX 1.0 sparse map at the head of the data (`data_left` is the entry's data size).
    fn sparse_map_1x0(&mut self, path: &[u8], start: u64) -> Result<Vec<u64>, LayerError> {
        let mut parser = Map1x0::default();
        let mut block = [0u8; BLOCK];
        loop {
            if self.data_left < BLOCK as u64 {
                return Err(self.malformed(start, "sparse map longer than the entry's data"));
            }
            self.limits.header("GNU sparse map", path, BLOCK as u64)?;
            if !self.read_block(&mut block)? {
                return Err(self.malformed(self.offset, "the stream ends inside a sparse map"));
            }
            self.data_left -= BLOCK as u64;
            if let Some(pairs) = parser.feed(&block).map_err(|e| self.malformed(start, e))? {
                return Ok(pairs);
            }
        }
    }

    /// After a zero block: the second zero block, or EOF, ends the archive.
    fn end_of_archive(&mut self, start: u64, ext: &Extensions) -> Result<(), LayerError> {
        if ext.any() {
            return Err(self.malformed(start, "extension headers not followed by an entry"));
        }
        let mut second = [0u8; BLOCK];
        if self.read_block(&mut second)? && second.iter().any(|&b| b != 0) {
            return Err(self.malformed(start, "a lone zero block is followed by a header"));
        }
        Ok(())
    }

    fn check_checksum(&self, header: &tar::Header, start: u64) -> Result<(), LayerError> {
        let stored = self.number(header.cksum(), start)?;
        // The checksum field counts as spaces; old tars summed signed bytes (Go accepts both).
        let (mut unsigned, mut signed) = (0u32, 0i32);
        for (i, &b) in header.as_bytes().iter().enumerate() {
            let b = if (148..156).contains(&i) { b' ' } else { b };
            unsigned += u32::from(b);
            signed += i32::from(b as i8);
        }
        if stored != unsigned && i64::from(stored) != i64::from(signed) {
            return Err(self.malformed(start, "header checksum mismatch"));
        }
        Ok(())
    }

    /// Reads an extension header's data (its size already checked) and its padding.
    fn read_extension(&mut self, size: u64) -> Result<Vec<u8>, LayerError> {
        let len = usize::try_from(size)
            .map_err(|_| self.malformed(self.offset, "extension header too large"))?;
        let mut data = vec![0u8; len];
        self.read_exact(&mut data)?;
        self.skip(padded(size) - size)?;
        Ok(data)
    }

    /// Fills `buf` completely; `false` if the stream ended before its first byte.
    fn read_block(&mut self, buf: &mut [u8]) -> Result<bool, LayerError> {
        let n = self.read_some(buf)?;
        if n == 0 {
            return Ok(false);
        }
        self.read_exact(&mut buf[n..])?;
        Ok(true)
    }

    fn read_exact(&mut self, mut buf: &mut [u8]) -> Result<(), LayerError> {
        while !buf.is_empty() {
            let n = self.read_some(buf)?;
            if n == 0 {
                return Err(self.malformed(self.offset, "the stream ends inside a header"));
            }
            buf = &mut buf[n..];
        }
        Ok(())
    }

    fn skip(&mut self, mut amount: u64) -> Result<(), LayerError> {
        let mut scratch = [0u8; 8192];
        while amount > 0 {
            let want = scratch
                .len()
                .min(usize::try_from(amount).unwrap_or(usize::MAX));
            let n = self.read_some(&mut scratch[..want])?;
            if n == 0 {
                return Err(self.malformed(self.offset, "the stream ends inside an entry's data"));
            }
            amount -= n as u64;
        }
        Ok(())
    }

    /// Skips up to `amount` bytes of padding; false when the stream ended first.
    fn skip_padding(&mut self, mut amount: u64) -> Result<bool, LayerError> {
        let mut scratch = [0u8; BLOCK];
        while amount > 0 {
            let want = scratch
                .len()
                .min(usize::try_from(amount).unwrap_or(usize::MAX));
            let n = self.read_some(&mut scratch[..want])?;
            if n == 0 {
                return Ok(false);
            }
            amount -= n as u64;
        }
        Ok(true)
    }

    fn read_some(&mut self, buf: &mut [u8]) -> Result<usize, LayerError> {
        loop {
            match self.inner.read(buf) {
                Ok(n) => {
                    self.offset += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(LayerError::Read {
                        offset: self.offset,
                        source,
                    });
                }
            }
        }
    }

    /// A numeric header field, or a "malformed" error naming it.
    fn number<T>(&self, field: io::Result<T>, start: u64) -> Result<T, LayerError> {
        field.map_err(|e| self.malformed(start, e.to_string()))
    }

    /// A device number field, blank reading as 0.
    fn device(
        &self,
        raw: &[u8],
        field: io::Result<Option<u32>>,
        start: u64,
    ) -> Result<u32, LayerError> {
        if blank(raw) {
            Ok(0)
        } else {
            Ok(self.number(field, start)?.unwrap_or(0))
        }
    }

    /// A numeric field that may be left blank (all NULs or spaces), which reads as 0 — as in
    /// Go's archive/tar (`tar::Builder` itself leaves uid and gid blank when unset).
    fn number_or_zero(
        &self,
        raw: &[u8],
        field: io::Result<u64>,
        start: u64,
    ) -> Result<u64, LayerError> {
        if blank(raw) {
            Ok(0)
        } else {
            self.number(field, start)
        }
    }

    fn malformed(&self, offset: u64, reason: impl Into<String>) -> LayerError {
        LayerError::Malformed {
            offset,
            reason: reason.into(),
        }
    }
}

/// A uid or gid must fit a `u32` other than `u32::MAX` (the "don't change" value of chown).
/// Out-of-range ids are refused rather than wrapped (CVE-2024-40635: a uid above `i32::MAX`
/// overflowed to root in containerd).
fn id(value: u64, what: &str, path: &[u8]) -> Result<u32, LayerError> {
    u32::try_from(value)
        .ok()
        .filter(|&v| v != u32::MAX)
        .ok_or_else(|| LayerError::InvalidEntry {
            path: String::from_utf8_lossy(path).into_owned(),
            reason: format!("{what} {value} is out of range"),
        })
}

/// A header field left empty: all NULs or spaces.
fn blank(raw: &[u8]) -> bool {
    raw.iter().all(|&b| b == 0 || b == b' ')
}

/// `size` rounded up to whole blocks.
fn padded(size: u64) -> u64 {
    size.div_ceil(BLOCK as u64).saturating_mul(BLOCK as u64)
}

/// GNU long names carry a trailing NUL (sometimes several); an embedded NUL stays and is refused
/// by the name check.
fn trim_nuls(mut data: Vec<u8>) -> Vec<u8> {
    while data.last() == Some(&0) {
        data.pop();
    }
    data
}
