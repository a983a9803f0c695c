//! Layers: how the images on this host share layers, drawn as a tree in SVG — base layers at
//! the bottom, each layer spanning the layers built on it, images as caps at the leaves
//! saying what removing them would free. A layer shared by several images has its own
//! colour. Hovering or clicking a layer lights it up and shows its IDs, sizes, the step that
//! made it and its users. Refreshed by image and container events.
//!
//! Plain DOM: the tree is drawn as SVG markup on each load; the mouse only moves the
//! highlight and redraws the detail panel.

use super::Mounted;
use crate::api;
use crate::app;
use crate::dom;
use crate::format;
use crate::graph_query;
use crate::html::esc;
use crate::layout::{self, CAP, ImageBox, LayerBox, ROW, Usage};
use crate::route::{Page, container_href, image_href};
use crate::watch::{self, Change};
use shared::layers::LayerGraph;
use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::rc::{Rc, Weak};
use wasm_bindgen_futures::spawn_local;
use web_sys::{Element, Event};

/// One layer's rectangle in the tree.
fn layer_box(out: &mut String, b: &LayerBox) {
    let tip = format!(
        "{} in {} image{}{}",
        format::bytes(b.size),
        b.shared_by,
        if b.shared_by == 1 { "" } else { "s" },
        match b.containers {
            0 => String::new(),
            1 => ", under 1 container".to_string(),
            n => format!(", under {n} containers"),
        }
    );
    let _ = write!(
        out,
        "<g class=\"layer{}\" data-chain=\"{}\" data-shared=\"{}\"><title>{}</title>\
         <rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"3\" fill=\"{}\"></rect>\
         <text x=\"{}\" y=\"{}\">{}</text></g>",
        if b.shared_by > 1 { " shared" } else { "" },
        esc(&b.chain),
        b.shared_by,
        esc(&tip),
        b.x,
        b.y,
        b.width,
        ROW - 3,
        b.fill(),
        b.x + 6,
        b.y + ROW / 2 + 3,
        esc(&b.label),
    );
}

/// An image's cap on its top layer: a link to the image.
fn image_cap(out: &mut String, b: &ImageBox) {
    let _ = write!(
        out,
        "<g class=\"cap{}\" data-image=\"{id}\"><title>{id}</title>\
         <rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"4\"></rect>\
         <text class=\"cap-name\" x=\"{}\" y=\"{}\">{}</text>\
         <text class=\"cap-note\" x=\"{}\" y=\"{}\">{}</text></g>",
        if b.in_use { " in-use" } else { "" },
        b.x,
        b.y,
        b.width,
        CAP - 3,
        b.x + 6,
        b.y + 15,
        esc(&b.label),
        b.x + 6,
        b.y + 30,
        esc(&b.note),
        id = esc(&b.id),
    );
}

/// What removing each image would free, most first.
fn freed_table(out: &mut String, usage: &[Usage]) {
    out.push_str(
        "<div class=\"card flush\"><h2 class=\"pad\">What removing an image frees</h2>\
         <table class=\"list\" id=\"image-usage\"><thead><tr><th>Image</th><th>Size</th>\
         <th>Only its own (freed)</th><th>Shared with others</th><th>Containers</th></tr></thead><tbody>",
    );
    for u in usage {
        let in_use = u.containers.len();
        let _ = write!(
            out,
            "<tr data-id=\"{}\"><td><a href=\"{}\"{}>{}</a></td><td class=\"shrink\">{}</td>\
             <td class=\"shrink freed\">{}</td><td class=\"shrink\">{}</td><td class=\"shrink{}\">{}</td></tr>",
            esc(&u.id),
            esc(&image_href(&u.id)),
            if u.name == "<none>" {
                " class=\"muted\""
            } else {
                ""
            },
            esc(&u.name),
            format::bytes(u.size),
            format::bytes(u.unique),
            format::bytes(u.shared),
            if in_use > 0 { " warn" } else { "" },
            match in_use {
                0 => "none".to_string(),
                1 => "1 — remove it first".to_string(),
                n => format!("{n} — remove them first"),
            }
        );
    }
    out.push_str("</tbody></table></div>");
}

/// The summary line and everything under it.
fn graph_html(g: &LayerGraph) -> String {
    let mut summary = layout::summary(g);
    let unused = layout::unused(g);
    if unused > 0 {
        let _ = write!(summary, " ({unused} not in any image)");
    }
    let mut out = format!(
        "<p class=\"summary\" id=\"layers-summary\">{}</p>",
        esc(&summary)
    );
    if g.images.is_empty() {
        out.push_str(
            "<div class=\"card empty\" id=\"layers-empty\"><p class=\"empty-title\">No images, so no layers.</p>\
             <p class=\"muted\">Pull, load or import an image; its layers appear here.</p></div>",
        );
        return out;
    }
    let tree = layout::tree(g);
    let mut usage: Vec<Usage> = layout::usage(g).into_values().collect();
    usage.sort_by(|a, b| b.unique.cmp(&a.unique).then(a.name.cmp(&b.name)));
    let _ = write!(
        out,
        "<div class=\"layers-view\"><div class=\"card graph-card\"><div class=\"tree-scroll\">\
         <svg id=\"layer-graph\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">",
        w = tree.width,
        h = tree.height
    );
    for b in &tree.layers {
        layer_box(&mut out, b);
    }
    for b in &tree.images {
        image_cap(&mut out, b);
    }
    let _ = write!(
        out,
        "</svg></div><p class=\"muted legend\">Base layers at the bottom; a layer spans every layer built \
         on it, and width follows bytes. Coloured layers are shared by several images (×N: how many), \
         grey ones belong to one image. Each image sits on its top layer and says what removing it \
         would free. Hover or click a layer.</p></div><aside class=\"card\" id=\"layer-detail\">{}</aside></div>",
        layer_detail(g, None)
    );
    freed_table(&mut out, &usage);
    out
}

fn layer_detail(graph: &LayerGraph, chain: Option<&str>) -> String {
    let layer = chain.and_then(|c| graph.layers.iter().find(|l| l.chain_id == c));
    let Some(l) = layer else {
        return "<h2>Layer</h2><p class=\"muted\" id=\"layer-hint\">Hover over a layer to see it here; \
                click to keep it. The same layer lights up in every image that has it.</p>"
            .to_string();
    };
    let users = &l.images;
    let compressed = match l.blob_size {
        Some(n) => format::bytes(n),
        None => "not kept (the compressed blob is gone)".to_string(),
    };
    let mut out = format!(
        "<h2>Layer — in {} image{}</h2><table class=\"facts narrow\">\
         <tr><th>Chain ID</th><td class=\"mono break\" id=\"layer-chain\">{}</td></tr>\
         <tr><th>Diff ID</th><td class=\"mono break\" id=\"layer-diff\">{}</td></tr>\
         <tr><th>Size</th><td id=\"layer-size\">{}</td></tr>\
         <tr><th>Compressed</th><td id=\"layer-compressed\">{}</td></tr>",
        users.len(),
        if users.len() == 1 { "" } else { "s" },
        esc(&l.chain_id),
        esc(&l.diff_id),
        format::bytes(l.size),
        esc(&compressed),
    );
    if let Some(d) = &l.blob_digest {
        let _ = write!(
            out,
            "<tr><th>Blob</th><td class=\"mono break\">{}</td></tr>",
            esc(d)
        );
    }
    out.push_str("<tr><th>Images</th><td id=\"layer-images\">");
    for id in users {
        let _ = write!(
            out,
            "<div><a href=\"{}\">{}</a></div>",
            esc(&image_href(id)),
            esc(&graph_query::image_name(graph, id))
        );
    }
    out.push_str("</td></tr>");
    if let Some(step) = graph_query::made_by(graph, &l.chain_id) {
        let _ = write!(
            out,
            "<tr><th>Made by</th><td class=\"mono break\" id=\"layer-step\">{}</td></tr>",
            esc(&step.created_by)
        );
    }
    let containers = graph_query::containers(graph, &l.containers);
    if !containers.is_empty() {
        out.push_str("<tr><th>Containers</th><td id=\"layer-containers\">");
        for (id, name) in containers {
            let _ = write!(
                out,
                "<div><a href=\"{}\">{}</a></div>",
                esc(&container_href(&id)),
                esc(&name)
            );
        }
        out.push_str("</td></tr>");
    }
    let _ = write!(
        out,
        "</table><p class=\"muted\"><a href=\"{}\">All images</a></p>",
        Page::Images.href()
    );
    out
}

struct LayersPage {
    root: Element,
    graph: RefCell<Option<LayerGraph>>,
    /// The layer under the mouse, and the one clicked (kept until clicked again).
    hover: RefCell<Option<String>>,
    pinned: RefCell<Option<String>>,
    /// The layer the highlight and the detail panel show now.
    shown: RefCell<Option<String>>,
    ticket: Cell<u64>,
}

impl LayersPage {
    fn load(this: &Rc<Self>) {
        let ticket = this.ticket.get() + 1;
        this.ticket.set(ticket);
        let weak = Rc::downgrade(this);
        spawn_local(async move {
            let answer = api::layer_graph(api::remote().as_deref()).await;
            let Some(p) = weak.upgrade().filter(|p| p.ticket.get() == ticket) else {
                return;
            };
            match answer {
                Ok(g) => {
                    dom::set_html(&p.root, "#layers-body", &graph_html(&g));
                    dom::set_html(&p.root, "#layers-error-place", "");
                    *p.graph.borrow_mut() = Some(g);
                    // The block under the mouse was replaced: it never sends its mouseout.
                    p.hover.borrow_mut().take();
                    p.shown.borrow_mut().take();
                    p.focus();
                }
                Err(e) if !app::handle(&e) => dom::error_at(
                    &p.root,
                    "#layers-error-place",
                    "layers-error",
                    Some(&format!("reading the layer graph: {e}")),
                ),
                Err(_) => {}
            }
        });
    }

    /// Lights up the hovered (else the pinned) layer and shows it in the panel.
    fn focus(&self) {
        let current = self
            .hover
            .borrow()
            .clone()
            .or_else(|| self.pinned.borrow().clone());
        if *self.shown.borrow() == current {
            return;
        }
        let graph = self.graph.borrow();
        let Some(g) = graph.as_ref() else {
            return;
        };
        for block in dom::all(&self.root, "#layer-graph g.layer") {
            let lit = current.is_some() && block.get_attribute("data-chain") == current;
            let _ = block.class_list().toggle_with_force("hl", lit);
        }
        if let Some(svg) = dom::find(&self.root, "#layer-graph") {
            let _ = svg
                .class_list()
                .toggle_with_force("focused", current.is_some());
        }
        dom::set_html(
            &self.root,
            "#layer-detail",
            &layer_detail(g, current.as_deref()),
        );
        *self.shown.borrow_mut() = current;
    }

    fn over(&self, ev: Event) {
        let chain =
            dom::closest(&ev, "#layer-graph g.layer").and_then(|g| g.get_attribute("data-chain"));
        *self.hover.borrow_mut() = chain;
        self.focus();
    }

    fn click(&self, ev: Event) {
        if let Some(cap) = dom::closest(&ev, "#layer-graph g.cap") {
            if let Some(id) = cap.get_attribute("data-image") {
                dom::go(&image_href(&id));
            }
        } else if let Some(chain) =
            dom::closest(&ev, "#layer-graph g.layer").and_then(|g| g.get_attribute("data-chain"))
        {
            let mut pinned = self.pinned.borrow_mut();
            *pinned = if pinned.as_deref() == Some(chain.as_str()) {
                None
            } else {
                Some(chain)
            };
            drop(pinned);
            self.focus();
        }
    }
}

pub fn mount(root: &Element) -> Option<Mounted> {
    root.set_inner_html(
        "<h1>Layers<span class=\"sub\">what the images on this host share</span></h1>\
         <div id=\"layers-error-place\"></div><div id=\"layers-body\">\
         <p class=\"summary\" id=\"layers-summary\">Loading the layer graph…</p></div>",
    );
    let page = Rc::new(LayersPage {
        root: root.clone(),
        graph: RefCell::new(None),
        hover: RefCell::new(None),
        pinned: RefCell::new(None),
        shown: RefCell::new(None),
        ticket: Cell::new(0),
    });
    LayersPage::load(&page);
    let on = |event: &'static str, f: fn(&LayersPage, Event)| {
        let weak: Weak<LayersPage> = Rc::downgrade(&page);
        dom::listen(root, event, move |ev| {
            if let Some(p) = weak.upgrade() {
                f(&p, ev);
            }
        })
    };
    let listeners = [
        on("mouseover", LayersPage::over),
        on("mouseleave", LayersPage::over),
        on("click", LayersPage::click),
    ];
    let weak = Rc::downgrade(&page);
    let watch = watch::watch(move |change| {
        if matches!(change, Change::Images | Change::Containers)
            && let Some(p) = weak.upgrade()
        {
            LayersPage::load(&p);
        }
    });
    Some(Box::new((page, listeners, watch)))
}
