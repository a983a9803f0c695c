//! Pushing a [`TestImage`] to a registry over plain HTTP (distribution spec: monolithic
//! POST + PUT blob uploads, then PUT of the manifest).

use anyhow::{Context, Result, bail};
use reqwest::{Client, RequestBuilder, StatusCode, Url};

use super::{Blob, TestImage};

/// Where and as whom to push.
struct Target<'a> {
    client: Client,
    base: Url,
    repo: &'a str,
    auth: Option<(&'a str, &'a str)>,
}

impl Target<'_> {
    fn with_auth(&self, request: RequestBuilder) -> RequestBuilder {
        match self.auth {
            Some((user, password)) => request.basic_auth(user, Some(password)),
            None => request,
        }
    }

    fn url(&self, path: &str) -> Result<Url> {
        self.base
            .join(&format!("/v2/{}/{path}", self.repo))
            .context("building a registry URL")
    }

    /// Uploads `blob` unless the registry has it already.
    async fn push_blob(&self, blob: &Blob) -> Result<()> {
        let head = self
            .with_auth(
                self.client
                    .head(self.url(&format!("blobs/{}", blob.digest))?),
            )
            .send()
            .await
            .context("HEAD blob")?;
        if head.status() == StatusCode::OK {
            return Ok(());
        }
        let start = self
            .with_auth(self.client.post(self.url("blobs/uploads/")?))
            .send()
            .await
            .context("starting a blob upload")?;
        if start.status() != StatusCode::ACCEPTED {
            bail!(
                "POST blobs/uploads/ answered {}: {}",
                start.status(),
                start.text().await.unwrap_or_default()
            );
        }
        let location = start
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .context("upload answer without Location")?;
        let mut upload = self.base.join(location).context("bad upload Location")?;
        upload.query_pairs_mut().append_pair("digest", &blob.digest);
        let put = self
            .with_auth(self.client.put(upload))
            .header("content-type", "application/octet-stream")
            .body(blob.data.clone())
            .send()
            .await
            .context("uploading a blob")?;
        if put.status() != StatusCode::CREATED {
            bail!(
                "PUT of blob {} answered {}: {}",
                blob.digest,
                put.status(),
                put.text().await.unwrap_or_default()
            );
        }
        Ok(())
    }
}

impl TestImage {
    /// Pushes the image to `http://<registry>/` (`registry` = `host:port`) as `repo:tag`,
    /// with basic auth when `auth` is given. Returns the manifest digest the registry reports.
    pub async fn push(
        &self,
        registry: &str,
        repo: &str,
        tag: &str,
        auth: Option<(&str, &str)>,
    ) -> Result<String> {
        let target = Target {
            client: Client::builder()
                .no_proxy()
                .build()
                .context("building the HTTP client")?,
            base: Url::parse(&format!("http://{registry}/")).context("bad registry address")?,
            repo,
            auth,
        };
        for blob in self.blobs() {
            target
                .push_blob(blob)
                .await
                .with_context(|| format!("pushing blob {}", blob.digest))?;
        }
        let put = target
            .with_auth(target.client.put(target.url(&format!("manifests/{tag}"))?))
            .header("content-type", &self.manifest.media_type)
            .body(self.manifest.data.clone())
            .send()
            .await
            .context("uploading the manifest")?;
        if put.status() != StatusCode::CREATED {
            bail!(
                "PUT manifest {repo}:{tag} answered {}: {}",
                put.status(),
                put.text().await.unwrap_or_default()
            );
        }
        let digest = put
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .unwrap_or(&self.manifest.digest)
            .to_owned();
        if digest != self.manifest.digest {
            bail!(
                "registry stored manifest {digest}, expected {}",
                self.manifest.digest
            );
        }
        Ok(digest)
    }
}
