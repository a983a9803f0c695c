//! One image (`#/image/<id>`): what it runs (config) and its layer history — one row per
//! step that made it, newest first, each layer with its size, the other images that share it
//! and the containers standing on it; steps that only changed the configuration are marked.
//! Reloads on image events, so a new tag shows and a removal says so.

use super::{
    Latest, command, fact, lines, local_datetime, now_secs, on_image_or_container_changes, or_dash,
    when,
};
use crate::api::{self, ApiError};
use crate::app::Auth;
use crate::docker::ImageInspect;
use crate::format;
use crate::graph_query;
use crate::route::{Page, container_href, image_href};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::layers::{HistoryStep, LayerGraph};

#[derive(Clone)]
struct Loaded {
    inspect: ImageInspect,
    /// The host's layer graph: this image's history steps and who shares its layers.
    graph: LayerGraph,
}

async fn fetch(id: &str) -> Result<Loaded, ApiError> {
    Ok(Loaded {
        inspect: api::inspect_image(id).await?,
        graph: api::layer_graph().await?,
    })
}

#[component]
pub fn ImagePage(id: String) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let data = RwSignal::new(None::<Loaded>);
    let error = RwSignal::new(None::<String>);
    let latest = Latest::new();
    let wanted = StoredValue::new(id.clone());

    on_image_or_container_changes(move || {
        let ticket = latest.next();
        let id = wanted.get_value();
        spawn_local(async move {
            let answer = fetch(&id).await;
            if !latest.is(ticket) {
                return;
            }
            match answer {
                Ok(loaded) => {
                    data.set(Some(loaded));
                    error.set(None);
                }
                Err(ApiError::Status(404, m)) => {
                    data.set(None);
                    error.set(Some(format!("{m} — it may have been removed.")));
                }
                Err(e) if !auth.handle(&e) => error.set(Some(format!("reading the image: {e}"))),
                Err(_) => {}
            }
        });
    });

    // The Run dialog (operators) opens in the page.
    let section = NodeRef::<leptos::html::Section>::new();
    let running = StoredValue::new_local(None::<std::rc::Rc<super::run::RunDialog>>);
    on_cleanup(move || running.set_value(None));

    // One reactive block: the page is rebuilt on each load.
    let page = move || {
        let (loaded, error) = (data.get(), error.get());
        let name = loaded.as_ref().map_or_else(
            || format::short_id(&id).to_string(),
            |d| format::image_name(&d.inspect.repo_tags).to_string(),
        );
        let waiting = (loaded.is_none() && error.is_none())
            .then(|| view! { <p class="muted">"Loading…"</p> });
        let can_run = auth
            .who()
            .is_some_and(|w| w.role >= shared::auth::Role::Operator);
        let run_name = if name == "<none>" {
            id.clone()
        } else {
            name.clone()
        };
        let run = move |_| {
            if let Some(root) = section.get_untracked() {
                running.set_value(super::run::open(&root, &run_name, auth));
            }
        };
        view! {
            <h1>
                "Image"<span class="sub mono" id="image-name">{name}</span>
                {(can_run && loaded.is_some()).then(|| view! {
                    <button id="image-run" class="ghost h1-button" on:click=run>"Run…"</button>
                })}
            </h1>
            {error.map(|e| view! { <p class="error" id="image-error">{e}</p> })}
            {waiting}
            {loaded.map(details)}
        }
    };

    view! {
        <section class="page" node_ref=section>
            <p class="crumbs"><a id="back" href=Page::Images.href()>"← Images"</a></p>
            {page}
        </section>
    }
}

fn details(d: Loaded) -> impl IntoView {
    let now = now_secs();
    let i = d.inspect;
    let created_text = when(&i.created, now);
    let size = i.size.max(0) as u64;
    let platform = or_dash(&i.platform());
    let c = i.config;
    let labels: Vec<String> = c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let ports: Vec<String> = c.exposed_ports.clone();

    view! {
        <div class="cards">
            <div class="card">
                <h2>"Image"</h2>
                <table class="facts">
                    {fact("image-id", "ID", i.id.clone())}
                    {lines("image-tags", "Tags", i.repo_tags.clone())}
                    {lines("image-digests", "Digests", i.repo_digests.clone())}
                    {fact("image-created", "Created", created_text)}
                    {fact("image-size", "Size", format!("{} ({size} bytes)", format::bytes(size)))}
                    {fact("image-platform", "Platform", platform)}
                    {(!i.author.is_empty()).then(|| fact("image-author", "Author", i.author.clone()))}
                    {(!i.comment.is_empty()).then(|| fact("image-comment", "Comment", i.comment.clone()))}
                </table>
            </div>
            <div class="card">
                <h2>"Runs"</h2>
                <table class="facts">
                    {fact("image-entrypoint", "Entrypoint", command(&c.entrypoint))}
                    {fact("image-cmd", "Cmd", command(&c.cmd))}
                    {fact("image-workdir", "Working dir", or_dash(&c.working_dir))}
                    {fact("image-user", "User", or_dash(&c.user))}
                    {lines("image-env", "Env", c.env)}
                    {(!ports.is_empty()).then(|| lines("image-ports", "Ports", ports))}
                    {(!labels.is_empty()).then(|| lines("image-labels", "Labels", labels))}
                </table>
            </div>
        </div>
        {history(&i.id, &d.graph, now)}
    }
}

/// The layer history: newest step first, each layer with its size and who else uses it.
fn history(id: &str, graph: &LayerGraph, now: i64) -> impl IntoView + use<> {
    let steps: Vec<HistoryStep> = graph
        .images
        .iter()
        .find(|i| i.id == id)
        .map(|i| i.history.iter().rev().cloned().collect())
        .unwrap_or_default();
    let layers = steps.iter().filter(|s| s.layer.is_some()).count();
    let rows = steps
        .into_iter()
        .map(|step| history_row(step, id, graph, now))
        .collect_view();
    view! {
        <div class="card flush">
            <h2 class="pad">
                {format!("Layer history ({layers} layer{}, newest first)", if layers == 1 { "" } else { "s" })}
                <a class="h2-link" href=Page::Layers.href()>"all layers →"</a>
            </h2>
            <table class="list" id="history">
                <thead>
                    <tr>
                        <th>"Created"</th>
                        <th>"Created by"</th>
                        <th>"Size"</th>
                        <th>"Shared with"</th>
                        <th>"Containers on it"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

fn history_row(
    step: HistoryStep,
    image: &str,
    graph: &LayerGraph,
    now: i64,
) -> impl IntoView + use<> {
    let created = step.created;
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
    let comment = (!step.comment.is_empty())
        .then(|| view! { <div class="muted">{step.comment.clone()}</div> });
    view! {
        <tr class:muted=empty class:empty-layer=empty data-chain=step.layer.clone().unwrap_or_default()>
            <td class="shrink" title=local_datetime(created)>{format::ago(created, now)}</td>
            <td class="mono created-by">{step.created_by}{comment}</td>
            <td class="shrink" title=if empty { "this step changed only the configuration" } else { "" }>{size}</td>
            <td class="users">
                {shared.into_iter().map(|(id, name)| view! { <a class="chip" href=image_href(&id)>{name}</a> }).collect_view()}
            </td>
            <td class="users">
                {containers.into_iter().map(|(id, name)| view! { <a class="chip" href=container_href(&id)>{name}</a> }).collect_view()}
            </td>
        </tr>
    }
}
