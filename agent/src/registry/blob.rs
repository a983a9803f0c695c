//! [`BlobStream`]: a blob body, chunk by chunk, that checks its own length and sha256.
//!
//! The stream ends (`None`) only when everything checked out: a wrong digest, a short or long
//! body come as a final `Err` instead. Callers may write chunks to an ingest file as they come
//! but must treat the blob as valid only after the stream has ended cleanly.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use sha2::{Digest as _, Sha256};

use super::RegistryError;
use super::digest::format_digest;
use super::error::error_chain;

type Body = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// A blob download in progress. Yields the bytes from the requested offset on.
pub struct BlobStream {
    body: Body,
    digest: String,
    /// Hash of every byte from offset 0 seen so far; `None` while the bytes before the start
    /// offset are unknown (a 206 answer), until [`BlobStream::with_prefix`] supplies them.
    hasher: Option<Sha256>,
    /// Bytes still to drop: a registry that ignored `Range` sends the blob from 0.
    skip: u64,
    start: u64,
    position: u64,
    total: Option<u64>,
    expected_size: Option<u64>,
    finished: bool,
}

impl std::fmt::Debug for BlobStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobStream")
            .field("digest", &self.digest)
            .field("start", &self.start)
            .field("position", &self.position)
            .field("total", &self.total)
            .field("verifies_digest", &self.verifies_digest())
            .finish()
    }
}

impl BlobStream {
    /// A stream over `body` that holds the blob from byte `start` on (`skip` bytes of the body
    /// come before that). `from_zero`: the body starts at byte 0, so the digest is checkable.
    pub(crate) fn new(
        body: Body,
        digest: &str,
        start: u64,
        skip: u64,
        total: Option<u64>,
        from_zero: bool,
    ) -> BlobStream {
        BlobStream {
            body,
            digest: digest.to_owned(),
            hasher: from_zero.then(Sha256::new),
            skip,
            start,
            position: start,
            total,
            expected_size: None,
            finished: false,
        }
    }

    /// The blob's full size, when the registry said (`Content-Length` or `Content-Range`).
    pub fn total_size(&self) -> Option<u64> {
        self.total
    }

    /// The offset of the first byte this stream yields (the `offset` asked for).
    pub fn start_offset(&self) -> u64 {
        self.start
    }

    /// The offset of the next byte: `start_offset()` plus the bytes yielded so far. After an
    /// error, a new [`super::RegistryClient::fetch_blob`] from here resumes the download.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// True when the end of the stream checks the blob's sha256: always when the download
    /// started at 0 or the registry sent the whole blob; for a resumed (206) download, only
    /// once [`BlobStream::with_prefix`] was given the hash of the bytes before the offset.
    pub fn verifies_digest(&self) -> bool {
        self.hasher.is_some()
    }

    /// For a resumed download: `prefix` has hashed the first `len` bytes of the blob (those
    /// already on disk), so the end of the stream can check the whole blob. `len` must be the
    /// offset the stream started at. Ignored when the stream hashes everything itself.
    pub fn with_prefix(mut self, prefix: Sha256, len: u64) -> Result<BlobStream, RegistryError> {
        if len != self.start {
            return Err(RegistryError::InvalidInput(format!(
                "prefix hash covers {len} bytes but the download starts at {}",
                self.start
            )));
        }
        if self.hasher.is_none() {
            self.hasher = Some(prefix);
        }
        Ok(self)
    }

    /// Requires the blob to be `size` bytes (its descriptor's size): fails now if the registry
    /// announced another size, and while streaming as soon as more arrives, or at the end if
    /// less did. Protects against endless or truncated bodies.
    pub fn expect_size(mut self, size: u64) -> Result<BlobStream, RegistryError> {
        if let Some(total) = self.total
            && total != size
        {
            return Err(RegistryError::SizeMismatch {
                expected: size,
                actual: total,
            });
        }
        if self.start > size {
            return Err(RegistryError::InvalidInput(format!(
                "offset {} is beyond the blob's size {size}",
                self.start
            )));
        }
        self.expected_size = Some(size);
        Ok(self)
    }

    /// The size the blob must end at, if known.
    fn limit(&self) -> Option<u64> {
        self.expected_size.or(self.total)
    }

    /// Checks at the end of the body.
    fn finish(&mut self) -> Result<(), RegistryError> {
        if self.skip > 0 {
            return Err(RegistryError::Transport(format!(
                "blob {} ended before the requested offset {}",
                self.digest, self.start
            )));
        }
        if let Some(limit) = self.limit()
            && self.position != limit
        {
            return Err(RegistryError::SizeMismatch {
                expected: limit,
                actual: self.position,
            });
        }
        if let Some(hasher) = self.hasher.take() {
            let actual = format_digest(hasher.finalize().as_slice());
            if actual != self.digest {
                return Err(RegistryError::DigestMismatch {
                    expected: self.digest.clone(),
                    actual,
                });
            }
        }
        Ok(())
    }

    fn fail(&mut self, err: RegistryError) -> Poll<Option<Result<Bytes, RegistryError>>> {
        self.finished = true;
        Poll::Ready(Some(Err(err)))
    }
}

impl Stream for BlobStream {
    type Item = Result<Bytes, RegistryError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.finished {
                return Poll::Ready(None);
            }
            match this.body.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(mut chunk))) => {
                    if let Some(hasher) = this.hasher.as_mut() {
                        hasher.update(&chunk);
                    }
                    if this.skip > 0 {
                        let n = usize::try_from(this.skip)
                            .unwrap_or(usize::MAX)
                            .min(chunk.len());
                        chunk = chunk.slice(n..);
                        this.skip -= n as u64;
                    }
                    if chunk.is_empty() {
                        continue;
                    }
                    this.position += chunk.len() as u64;
                    if let Some(limit) = this.limit()
                        && this.position > limit
                    {
                        let actual = this.position;
                        return this.fail(RegistryError::SizeMismatch {
                            expected: limit,
                            actual,
                        });
                    }
                    return Poll::Ready(Some(Ok(chunk)));
                }
                Poll::Ready(Some(Err(err))) => {
                    let message = format!(
                        "download of blob {} broke off at byte {}: {}",
                        this.digest,
                        this.position,
                        error_chain(&err)
                    );
                    return this.fail(RegistryError::Transport(message));
                }
                Poll::Ready(None) => {
                    this.finished = true;
                    return match this.finish() {
                        Ok(()) => Poll::Ready(None),
                        Err(err) => Poll::Ready(Some(Err(err))),
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;
    use crate::registry::digest::sha256_digest;

    fn body(chunks: &[&'static [u8]]) -> Body {
        let items: Vec<reqwest::Result<Bytes>> =
            chunks.iter().map(|c| Ok(Bytes::from_static(c))).collect();
        Box::pin(futures_util::stream::iter(items))
    }

    async fn collect(mut s: BlobStream) -> (Vec<u8>, Option<RegistryError>) {
        let mut out = Vec::new();
        while let Some(item) = s.next().await {
            match item {
                Ok(chunk) => out.extend_from_slice(&chunk),
                Err(e) => return (out, Some(e)),
            }
        }
        (out, None)
    }

    #[tokio::test]
    async fn verifies_and_skips_for_a_registry_that_ignored_range() {
        let digest = sha256_digest(b"hello world");
        let s = BlobStream::new(
            body(&[b"hel", b"lo w", b"orld"]),
            &digest,
            4,
            4,
            Some(11),
            true,
        );
        let (bytes, err) = collect(s.expect_size(11).expect("size")).await;
        assert!(err.is_none(), "{err:?}");
        assert_eq!(bytes, b"o world");
    }

    #[tokio::test]
    async fn wrong_content_ends_in_digest_mismatch() {
        let digest = sha256_digest(b"hello world");
        let s = BlobStream::new(body(&[b"hello w0rld"]), &digest, 0, 0, None, true);
        let (_, err) = collect(s).await;
        assert!(
            matches!(err, Some(RegistryError::DigestMismatch { .. })),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn too_long_and_too_short_bodies_fail() {
        let digest = sha256_digest(b"abc");
        let s = BlobStream::new(body(&[b"abcdef"]), &digest, 0, 0, None, true);
        let (_, err) = collect(s.expect_size(3).expect("size")).await;
        assert!(
            matches!(
                err,
                Some(RegistryError::SizeMismatch {
                    expected: 3,
                    actual: 6
                })
            ),
            "{err:?}"
        );
        let s = BlobStream::new(body(&[b"ab"]), &digest, 0, 0, Some(3), true);
        let (_, err) = collect(s).await;
        assert!(
            matches!(
                err,
                Some(RegistryError::SizeMismatch {
                    expected: 3,
                    actual: 2
                })
            ),
            "{err:?}"
        );
        let s = BlobStream::new(body(&[b"ab"]), &digest, 0, 0, Some(5), true);
        assert!(matches!(
            s.expect_size(3),
            Err(RegistryError::SizeMismatch {
                expected: 3,
                actual: 5
            })
        ));
    }

    #[tokio::test]
    async fn resumed_stream_verifies_with_the_prefix_hash() {
        let digest = sha256_digest(b"hello world");
        let s = BlobStream::new(body(&[b"world"]), &digest, 6, 0, Some(11), false);
        assert!(!s.verifies_digest());
        let mut prefix = Sha256::new();
        prefix.update(b"hello ");
        assert!(matches!(
            s.with_prefix(prefix.clone(), 5),
            Err(RegistryError::InvalidInput(_))
        ));
        let s = BlobStream::new(body(&[b"world"]), &digest, 6, 0, Some(11), false)
            .with_prefix(prefix, 6)
            .expect("prefix");
        assert!(s.verifies_digest());
        let (bytes, err) = collect(s).await;
        assert!(err.is_none(), "{err:?}");
        assert_eq!(bytes, b"world");
        let mut wrong = Sha256::new();
        wrong.update(b"HELLO ");
        let s = BlobStream::new(body(&[b"world"]), &digest, 6, 0, Some(11), false)
            .with_prefix(wrong, 6)
            .expect("prefix");
        assert!(matches!(
            collect(s).await.1,
            Some(RegistryError::DigestMismatch { .. })
        ));
    }
}
