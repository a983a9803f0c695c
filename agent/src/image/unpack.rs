//! One pass over a layer blob: the compressed bytes are hashed and kept in the store
//! (the blob), decompressed, hashed again (the diff ID) and extracted — all while they
//! stream by, so a layer is read once.

use super::archive::oci::{OCI_LAYER_GZIP, OCI_LAYER_TAR, OCI_LAYER_ZSTD};
use super::error::ImageError;
use crate::layer::{ApplyOptions, ApplyStats, apply_layer};
use crate::store::blobs::Ingest;
use crate::store::digest::{Digest, HashingReader};
use std::io::{self, BufReader, Read};
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
    None,
}

impl Compression {
    /// From the first bytes of a stream (uploads come without a media type).
    pub fn sniff(prefix: &[u8]) -> Self {
        if prefix.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if prefix.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    /// The OCI media type of a layer blob compressed this way.
    pub fn media_type(self) -> &'static str {
        match self {
            Compression::Gzip => OCI_LAYER_GZIP,
            Compression::Zstd => OCI_LAYER_ZSTD,
            Compression::None => OCI_LAYER_TAR,
        }
    }
}

/// What one pass over a layer blob found.
#[derive(Debug, Clone)]
pub struct Unpacked {
    pub diff_id: Digest,
    /// Bytes of file content extracted.
    pub size: u64,
}

/// Copies what is read into the ingest (which hashes it).
struct IntoIngest<'a, R> {
    inner: R,
    ingest: &'a mut Ingest,
}

impl<R: Read> Read for IntoIngest<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.ingest
            .write_all(&buf[..n])
            .map_err(|e| io::Error::other(e.to_string()))?;
        Ok(n)
    }
}

enum Decoder<R: Read> {
    Gzip(Box<flate2::read::MultiGzDecoder<R>>),
    Zstd(zstd::stream::read::Decoder<'static, BufReader<R>>),
    Plain(R),
}

impl<R: Read> Decoder<R> {
    fn new(inner: R, compression: Compression) -> io::Result<Self> {
        Ok(match compression {
            Compression::Gzip => Decoder::Gzip(Box::new(flate2::read::MultiGzDecoder::new(inner))),
            Compression::Zstd => Decoder::Zstd(zstd::stream::read::Decoder::new(inner)?),
            Compression::None => Decoder::Plain(inner),
        })
    }

    fn into_inner(self) -> R {
        match self {
            Decoder::Gzip(d) => d.into_inner(),
            Decoder::Zstd(d) => d.finish().into_inner(),
            Decoder::Plain(r) => r,
        }
    }
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Gzip(d) => d.read(buf),
            Decoder::Zstd(d) => d.read(buf),
            Decoder::Plain(r) => r.read(buf),
        }
    }
}

/// Streams `source` (a layer blob from its first byte not yet in `ingest`) into
/// `ingest`, and extracts the layer into `dest`. `replay` holds the blob's bytes already
/// in the ingest from an interrupted download; they are extracted, not re-written.
/// Blocking: run it off the async threads. The caller commits the ingest (which checks
/// the blob digest) and compares `diff_id` with the config's.
pub fn unpack(
    replay: impl Read,
    source: impl Read,
    compression: Compression,
    ingest: &mut Ingest,
    dest: &Path,
) -> Result<Unpacked, ImageError> {
    let fresh = IntoIngest {
        inner: source,
        ingest,
    };
    let blob = replay.chain(fresh);
    let decoder = Decoder::new(blob, compression)
        .map_err(|e| ImageError::Layer(format!("cannot decompress layer: {e}")))?;
    let mut tar = HashingReader::new(decoder);
    let stats: ApplyStats = apply_layer(&mut tar, dest, &ApplyOptions::default())
        .map_err(|e| ImageError::Layer(e.to_string()))?;
    let (diff_id, _, decoder) = tar
        .finish()
        .map_err(|e| ImageError::Layer(format!("cannot decompress layer: {e}")))?;
    // Whatever follows the tar (padding, a trailing gzip member) is part of the blob.
    io::copy(&mut decoder.into_inner(), &mut io::sink())
        .map_err(|e| ImageError::Layer(format!("reading the layer: {e}")))?;
    Ok(Unpacked {
        diff_id,
        size: stats.bytes,
    })
}
