//! The layer graph: which images share which layers (Berth extension).

use super::error::ImageError;
use super::reference::familiar;
use super::service::Images;
use super::views::history_entries;
use crate::store::records::ImageRecord;
use shared::layers::{HistoryStep, ImageNode, LayerGraph, LayerNode};

impl Images {
    /// Every layer and image (but a build's intermediate images), which images and containers
    /// stand on each layer, and each image's history tied to the layers its steps made. `LayerGraph::containers` is left
    /// for the caller, who knows the containers' names.
    pub fn layer_graph(&self) -> Result<LayerGraph, ImageError> {
        let tags = self.tags_by_image()?;
        // A build's intermediate images (untagged, others built on them) are steps of the
        // images built on them, not images of their own: left out, as `docker images` does,
        // so they neither show nor make a layer look shared.
        let parents = self.parents()?;
        let images: Vec<ImageRecord> = self
            .store
            .meta
            .images()?
            .into_iter()
            .filter(|i| {
                tags.contains_key(&i.id) || !i.repo_digests.is_empty() || !parents.contains(&i.id)
            })
            .collect();
        let used = self.used_images();
        let mut layers: Vec<LayerNode> = self
            .store
            .meta
            .layers()?
            .into_iter()
            .map(|l| {
                let holders: Vec<&ImageRecord> = images
                    .iter()
                    .filter(|i| i.layers.contains(&l.chain_id))
                    .collect();
                let mut containers: Vec<String> = holders
                    .iter()
                    .filter_map(|i| used.get(&i.id))
                    .flatten()
                    .cloned()
                    .collect();
                containers.sort();
                (
                    l,
                    holders.iter().map(|i| i.id.clone()).collect(),
                    containers,
                )
            })
            .map(|(l, images, containers)| LayerNode {
                images,
                containers,
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
                containers: used.get(&i.id).cloned().unwrap_or_default(),
                history: self.history_steps(&i),
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
            containers: Vec::new(),
        })
    }

    /// The image's history, oldest first, each step that made a layer paired with it in
    /// order. An unreadable config gives no history rather than no graph.
    fn history_steps(&self, image: &ImageRecord) -> Vec<HistoryStep> {
        let Ok(config) = self.config(image) else {
            return Vec::new();
        };
        let mut layers = image.layers.iter();
        history_entries(&config)
            .into_iter()
            .map(|h| HistoryStep {
                created: h
                    .created
                    .as_deref()
                    .map(super::config::rfc3339_to_unix)
                    .unwrap_or(0),
                created_by: h.created_by.unwrap_or_default(),
                comment: h.comment.unwrap_or_default(),
                layer: if h.empty_layer {
                    None
                } else {
                    layers.next().cloned()
                },
            })
            .collect()
    }
}
