//! Sparse files: GNU tar's maps (old GNU `S` headers, PAX formats 0.0, 0.1 and 1.0), checked,
//! and written back with holes rather than zeros.
//!
//! The `tar` crate understands only the old GNU form, and expands the holes into zeros as it
//! reads; a 10 GiB sparse file in a 1 MiB layer would then cost 10 GiB of writes and disk.
//! Here the data regions are written where they belong and the file is extended to its real
//! size with `ftruncate`, which leaves the rest as holes.

use std::fs::File;
use std::os::unix::fs::FileExt;

/// One data region of a sparse file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Region {
    pub offset: u64,
    pub len: u64,
}

/// A checked sparse map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SparseMap {
    /// The size of the file once its holes are restored.
    pub real_size: u64,
    /// Data regions in file order; their data follows in the archive, back to back.
    pub regions: Vec<Region>,
}

impl SparseMap {
    /// Builds a map from flattened `offset, length` pairs and checks it: regions in order, not
    /// overlapping, inside `real_size`, and their lengths adding up to exactly `data_size`, the
    /// bytes the archive holds for the entry (a map that references data the archive does not
    /// have, or leaves archive data unreferenced, is a parser-differential vector).
    pub(crate) fn new(pairs: &[u64], real_size: u64, data_size: u64) -> Result<Self, String> {
        if !pairs.len().is_multiple_of(2) {
            return Err("sparse map has an odd number of values".into());
        }
        let mut regions = Vec::with_capacity(pairs.len() / 2);
        let mut end = 0u64;
        let mut total = 0u64;
        for pair in pairs.chunks_exact(2) {
            let (offset, len) = (pair[0], pair[1]);
            if offset < end {
                return Err("sparse map regions overlap or are out of order".into());
            }
            end = offset
                .checked_add(len)
                .filter(|&e| e <= real_size)
                .ok_or("sparse map region lies beyond the file's size")?;
            total = total
                .checked_add(len)
                .ok_or("sparse map lengths overflow")?;
            if len > 0 {
                regions.push(Region { offset, len });
            }
        }
        if total != data_size {
            return Err(format!(
                "sparse map covers {total} bytes but the archive holds {data_size}"
            ));
        }
        Ok(Self { real_size, regions })
    }
}

/// Incremental parser for the PAX 1.0 map that opens the data of the entry: decimal numbers,
/// each followed by `\n` — the count of regions, then offset and length per region — padded to
/// a 512-byte block. Fed block by block so that the map's size is bounded by the header budget
/// as it is read.
#[derive(Debug, Default)]
pub(crate) struct Map1x0 {
    numbers: Vec<u64>,
    current: Option<u64>,
    expected: Option<u64>,
}

impl Map1x0 {
    /// Feeds one block; returns the flattened pairs once the map is complete.
    pub(crate) fn feed(&mut self, block: &[u8]) -> Result<Option<Vec<u64>>, String> {
        for &byte in block {
            match byte {
                b'0'..=b'9' => {
                    let n = self
                        .current
                        .unwrap_or(0)
                        .checked_mul(10)
                        .and_then(|n| n.checked_add(u64::from(byte - b'0')))
                        .ok_or("sparse map number overflows")?;
                    self.current = Some(n);
                }
                b'\n' => {
                    let n = self.current.take().ok_or("empty number in sparse map")?;
                    match self.expected {
                        None => {
                            self.expected = Some(n.checked_mul(2).ok_or("sparse map too long")?)
                        }
                        Some(_) => self.numbers.push(n),
                    }
                    if self.expected == Some(self.numbers.len() as u64) {
                        // The rest of this block is padding, ignored as GNU tar does.
                        return Ok(Some(std::mem::take(&mut self.numbers)));
                    }
                }
                _ => return Err("unexpected byte in sparse map".into()),
            }
        }
        Ok(None)
    }
}

/// Writes `region.len` bytes at `region.offset` of `file`, pulling them through `read` (which
/// fills a buffer with the next archive bytes and returns how many, never 0). Used for each
/// region in turn; the caller then sets the length to the map's real size.
pub(crate) fn write_region<E>(
    file: &File,
    region: Region,
    buf: &mut [u8],
    mut read: impl FnMut(&mut [u8]) -> Result<usize, E>,
    write_error: impl Fn(std::io::Error) -> E,
) -> Result<(), E> {
    let mut offset = region.offset;
    let mut left = region.len;
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = read(&mut buf[..want])?;
        file.write_all_at(&buf[..n], offset).map_err(&write_error)?;
        offset += n as u64;
        left -= n as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_the_map() {
        let map = SparseMap::new(&[0, 10, 100, 5, 200, 0], 300, 15).unwrap();
        assert_eq!(
            map.regions,
            vec![
                Region { offset: 0, len: 10 },
                Region {
                    offset: 100,
                    len: 5
                }
            ]
        );
        assert!(SparseMap::new(&[0, 10, 5, 5], 300, 15).is_err()); // overlap
        assert!(SparseMap::new(&[100, 5, 0, 10], 300, 15).is_err()); // order
        assert!(SparseMap::new(&[0, 10, 295, 10], 300, 20).is_err()); // beyond size
        assert!(SparseMap::new(&[0, 10], 300, 11).is_err()); // data unreferenced
        assert!(SparseMap::new(&[0, 10, 1], 300, 10).is_err()); // odd
        assert!(SparseMap::new(&[u64::MAX, 10], u64::MAX, 10).is_err()); // overflow
    }

    #[test]
    fn map_1x0_across_blocks() {
        let mut parser = Map1x0::default();
        assert_eq!(parser.feed(b"2\n0\n51").unwrap(), None);
        assert_eq!(
            parser.feed(b"2\n4096\n10\n\0\0\0").unwrap(),
            Some(vec![0, 512, 4096, 10])
        );
        let mut parser = Map1x0::default();
        assert_eq!(parser.feed(b"0\n").unwrap(), Some(vec![]));
        assert!(Map1x0::default().feed(b"1\nx\n").is_err());
        assert!(Map1x0::default().feed(b"\n").is_err());
        assert!(
            Map1x0::default()
                .feed(b"99999999999999999999999\n")
                .is_err()
        );
    }
}
