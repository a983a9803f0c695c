//! Blob uploads: `POST` to open a session, then one `PUT ?digest=` with the whole blob
//! (small blobs), or `PATCH` chunks with `Content-Range` and a final empty `PUT ?digest=`
//! (big ones). The source is read a chunk at a time, so memory stays at one chunk; the
//! digest is checked locally before the final `PUT`, and a failed session is cancelled.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use reqwest::header::{CONTENT_RANGE, CONTENT_TYPE, HeaderValue, RANGE};
use reqwest::{Method, Response, StatusCode, Url};
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::RegistryError;
use super::auth::Credentials;
use super::client::{
    Access, Call, DOCKER_CONTENT_DIGEST, PROGRESS_INTERVAL, RegistryClient, error_for_status,
    finish_digest, header_str, location,
};
use super::digest::check_digest;
use super::repository::Repository;

/// Where the bytes of a blob to push come from.
pub enum BlobSource {
    /// A file (e.g. in the content store); its length is the blob's size.
    File(PathBuf),
    /// Any reader that yields exactly `size` bytes.
    Reader {
        reader: Box<dyn AsyncRead + Send + Unpin>,
        size: u64,
    },
    /// Bytes already in memory (configs, small test blobs).
    Bytes(Bytes),
}

impl std::fmt::Debug for BlobSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BlobSource::File(path) => f.debug_tuple("File").field(path).finish(),
            BlobSource::Reader { size, .. } => {
                f.debug_struct("Reader").field("size", size).finish()
            }
            BlobSource::Bytes(b) => f.debug_struct("Bytes").field("len", &b.len()).finish(),
        }
    }
}

impl BlobSource {
    /// The reader and the size.
    async fn open(self) -> Result<(Box<dyn AsyncRead + Send + Unpin>, u64), RegistryError> {
        match self {
            BlobSource::File(path) => {
                let file = tokio::fs::File::open(&path).await.map_err(|e| {
                    RegistryError::Io(format!("opening {} to upload: {e}", path.display()))
                })?;
                let size = file
                    .metadata()
                    .await
                    .map_err(|e| RegistryError::Io(format!("stat {}: {e}", path.display())))?
                    .len();
                Ok((Box::new(file), size))
            }
            BlobSource::Reader { reader, size } => Ok((reader, size)),
            BlobSource::Bytes(bytes) => {
                let size = bytes.len() as u64;
                Ok((Box::new(std::io::Cursor::new(bytes)), size))
            }
        }
    }
}

/// Reads exactly `len` bytes (a chunk) from the source.
async fn read_chunk(
    reader: &mut (dyn AsyncRead + Send + Unpin),
    len: u64,
    offset: u64,
    size: u64,
) -> Result<Bytes, RegistryError> {
    let len = usize::try_from(len).map_err(|_| RegistryError::Io("chunk too big".to_owned()))?;
    let mut buf = vec![0u8; len];
    reader.read_exact(&mut buf).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            RegistryError::Io(format!(
                "the blob source ended before its announced size ({size} bytes, read past {offset})"
            ))
        } else {
            RegistryError::Io(format!("reading the blob to upload at byte {offset}: {e}"))
        }
    })?;
    Ok(Bytes::from(buf))
}

impl RegistryClient {
    /// Uploads a blob: monolithic (`POST` + `PUT`) up to `monolithic_upload_max` bytes,
    /// chunked (`POST`, `PATCH`es of `upload_chunk_size`, `PUT`) above. `progress` gets the
    /// number of bytes sent so far, several times a second. The blob's sha256 is checked
    /// before it is committed: a source that does not match `digest` is a
    /// [`RegistryError::DigestMismatch`] and leaves nothing in the registry.
    pub async fn push_blob(
        &self,
        repo: &Repository,
        digest: &str,
        source: BlobSource,
        mut progress: impl FnMut(u64) + Send,
        auth: &Credentials,
    ) -> Result<(), RegistryError> {
        check_digest(digest, RegistryError::InvalidInput)?;
        let (mut reader, size) = source.open().await?;
        let start_url = self.url(repo, "blobs/uploads/")?;
        let what = format!("upload blob {digest} to {repo}");
        let call = Call::new(Method::POST, start_url, repo, Access::Push, what.clone());
        let response = self.send(&call, auth).await?;
        let response = error_for_status(response, &what).await?;
        if response.status() != StatusCode::ACCEPTED {
            return Err(RegistryError::Transport(format!(
                "{what}: starting the upload answered {} instead of 202",
                response.status()
            )));
        }
        let session = location(&response, &call.url, &what)?;
        let mut upload = Upload {
            client: self,
            repo,
            auth,
            digest,
            what: &what,
            url: session,
        };
        let result = upload.run(reader.as_mut(), size, &mut progress).await;
        if result.is_err() {
            let url = upload.url.clone();
            self.cancel_upload(repo, url, auth).await;
        }
        result
    }
}

/// An open upload session.
struct Upload<'a> {
    client: &'a RegistryClient,
    repo: &'a Repository,
    auth: &'a Credentials,
    digest: &'a str,
    what: &'a str,
    /// The session URL; each answer gives the next one.
    url: Url,
}

impl Upload<'_> {
    async fn run(
        &mut self,
        reader: &mut (dyn AsyncRead + Send + Unpin),
        size: u64,
        progress: &mut (dyn FnMut(u64) + Send),
    ) -> Result<(), RegistryError> {
        let config = &self.client.inner.config;
        let mut hasher = Sha256::new();
        if size <= config.monolithic_upload_max {
            let body = read_chunk(reader, size, 0, size).await?;
            hasher.update(&body);
            self.check(hasher)?;
            let response = self.put(Some(body), 0, progress).await?;
            return self.committed(response);
        }
        let chunk_size = config.upload_chunk_size.max(1);
        let mut offset = 0u64;
        while offset < size {
            let len = chunk_size.min(size - offset);
            let chunk = read_chunk(reader, len, offset, size).await?;
            hasher.update(&chunk);
            self.patch(chunk, offset, progress).await?;
            offset += len;
        }
        self.check(hasher)?;
        let response = self.put(None, size, progress).await?;
        self.committed(response)
    }

    /// Refuses to commit content that is not what `digest` says.
    fn check(&self, hasher: Sha256) -> Result<(), RegistryError> {
        let actual = finish_digest(hasher);
        if actual == self.digest {
            Ok(())
        } else {
            Err(RegistryError::DigestMismatch {
                expected: self.digest.to_owned(),
                actual,
            })
        }
    }

    /// One `PATCH` with bytes `offset..offset+len`; the registry must then have exactly them.
    async fn patch(
        &mut self,
        chunk: Bytes,
        offset: u64,
        progress: &mut (dyn FnMut(u64) + Send),
    ) -> Result<(), RegistryError> {
        let end = offset + chunk.len() as u64 - 1;
        let what = format!("{} (PATCH bytes {offset}-{end})", self.what);
        let mut call = Call::new(
            Method::PATCH,
            self.url.clone(),
            self.repo,
            Access::Push,
            what.clone(),
        );
        call.headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        call.headers.insert(
            CONTENT_RANGE,
            HeaderValue::from_str(&format!("{offset}-{end}")).expect("digits are valid"),
        );
        call.body = Some(chunk);
        let response = self.send_reporting(call, offset, progress).await?;
        let response = error_for_status(response, &what).await?;
        if response.status() != StatusCode::ACCEPTED {
            return Err(RegistryError::Transport(format!(
                "{what}: answered {} instead of 202",
                response.status()
            )));
        }
        // `Range: 0-<last byte received>`.
        if let Some(range) = header_str(response.headers(), &RANGE) {
            let received = range
                .trim()
                .trim_start_matches("bytes=")
                .split_once('-')
                .and_then(|(_, last)| last.trim().parse::<u64>().ok());
            if received != Some(end) {
                return Err(RegistryError::Transport(format!(
                    "{what}: the registry reports having bytes {range:?}, expected 0-{end}"
                )));
            }
        }
        self.url = location(&response, &self.url, &what)?;
        Ok(())
    }

    /// The final `PUT ?digest=`, with the whole blob (monolithic) or nothing (chunked).
    async fn put(
        &mut self,
        body: Option<Bytes>,
        already_sent: u64,
        progress: &mut (dyn FnMut(u64) + Send),
    ) -> Result<Response, RegistryError> {
        let mut url = self.url.clone();
        url.query_pairs_mut().append_pair("digest", self.digest);
        let what = format!("{} (PUT)", self.what);
        let mut call = Call::new(Method::PUT, url, self.repo, Access::Push, what.clone());
        call.headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        call.body = body;
        let response = self.send_reporting(call, already_sent, progress).await?;
        error_for_status(response, &what).await
    }

    /// The upload is done: the registry must say 201 and (if it says) the same digest.
    fn committed(&self, response: Response) -> Result<(), RegistryError> {
        if response.status() != StatusCode::CREATED {
            return Err(RegistryError::Transport(format!(
                "{}: the final PUT answered {} instead of 201",
                self.what,
                response.status()
            )));
        }
        if let Some(stored) = header_str(response.headers(), &DOCKER_CONTENT_DIGEST)
            && stored.starts_with("sha256:")
            && stored != self.digest
        {
            return Err(RegistryError::DigestMismatch {
                expected: self.digest.to_owned(),
                actual: stored,
            });
        }
        Ok(())
    }

    /// Sends `call`, calling `progress(base + bytes sent)` every [`PROGRESS_INTERVAL`] while
    /// its body goes out, and once at the end.
    async fn send_reporting(
        &self,
        mut call: Call<'_>,
        base: u64,
        progress: &mut (dyn FnMut(u64) + Send),
    ) -> Result<Response, RegistryError> {
        let len = call.body.as_ref().map_or(0, |b| b.len() as u64);
        if len == 0 {
            return self.client.send(&call, self.auth).await;
        }
        let sent = Arc::new(AtomicU64::new(0));
        call.sent = Some(sent.clone());
        let send = self.client.send(&call, self.auth);
        tokio::pin!(send);
        let mut ticker = tokio::time::interval(PROGRESS_INTERVAL);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last = None;
        let response = loop {
            tokio::select! {
                response = &mut send => break response?,
                _ = ticker.tick() => {
                    let now = base + sent.load(Ordering::Relaxed).min(len);
                    if last != Some(now) {
                        progress(now);
                        last = Some(now);
                    }
                }
            }
        };
        if last != Some(base + len) {
            progress(base + len);
        }
        Ok(response)
    }
}
