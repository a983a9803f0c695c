//! Questions the Layers and Image pages ask of the layer graph: an image's name, the step
//! that made a layer, the containers standing on a layer. Pure, so unit-tested on the host.

use crate::format;
use shared::layers::{HistoryStep, LayerGraph};

/// The image's familiar name (`<none>` when untagged), or its short ID when unknown.
pub fn image_name(graph: &LayerGraph, id: &str) -> String {
    graph
        .images
        .iter()
        .find(|i| i.id == id)
        .map(|i| format::image_name(&i.tags).to_string())
        .unwrap_or_else(|| format::short_id(id).to_string())
}

/// The history step that made the layer, from the first image whose history names it.
pub fn made_by<'g>(graph: &'g LayerGraph, chain: &str) -> Option<&'g HistoryStep> {
    graph
        .images
        .iter()
        .flat_map(|i| &i.history)
        .find(|h| h.layer.as_deref() == Some(chain))
}

/// `(id, name)` of each container in `ids`, named as the graph's container list says.
pub fn containers(graph: &LayerGraph, ids: &[String]) -> Vec<(String, String)> {
    ids.iter()
        .map(|id| {
            let name = graph
                .containers
                .iter()
                .find(|c| &c.id == id)
                .map_or_else(|| format::short_id(id).to_string(), |c| c.name.clone());
            (id.clone(), name)
        })
        .collect()
}

/// `(id, name)` of the images other than `except` that contain the layer.
pub fn other_images(graph: &LayerGraph, chain: &str, except: &str) -> Vec<(String, String)> {
    graph
        .layers
        .iter()
        .find(|l| l.chain_id == chain)
        .map(|l| {
            l.images
                .iter()
                .filter(|id| *id != except)
                .map(|id| (id.clone(), image_name(graph, id)))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::layers::{ContainerRef, ImageNode, LayerNode};

    fn graph() -> LayerGraph {
        let step = |by: &str, layer: Option<&str>| HistoryStep {
            created: 1,
            created_by: by.into(),
            comment: String::new(),
            layer: layer.map(str::to_string),
        };
        LayerGraph {
            layers: vec![LayerNode {
                chain_id: "base".into(),
                diff_id: "d".into(),
                parent: None,
                size: 10,
                blob_digest: None,
                blob_size: None,
                images: vec!["i1".into(), "i2".into()],
                containers: vec!["c1".into()],
            }],
            images: vec![
                ImageNode {
                    id: "i1".into(),
                    tags: vec!["one:1".into()],
                    layers: vec!["base".into()],
                    size: 10,
                    created: 0,
                    containers: vec!["c1".into()],
                    history: vec![step("ADD rootfs", Some("base")), step("CMD sh", None)],
                },
                ImageNode {
                    id: "i2".into(),
                    tags: vec![],
                    layers: vec!["base".into()],
                    size: 10,
                    created: 0,
                    containers: vec![],
                    history: vec![],
                },
            ],
            total_size: 10,
            unshared_size: 20,
            containers: vec![ContainerRef {
                id: "c1".into(),
                name: "web".into(),
                image: "i1".into(),
                state: "running".into(),
            }],
        }
    }

    #[test]
    fn answers_from_the_graph() {
        let g = graph();
        assert_eq!(image_name(&g, "i1"), "one:1");
        assert_eq!(image_name(&g, "i2"), "<none>");
        assert_eq!(made_by(&g, "base").unwrap().created_by, "ADD rootfs");
        assert!(made_by(&g, "other").is_none());
        assert_eq!(
            containers(&g, &["c1".into(), "c9".into()]),
            [("c1".into(), "web".into()), ("c9".into(), "c9".into())]
        );
        assert_eq!(
            other_images(&g, "base", "i1"),
            [("i2".to_string(), "<none>".to_string())]
        );
    }
}
