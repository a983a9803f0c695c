//! `docker import`: a root filesystem tar (plain, gzip or zstd) becomes a one-layer image.

use crate::image::error::ImageError;
use crate::image::layers::NewImage;
use crate::image::lease::Lease;
use crate::image::reference::Reference;
use crate::image::service::Images;
use crate::store::records::ImageRecord;
use crate::util::clock::rfc3339;
use serde_json::json;
use std::collections::BTreeMap;
use std::io::Read;

impl Images {
    /// Blocking half: unpacks the upload into a staged layer and records it.
    fn import_layer(
        &self,
        body: impl Read,
        lease: &Lease,
    ) -> Result<crate::store::records::LayerRecord, ImageError> {
        self.unpack_local(body, None, None, "the uploaded archive", lease)
    }

    /// `POST /images/create?fromSrc=-`: `repo` may carry the tag (`name:tag`), as the CLI sends it.
    pub async fn import(
        self: &std::sync::Arc<Self>,
        body: impl Read + Send + 'static,
        repo: Option<&str>,
        tag: Option<&str>,
        message: Option<&str>,
    ) -> Result<ImageRecord, ImageError> {
        let target = match repo.filter(|r| !r.is_empty()) {
            Some(repo) => {
                let r = Reference::parse_bare(repo)?;
                Some(match (tag.filter(|t| !t.is_empty()), &r.tag) {
                    (Some(t), _) => r.with_tag(t)?,
                    (None, Some(_)) => r,
                    (None, None) => r.with_tag("latest")?,
                })
            }
            None => None,
        };
        let this = self.clone();
        // Held until the image is recorded, so a concurrent rmi cannot collect the layer.
        let lease = self.leases.take();
        let (layer, _lease) = tokio::task::spawn_blocking(move || {
            let layer = this.import_layer(body, &lease);
            (layer, lease)
        })
        .await
        .map_err(|e| ImageError::Layer(format!("import task: {e}")))?;
        let layer = layer?;
        let now = rfc3339(std::time::SystemTime::now());
        let config = json!({
            "architecture": crate::system::facts::go_arch(std::env::consts::ARCH),
            "os": "linux",
            "created": now,
            "config": {},
            "rootfs": { "type": "layers", "diff_ids": [layer.diff_id] },
            "history": [{
                "created": now,
                "created_by": "",
                "comment": message.filter(|m| !m.is_empty()).unwrap_or("Imported from -"),
            }],
        });
        let config =
            serde_json::to_vec(&config).map_err(|e| ImageError::BadInput(e.to_string()))?;
        let tags: Vec<String> = target.iter().filter_map(Reference::tagged_name).collect();
        let image = self
            .add_image(NewImage {
                config: &config,
                layers: std::slice::from_ref(&layer),
                manifest: None,
                repo_digest: None,
                tags: &tags,
                parent: None,
            })
            .await?;
        let mut attributes = BTreeMap::new();
        if let Some(t) = tags.first() {
            attributes.insert("name".to_string(), crate::image::reference::familiar(t));
        }
        self.events
            .publish("image", "import", &image.id, attributes);
        Ok(image)
    }
}
