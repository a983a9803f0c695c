//! The layer graph: which images share which layers (Berth extension).

use super::error::ImageError;
use super::reference::familiar;
use super::service::Images;
use shared::layers::{ImageNode, LayerGraph, LayerNode};

impl Images {
    pub fn layer_graph(&self) -> Result<LayerGraph, ImageError> {
        let tags = self.tags_by_image()?;
        let images = self.store.meta.images()?;
        let mut layers: Vec<LayerNode> = self
            .store
            .meta
            .layers()?
            .into_iter()
            .map(|l| LayerNode {
                images: images
                    .iter()
                    .filter(|i| i.layers.contains(&l.chain_id))
                    .map(|i| i.id.clone())
                    .collect(),
                containers: Vec::new(),
                blob_digest: l.blob.as_ref().map(|b| b.digest.clone()),
                blob_size: l.blob.as_ref().map(|b| b.size),
                chain_id: l.chain_id,
                diff_id: l.diff_id,
                parent: l.parent,
                size: l.size,
            })
            .collect();
        layers.sort_by(|a, b| {
            b.images
                .len()
                .cmp(&a.images.len())
                .then(a.chain_id.cmp(&b.chain_id))
        });
        let total_size = layers.iter().map(|l| l.size).sum();
        let unshared_size = images.iter().map(|i| i.size).sum();
        let images = images
            .into_iter()
            .map(|i| ImageNode {
                tags: tags
                    .get(&i.id)
                    .map(|t| t.iter().map(|n| familiar(n)).collect())
                    .unwrap_or_default(),
                id: i.id,
                layers: i.layers,
                size: i.size,
                created: i.created,
            })
            .collect();
        Ok(LayerGraph {
            layers,
            images,
            total_size,
            unshared_size,
        })
    }
}
