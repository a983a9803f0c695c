//! Layers: how the images on this host share layers, drawn as a tree in SVG — base layers at
//! the bottom, each layer spanning the layers built on it, images as caps at the leaves
//! saying what removing them would free. A layer shared by several images has its own
//! colour. Hovering or clicking a layer lights it up and shows its IDs, sizes, the step that
//! made it and its users. Refreshed by image events.

use super::{Latest, on_image_or_container_changes};
use crate::api;
use crate::app::Auth;
use crate::format;
use crate::graph_query;
use crate::layout::{self, CAP, ImageBox, LayerBox, ROW, Usage};
use crate::route::{Page, container_href, image_href};
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
    on_image_or_container_changes(move || {
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
            let tree = layout::tree(&g);
            let mut usage: Vec<Usage> = layout::usage(&g).into_values().collect();
            usage.sort_by(|a, b| b.unique.cmp(&a.unique).then(a.name.cmp(&b.name)));
            let detail_graph = g.clone();
            view! {
                <div class="layers-view">
                    <div class="card graph-card">
                        <div class="tree-scroll">
                            <svg
                                id="layer-graph"
                                class:focused=move || focus.current().is_some()
                                width=tree.width
                                height=tree.height
                                viewBox=format!("0 0 {} {}", tree.width, tree.height)
                            >
                                {tree.layers.into_iter().map(|b| layer_box(b, focus)).collect_view()}
                                {tree.images.into_iter().map(image_cap).collect_view()}
                            </svg>
                        </div>
                        <p class="muted legend">
                            "Base layers at the bottom; a layer spans every layer built on it, and \
                             width follows bytes. Coloured layers are shared by several images (×N: \
                             how many), grey ones belong to one image. Each image sits on its top \
                             layer and says what removing it would free. Hover or click a layer."
                        </p>
                    </div>
                    <aside class="card" id="layer-detail">
                        {move || layer_detail(&detail_graph, focus.current().as_deref())}
                    </aside>
                </div>
                {freed_table(usage)}
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

/// One layer's rectangle in the tree.
fn layer_box(b: LayerBox, focus: Focus) -> impl IntoView {
    let fill = b.fill();
    let chain = b.chain.clone();
    let (enter, click, lit) = (chain.clone(), chain.clone(), chain.clone());
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
    view! {
        <g
            class="layer"
            class:shared={b.shared_by > 1}
            class:hl=move || focus.is(&lit)
            data-chain=chain
            data-shared=b.shared_by
            on:mouseenter=move |_| focus.hover.set(Some(enter.clone()))
            on:mouseleave=move |_| focus.hover.set(None)
            on:click=move |_| {
                focus.pinned.update(|p| {
                    *p = if p.as_deref() == Some(click.as_str()) { None } else { Some(click.clone()) }
                })
            }
        >
            <title>{tip}</title>
            <rect x=b.x y=b.y width=b.width height=ROW - 3 rx="3" fill=fill></rect>
            <text x=b.x + 6 y=b.y + ROW / 2 + 3>{b.label}</text>
        </g>
    }
}

/// An image's cap on its top layer: a link to the image.
fn image_cap(b: ImageBox) -> impl IntoView {
    let href = image_href(&b.id);
    let open = move |_| {
        let _ = window().location().set_hash(&href);
    };
    view! {
        <g class="cap" class:in-use=b.in_use data-image=b.id.clone() on:click=open>
            <title>{b.id.clone()}</title>
            <rect x=b.x y=b.y width=b.width height=CAP - 3 rx="4"></rect>
            <text class="cap-name" x=b.x + 6 y=b.y + 15>{b.label}</text>
            <text class="cap-note" x=b.x + 6 y=b.y + 30>{b.note}</text>
        </g>
    }
}

/// What removing each image would free, most first.
fn freed_table(usage: Vec<Usage>) -> impl IntoView {
    view! {
        <div class="card flush">
            <h2 class="pad">"What removing an image frees"</h2>
            <table class="list" id="image-usage">
                <thead>
                    <tr>
                        <th>"Image"</th>
                        <th>"Size"</th>
                        <th>"Only its own (freed)"</th>
                        <th>"Shared with others"</th>
                        <th>"Containers"</th>
                    </tr>
                </thead>
                <tbody>
                    {usage.into_iter().map(|u| {
                        let in_use = u.containers.len();
                        let untagged = u.name == "<none>";
                        view! {
                            <tr data-id=u.id.clone()>
                                <td><a href=image_href(&u.id) class:muted=untagged>{u.name}</a></td>
                                <td class="shrink">{format::bytes(u.size)}</td>
                                <td class="shrink freed">{format::bytes(u.unique)}</td>
                                <td class="shrink">{format::bytes(u.shared)}</td>
                                <td class="shrink" class:warn={in_use > 0}>
                                    {match in_use {
                                        0 => "none".to_string(),
                                        1 => "1 — remove it first".to_string(),
                                        n => format!("{n} — remove them first"),
                                    }}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
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
        .map(|id| (id.clone(), graph_query::image_name(graph, id)))
        .collect();
    let containers = graph_query::containers(graph, &l.containers);
    let step = graph_query::made_by(graph, &l.chain_id).map(|h| h.created_by.clone());
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
            {step.map(|by| view! {
                <tr><th>"Made by"</th><td class="mono break" id="layer-step">{by}</td></tr>
            })}
            {(!containers.is_empty()).then(|| view! {
                <tr>
                    <th>"Containers"</th>
                    <td id="layer-containers">
                        {containers.into_iter().map(|(id, name)| view! {
                            <div><a href=container_href(&id)>{name}</a></div>
                        }).collect_view()}
                    </td>
                </tr>
            })}
        </table>
        <p class="muted"><a href=Page::Images.href()>"All images"</a></p>
    }
    .into_any()
}
