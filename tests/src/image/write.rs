//! Writers: an OCI image layout directory and a `docker save` tar.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::tar_builder::LayerBuilder;
use super::{Blob, TestImage, digest_hex};

/// Annotation that names a manifest in an OCI layout's index.json.
const REF_NAME: &str = "org.opencontainers.image.ref.name";

impl TestImage {
    /// Writes the image into the OCI image layout at `dir` (created if needed) under the ref
    /// name `tag`. An existing layout is extended: a manifest with the same ref name is
    /// replaced, others are kept.
    pub fn write_oci_layout(&self, dir: &Path, tag: &str) -> Result<()> {
        let blobs = dir.join("blobs/sha256");
        fs::create_dir_all(&blobs).with_context(|| format!("creating {}", blobs.display()))?;
        fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        for blob in self.blobs().chain(std::iter::once(&self.manifest)) {
            fs::write(blobs.join(digest_hex(&blob.digest)), &blob.data)
                .with_context(|| format!("writing blob {}", blob.digest))?;
        }
        let index_path = dir.join("index.json");
        let mut manifests: Vec<Value> = match fs::read(&index_path) {
            Ok(bytes) => {
                let index: Value = serde_json::from_slice(&bytes)
                    .with_context(|| format!("{} is not JSON", index_path.display()))?;
                index["manifests"].as_array().cloned().unwrap_or_default()
            }
            Err(_) => Vec::new(),
        };
        manifests.retain(|m| m["annotations"][REF_NAME] != tag);
        let mut descriptor = self.manifest.descriptor();
        descriptor["annotations"] = json!({ REF_NAME: tag });
        manifests.push(descriptor);
        let index = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": manifests,
        });
        fs::write(&index_path, serde_json::to_vec(&index)?)?;
        Ok(())
    }

    /// The bytes of a `docker save` tar (classic format: `manifest.json`, `repositories`,
    /// `<config hex>.json`, and per layer `<id>/layer.tar` uncompressed, `VERSION`, `json`),
    /// tagged `repo_tag` (e.g. `busybox:latest`).
    pub fn docker_save_tar(&self, repo_tag: &str) -> Result<Vec<u8>> {
        let Some((repo, tag)) = split_repo_tag(repo_tag) else {
            bail!("{repo_tag:?} is not REPO:TAG");
        };
        let mut out = LayerBuilder::new();
        let config_name = format!("{}.json", digest_hex(&self.config.digest));
        out.file(&config_name, 0o644, self.config.data.clone());
        let mut parent = String::new();
        let mut layer_paths = Vec::new();
        for layer in &self.layers {
            // Legacy v1 IDs: unique per position in the chain, like Docker's.
            let id = hex::encode(Sha256::digest(format!("{parent}\n{}", layer.diff_id)));
            let mut v1 = json!({ "id": id, "created": super::FIXED_CREATED });
            if !parent.is_empty() {
                v1["parent"] = json!(parent);
            }
            out.file(&format!("{id}/VERSION"), 0o644, b"1.0".to_vec())
                .file(&format!("{id}/json"), 0o644, serde_json::to_vec(&v1)?)
                .file(&format!("{id}/layer.tar"), 0o644, layer.tar()?);
            layer_paths.push(format!("{id}/layer.tar"));
            parent = id;
        }
        let manifest = json!([{
            "Config": config_name,
            "RepoTags": [repo_tag],
            "Layers": layer_paths,
        }]);
        out.file("manifest.json", 0o644, serde_json::to_vec(&manifest)?);
        let repositories = json!({ repo: { tag: parent } });
        out.file("repositories", 0o644, serde_json::to_vec(&repositories)?);
        out.to_tar()
    }

    /// Writes [`docker_save_tar`](Self::docker_save_tar) to `path`.
    pub fn write_docker_save(&self, path: &Path, repo_tag: &str) -> Result<()> {
        fs::write(path, self.docker_save_tar(repo_tag)?)
            .with_context(|| format!("writing {}", path.display()))
    }

    /// The blob with `digest`, if the image has one (config, layer or manifest).
    pub fn blob(&self, digest: &str) -> Option<&Blob> {
        self.blobs()
            .chain(std::iter::once(&self.manifest))
            .find(|b| b.digest == digest)
    }
}

/// `repo:tag` → (`repo`, `tag`); the tag is after the last `:` that follows the last `/`
/// (so `127.0.0.1:5000/x:1` works).
fn split_repo_tag(repo_tag: &str) -> Option<(&str, &str)> {
    let name_start = repo_tag.rfind('/').map_or(0, |i| i + 1);
    let colon = repo_tag[name_start..].rfind(':')? + name_start;
    let (repo, tag) = (&repo_tag[..colon], &repo_tag[colon + 1..]);
    (!repo.is_empty() && !tag.is_empty()).then_some((repo, tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_repo_and_tag() {
        assert_eq!(
            split_repo_tag("busybox:latest"),
            Some(("busybox", "latest"))
        );
        assert_eq!(
            split_repo_tag("127.0.0.1:5000/a/b:v1"),
            Some(("127.0.0.1:5000/a/b", "v1"))
        );
        assert_eq!(split_repo_tag("127.0.0.1:5000/a"), None);
    }
}
