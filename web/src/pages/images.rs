//! Images: every image on the host, refreshed by `image` events; operators pull, tag and
//! remove from here.

use super::{Latest, now_secs, on_image_changes};
use crate::api::{self, ApiError};
use crate::app::Auth;
use crate::docker::ImageSummary;
use crate::format;
use crate::progress::{PullLog, Row, State};
use crate::route::{Page, image_href};
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::auth::Role;

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

#[component]
pub fn ImagesPage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let can_act = auth.who().is_some_and(|w| w.role >= Role::Operator);
    let images = RwSignal::new(None::<Vec<ImageSummary>>);
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
            let answer = api::images().await;
            if !latest.is(ticket) {
                return;
            }
            match answer {
                Ok(list) => images.set(Some(list)),
                Err(e) => show(rows, &e, "listing images".into()),
            }
        });
    };
    on_image_changes(load);

    // One reactive block for the list: rows are rebuilt on each load (their UI state lives in
    // `rows`), which keeps the wasm small.
    let list = move || {
        let error = rows
            .error
            .get()
            .map(|e| view! { <p class="error" id="images-error">{e}</p> });
        let body = images.get().map(|list| {
            let count = match list.len() {
                0 if can_act => "No images yet. Pull one above, or docker pull, load or import one into this agent.".to_string(),
                0 => "No images yet.".to_string(),
                1 => "1 image".to_string(),
                n => format!("{n} images"),
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
                            {can_act.then(|| view! { <th></th> })}
                        </tr>
                    </thead>
                    <tbody>
                        {list.into_iter().map(|i| image_row(i, now, rows, load)).collect_view()}
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
            {can_act.then(|| pull_form(auth, load))}
            {list}
        </section>
    }
}

fn image_row(
    image: ImageSummary,
    now: i64,
    rows: Rows,
    reload: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let id = image.id.clone();
    let href = image_href(&id);
    let open = {
        let href = href.clone();
        move |_| {
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
    view! {
        <tr data-id=id.clone() class="link" on:click=open>
            <td>
                <a href=href class:muted=untagged title=digests>{name.clone()}</a>
                {more.into_iter().map(|t| view! { <span class="chip">{t}</span> }).collect_view()}
            </td>
            <td class="shrink mono" title=id.clone()>{format::short_id(&id).to_string()}</td>
            <td class="shrink" title=super::local_datetime(created)>{format::ago(created, now)}</td>
            <td class="shrink" title=format!("{size} bytes")>{format::bytes(size)}</td>
            {rows.can_act.then(|| actions(id.clone(), name, question, rows, reload))}
        </tr>
    }
}

/// The actions cell: Tag (an inline form) and Remove (asks again before it removes).
fn actions(
    id: String,
    name: String,
    question: String,
    rows: Rows,
    reload: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
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
                match result {
                    Ok(()) => reload(),
                    Err(e) => show(rows, &e, format!("removing {name}")),
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
                    Ok(()) => {
                        rows.tagging.set(None);
                        reload();
                    }
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
    let ask = move |_| {
        rows.tagging.set(None);
        rows.confirming.set(Some(id.clone()));
    };
    view! {
        // Clicks in here act; they do not open the detail page.
        <td class="right actions nowrap" on:click=|ev| ev.stop_propagation()>
            {move || match mode.get() {
                (true, _, busy) => view! {
                    <span class="confirm-text">{question.clone()}</span>
                    <button class="confirm danger" disabled=busy on:click=remove.clone()>
                        {if busy { "Removing…" } else { "Remove" }}
                    </button>
                    <button class="cancel ghost" on:click=cancel>"Cancel"</button>
                }
                .into_any(),
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

/// The Pull form and its live progress (operators).
fn pull_form(auth: Auth, reload: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let reference = RwSignal::new(String::new());
    let log = RwSignal::new(None::<PullLog>);
    let error = RwSignal::new(None::<String>);
    let running = move || log.with(|l| l.as_ref().is_some_and(|l| l.state == State::Running));

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
        let shown = if tag.starts_with("sha256:") {
            format!("{name}@{tag}")
        } else {
            format!("{name}:{tag}")
        };
        error.set(None);
        log.set(Some(PullLog::new(shown)));
        spawn_local(async move {
            let result = api::pull(&name, &tag, |line| {
                log.update(|l| {
                    if let Some(l) = l {
                        l.apply(line)
                    }
                })
            })
            .await;
            let outcome = match result {
                Ok(()) => Ok(()),
                Err(e) if auth.handle(&e) => return,
                Err(e) => Err(e.to_string()),
            };
            log.update(|l| {
                if let Some(l) = l {
                    l.finish(outcome)
                }
            });
            error.set(log.with_untracked(|l| l.as_ref().and_then(|l| l.error.clone())));
            reload();
        });
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
            {move || {
                (error.get().map(|e| view! { <p class="error" id="pull-error">{e}</p> }), log.get().map(progress_view))
            }}
        </div>
    }
}

fn progress_view(log: PullLog) -> impl IntoView {
    let heading = match log.state {
        State::Running => format!("Pulling {}…", log.reference),
        State::Done => format!("Pulled {}", log.reference),
        State::Failed => format!("Pull of {} failed", log.reference),
    };
    view! {
        <div id="pull-progress" class="pull-progress" data-state=log.state.as_str()>
            <p class="pull-heading">{heading}</p>
            {log.rows.into_iter().map(progress_row).collect_view()}
        </div>
    }
}

fn progress_row(row: Row) -> impl IntoView {
    let amounts = match (row.current, row.total) {
        (Some(c), Some(t)) if t > 0 => format!("{} / {}", format::bytes(c), format::bytes(t)),
        _ => String::new(),
    };
    view! {
        <div class="pull-row" data-id=row.id.clone().unwrap_or_default()>
            <span class="mono">{row.text()}</span>
            {row.percent().map(|p| view! {
                <span class="bar pull-bar" title=amounts.clone()>
                    <span style=format!("width: {p:.1}%")></span>
                </span>
                <span class="muted pull-amounts">{amounts.clone()}</span>
            })}
        </div>
    }
}
