//! ADD's two extras: a local tar (plain, gzip or zstd) is extracted at the destination,
//! and an `http(s)://` source is downloaded — bounded, and with a clear error when the
//! host cannot reach it (these machines are offline).

use super::super::error::BuildError;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Archive {
    Tar,
    Gzip,
    Zstd,
}

/// Bytes read from a file to tell whether it is an archive.
pub const PEEK: usize = 64 * 1024;

/// A 512-byte block that is a tar header: not all zero, checksum right.
fn is_tar_header(block: &[u8]) -> bool {
    if block.len() < 512 || block[..512].iter().all(|b| *b == 0) {
        return false;
    }
    let field = &block[148..156];
    let text: String = field
        .iter()
        .take_while(|b| **b != 0 && **b != b' ')
        .map(|b| *b as char)
        .collect();
    let text = text.trim_start_matches(' ');
    let Ok(expected) = u32::from_str_radix(text, 8) else {
        return false;
    };
    let sum: u32 = block[..512]
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(*b)
            }
        })
        .sum();
    sum == expected
}

fn first_block(reader: impl Read) -> Vec<u8> {
    let mut block = Vec::with_capacity(512);
    let _ = reader.take(512).read_to_end(&mut block);
    block
}

/// What the start of a file says it is. `name` is for the error about bzip2/xz, which
/// Docker extracts and Berth cannot.
pub fn detect(prefix: &[u8], name: &str) -> Result<Option<Archive>, BuildError> {
    if prefix.starts_with(&[0x1f, 0x8b]) {
        let block = first_block(flate2::read::GzDecoder::new(prefix));
        return Ok(is_tar_header(&block).then_some(Archive::Gzip));
    }
    if prefix.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        let block = zstd::stream::read::Decoder::new(prefix)
            .map(first_block)
            .unwrap_or_default();
        return Ok(is_tar_header(&block).then_some(Archive::Zstd));
    }
    if prefix.starts_with(b"BZh") || prefix.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        return Err(BuildError::bad(format!(
            "ADD {name}: bzip2 and xz archives are not extracted here (plain, gzip and zstd tars are); COPY it to add the file as it is"
        )));
    }
    Ok(is_tar_header(prefix).then_some(Archive::Tar))
}

/// The archive's tar stream.
pub fn decoder<'r>(
    archive: Archive,
    reader: Box<dyn Read + 'r>,
) -> Result<Box<dyn Read + 'r>, BuildError> {
    Ok(match archive {
        Archive::Tar => reader,
        Archive::Gzip => Box::new(flate2::read::MultiGzDecoder::new(reader)),
        Archive::Zstd => Box::new(
            zstd::stream::read::Decoder::new(reader)
                .map_err(|e| BuildError::internal(format!("zstd: {e}")))?,
        ),
    })
}

pub fn is_url(source: &str) -> bool {
    source.starts_with("http://") || source.starts_with("https://")
}

/// Largest remote file ADD fetches.
const MAX_DOWNLOAD: usize = 256 << 20;

/// A fetched `ADD <url>`.
#[derive(Debug, Clone)]
pub struct Downloaded {
    pub url: String,
    /// The file name to use (from the URL's path), if there is one.
    pub name: Option<String>,
    pub data: Vec<u8>,
    pub sha256: String,
    pub mtime: i64,
}

/// Fetches `url` for ADD.
pub async fn download(url: &str) -> Result<Downloaded, BuildError> {
    let offline = |e: String| {
        BuildError::bad(format!(
            "ADD {url}: cannot download it ({e}); remote sources need a network this host may not have (it is offline here)"
        ))
    };
    let parsed = url::Url::parse(url).map_err(|e| BuildError::bad(format!("ADD {url}: {e}")))?;
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(120))
        .redirect(reqwest::redirect::Policy::limited(5))
        .build()
        .map_err(|e| BuildError::internal(e.to_string()))?;
    let mut response = client
        .get(parsed.clone())
        .send()
        .await
        .map_err(|e| offline(e.to_string()))?;
    if !response.status().is_success() {
        return Err(BuildError::bad(format!(
            "ADD {url}: the server answered {}",
            response.status()
        )));
    }
    let mtime = response
        .headers()
        .get(reqwest::header::LAST_MODIFIED)
        .and_then(|v| v.to_str().ok())
        .and_then(httpdate_to_unix)
        .unwrap_or(0);
    let mut data = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| offline(e.to_string()))? {
        if data.len() + chunk.len() > MAX_DOWNLOAD {
            return Err(BuildError::bad(format!(
                "ADD {url}: larger than the {MAX_DOWNLOAD} bytes allowed"
            )));
        }
        data.extend_from_slice(&chunk);
    }
    let name = parsed
        .path_segments()
        .and_then(|mut s| s.next_back().map(str::to_string))
        .filter(|n| !n.is_empty() && n != "." && n != "..");
    Ok(Downloaded {
        url: url.to_string(),
        name,
        sha256: hex::encode(Sha256::digest(&data)),
        data,
        mtime,
    })
}

/// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`) as unix seconds.
fn httpdate_to_unix(text: &str) -> Option<i64> {
    let time = humantime::parse_rfc3339_weak(text).ok().or_else(|| {
        // "Sun, 06 Nov 1994 08:49:37 GMT" → "1994-11-06 08:49:37"
        let parts: Vec<&str> = text.split_whitespace().collect();
        let [_, day, month, year, clock, _] = parts.as_slice() else {
            return None;
        };
        let months = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let m = months.iter().position(|x| x == month)? + 1;
        humantime::parse_rfc3339_weak(&format!("{year}-{m:02}-{day:0>2} {clock}")).ok()
    })?;
    time.duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tar_bytes() -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(2);
        h.set_mode(0o644);
        b.append_data(&mut h, "x", &b"hi"[..]).unwrap();
        b.into_inner().unwrap()
    }

    #[test]
    fn recognises_archives() {
        let t = tar_bytes();
        assert_eq!(detect(&t, "a").unwrap(), Some(Archive::Tar));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&t).unwrap();
        assert_eq!(
            detect(&gz.finish().unwrap(), "a").unwrap(),
            Some(Archive::Gzip)
        );
        let z = zstd::stream::encode_all(&t[..], 1).unwrap();
        assert_eq!(detect(&z, "a").unwrap(), Some(Archive::Zstd));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"just text, gzipped").unwrap();
        assert_eq!(detect(&gz.finish().unwrap(), "a").unwrap(), None);
        assert_eq!(detect(b"plain text", "a").unwrap(), None);
        assert_eq!(detect(&[0u8; 1024], "a").unwrap(), None);
        assert!(detect(b"BZh91AY", "a.bz2").is_err());
    }

    #[test]
    fn http_dates() {
        assert_eq!(
            httpdate_to_unix("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(httpdate_to_unix("yesterday"), None);
    }
}
