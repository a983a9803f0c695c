//! One image (`#/image/<id>`): what it runs (config) and its layer history — one row per
//! step that made it, newest first, each layer with its size, the other images that share it
//! and the containers standing on it; steps that only changed the configuration are marked.
//! Reloads on image and container events, so a new tag shows and a removal says so. Plain
//! DOM: the page below its crumbs is redrawn on each load.

use super::run::RunDialog;
use super::{Mounted, command, local_datetime, now_secs, or_dash, when};
use crate::api::{self, ApiError};
use crate::app;
use crate::docker::ImageInspect;
use crate::dom;
use crate::format;
use crate::graph_query;
use crate::html::{esc, fact_rows, lines_row};
use crate::route::{Page, container_href, image_href};
use crate::watch::{self, Change};
use shared::layers::{HistoryStep, LayerGraph};
use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::rc::Rc;
use wasm_bindgen_futures::spawn_local;
use web_sys::Element;

struct Loaded {
    inspect: ImageInspect,
    /// The host's layer graph: this image's history steps and who shares its layers.
    graph: LayerGraph,
}

async fn fetch(id: &str) -> Result<Loaded, ApiError> {
    Ok(Loaded {
        inspect: api::inspect_image(id).await?,
        graph: api::layer_graph(api::remote().as_deref()).await?,
    })
}

/// The two cards: the image's facts and what it runs.
fn details(i: &ImageInspect, now: i64) -> String {
    let size = i.size.max(0) as u64;
    let mut rest = vec![
        ("image-created", "Created", when(&i.created, now)),
        (
            "image-size",
            "Size",
            format!("{} ({size} bytes)", format::bytes(size)),
        ),
        ("image-platform", "Platform", or_dash(&i.platform())),
    ];
    if !i.author.is_empty() {
        rest.push(("image-author", "Author", i.author.clone()));
    }
    if !i.comment.is_empty() {
        rest.push(("image-comment", "Comment", i.comment.clone()));
    }
    let c = &i.config;
    let runs = [
        ("image-entrypoint", "Entrypoint", command(&c.entrypoint)),
        ("image-cmd", "Cmd", command(&c.cmd)),
        ("image-workdir", "Working dir", or_dash(&c.working_dir)),
        ("image-user", "User", or_dash(&c.user)),
    ];
    let labels: Vec<String> = c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut out = format!(
        "<div class=\"cards\"><div class=\"card\"><h2>Image</h2><table class=\"facts\">{}{}{}{}</table></div>",
        fact_rows(&[("image-id", "ID", i.id.clone())]),
        lines_row("image-tags", "Tags", &i.repo_tags),
        lines_row("image-digests", "Digests", &i.repo_digests),
        fact_rows(&rest),
    );
    let _ = write!(
        out,
        "<div class=\"card\"><h2>Runs</h2><table class=\"facts\">{}{}",
        fact_rows(&runs),
        lines_row("image-env", "Env", &c.env)
    );
    if !c.exposed_ports.is_empty() {
        out.push_str(&lines_row("image-ports", "Ports", &c.exposed_ports));
    }
    if !labels.is_empty() {
        out.push_str(&lines_row("image-labels", "Labels", &labels));
    }
    out.push_str("</table></div></div>");
    out
}

/// The layer history: newest step first, each layer with its size and who else uses it.
fn history(out: &mut String, id: &str, graph: &LayerGraph, now: i64) {
    let steps: Vec<&HistoryStep> = graph
        .images
        .iter()
        .find(|i| i.id == id)
        .map(|i| i.history.iter().rev().collect())
        .unwrap_or_default();
    let layers = steps.iter().filter(|s| s.layer.is_some()).count();
    let _ = write!(
        out,
        "<div class=\"card flush\"><h2 class=\"pad\">Layer history ({layers} layer{}, newest first)\
         <a class=\"h2-link\" href=\"{}\">all layers →</a></h2><table class=\"list\" id=\"history\"><thead><tr>\
         <th>Created</th><th>Created by</th><th>Size</th><th>Shared with</th><th>Containers on it</th></tr></thead><tbody>",
        if layers == 1 { "" } else { "s" },
        Page::Layers.href()
    );
    for step in steps {
        history_row(out, step, id, graph, now);
    }
    out.push_str("</tbody></table></div>");
}

fn history_row(out: &mut String, step: &HistoryStep, image: &str, graph: &LayerGraph, now: i64) {
    let layer = step
        .layer
        .as_deref()
        .and_then(|c| graph.layers.iter().find(|l| l.chain_id == c));
    let (size, shared, containers) = match layer {
        Some(l) => (
            format::bytes(l.size),
            graph_query::other_images(graph, &l.chain_id, image),
            graph_query::containers(graph, &l.containers),
        ),
        None => ("no layer".to_string(), Vec::new(), Vec::new()),
    };
    let empty = step.layer.is_none();
    let _ = write!(
        out,
        "<tr{} data-chain=\"{}\"><td class=\"shrink\" title=\"{}\">{}</td><td class=\"mono created-by\">{}",
        if empty {
            " class=\"muted empty-layer\""
        } else {
            ""
        },
        esc(step.layer.as_deref().unwrap_or_default()),
        local_datetime(step.created),
        format::ago(step.created, now),
        esc(&step.created_by),
    );
    if !step.comment.is_empty() {
        let _ = write!(out, "<div class=\"muted\">{}</div>", esc(&step.comment));
    }
    let _ = write!(
        out,
        "</td><td class=\"shrink\" title=\"{}\">{size}</td><td class=\"users\">",
        if empty {
            "this step changed only the configuration"
        } else {
            ""
        }
    );
    for (id, name) in shared {
        let _ = write!(
            out,
            "<a class=\"chip\" href=\"{}\">{}</a>",
            esc(&image_href(&id)),
            esc(&name)
        );
    }
    out.push_str("</td><td class=\"users\">");
    for (id, name) in containers {
        let _ = write!(
            out,
            "<a class=\"chip\" href=\"{}\">{}</a>",
            esc(&container_href(&id)),
            esc(&name)
        );
    }
    out.push_str("</td></tr>");
}

struct ImagePage {
    root: Element,
    id: String,
    /// The name the Run dialog runs (the ID while untagged).
    run_name: RefCell<String>,
    run: RefCell<Option<Rc<RunDialog>>>,
    ticket: Cell<u64>,
}

impl ImagePage {
    fn load(this: &Rc<Self>) {
        let ticket = this.ticket.get() + 1;
        this.ticket.set(ticket);
        let weak = Rc::downgrade(this);
        let id = this.id.clone();
        spawn_local(async move {
            let answer = fetch(&id).await;
            let Some(p) = weak.upgrade().filter(|p| p.ticket.get() == ticket) else {
                return;
            };
            match answer {
                Ok(loaded) => p.draw(Some(&loaded), None),
                Err(ApiError::Status(404, m)) => {
                    p.draw(None, Some(&format!("{m} — it may have been removed.")))
                }
                Err(e) if !app::handle(&e) => {
                    p.draw(None, Some(&format!("reading the image: {e}")))
                }
                Err(_) => {}
            }
        });
    }

    fn draw(&self, loaded: Option<&Loaded>, error: Option<&str>) {
        let name = loaded.map_or_else(
            || format::short_id(&self.id).to_string(),
            |d| format::image_name(&d.inspect.repo_tags).to_string(),
        );
        *self.run_name.borrow_mut() = if name == "<none>" {
            self.id.clone()
        } else {
            name.clone()
        };
        let mut out = format!(
            "<h1>Image<span class=\"sub mono\" id=\"image-name\">{}</span>",
            esc(&name)
        );
        if app::can_act() && loaded.is_some() {
            out.push_str("<button id=\"image-run\" class=\"ghost h1-button\">Run…</button>");
        }
        out.push_str("</h1>");
        if let Some(e) = error {
            let _ = write!(out, "<p class=\"error\" id=\"image-error\">{}</p>", esc(e));
        }
        if let Some(d) = loaded {
            let now = now_secs();
            out.push_str(&details(&d.inspect, now));
            history(&mut out, &d.inspect.id, &d.graph, now);
        }
        dom::set_html(&self.root, "#image-body", &out);
    }
}

pub fn mount(root: &Element, id: &str) -> Option<Mounted> {
    root.set_inner_html(&format!(
        "<p class=\"crumbs\"><a id=\"back\" href=\"{}\">← Images</a></p><div id=\"image-body\">\
         <h1>Image<span class=\"sub mono\" id=\"image-name\">{}</span></h1><p class=\"muted\">Loading…</p></div>",
        Page::Images.href(),
        esc(format::short_id(id))
    ));
    let page = Rc::new(ImagePage {
        root: root.clone(),
        id: id.to_string(),
        run_name: RefCell::new(id.to_string()),
        run: RefCell::new(None),
        ticket: Cell::new(0),
    });
    ImagePage::load(&page);
    let weak = Rc::downgrade(&page);
    let click = dom::listen(root, "click", move |ev| {
        if let Some(p) = weak.upgrade()
            && dom::closest(&ev, "#image-run").is_some()
        {
            // The Run dialog (operators) opens in the page.
            let name = p.run_name.borrow().clone();
            *p.run.borrow_mut() = super::run::open(&p.root, &name);
        }
    });
    let weak = Rc::downgrade(&page);
    let watch = watch::watch(move |change| {
        if matches!(change, Change::Images | Change::Containers)
            && let Some(p) = weak.upgrade()
        {
            ImagePage::load(&p);
        }
    });
    Some(Box::new((page, click, watch)))
}
