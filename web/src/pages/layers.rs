//! Layers: one stack per image, bottom layer at the bottom; a layer shared by several images
//! has the same colour in each of them. Hovering or clicking a layer lights it up everywhere
//! and shows its IDs, sizes and users. Refreshed by image events.

use super::{Latest, on_image_changes};
use crate::api;
use crate::app::Auth;
use crate::format;
use crate::layout::{self, Block, Stack};
use crate::route::{Page, image_href};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::layers::LayerGraph;

/// The layer under the mouse, and the one clicked (kept until clicked again).
#[derive(Clone, Copy)]
struct Focus {
    hover: RwSignal<Option<String>>,
    pinned: RwSignal<Option<String>>,
}

impl Focus {
    fn current(self) -> Option<String> {
        self.hover.get().or_else(|| self.pinned.get())
    }

    fn is(self, chain: &str) -> bool {
        self.hover
            .with(|h| h.as_deref().map(|h| h == chain))
            .unwrap_or_else(|| self.pinned.with(|p| p.as_deref() == Some(chain)))
    }
}

#[component]
pub fn LayersPage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let graph = RwSignal::new(None::<LayerGraph>);
    let error = RwSignal::new(None::<String>);
    let latest = Latest::new();
    let focus = Focus {
        hover: RwSignal::new(None),
        pinned: RwSignal::new(None),
    };
    on_image_changes(move || {
        let ticket = latest.next();
        spawn_local(async move {
            let answer = api::layer_graph().await;
            if !latest.is(ticket) {
                return;
            }
            match answer {
                Ok(g) => {
                    // The block under the mouse is replaced: it never sends its mouseleave.
                    focus.hover.set(None);
                    graph.set(Some(g));
                    error.set(None);
                }
                Err(e) if !auth.handle(&e) => {
                    error.set(Some(format!("reading the layer graph: {e}")))
                }
                Err(_) => {}
            }
        });
    });

    // One reactive block for the graph, rebuilt on each load; only the highlight and the
    // detail panel follow the mouse.
    let page = move || {
        let error = error
            .get()
            .map(|e| view! { <p class="error" id="layers-error">{e}</p> });
        let Some(g) = graph.get() else {
            return view! {
                {error}
                <p class="summary" id="layers-summary">"Loading the layer graph…"</p>
            }
            .into_any();
        };
        let mut summary = layout::summary(&g);
        let unused = layout::unused(&g);
        if unused > 0 {
            summary.push_str(&format!(" ({unused} not in any image)"));
        }
        let body = if g.images.is_empty() {
            view! {
                <div class="card empty" id="layers-empty">
                    <p class="empty-title">"No images, so no layers."</p>
                    <p class="muted">"Pull, load or import an image; its layers appear here."</p>
                </div>
            }
            .into_any()
        } else {
            let stacks = layout::stacks(&g);
            view! {
                <div class="layers-view">
                    <div class="card graph-card">
                        <div id="layer-graph" class:focused=move || focus.current().is_some()>
                            {stacks.into_iter().map(|s| stack_view(s, focus)).collect_view()}
                        </div>
                        <p class="muted legend">
                            "Bottom layer at the bottom. Coloured blocks are shared: a colour is the \
                             same layer in every image that has it (×N: how many). Grey blocks belong \
                             to one image. Height grows with size (log scale). Hover or click a layer."
                        </p>
                    </div>
                    <aside class="card" id="layer-detail">
                        {move || layer_detail(&g, focus.current().as_deref())}
                    </aside>
                </div>
            }
            .into_any()
        };
        view! {
            {error}
            <p class="summary" id="layers-summary">{summary}</p>
            {body}
        }
        .into_any()
    };

    view! {
        <section class="page">
            <h1>"Layers"<span class="sub">"what the images on this host share"</span></h1>
            {page}
        </section>
    }
}

fn stack_view(stack: Stack, focus: Focus) -> impl IntoView {
    let title = format!(
        "{}: {}, of which {} in layers no other image has",
        stack.name,
        format::bytes(stack.size),
        format::bytes(stack.unique)
    );
    view! {
        <div class="stack" data-image=stack.image.clone() title=title>
            <div class="stack-blocks">
                {stack.blocks.into_iter().map(|b| block_view(b, focus)).collect_view()}
            </div>
            <div class="stack-foot">
                <a href=image_href(&stack.image) class:muted=stack.name == "<none>">
                    {breakable(&stack.name)}
                </a>
                <div class="mono muted">{format::short_id(&stack.image).to_string()}</div>
                <div class="muted">{format::bytes(stack.size)}</div>
                <div class="muted">{format::bytes(stack.unique)}" only here"</div>
            </div>
        </div>
    }
}

/// A long name with break chances after each `/` (`127.0.0.1:5000/` + `team/` + `app:1`).
fn breakable(name: &str) -> impl IntoView + use<> {
    name.split_inclusive('/')
        .map(|part| view! { {part.to_string()}<wbr/> })
        .collect_view()
}

fn block_view(block: Block, focus: Focus) -> impl IntoView {
    let style = format!("height: {}px; background: {}", block.height, block.color());
    let shared = block.shared_by > 1;
    let chain = block.chain.clone();
    let (enter, click, lit) = (chain.clone(), chain.clone(), chain.clone());
    view! {
        <div
            class="layer"
            class:shared=shared
            class:hl=move || focus.is(&lit)
            data-chain=chain
            data-shared=block.shared_by
            style=style
            on:mouseenter=move |_| focus.hover.set(Some(enter.clone()))
            on:mouseleave=move |_| focus.hover.set(None)
            on:click=move |_| {
                focus.pinned.update(|p| {
                    *p = if p.as_deref() == Some(click.as_str()) { None } else { Some(click.clone()) }
                })
            }
        >
            <span class="layer-size">{format::bytes(block.size)}</span>
            {shared.then(|| view! { <span class="layer-share">{format!("×{}", block.shared_by)}</span> })}
        </div>
    }
}

fn layer_detail(graph: &LayerGraph, chain: Option<&str>) -> AnyView {
    let layer = chain.and_then(|c| graph.layers.iter().find(|l| l.chain_id == c));
    let Some(l) = layer else {
        return view! {
            <h2>"Layer"</h2>
            <p class="muted" id="layer-hint">
                "Hover over a layer to see it here; click to keep it. The same layer lights up in \
                 every image that has it."
            </p>
        }
        .into_any();
    };
    let users: Vec<(String, String)> = l
        .images
        .iter()
        .map(|id| {
            let name = graph
                .images
                .iter()
                .find(|i| &i.id == id)
                .map(|i| format::image_name(&i.tags).to_string())
                .unwrap_or_else(|| format::short_id(id).to_string());
            (id.clone(), name)
        })
        .collect();
    let compressed = match l.blob_size {
        Some(n) => format::bytes(n),
        None => "not kept (the compressed blob is gone)".to_string(),
    };
    view! {
        <h2>{format!("Layer — in {} image{}", users.len(), if users.len() == 1 { "" } else { "s" })}</h2>
        <table class="facts narrow">
            <tr><th>"Chain ID"</th><td class="mono break" id="layer-chain">{l.chain_id.clone()}</td></tr>
            <tr><th>"Diff ID"</th><td class="mono break" id="layer-diff">{l.diff_id.clone()}</td></tr>
            <tr><th>"Size"</th><td id="layer-size">{format::bytes(l.size)}</td></tr>
            <tr><th>"Compressed"</th><td id="layer-compressed">{compressed}</td></tr>
            {l.blob_digest.clone().map(|d| view! {
                <tr><th>"Blob"</th><td class="mono break">{d}</td></tr>
            })}
            <tr>
                <th>"Images"</th>
                <td id="layer-images">
                    {users.into_iter().map(|(id, name)| view! {
                        <div><a href=image_href(&id)>{name}</a></div>
                    }).collect_view()}
                </td>
            </tr>
            {(!l.containers.is_empty()).then(|| view! {
                <tr><th>"Containers"</th><td>{l.containers.len()}</td></tr>
            })}
        </table>
        <p class="muted"><a href=Page::Images.href()>"All images"</a></p>
    }
    .into_any()
}
