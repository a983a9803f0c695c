//! Containers: every container on the host, refreshed by `container` events (no polling);
//! operators start, stop, restart, pause, unpause and remove from here. The action buttons are
//! shared with the Container page.

use super::{Latest, local_datetime, now_secs, on_container_changes};
use crate::api::{self, ApiError};
use crate::app::Auth;
use crate::docker::ContainerSummary;
use crate::format;
use crate::route::{container_href, image_href};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::auth::Role;

/// Action state of a page, kept at page level so that a reload (any container event) keeps it.
#[derive(Clone, Copy)]
pub(crate) struct Acts {
    auth: Auth,
    pub can_act: bool,
    /// The container whose Remove waits for a second click.
    confirming: RwSignal<Option<String>>,
    /// The container an action is running on.
    busy: RwSignal<Option<String>>,
    /// What went wrong loading or acting.
    pub error: RwSignal<Option<String>>,
}

impl Acts {
    pub fn new() -> Self {
        let auth = expect_context::<Auth>();
        Acts {
            auth,
            can_act: auth.who().is_some_and(|w| w.role >= Role::Operator),
            confirming: RwSignal::new(None),
            busy: RwSignal::new(None),
            error: RwSignal::new(None),
        }
    }

    /// Shows an error (or goes back to the login view on a 401).
    pub fn show(self, e: &ApiError, doing: &str) {
        if !self.auth.handle(e) {
            self.error.set(Some(format!("{doing}: {e}")));
        }
    }

    pub fn handle(self, e: &ApiError) -> bool {
        self.auth.handle(e)
    }
}

/// Whether a container in `state` has a process (stopping or removing it kills it).
pub(crate) fn is_live(state: &str) -> bool {
    matches!(state, "running" | "paused" | "restarting")
}

/// What can be done to a container in `state`, in button order.
fn verbs(state: &str) -> &'static [&'static str] {
    match state {
        "running" => &["stop", "restart", "pause", "remove"],
        "paused" => &["unpause", "stop", "remove"],
        "restarting" => &["stop", "remove"],
        _ => &["start", "remove"],
    }
}

fn label(verb: &str) -> &'static str {
    match verb {
        "start" => "Start",
        "stop" => "Stop",
        "restart" => "Restart",
        "pause" => "Pause",
        "unpause" => "Unpause",
        _ => "Remove",
    }
}

/// `running` in a coloured badge.
pub(crate) fn badge(state: String) -> impl IntoView {
    view! { <span class=format!("badge s-{state}")>{state.clone()}</span> }
}

/// The buttons for one container (Remove asks again first). The result shows through the
/// container events the action causes.
pub(crate) fn actions(id: String, name: String, state: String, acts: Acts) -> impl IntoView {
    let mode = {
        let id = id.clone();
        Memo::new(move |_| {
            let here = |s: RwSignal<Option<String>>| s.with(|v| v.as_deref() == Some(id.as_str()));
            (here(acts.confirming), here(acts.busy))
        })
    };
    let force = is_live(&state);
    let run = move |id: String, verb: &'static str| {
        acts.busy.set(Some(id.clone()));
        acts.error.set(None);
        spawn_local(async move {
            let result = if verb == "remove" {
                api::remove_container(&id, force).await
            } else {
                api::container_action(&id, verb).await
            };
            acts.busy.set(None);
            acts.confirming.set(None);
            if let Err(e) = result {
                acts.show(&e, verb);
            }
        });
    };
    let question = if force {
        format!("Remove {name}? It is {state}: it will be killed.")
    } else {
        format!("Remove {name}?")
    };
    view! {
        // Clicks in here act; they do not open the container's page.
        <span class="actions nowrap" on:click=|ev| ev.stop_propagation()>
            {move || {
                let (asking, busy) = mode.get();
                if asking {
                    let id = id.clone();
                    view! {
                        <span class="confirm-text">{question.clone()}</span>
                        <button class="confirm danger" disabled=busy on:click=move |_| run(id.clone(), "remove")>
                            {if busy { "Removing…" } else { "Remove" }}
                        </button>
                        <button class="cancel ghost" on:click=move |_| acts.confirming.set(None)>"Cancel"</button>
                    }
                    .into_any()
                } else {
                    verbs(&state)
                        .iter()
                        .map(|&verb| {
                            let id = id.clone();
                            let click = move |_| {
                                if verb == "remove" {
                                    acts.confirming.set(Some(id.clone()));
                                } else {
                                    run(id.clone(), verb);
                                }
                            };
                            let class = if verb == "remove" { "act-remove danger" } else { "ghost" };
                            view! {
                                <button class=format!("{class} act-{verb}") disabled=busy on:click=click>
                                    {label(verb)}
                                </button>
                            }
                        })
                        .collect_view()
                        .into_any()
                }
            }}
        </span>
    }
}

#[component]
pub fn ContainersPage() -> impl IntoView {
    let acts = Acts::new();
    let can_act = acts.can_act;
    let list = RwSignal::new(None::<Vec<ContainerSummary>>);
    let latest = Latest::new();

    on_container_changes(move || {
        let ticket = latest.next();
        spawn_local(async move {
            let answer = api::containers().await;
            if !latest.is(ticket) {
                return;
            }
            match answer {
                Ok(l) => list.set(Some(l)),
                Err(e) => acts.show(&e, "listing containers"),
            }
        });
    });

    // One reactive block: rows are rebuilt on each load (their UI state lives in `acts`).
    let table = move || {
        let error = acts
            .error
            .get()
            .map(|e| view! { <p class="error" id="containers-error">{e}</p> });
        let body = list.get().map(|list| {
            let running = list.iter().filter(|c| c.state == "running").count();
            let count = match list.len() {
                0 => "No containers yet: docker run one against this agent.".to_string(),
                n => format!(
                    "{n} container{}, {running} running",
                    if n == 1 { "" } else { "s" }
                ),
            };
            let now = now_secs();
            view! {
                <table class="list" id="containers">
                    <thead>
                        <tr>
                            <th>"Name"</th>
                            <th>"Image"</th>
                            <th>"State"</th>
                            <th>"Status"</th>
                            <th>"Command"</th>
                            <th>"Created"</th>
                            {can_act.then(|| view! { <th></th> })}
                        </tr>
                    </thead>
                    <tbody>
                        {list.into_iter().map(|c| row(c, now, acts)).collect_view()}
                    </tbody>
                </table>
                <p class="empty-row muted" id="containers-count">{count}</p>
            }
        });
        let loading = body
            .is_none()
            .then(|| view! { <p class="empty-row muted">"Loading containers…"</p> });
        view! {
            {error}
            <div class="card flush">{body}{loading}</div>
        }
    };

    view! {
        <section class="page">
            <h1>"Containers"</h1>
            {table}
        </section>
    }
}

fn row(c: ContainerSummary, now: i64, acts: Acts) -> impl IntoView {
    let name = c.name().to_string();
    let href = container_href(&c.id);
    let open = {
        let href = href.clone();
        move |_| {
            let _ = window().location().set_hash(&href);
        }
    };
    let cell = acts
        .can_act
        .then(|| view! { <td class="right">{actions(c.id.clone(), name.clone(), c.state.clone(), acts)}</td> });
    view! {
        <tr data-id=c.id.clone() data-name=name.clone() data-state=c.state.clone() class="link" on:click=open>
            <td><a class="name" href=href>{name.clone()}</a></td>
            <td>
                <a href=image_href(&c.image_id) title=c.image_id.clone() on:click=|ev| ev.stop_propagation()>
                    {c.image}
                </a>
            </td>
            <td class="shrink state">{badge(c.state.clone())}</td>
            <td class="shrink status">{c.status}</td>
            <td class="mono created-by">{c.command}</td>
            <td class="shrink" title=local_datetime(c.created)>{format::ago(c.created, now)}</td>
            {cell}
        </tr>
    }
}
