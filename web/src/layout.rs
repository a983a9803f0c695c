//! The layer graph laid out for the Layers page: one stack of blocks per image, bottom layer
//! first, each block sized by its bytes (log scale) and coloured the same wherever it is
//! shared. Pure, so it is unit-tested on the host.

use crate::format;
use shared::layers::{LayerGraph, LayerNode};
use std::collections::HashMap;

/// One layer inside one image's stack.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub chain: String,
    pub size: u64,
    /// How many images contain this layer.
    pub shared_by: usize,
    /// The layer's hue when it is shared; `None` when only this image has it.
    pub hue: Option<u16>,
    /// Pixels.
    pub height: u32,
}

impl Block {
    /// The block's CSS background.
    pub fn color(&self) -> String {
        match self.hue {
            Some(h) => format!("hsl({h} 62% 74%)"),
            None => "#e3e7ec".to_string(),
        }
    }
}

/// One image's column.
#[derive(Clone, Debug, PartialEq)]
pub struct Stack {
    pub image: String,
    /// `repository:tag`, or `<none>`.
    pub name: String,
    pub size: u64,
    /// Bytes in layers no other image has: what removing this image alone frees.
    pub unique: u64,
    /// Bottom layer first.
    pub blocks: Vec<Block>,
}

/// A block's height in pixels for `size` bytes: log scale, so a 4 KiB layer and a 400 MiB one
/// both stay visible.
pub fn block_height(size: u64) -> u32 {
    let kib = size as f64 / 1024.0;
    (18.0 + 9.0 * (1.0 + kib).log2()).round().clamp(18.0, 180.0) as u32
}

/// Hues for the shared layers (in the graph's order: most shared first), spread by the golden
/// angle so neighbours differ.
fn hues(graph: &LayerGraph) -> HashMap<&str, u16> {
    graph
        .layers
        .iter()
        .filter(|l| l.images.len() > 1)
        .enumerate()
        .map(|(i, l)| {
            let hue = (205.0 + i as f64 * 137.508) % 360.0;
            (l.chain_id.as_str(), hue as u16)
        })
        .collect()
}

/// The stacks, images on the same base next to each other.
pub fn stacks(graph: &LayerGraph) -> Vec<Stack> {
    let by_chain: HashMap<&str, &LayerNode> = graph
        .layers
        .iter()
        .map(|l| (l.chain_id.as_str(), l))
        .collect();
    let hues = hues(graph);
    let users = |chain: &str| match by_chain.get(chain) {
        Some(l) => l.images.len(),
        None => graph
            .images
            .iter()
            .filter(|i| i.layers.iter().any(|c| c == chain))
            .count(),
    };
    let mut images: Vec<_> = graph.images.iter().collect();
    images.sort_by(|a, b| {
        a.layers
            .cmp(&b.layers)
            .then_with(|| format::image_name(&a.tags).cmp(format::image_name(&b.tags)))
            .then_with(|| a.id.cmp(&b.id))
    });
    images
        .into_iter()
        .map(|image| {
            let blocks: Vec<Block> = image
                .layers
                .iter()
                .map(|chain| {
                    let size = by_chain.get(chain.as_str()).map_or(0, |l| l.size);
                    Block {
                        chain: chain.clone(),
                        size,
                        shared_by: users(chain),
                        hue: hues.get(chain.as_str()).copied(),
                        height: block_height(size),
                    }
                })
                .collect();
            Stack {
                image: image.id.clone(),
                name: format::image_name(&image.tags).to_string(),
                size: image.size,
                unique: blocks
                    .iter()
                    .filter(|b| b.shared_by <= 1)
                    .map(|b| b.size)
                    .sum(),
                blocks,
            }
        })
        .collect()
}

/// `#layers-summary`: "3 layers, 10.0 MiB on disk; without sharing the images would take
/// 14.0 MiB — 4.0 MiB saved".
pub fn summary(graph: &LayerGraph) -> String {
    let n = graph.layers.len();
    let saved = graph.unshared_size.saturating_sub(graph.total_size);
    format!(
        "{n} {}, {} on disk; without sharing the images would take {} — {} saved",
        if n == 1 { "layer" } else { "layers" },
        format::bytes(graph.total_size),
        format::bytes(graph.unshared_size),
        format::bytes(saved),
    )
}

/// Layers no image uses (kept for containers, or waiting for garbage collection).
pub fn unused(graph: &LayerGraph) -> usize {
    graph.layers.iter().filter(|l| l.images.is_empty()).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::layers::ImageNode;

    fn layer(chain: &str, size: u64, images: &[&str]) -> LayerNode {
        LayerNode {
            chain_id: chain.into(),
            diff_id: format!("diff-{chain}"),
            parent: None,
            size,
            blob_digest: None,
            blob_size: None,
            images: images.iter().map(|s| s.to_string()).collect(),
            containers: Vec::new(),
        }
    }

    fn image(id: &str, tag: &str, layers: &[&str], size: u64) -> ImageNode {
        ImageNode {
            id: id.into(),
            tags: if tag.is_empty() {
                vec![]
            } else {
                vec![tag.into()]
            },
            layers: layers.iter().map(|s| s.to_string()).collect(),
            size,
            created: 0,
        }
    }

    /// base (1 MiB) shared by app and tool; app and tool each add one layer; other stands alone.
    fn graph() -> LayerGraph {
        LayerGraph {
            layers: vec![
                layer("base", 1 << 20, &["i-app", "i-tool"]),
                layer("app", 2048, &["i-app"]),
                layer("tool", 4096, &["i-tool"]),
                layer("solo", 512, &["i-other"]),
                layer("orphan", 10, &[]),
            ],
            images: vec![
                image("i-tool", "tool:1", &["base", "tool"], (1 << 20) + 4096),
                image("i-other", "", &["solo"], 512),
                image("i-app", "app:1", &["base", "app"], (1 << 20) + 2048),
            ],
            total_size: (1 << 20) + 2048 + 4096 + 512 + 10,
            unshared_size: 2 * (1 << 20) + 2048 + 4096 + 512,
        }
    }

    #[test]
    fn shared_layers_have_one_colour_everywhere() {
        let s = stacks(&graph());
        let names: Vec<&str> = s.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["app:1", "tool:1", "<none>"]);
        let (app, tool) = (&s[0], &s[1]);
        assert_eq!(app.blocks[0].chain, "base");
        assert_eq!(app.blocks[0], tool.blocks[0]);
        assert_eq!(app.blocks[0].shared_by, 2);
        assert!(app.blocks[0].hue.is_some());
        assert_eq!(app.blocks[1].hue, None);
        assert_eq!(app.blocks[1].color(), "#e3e7ec");
        assert_eq!(app.unique, 2048);
        assert_eq!(tool.unique, 4096);
        assert_eq!(s[2].unique, 512);
    }

    #[test]
    fn shared_hues_differ() {
        let mut g = graph();
        g.layers.push(layer("base2", 1, &["i-app", "i-other"]));
        let h = hues(&g);
        assert_eq!(h.len(), 2);
        assert_ne!(h["base"], h["base2"]);
    }

    #[test]
    fn heights_grow_slowly_and_stay_bounded() {
        assert_eq!(block_height(0), 18);
        assert!(block_height(4096) < block_height(1 << 20));
        assert!(block_height(1 << 20) < block_height(100 << 20));
        assert_eq!(block_height(u64::MAX), 180);
    }

    #[test]
    fn summary_says_what_sharing_saves() {
        let g = graph();
        assert_eq!(
            summary(&g),
            "5 layers, 1.0 MiB on disk; without sharing the images would take 2.0 MiB — 1.0 MiB saved"
        );
        assert_eq!(unused(&g), 1);
        let empty = LayerGraph::default();
        assert_eq!(
            summary(&empty),
            "0 layers, 0 B on disk; without sharing the images would take 0 B — 0 B saved"
        );
    }

    #[test]
    fn a_missing_layer_counts_its_users() {
        let mut g = graph();
        g.layers.retain(|l| l.chain_id != "base");
        let s = stacks(&g);
        assert_eq!(s[0].blocks[0].shared_by, 2);
        assert_eq!(s[0].blocks[0].size, 0);
    }
}
