//! PAX extended header records (`x` entries): `"<len> <key>=<value>\n"`, repeated.
//!
//! Parsed here rather than with `tar::PaxExtensions`, which splits the data on `\n` before
//! reading the length: a binary value that contains a newline byte (an xattr such as
//! `security.capability` easily does) would then be "malformed". Records are walked by their
//! declared length, as POSIX defines them, and every number is parsed strictly: a `size`,
//! `uid`, `gid` or `mtime` that does not parse is an error, never silently replaced by the
//! ustar field (that fallback is how two parsers come to see two different archives —
//! CVE-2026-33055, CVE-2025-62518 "TARmageddon").

/// A timestamp: seconds since the epoch and nanoseconds (`0..1_000_000_000`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Time {
    pub secs: i64,
    pub nanos: u32,
}

/// The records of one PAX header that extraction uses; the rest (`uname`, `gname`, `comment`,
/// `charset`, `ctime`, vendor keys) are ignored, as Go's archive/tar does.
#[derive(Debug, Default)]
pub(crate) struct Pax {
    pub path: Option<Vec<u8>>,
    pub linkpath: Option<Vec<u8>>,
    pub size: Option<u64>,
    pub uid: Option<u64>,
    pub gid: Option<u64>,
    pub mtime: Option<Time>,
    pub atime: Option<Time>,
    /// `SCHILY.xattr.<name>` records, in order, the last of a repeated name winning.
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
    pub sparse: SparseRecords,
}

/// GNU sparse records (formats 0.0, 0.1 and 1.0 of GNU tar's PAX sparse files).
#[derive(Debug, Default)]
pub(crate) struct SparseRecords {
    pub major: Option<u64>,
    pub minor: Option<u64>,
    /// `GNU.sparse.name`: the real name (the ustar name is a `GNUSparseFile.<pid>/` decoy).
    pub name: Option<Vec<u8>>,
    /// `GNU.sparse.size` (0.x) or `GNU.sparse.realsize` (1.0).
    pub real_size: Option<u64>,
    /// `GNU.sparse.map` (0.1): offset,length pairs flattened.
    pub map: Option<Vec<u64>>,
    /// `GNU.sparse.offset` / `GNU.sparse.numbytes` (0.0), in order.
    pub pairs: Vec<u64>,
}

impl SparseRecords {
    /// True when any sparse record was present.
    pub(crate) fn any(&self) -> bool {
        self.major.is_some()
            || self.minor.is_some()
            || self.name.is_some()
            || self.real_size.is_some()
            || self.map.is_some()
            || !self.pairs.is_empty()
    }
}

const XATTR_PREFIX: &[u8] = b"SCHILY.xattr.";

/// Parses the data of a PAX header. The error says what is wrong (the caller adds the offset).
pub(crate) fn parse(data: &[u8]) -> Result<Pax, String> {
    let mut pax = Pax::default();
    let mut rest = data;
    while !rest.is_empty() {
        let space = rest
            .iter()
            .take(20)
            .position(|&b| b == b' ')
            .ok_or("PAX record without a length")?;
        let len = parse_u64(&rest[..space]).map_err(|e| format!("PAX record length: {e}"))?;
        let len = usize::try_from(len).map_err(|_| "PAX record length overflows")?;
        if len <= space + 1 || len > rest.len() {
            return Err(format!(
                "PAX record length {len} does not fit the {} bytes left",
                rest.len()
            ));
        }
        let (record, tail) = rest.split_at(len);
        rest = tail;
        let Some((b'\n', body)) = record[space + 1..].split_last() else {
            return Err("PAX record does not end with a newline".into());
        };
        let eq = body
            .iter()
            .position(|&b| b == b'=')
            .ok_or("PAX record without '='")?;
        let (key, value) = (&body[..eq], &body[eq + 1..]);
        if key.is_empty() {
            return Err("PAX record with an empty key".into());
        }
        pax.record(key, value)
            .map_err(|e| format!("PAX record {:?}: {e}", String::from_utf8_lossy(key)))?;
    }
    Ok(pax)
}

impl Pax {
    fn record(&mut self, key: &[u8], value: &[u8]) -> Result<(), String> {
        match key {
            b"path" => self.path = Some(value.to_vec()),
            b"linkpath" => self.linkpath = Some(value.to_vec()),
            b"size" => self.size = Some(parse_u64(value)?),
            b"uid" => self.uid = Some(parse_u64(value)?),
            b"gid" => self.gid = Some(parse_u64(value)?),
            b"mtime" => self.mtime = Some(parse_time(value)?),
            b"atime" => self.atime = Some(parse_time(value)?),
            b"GNU.sparse.major" => self.sparse.major = Some(parse_u64(value)?),
            b"GNU.sparse.minor" => self.sparse.minor = Some(parse_u64(value)?),
            b"GNU.sparse.name" => self.sparse.name = Some(value.to_vec()),
            b"GNU.sparse.size" | b"GNU.sparse.realsize" => {
                self.sparse.real_size = Some(parse_u64(value)?);
            }
            b"GNU.sparse.map" => {
                let numbers = if value.is_empty() {
                    Vec::new()
                } else {
                    value
                        .split(|&b| b == b',')
                        .map(parse_u64)
                        .collect::<Result<Vec<_>, _>>()?
                };
                self.sparse.map = Some(numbers);
            }
            b"GNU.sparse.offset" | b"GNU.sparse.numbytes" => {
                // 0.0 stores the map as alternating repeated records; enforce the alternation.
                let expect_offset = self.sparse.pairs.len().is_multiple_of(2);
                if expect_offset != (key == b"GNU.sparse.offset") {
                    return Err("GNU.sparse.offset and numbytes records do not alternate".into());
                }
                self.sparse.pairs.push(parse_u64(value)?);
            }
            _ => {
                if let Some(name) = key.strip_prefix(XATTR_PREFIX) {
                    if name.is_empty() || name.contains(&0) {
                        return Err("invalid xattr name".into());
                    }
                    match self.xattrs.iter_mut().find(|(n, _)| n == name) {
                        Some(slot) => slot.1 = value.to_vec(),
                        None => self.xattrs.push((name.to_vec(), value.to_vec())),
                    }
                }
            }
        }
        Ok(())
    }
}

/// A non-negative decimal number, digits only.
pub(crate) fn parse_u64(digits: &[u8]) -> Result<u64, String> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(format!(
            "{:?} is not a decimal number",
            String::from_utf8_lossy(digits)
        ));
    }
    digits.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(d - b'0')))
            .ok_or_else(|| "number overflows".to_string())
    })
}

/// `[-]secs[.fraction]`, the fraction truncated to nanoseconds.
fn parse_time(value: &[u8]) -> Result<Time, String> {
    let (negative, value) = match value.strip_prefix(b"-") {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    let (secs, fraction) = match value.iter().position(|&b| b == b'.') {
        Some(dot) => (&value[..dot], Some(&value[dot + 1..])),
        None => (value, None),
    };
    let secs = i64::try_from(parse_u64(secs)?).map_err(|_| "time overflows".to_string())?;
    let mut nanos = 0u32;
    if let Some(fraction) = fraction {
        if !fraction.iter().all(u8::is_ascii_digit) {
            return Err("bad fraction in time".into());
        }
        for i in 0..9 {
            nanos = nanos * 10 + fraction.get(i).map_or(0, |&d| u32::from(d - b'0'));
        }
    }
    Ok(if !negative {
        Time { secs, nanos }
    } else if nanos == 0 {
        Time { secs: -secs, nanos }
    } else {
        Time {
            secs: -secs - 1,
            nanos: 1_000_000_000 - nanos,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::layer::apply::test_support::pax_record as record;

    #[test]
    fn typed_records() {
        let mut data = record("path", b"a/very/long/name");
        data.extend(record("linkpath", b"target"));
        data.extend(record("size", b"12345"));
        data.extend(record("uid", b"1000"));
        data.extend(record("gid", b"2000"));
        data.extend(record("mtime", b"1700000000.25"));
        data.extend(record("uname", b"ignored"));
        let pax = parse(&data).unwrap();
        assert_eq!(pax.path.as_deref(), Some(&b"a/very/long/name"[..]));
        assert_eq!(pax.linkpath.as_deref(), Some(&b"target"[..]));
        assert_eq!(pax.size, Some(12345));
        assert_eq!((pax.uid, pax.gid), (Some(1000), Some(2000)));
        assert_eq!(
            pax.mtime,
            Some(Time {
                secs: 1_700_000_000,
                nanos: 250_000_000
            })
        );
    }

    #[test]
    fn binary_xattr_value_with_newline() {
        let value = [0x01, 0x00, 0x00, 0x02, b'\n', 0x00, b'=', 0xff];
        let data = record("SCHILY.xattr.security.capability", &value);
        let pax = parse(&data).unwrap();
        assert_eq!(
            pax.xattrs,
            vec![(b"security.capability".to_vec(), value.to_vec())]
        );
    }

    #[test]
    fn repeated_xattr_last_wins() {
        let mut data = record("SCHILY.xattr.user.a", b"1");
        data.extend(record("SCHILY.xattr.user.a", b"2"));
        assert_eq!(
            parse(&data).unwrap().xattrs,
            vec![(b"user.a".to_vec(), b"2".to_vec())]
        );
    }

    #[test]
    fn bad_numbers_are_errors_not_fallbacks() {
        for (k, v) in [
            ("size", "12x"),
            ("size", ""),
            ("size", "-1"),
            ("size", "99999999999999999999999"),
            ("uid", "1e3"),
            ("mtime", "abc"),
        ] {
            assert!(parse(&record(k, v.as_bytes())).is_err(), "{k}={v}");
        }
    }

    #[test]
    fn malformed_framing() {
        assert!(parse(b"10 path=ab").is_err()); // no newline, short
        assert!(parse(b"5 a=b\n").is_err()); // length 5 but record is 6 bytes
        assert!(parse(b"999 path=x\n").is_err()); // longer than the data
        assert!(parse(b"7 path\n").is_err()); // no '='
        assert!(parse(b"nolength\n").is_err());
        assert!(parse(b"").unwrap().path.is_none());
    }

    #[test]
    fn negative_and_fractional_times() {
        assert_eq!(
            parse_time(b"-1.5").unwrap(),
            Time {
                secs: -2,
                nanos: 500_000_000
            }
        );
        assert_eq!(parse_time(b"-3").unwrap(), Time { secs: -3, nanos: 0 });
        assert_eq!(
            parse_time(b"1.1234567891").unwrap(),
            Time {
                secs: 1,
                nanos: 123_456_789
            }
        );
    }

    #[test]
    fn sparse_records() {
        let mut data = record("GNU.sparse.major", b"1");
        data.extend(record("GNU.sparse.minor", b"0"));
        data.extend(record("GNU.sparse.name", b"real/name"));
        data.extend(record("GNU.sparse.realsize", b"1048576"));
        let pax = parse(&data).unwrap();
        assert!(pax.sparse.any());
        assert_eq!(pax.sparse.real_size, Some(1_048_576));

        let mut data = record("GNU.sparse.offset", b"0");
        data.extend(record("GNU.sparse.numbytes", b"10"));
        data.extend(record("GNU.sparse.offset", b"100"));
        data.extend(record("GNU.sparse.numbytes", b"5"));
        assert_eq!(parse(&data).unwrap().sparse.pairs, vec![0, 10, 100, 5]);

        let data = record("GNU.sparse.numbytes", b"10");
        assert!(parse(&data).is_err());

        let data = record("GNU.sparse.map", b"0,10,100,5");
        assert_eq!(parse(&data).unwrap().sparse.map, Some(vec![0, 10, 100, 5]));
    }
}
