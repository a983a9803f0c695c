//! Writing the files a COPY/ADD puts into the image as a tar stream, which the layer
//! extractor (with its path checks) then applies to the step's root filesystem — the same
//! path every other byte that lands in a layer takes.

use std::io::{self, Read, Write};

/// Owner, permissions and time of an entry to write.
#[derive(Debug, Clone, Copy)]
pub struct Meta {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
}

pub struct TarOut<W: Write> {
    builder: tar::Builder<W>,
}

fn header(kind: tar::EntryType, meta: Meta, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(meta.mode & 0o7777);
    h.set_uid(u64::from(meta.uid));
    h.set_gid(u64::from(meta.gid));
    h.set_mtime(u64::try_from(meta.mtime).unwrap_or(0));
    h.set_size(size);
    h
}

impl<W: Write> TarOut<W> {
    pub fn new(out: W) -> Self {
        let mut builder = tar::Builder::new(out);
        builder.mode(tar::HeaderMode::Complete);
        TarOut { builder }
    }

    pub fn dir(&mut self, name: &str, meta: Meta) -> io::Result<()> {
        let mut h = header(tar::EntryType::Directory, meta, 0);
        self.builder
            .append_data(&mut h, format!("{name}/"), io::empty())
    }

    pub fn file(&mut self, name: &str, meta: Meta, size: u64, data: impl Read) -> io::Result<()> {
        let mut h = header(tar::EntryType::Regular, meta, size);
        // Exactly `size` bytes, whatever the reader holds.
        let mut limited = data.take(size);
        self.builder.append_data(&mut h, name, &mut limited)?;
        if limited.limit() != 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{name}: the source ended early"),
            ));
        }
        Ok(())
    }

    pub fn symlink(&mut self, name: &str, target: &str, meta: Meta) -> io::Result<()> {
        let mut h = header(tar::EntryType::Symlink, meta, 0);
        self.builder.append_link(&mut h, name, target)
    }

    pub fn finish(self) -> io::Result<W> {
        self.builder.into_inner()
    }
}
