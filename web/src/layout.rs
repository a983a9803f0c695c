//! The layer graph laid out for the Layers page as a tree drawn bottom up, like an icicle
//! chart: base layers at the bottom, each layer spanning the layers built on it, images as
//! caps at the leaves. Widths follow bytes (with a floor so small layers stay visible); a
//! layer shared by several images has its own colour. Pure, so it is unit-tested on the host.
//! The per-image figures (what removing an image frees, what it shares) live here too.

use crate::format;
use shared::layers::{ImageNode, LayerGraph, LayerNode};
use std::collections::{HashMap, HashSet};

/// Pixels of width that all the bytes on the host would take without the floors below.
const BYTES_WIDTH: f64 = 560.0;
/// The narrowest a layer is drawn.
const MIN_LAYER_WIDTH: u32 = 56;
/// The width an image's cap needs for its name.
const IMAGE_WIDTH: u32 = 160;
/// One layer row.
pub const ROW: u32 = 30;
/// An image's cap: its name and what removing it frees.
pub const CAP: u32 = 40;
/// Space between neighbours.
pub const GAP: u32 = 2;
/// Roughly how wide one character of the labels is (12 px bold for image names).
const CHAR_WIDTH: f64 = 7.2;

/// One layer's rectangle.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerBox {
    pub chain: String,
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub size: u64,
    /// How many images contain this layer.
    pub shared_by: usize,
    /// How many containers stand on it.
    pub containers: usize,
    /// The layer's hue when several images share it; `None` otherwise.
    pub hue: Option<u16>,
    /// What fits inside: the size, and `×N` when shared.
    pub label: String,
}

impl LayerBox {
    pub fn fill(&self) -> String {
        match (self.hue, self.shared_by) {
            (Some(h), _) => format!("hsl({h} 62% 74%)"),
            (None, 0) => "#f4f5f7".to_string(),
            (None, _) => "#e3e7ec".to_string(),
        }
    }
}

/// One image's cap, above its top layer.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageBox {
    pub id: String,
    pub x: u32,
    pub y: u32,
    pub width: u32,
    /// The name, cut to fit.
    pub label: String,
    /// "frees 2.0 MiB", or "used by 2 containers".
    pub note: String,
    pub in_use: bool,
}

/// The whole drawing.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Tree {
    pub width: u32,
    pub height: u32,
    pub layers: Vec<LayerBox>,
    pub images: Vec<ImageBox>,
}

/// What one image takes and what removing it would give back.
#[derive(Clone, Debug, PartialEq)]
pub struct Usage {
    pub id: String,
    pub name: String,
    pub size: u64,
    /// Bytes in layers no other image has: what removing this image frees.
    pub unique: u64,
    /// Bytes in layers other images have too.
    pub shared: u64,
    /// IDs of the containers made from it (removal is refused while there are any).
    pub containers: Vec<String>,
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

/// `text` cut to about `width` pixels, with an ellipsis when cut.
pub fn fit(text: &str, width: u32) -> String {
    let room = ((width.saturating_sub(10)) as f64 / CHAR_WIDTH).floor() as usize;
    let count = text.chars().count();
    if count <= room {
        text.to_string()
    } else if room <= 1 {
        String::new()
    } else {
        let mut cut: String = text.chars().take(room - 1).collect();
        cut.push('…');
        cut
    }
}

/// Each image's figures, by image ID.
pub fn usage(graph: &LayerGraph) -> HashMap<String, Usage> {
    let by_chain: HashMap<&str, &LayerNode> = graph
        .layers
        .iter()
        .map(|l| (l.chain_id.as_str(), l))
        .collect();
    graph
        .images
        .iter()
        .map(|image| {
            let (mut unique, mut shared) = (0, 0);
            for chain in &image.layers {
                if let Some(l) = by_chain.get(chain.as_str()) {
                    if l.images.len() > 1 {
                        shared += l.size;
                    } else {
                        unique += l.size;
                    }
                }
            }
            let usage = Usage {
                id: image.id.clone(),
                name: format::image_name(&image.tags).to_string(),
                size: image.size,
                unique,
                shared,
                containers: image.containers.clone(),
            };
            (image.id.clone(), usage)
        })
        .collect()
}

/// The layers as a forest: which layers stand on which, and which images top which layer.
struct Forest<'a> {
    layers: HashMap<&'a str, &'a LayerNode>,
    children: HashMap<&'a str, Vec<&'a str>>,
    roots: Vec<&'a str>,
    /// Images by their top layer's chain ID.
    tops: HashMap<&'a str, Vec<&'a ImageNode>>,
    /// Images without a layer.
    bare: Vec<&'a ImageNode>,
}

impl<'a> Forest<'a> {
    fn new(graph: &'a LayerGraph) -> Self {
        let layers: HashMap<&str, &LayerNode> = graph
            .layers
            .iter()
            .map(|l| (l.chain_id.as_str(), l))
            .collect();
        let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
        let mut roots = Vec::new();
        for l in &graph.layers {
            match l.parent.as_deref().filter(|p| layers.contains_key(p)) {
                Some(parent) => children.entry(parent).or_default().push(&l.chain_id),
                None => roots.push(l.chain_id.as_str()),
            }
        }
        let mut tops: HashMap<&str, Vec<&ImageNode>> = HashMap::new();
        let mut bare = Vec::new();
        for image in &graph.images {
            match image
                .layers
                .last()
                .map(String::as_str)
                .filter(|c| layers.contains_key(c))
            {
                Some(top) => tops.entry(top).or_default().push(image),
                None => bare.push(image),
            }
        }
        for list in tops.values_mut() {
            list.sort_by(|a, b| {
                format::image_name(&a.tags)
                    .cmp(format::image_name(&b.tags))
                    .then(a.id.cmp(&b.id))
            });
        }
        Forest {
            layers,
            children,
            roots,
            tops,
            bare,
        }
    }
}

/// Lays the graph out; `usage` gives each image's cap its note.
pub fn tree(graph: &LayerGraph) -> Tree {
    let forest = Forest::new(graph);
    let usage = usage(graph);
    let total: u64 = graph.layers.iter().map(|l| l.size).sum::<u64>().max(1);
    let hues = hues(graph);
    let mut layout = Layout {
        forest: &forest,
        usage: &usage,
        hues: &hues,
        total,
        widths: HashMap::new(),
        depth: 0,
        layers: Vec::new(),
        images: Vec::new(),
    };
    // Widest first, then by chain ID, so a reload draws the same picture.
    let mut roots = forest.roots.clone();
    roots.sort_by_key(|r| (std::cmp::Reverse(layout.width(r, &mut HashSet::new())), *r));
    let mut x = 0;
    for root in roots {
        x += layout.place(root, x, 0, &mut HashSet::new()) + GAP * 4;
    }
    for image in &forest.bare {
        layout.cap(image, x, 0, IMAGE_WIDTH);
        x += IMAGE_WIDTH + GAP * 4;
    }
    let height = layout.depth * ROW + CAP;
    // Rows were counted from the bottom; SVG counts from the top.
    for b in &mut layout.layers {
        b.y = height - b.y - ROW;
    }
    for b in &mut layout.images {
        b.y = height - b.y - CAP;
    }
    Tree {
        width: x.saturating_sub(GAP * 4).max(1),
        height,
        layers: layout.layers,
        images: layout.images,
    }
}

struct Layout<'a> {
    forest: &'a Forest<'a>,
    usage: &'a HashMap<String, Usage>,
    hues: &'a HashMap<&'a str, u16>,
    total: u64,
    widths: HashMap<&'a str, u32>,
    /// Layer rows used so far (the tallest stack).
    depth: u32,
    layers: Vec<LayerBox>,
    images: Vec<ImageBox>,
}

impl<'a> Layout<'a> {
    /// The width of the layer's own part: its bytes, but room for the images it tops.
    fn own_width(&self, chain: &str) -> u32 {
        let size = self.forest.layers.get(chain).map_or(0, |l| l.size);
        let bytes = (size as f64 / self.total as f64 * BYTES_WIDTH).round() as u32;
        let caps = self.forest.tops.get(chain).map_or(0, Vec::len) as u32;
        bytes.max(MIN_LAYER_WIDTH).max(caps * (IMAGE_WIDTH + GAP))
    }

    /// The layer's width with everything built on it. `seen` guards against a parent loop in
    /// a damaged graph.
    fn width(&mut self, chain: &'a str, seen: &mut HashSet<&'a str>) -> u32 {
        if let Some(w) = self.widths.get(chain) {
            return *w;
        }
        if !seen.insert(chain) {
            return 0;
        }
        let mut w = self.own_width(chain);
        for child in self.forest.children.get(chain).cloned().unwrap_or_default() {
            w += self.width(child, seen);
        }
        self.widths.insert(chain, w);
        w
    }

    /// Draws the layer at `x` on row `depth` and everything on it; returns its width.
    fn place(&mut self, chain: &'a str, x: u32, depth: u32, seen: &mut HashSet<&'a str>) -> u32 {
        if !seen.insert(chain) {
            return 0;
        }
        let mut children = self.forest.children.get(chain).cloned().unwrap_or_default();
        children.sort_by_key(|c| (std::cmp::Reverse(self.width(c, &mut HashSet::new())), *c));
        let mut cursor = x;
        for child in children {
            cursor += self.place(child, cursor, depth + 1, seen);
        }
        let own = self.own_width(chain);
        if let Some(images) = self.forest.tops.get(chain) {
            let each = own / images.len().max(1) as u32;
            for (i, image) in images.iter().enumerate() {
                self.cap(image, cursor + i as u32 * each, depth + 1, each);
            }
        }
        let width = cursor + own - x;
        let layer = self.forest.layers.get(chain);
        let size = layer.map_or(0, |l| l.size);
        let shared_by = layer.map_or(0, |l| l.images.len());
        let text = if shared_by > 1 {
            format!("{} ×{shared_by}", format::bytes(size))
        } else {
            format::bytes(size)
        };
        self.layers.push(LayerBox {
            chain: chain.to_string(),
            x: x + GAP / 2,
            y: depth * ROW,
            width: width.saturating_sub(GAP).max(1),
            size,
            shared_by,
            containers: layer.map_or(0, |l| l.containers.len()),
            hue: self.hues.get(chain).copied(),
            label: fit(&text, width),
        });
        self.depth = self.depth.max(depth + 1);
        width
    }

    fn cap(&mut self, image: &ImageNode, x: u32, depth: u32, width: u32) {
        let usage = self.usage.get(&image.id);
        let name = format::image_name(&image.tags);
        let note = match usage {
            Some(u) if !u.containers.is_empty() => match u.containers.len() {
                1 => "used by 1 container".to_string(),
                n => format!("used by {n} containers"),
            },
            Some(u) => format!("frees {}", format::bytes(u.unique)),
            None => String::new(),
        };
        self.images.push(ImageBox {
            id: image.id.clone(),
            x: x + GAP / 2,
            y: depth * ROW,
            width: width.saturating_sub(GAP).max(1),
            label: fit(name, width),
            note: fit(&note, width),
            in_use: usage.is_some_and(|u| !u.containers.is_empty()),
        });
        self.depth = self.depth.max(depth);
    }
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

    fn layer(chain: &str, parent: Option<&str>, size: u64, images: &[&str]) -> LayerNode {
        LayerNode {
            chain_id: chain.into(),
            diff_id: format!("diff-{chain}"),
            parent: parent.map(str::to_string),
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
            containers: Vec::new(),
            history: Vec::new(),
        }
    }

    /// base (1 MiB) is busybox itself and the bottom of app and tool; other stands alone.
    fn graph() -> LayerGraph {
        LayerGraph {
            layers: vec![
                layer("base", None, 1 << 20, &["i-app", "i-tool", "i-busybox"]),
                layer("app", Some("base"), 2048, &["i-app"]),
                layer("tool", Some("base"), 4096, &["i-tool"]),
                layer("solo", None, 512, &["i-other"]),
                layer("orphan", None, 10, &[]),
            ],
            images: vec![
                image("i-tool", "tool:1", &["base", "tool"], (1 << 20) + 4096),
                image("i-other", "", &["solo"], 512),
                image("i-app", "app:1", &["base", "app"], (1 << 20) + 2048),
                image("i-busybox", "busybox:latest", &["base"], 1 << 20),
            ],
            total_size: (1 << 20) + 2048 + 4096 + 512 + 10,
            unshared_size: 3 * (1 << 20) + 2048 + 4096 + 512,
            containers: Vec::new(),
        }
    }

    fn find<'t>(t: &'t Tree, chain: &str) -> &'t LayerBox {
        t.layers.iter().find(|b| b.chain == chain).unwrap()
    }

    fn cap<'t>(t: &'t Tree, id: &str) -> &'t ImageBox {
        t.images.iter().find(|b| b.id == id).unwrap()
    }

    #[test]
    fn a_shared_base_spans_what_is_built_on_it() {
        let t = tree(&graph());
        let (base, app, tool) = (find(&t, "base"), find(&t, "app"), find(&t, "tool"));
        // Each layer is drawn once, the base under both children, one row lower.
        assert_eq!(t.layers.len(), 5);
        assert!(base.x <= app.x.min(tool.x));
        assert!(base.x + base.width >= app.x.max(tool.x) + app.width.min(tool.width));
        assert_eq!(app.y, base.y - ROW);
        assert_eq!(tool.y, app.y);
        assert_eq!(base.shared_by, 3);
        assert!(base.hue.is_some() && app.hue.is_none());
        assert_eq!(base.label, "1.0 MiB ×3");
        // The bigger layer is drawn wider.
        assert!(base.width > app.width);
        // Layers without an image are pale; one image's layers grey.
        assert_eq!(find(&t, "orphan").fill(), "#f4f5f7");
        assert_eq!(app.fill(), "#e3e7ec");
    }

    #[test]
    fn images_cap_their_top_layer() {
        let t = tree(&graph());
        let (app, busybox) = (cap(&t, "i-app"), cap(&t, "i-busybox"));
        let (app_layer, base) = (find(&t, "app"), find(&t, "base"));
        assert_eq!(app.y, app_layer.y - CAP);
        assert!(app.x >= app_layer.x && app.x + app.width <= app_layer.x + app_layer.width + GAP);
        // busybox tops the base itself: its cap sits on the base's own part, beside the
        // layers built on it, never over them.
        assert_eq!(busybox.y, base.y - CAP);
        assert!(busybox.x >= find(&t, "app").x + find(&t, "app").width);
        assert!(busybox.x >= find(&t, "tool").x + find(&t, "tool").width);
        assert_eq!(app.label, "app:1");
        assert_eq!(app.note, "frees 2.0 KiB");
        assert_eq!(cap(&t, "i-other").label, "<none>");
        assert_eq!(t.images.len(), 4);
        // Nothing is drawn off the canvas.
        for b in &t.layers {
            assert!(b.x + b.width <= t.width && b.y + ROW <= t.height, "{b:?}");
        }
        for b in &t.images {
            assert!(b.x + b.width <= t.width && b.y + CAP <= t.height, "{b:?}");
        }
    }

    #[test]
    fn an_image_in_use_says_so_instead_of_what_it_frees() {
        let mut g = graph();
        g.images[2].containers = vec!["c1".into(), "c2".into()];
        let t = tree(&g);
        let app = cap(&t, "i-app");
        assert!(app.in_use);
        assert_eq!(app.note, "used by 2 containers");
    }

    #[test]
    fn usage_splits_unique_and_shared_bytes() {
        let u = usage(&graph());
        assert_eq!(u["i-app"].unique, 2048);
        assert_eq!(u["i-app"].shared, 1 << 20);
        assert_eq!(u["i-busybox"].unique, 0);
        assert_eq!(u["i-other"].unique, 512);
        assert_eq!(u["i-other"].name, "<none>");
    }

    #[test]
    fn a_parent_loop_or_missing_parent_does_not_hang() {
        let mut g = graph();
        g.layers.push(layer("x", Some("y"), 5, &[]));
        g.layers.push(layer("y", Some("x"), 5, &[]));
        g.layers.push(layer("z", Some("gone"), 5, &["i-z"]));
        g.images.push(image("i-z", "z:1", &["z"], 5));
        g.images.push(image("i-empty", "empty:1", &[], 0));
        let t = tree(&g);
        assert!(t.layers.iter().any(|b| b.chain == "z"));
        assert!(t.images.iter().any(|b| b.id == "i-empty"));
    }

    #[test]
    fn long_names_are_cut_to_fit() {
        assert_eq!(fit("busybox:latest", 200), "busybox:latest");
        let cut = fit("127.0.0.1:5000/team/very-long-application-name:v1", 120);
        assert!(cut.ends_with('…') && cut.chars().count() < 20, "{cut}");
        assert_eq!(fit("abc", 5), "");
    }

    #[test]
    fn summary_says_what_sharing_saves() {
        let g = graph();
        assert_eq!(
            summary(&g),
            "5 layers, 1.0 MiB on disk; without sharing the images would take 3.0 MiB — 2.0 MiB saved"
        );
        assert_eq!(unused(&g), 1);
        let empty = LayerGraph::default();
        assert_eq!(
            summary(&empty),
            "0 layers, 0 B on disk; without sharing the images would take 0 B — 0 B saved"
        );
        assert_eq!(tree(&empty).layers.len(), 0);
    }
}
