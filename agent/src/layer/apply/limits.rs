//! Resource limits on one layer: entries, header bytes per entry, total file bytes.
//!
//! A layer is a stream from the network; without limits a small gzip can expand into a tar
//! whose headers declare gigabytes of names (allocated before a single file is written), or
//! millions of tiny entries (CVE-2017-14992: no bound on `docker load` input; CVE-2023-25153:
//! unbounded reads of OCI layout files; B.3 "sizes" in crates-security-style.md). Each check
//! runs *before* the corresponding bytes are read or written.

use super::ApplyOptions;
use crate::layer::LayerError;

/// Counters checked against [`ApplyOptions`].
#[derive(Debug)]
pub(crate) struct Limits {
    max_entries: u64,
    max_header_bytes: u64,
    max_total_bytes: u64,
    entries: u64,
    header_bytes: u64,
    total_bytes: u64,
}

impl Limits {
    pub(crate) fn new(options: &ApplyOptions) -> Self {
        Self {
            max_entries: options.max_entries,
            max_header_bytes: options.max_header_bytes,
            max_total_bytes: options.max_total_bytes,
            entries: 0,
            header_bytes: 0,
            total_bytes: 0,
        }
    }

    /// Counts one more entry (PAX global headers count too: they cost a header each).
    pub(crate) fn entry(&mut self) -> Result<(), LayerError> {
        if self.entries >= self.max_entries {
            return Err(LayerError::TooManyEntries {
                limit: self.max_entries,
            });
        }
        self.entries += 1;
        Ok(())
    }

    /// Starts the header budget of a new entry.
    pub(crate) fn start_headers(&mut self) {
        self.header_bytes = 0;
    }

    /// Reserves `size` header bytes (a GNU long name, a PAX header, sparse map blocks) for the
    /// current entry, *before* they are read. `path` names the entry for the error message.
    pub(crate) fn header(
        &mut self,
        what: &'static str,
        path: &[u8],
        size: u64,
    ) -> Result<(), LayerError> {
        match self.header_bytes.checked_add(size) {
            Some(total) if total <= self.max_header_bytes => {
                self.header_bytes = total;
                Ok(())
            }
            _ => Err(LayerError::HeaderTooLarge {
                path: String::from_utf8_lossy(path).into_owned(),
                what,
                size,
                limit: self.max_header_bytes,
            }),
        }
    }

    /// Reserves `size` bytes of file data, before they are written.
    pub(crate) fn data(&mut self, path: &[u8], size: u64) -> Result<(), LayerError> {
        match self.total_bytes.checked_add(size) {
            Some(total) if total <= self.max_total_bytes => {
                self.total_bytes = total;
                Ok(())
            }
            _ => Err(LayerError::TooLarge {
                path: String::from_utf8_lossy(path).into_owned(),
                limit: self.max_total_bytes,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(entries: u64, header: u64, total: u64) -> Limits {
        Limits::new(&ApplyOptions {
            max_entries: entries,
            max_header_bytes: header,
            max_total_bytes: total,
            ..ApplyOptions::default()
        })
    }

    #[test]
    fn entries() {
        let mut l = limits(2, 0, 0);
        l.entry().unwrap();
        l.entry().unwrap();
        assert!(matches!(
            l.entry(),
            Err(LayerError::TooManyEntries { limit: 2 })
        ));
    }

    #[test]
    fn header_budget_is_per_entry_and_overflow_safe() {
        let mut l = limits(10, 100, 0);
        l.header("PAX header", b"a", 60).unwrap();
        let err = l.header("GNU long name", b"a", 41).unwrap_err();
        assert_eq!(
            err.to_string(),
            "layer entry \"a\": GNU long name of 41 bytes exceeds the limit of 100 bytes"
        );
        l.start_headers();
        l.header("PAX header", b"b", 100).unwrap();
        assert!(l.header("PAX header", b"b", u64::MAX).is_err());
    }

    #[test]
    fn total_bytes() {
        let mut l = limits(10, 0, 10);
        l.data(b"a", 6).unwrap();
        l.data(b"b", 4).unwrap();
        assert!(matches!(
            l.data(b"c", 1),
            Err(LayerError::TooLarge { limit: 10, .. })
        ));
        assert!(l.data(b"d", u64::MAX).is_err());
    }
}
