//! Images as the Docker API shows them: `ImageSummary`, `ImageInspect`, history items.

use super::config::ImageConfig;
use super::error::ImageError;
use super::reference::familiar;
use super::service::Images;
use crate::store::digest::Digest;
use crate::store::records::ImageRecord;
use serde_json::{Value, json};

impl Images {
    /// `GET /images/json` entries.
    pub fn summaries(&self) -> Result<Vec<(ImageRecord, Value)>, ImageError> {
        let tags = self.tags_by_image()?;
        let mut out = Vec::new();
        for image in self.store.meta.images()? {
            let config = self.config(&image)?;
            let repo_tags: Vec<String> = tags
                .get(&image.id)
                .map(|names| names.iter().map(|n| familiar(n)).collect())
                .unwrap_or_default();
            let summary = json!({
                "Id": image.id,
                "ParentId": image.parent.clone().unwrap_or_default(),
                "RepoTags": repo_tags,
                "RepoDigests": image.repo_digests.iter().map(|d| familiar(d)).collect::<Vec<_>>(),
                "Created": image.created,
                "Size": image.size,
                "VirtualSize": image.size,
                "SharedSize": -1,
                "Labels": config.labels(),
                "Containers": -1,
            });
            out.push((image, summary));
        }
        out.sort_by(|a, b| b.0.created.cmp(&a.0.created).then(a.0.id.cmp(&b.0.id)));
        Ok(out)
    }

    /// `GET /images/{name}/json`.
    pub fn inspect(&self, image: &ImageRecord) -> Result<Value, ImageError> {
        let config = self.config(image)?;
        let tags = self.tags_by_image()?;
        let repo_tags: Vec<String> = tags
            .get(&image.id)
            .map(|names| names.iter().map(|n| familiar(n)).collect())
            .unwrap_or_default();
        let dirs: Vec<String> = image
            .layers
            .iter()
            .rev()
            .filter_map(|c| Digest::parse(c).ok())
            .map(|c| self.store.layers.diff(&c).display().to_string())
            .collect();
        let graph_data = match dirs.split_first() {
            Some((upper, lower)) if !lower.is_empty() => {
                json!({ "UpperDir": upper, "LowerDir": lower.join(":") })
            }
            Some((upper, _)) => json!({ "UpperDir": upper }),
            None => json!({}),
        };
        let last_tag = if image.last_tag_time > 0 {
            crate::util::clock::rfc3339(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(image.last_tag_time as u64),
            )
        } else {
            "0001-01-01T00:00:00Z".to_string()
        };
        Ok(json!({
            "Id": image.id,
            "RepoTags": repo_tags,
            "RepoDigests": image.repo_digests.iter().map(|d| familiar(d)).collect::<Vec<_>>(),
            "Parent": image.parent.clone().unwrap_or_default(),
            "Comment": config.extra.get("comment").cloned().unwrap_or(json!("")),
            "Created": config.created.clone().unwrap_or_default(),
            "DockerVersion": config.extra.get("docker_version").cloned().unwrap_or(json!("")),
            "Author": config.author.clone().unwrap_or_default(),
            "Config": config.config.clone(),
            "Architecture": config.architecture,
            "Variant": config.variant.clone(),
            "Os": config.os,
            "OsVersion": config.extra.get("os.version").cloned().unwrap_or(json!("")),
            "Size": image.size,
            "VirtualSize": image.size,
            "GraphDriver": { "Name": "overlay2", "Data": graph_data },
            "RootFS": { "Type": "layers", "Layers": config.rootfs.diff_ids },
            "Metadata": { "LastTagTime": last_tag },
        }))
    }

    /// `GET /images/{name}/history`: newest first, with each layer's unpacked size.
    pub fn history(&self, image: &ImageRecord) -> Result<Vec<Value>, ImageError> {
        let config = self.config(image)?;
        let tags: Vec<String> = self
            .tags_by_image()?
            .remove(&image.id)
            .unwrap_or_default()
            .iter()
            .map(|n| familiar(n))
            .collect();
        let mut sizes = image.layers.iter().map(|chain| {
            self.store
                .meta
                .layer(chain)
                .ok()
                .flatten()
                .map_or(0, |l| l.size)
        });
        let entries = history_entries(&config);
        let mut items: Vec<Value> = entries
            .iter()
            .map(|h| {
                let size = if h.empty_layer { 0 } else { sizes.next().unwrap_or(0) };
                json!({
                    "Id": "<missing>",
                    "Created": h.created.as_deref().map(super::config::rfc3339_to_unix).unwrap_or(0),
                    "CreatedBy": h.created_by.clone().unwrap_or_default(),
                    "Tags": null,
                    "Size": size,
                    "Comment": h.comment.clone().unwrap_or_default(),
                })
            })
            .collect();
        items.reverse();
        if let Some(top) = items.first_mut() {
            top["Id"] = json!(image.id);
            top["Tags"] = json!(tags);
        }
        Ok(items)
    }
}

/// The config's history, or one entry per layer when the image has none.
pub(super) fn history_entries(config: &ImageConfig) -> Vec<super::config::History> {
    if !config.history.is_empty() {
        return config.history.clone();
    }
    config
        .rootfs
        .diff_ids
        .iter()
        .map(|_| super::config::History {
            created: config.created.clone(),
            ..Default::default()
        })
        .collect()
}
