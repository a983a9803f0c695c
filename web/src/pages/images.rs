//! Images: every image on the host with what it shares with others and which containers use
//! it, refreshed by image and container events; operators pull, push, tag, save and remove
//! from here. Pulls and pushes run as tasks (see the header's task list), so they go on when
//! the user leaves the page.

use super::transfer::progress_view;
use super::{Latest, now_secs, on_image_or_container_changes};
use crate::api::{self, ApiError};
use crate::app::Auth;
use crate::docker::ImageSummary;
use crate::format;
use crate::graph_query;
use crate::layout::{self, Usage};
use crate::progress::State;
use crate::route::{Page, image_href};
use crate::tasks::{Kind, Tasks};
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::auth::Role;
use shared::layers::LayerGraph;
use std::collections::HashMap;

/// Per-row UI state, kept at page level so that a refresh (any image event) keeps it.
#[derive(Clone, Copy)]
struct Rows {
    auth: Auth,
    can_act: bool,
    /// The image whose Remove waits for a second click.
    confirming: RwSignal<Option<String>>,
    /// The image whose tag form is open, and what is typed in it.
    tagging: RwSignal<Option<String>>,
    tag_input: RwSignal<String>,
    /// The image an action is running on.
    busy: RwSignal<Option<String>>,
    /// What went wrong loading the list or acting on a row.
    error: RwSignal<Option<String>>,
}

/// An image row's figures from the layer graph, and the names of the containers using it.
#[derive(Clone, Default)]
struct Sharing {
    usage: HashMap<String, Usage>,
    graph: LayerGraph,
}

#[component]
pub fn ImagesPage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let tasks = expect_context::<Tasks>();
    let can_act = auth.who().is_some_and(|w| w.role >= Role::Operator);
    let images = RwSignal::new(None::<(Vec<ImageSummary>, Sharing)>);
    let filter = RwSignal::new(String::new());
    let filter_box = NodeRef::<leptos::html::Input>::new();
    super::focus_on_slash(filter_box);
    let latest = Latest::new();
    let rows = Rows {
        auth,
        can_act,
        confirming: RwSignal::new(None),
        tagging: RwSignal::new(None),
        tag_input: RwSignal::new(String::new()),
        busy: RwSignal::new(None),
        error: RwSignal::new(None),
    };

    let load = move || {
        let ticket = latest.next();
        spawn_local(async move {
            let answer = match api::images().await {
                Ok(list) => api::layer_graph().await.map(|graph| (list, graph)),
                Err(e) => Err(e),
            };
            if !latest.is(ticket) {
                return;
            }
            match answer {
                Ok((list, graph)) => {
                    let usage = layout::usage(&graph);
                    images.set(Some((list, Sharing { usage, graph })))
                }
                Err(e) => show(rows, &e, "listing images".into()),
            }
        });
    };
    on_image_or_container_changes(load);

    // One reactive block for the list: rows are rebuilt on each load (their UI state lives in
    // `rows`), which keeps the wasm small.
    let list = move || {
        let error = rows
            .error
            .get()
            .map(|e| view! { <p class="error" id="images-error">{e}</p> });
        let words = filter.get();
        let body = images.get().map(|(list, sharing)| {
            let all = list.len();
            let list: Vec<ImageSummary> = list.into_iter().filter(|i| shows(i, &words)).collect();
            let count = match (list.len(), all) {
                (0, 0) if can_act => "No images yet. Pull one above, or docker pull, load or import one into this agent.".to_string(),
                (0, 0) => "No images yet.".to_string(),
                (0, _) => "No image matches the filter.".to_string(),
                (n, all) if n < all => format!("{n} of {all} images"),
                (1, _) => "1 image".to_string(),
                (n, _) => format!("{n} images"),
            };
            let now = now_secs();
            view! {
                <table class="list" id="images">
                    <thead>
                        <tr>
                            <th>"Repository:tag"</th>
                            <th>"ID"</th>
                            <th>"Created"</th>
                            <th>"Size"</th>
                            <th title="bytes in layers no other image has: what removing it frees">"Unique"</th>
                            <th title="bytes in layers other images have too">"Shared"</th>
                            <th>"Containers"</th>
                            {can_act.then(|| view! { <th></th> })}
                        </tr>
                    </thead>
                    <tbody>
                        {list.into_iter().map(|i| image_row(i, &sharing, now, rows)).collect_view()}
                    </tbody>
                </table>
                <p class="empty-row muted" id="images-count">{count}</p>
            }
        });
        let loading = body
            .is_none()
            .then(|| view! { <p class="empty-row muted">"Loading images…"</p> });
        view! {
            {error}
            <div class="card flush">{body}{loading}</div>
        }
    };

    view! {
        <section class="page">
            <h1>
                "Images"
                <span class="sub">"see "<a href=Page::Layers.href()>"Layers"</a>" for what they share"</span>
            </h1>
            {can_act.then(|| pull_form(auth, tasks))}
            <div class="filters">
                <input
                    id="images-filter"
                    node_ref=filter_box
                    placeholder="Filter by name or ID (press /); Enter opens the first"
                    autocomplete="off"
                    spellcheck="false"
                    on:input=move |ev| filter.set(event_target_value(&ev))
                    on:keydown=move |ev| {
                        if ev.key() == "Enter" {
                            open_first(&filter.get_untracked(), images);
                        }
                    }
                />
            </div>
            {move || tasks.newest(Kind::Push).map(|t| view! {
                <div class="card">{progress_view(Kind::Push, t.log, Some("push-progress"))}</div>
            })}
            {move || tasks.newest(Kind::Copy).map(|t| view! {
                <div class="card">{progress_view(Kind::Copy, t.log, Some("copy-progress"))}</div>
            })}
            {list}
        </section>
    }
}

fn image_row(
    image: ImageSummary,
    sharing: &Sharing,
    now: i64,
    rows: Rows,
) -> impl IntoView + use<> {
    let id = image.id.clone();
    let href = image_href(&id);
    let open = {
        let href = href.clone();
        move || {
            let _ = window().location().set_hash(&href);
        }
    };
    let name = format::image_name(&image.repo_tags).to_string();
    let untagged = name == "<none>";
    let more: Vec<String> = image
        .repo_tags
        .iter()
        .filter(|t| **t != name)
        .cloned()
        .collect();
    let digests = image.repo_digests.join("\n");
    let question = match more.len() {
        0 => format!("Remove {name}?"),
        1 => format!("Remove {name} and its other tag?"),
        n => format!("Remove {name} and its {n} other tags?"),
    };
    let created = image.created;
    let size = image.size.max(0) as u64;
    let usage = sharing.usage.get(&id);
    let (unique, shared) = usage.map_or((size, 0), |u| (u.unique, u.shared));
    let users = graph_query::containers(
        &sharing.graph,
        usage.map_or(&[][..], |u| u.containers.as_slice()),
    );
    let user_names: Vec<String> = users.iter().map(|(_, n)| n.clone()).collect();
    let users_cell = match users.len() {
        0 => view! { <span class="muted">"—"</span> }.into_any(),
        n => view! { <span title=user_names.join(", ")>{n}</span> }.into_any(),
    };
    let entry = Entry {
        id: id.clone(),
        name,
        untagged,
        question,
        users: user_names,
    };
    view! {
        <tr
            data-id=id.clone()
            class="link"
            tabindex="0"
            on:click={
                let open = open.clone();
                move |_| open()
            }
            on:keydown=move |ev| {
                // Only the row itself: Enter in its tag form submits the form.
                if ev.key() == "Enter" && ev.target() == ev.current_target() {
                    open();
                }
            }
        >
            <td>
                <a href=href class:muted=untagged title=digests>{entry.name.clone()}</a>
                {more.into_iter().map(|t| view! { <span class="chip">{t}</span> }).collect_view()}
            </td>
            <td class="shrink mono" title=id.clone()>{format::short_id(&id).to_string()}</td>
            <td class="shrink" title=super::local_datetime(created)>{format::ago(created, now)}</td>
            <td class="shrink" title=format!("{size} bytes")>{format::bytes(size)}</td>
            <td class="shrink unique">{format::bytes(unique)}</td>
            <td class="shrink shared">{format::bytes(shared)}</td>
            <td class="shrink users">{users_cell}</td>
            {rows.can_act.then(|| actions(entry, rows))}
        </tr>
    }
}

/// Whether the image passes the filter: every word in one of its names or its ID.
fn shows(image: &ImageSummary, words: &str) -> bool {
    let haystack = format!("{} {}", image.repo_tags.join(" "), image.id).to_lowercase();
    words
        .to_lowercase()
        .split_whitespace()
        .all(|w| haystack.contains(w))
}

/// Enter in the filter box: the first image that passes it opens.
fn open_first(words: &str, images: RwSignal<Option<(Vec<ImageSummary>, Sharing)>>) {
    let first = images.with_untracked(|i| {
        i.as_ref()
            .and_then(|(list, _)| list.iter().find(|i| shows(i, words)).map(|i| i.id.clone()))
    });
    if let Some(id) = first {
        let _ = window().location().set_hash(&image_href(&id));
    }
}

/// What the actions cell needs of its image.
struct Entry {
    id: String,
    name: String,
    untagged: bool,
    question: String,
    /// Names of the containers made from it: while there are any, it cannot be removed.
    users: Vec<String>,
}

/// The actions cell: Push (a task), Save (a download), Tag (an inline form) and Remove (asks
/// again before it removes, or says which containers stand in the way).
fn actions(entry: Entry, rows: Rows) -> impl IntoView {
    let tasks = expect_context::<Tasks>();
    let Entry {
        id,
        name,
        untagged,
        question,
        users,
    } = entry;
    // (asking to confirm, tag form open, action running) for this row.
    let mode = {
        let id = id.clone();
        Memo::new(move |_| {
            let here = |s: RwSignal<Option<String>>| s.with(|v| v.as_deref() == Some(id.as_str()));
            (here(rows.confirming), here(rows.tagging), here(rows.busy))
        })
    };
    let cancel = move |_| {
        rows.confirming.set(None);
        rows.tagging.set(None);
    };
    let remove = {
        let (id, name) = (id.clone(), name.clone());
        move |_| {
            let (id, name) = (id.clone(), name.clone());
            rows.busy.set(Some(id.clone()));
            rows.error.set(None);
            spawn_local(async move {
                let result = api::remove_image(&id).await;
                rows.busy.set(None);
                rows.confirming.set(None);
                if let Err(e) = result {
                    show(rows, &e, format!("removing {name}"));
                }
            });
        }
    };
    let save_tag = {
        let id = id.clone();
        move |ev: ev::SubmitEvent| {
            ev.prevent_default();
            let target = rows.tag_input.get_untracked().trim().to_string();
            if target.is_empty() {
                rows.error
                    .set(Some("Type the new name first, e.g. myrepo/app:v2.".into()));
                return;
            }
            let (repo, tag) = format::split_reference(&target);
            let id = id.clone();
            rows.busy.set(Some(id.clone()));
            rows.error.set(None);
            spawn_local(async move {
                let result = api::tag_image(&id, &repo, &tag).await;
                rows.busy.set(None);
                match result {
                    Ok(()) => rows.tagging.set(None),
                    Err(e) => show(rows, &e, format!("tagging as {target}")),
                }
            });
        }
    };
    let open_tag = {
        let id = id.clone();
        move |_| {
            rows.tag_input.set(String::new());
            rows.confirming.set(None);
            rows.tagging.set(Some(id.clone()));
        }
    };
    let push = {
        let name = name.clone();
        move |_| {
            let (repo, tag) = format::split_reference(&name);
            tasks.push(rows.auth, repo, tag);
        }
    };
    let save_href = api::save_url(&id);
    let copy_id = id.clone();
    let file = format!("{}.tar", name.replace(['/', ':'], "_"));
    let blocked = (!users.is_empty()).then(|| {
        format!(
            "In use by {}: remove {} first.",
            users.join(", "),
            if users.len() == 1 {
                "that container"
            } else {
                "those containers"
            }
        )
    });
    let ask = move |_| {
        rows.tagging.set(None);
        rows.confirming.set(Some(id.clone()));
    };
    view! {
        // Clicks in here act; they do not open the detail page.
        <td class="right actions nowrap" on:click=|ev| ev.stop_propagation()>
            {move || match mode.get() {
                (true, _, busy) => match blocked.clone() {
                    Some(why) => view! {
                        <span class="confirm-text blocked">{why}</span>
                        <button class="cancel ghost" on:click=cancel>"OK"</button>
                    }
                    .into_any(),
                    None => view! {
                        <span class="confirm-text">{question.clone()}</span>
                        <button class="confirm danger" disabled=busy on:click=remove.clone()>
                            {if busy { "Removing…" } else { "Remove" }}
                        </button>
                        <button class="cancel ghost" on:click=cancel>"Cancel"</button>
                    }
                    .into_any(),
                },
                (_, true, busy) => view! {
                    <form class="tag-form" on:submit=save_tag.clone()>
                        <input
                            class="tag-ref"
                            placeholder="repository:tag"
                            value=rows.tag_input.get_untracked()
                            on:input=move |ev| rows.tag_input.set(event_target_value(&ev))
                        />
                        <button class="tag-save" type="submit" disabled=busy>"Tag"</button>
                        <button class="cancel ghost" type="button" on:click=cancel>"Cancel"</button>
                    </form>
                }
                .into_any(),
                _ => view! {
                    {(!untagged).then(|| view! {
                        <button class="push ghost" title="push this tag to its registry" on:click=push.clone()>"Push"</button>
                    })}
                    <a class="button ghost save" href=save_href.clone() download=file.clone() title="download as a docker save tar">"Save"</a>
                    {super::copy::copy_to(copy_id.clone(), name.clone())}
                    <button class="retag ghost" on:click=open_tag.clone()>"Tag"</button>
                    <button class="remove danger" on:click=ask.clone()>"Remove"</button>
                }
                .into_any(),
            }}
        </td>
    }
}

/// Shows an action's error above the table (or goes back to the login view on a 401).
fn show(rows: Rows, e: &ApiError, doing: String) {
    if !rows.auth.handle(e) {
        rows.error.set(Some(format!("{doing}: {e}")));
    }
}

/// The Pull form and the progress of the newest pull (operators). The pull itself is a task:
/// it goes on, and its progress stays, when the user leaves the page.
fn pull_form(auth: Auth, tasks: Tasks) -> impl IntoView {
    let reference = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let newest = move || tasks.newest(Kind::Pull);
    let running = move || newest().is_some_and(|t| t.log.state == State::Running);

    let submit = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        if running() {
            return;
        }
        let input = reference.get_untracked().trim().to_string();
        if input.is_empty() {
            error.set(Some(
                "Type an image reference first, e.g. 127.0.0.1:5000/busybox:latest.".into(),
            ));
            return;
        }
        let (name, tag) = format::split_reference(&input);
        error.set(None);
        tasks.pull(auth, name, tag);
    };

    view! {
        <div class="card" id="pull-card">
            <h2>"Pull an image"</h2>
            <form class="inline" on:submit=submit>
                <input
                    id="pull-ref"
                    placeholder="name[:tag], e.g. 127.0.0.1:5000/busybox:latest"
                    autocomplete="off"
                    spellcheck="false"
                    on:input=move |ev| reference.set(event_target_value(&ev))
                />
                <button id="pull" type="submit" disabled=running>"Pull"</button>
            </form>
            {move || error.get().map(|e| view! { <p class="error" id="pull-error">{e}</p> })}
            {move || newest().map(|mut t| {
                // The failure shows once, as the form's error.
                let failed = t.log.error.take().map(|e| view! { <p class="error" id="pull-error">{e}</p> });
                view! { {failed}{progress_view(Kind::Pull, t.log, Some("pull-progress"))} }
            })}
        </div>
    }
}
