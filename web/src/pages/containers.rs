//! Containers: every container on the host in one live table — name, image, state and how
//! long it has been up (or how it exited), published ports as links, CPU and memory (the
//! `usage` topic), age. A filter box (`/` focuses it, Enter opens the first row), a state
//! filter, sorting by any column, and for operators row actions and bulk actions on the
//! selected rows. Only the rows on screen are rendered, so a thousand containers stay smooth.
//!
//! The list is loaded once; each container event then re-reads only that container's row
//! (a `destroy` drops it), and a reconnect reloads everything.

use super::container::commit::CommitDialog;
use super::run::RunDialog;
use super::{local_datetime, now_secs};
use crate::api::{self, ApiError};
use crate::app::Auth;
use crate::docker::ContainerSummary;
use crate::format;
use crate::route::{Tab, container_href, image_href};
use crate::socket::{Live, WsState};
use crate::table::{self, Sort};
use leptos::ev;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::auth::Role;
use shared::ws::{ServerMessage, Topic};
use std::collections::{HashMap, HashSet};

/// Action state of a page, kept at page level so that a reload keeps it.
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

/// What can be done to a container in `state`: the button shown, then the menu's verbs.
fn verbs(state: &str) -> (&'static str, &'static [&'static str]) {
    match state {
        "running" => ("stop", &["restart", "pause", "kill", "remove"]),
        "paused" => ("unpause", &["stop", "kill", "remove"]),
        "restarting" => ("stop", &["kill", "remove"]),
        _ => ("start", &["remove"]),
    }
}

fn label(verb: &str) -> &'static str {
    match verb {
        "start" => "Start",
        "stop" => "Stop",
        "restart" => "Restart",
        "pause" => "Pause",
        "unpause" => "Unpause",
        "kill" => "Kill",
        _ => "Remove",
    }
}

/// Runs `verb` on a container (remove kills a live one first).
async fn act(id: &str, verb: &str, live: bool) -> Result<(), ApiError> {
    if verb == "remove" {
        api::remove_container(id, live).await
    } else {
        api::container_action(id, verb).await
    }
}

/// `running` in a coloured badge.
pub(crate) fn badge(state: String) -> impl IntoView {
    view! { <span class=format!("badge s-{state}")>{state.clone()}</span> }
}

/// The buttons for one container: the likely action, the others in a menu (with links to
/// the container's tabs when `links`); Remove asks again first. The result shows through the
/// container events the action causes.
pub(crate) fn actions(id: String, name: String, state: String, acts: Acts) -> impl IntoView {
    row_actions(id, name, state, acts, None)
}

fn row_actions(
    id: String,
    name: String,
    state: String,
    acts: Acts,
    links: Option<RwSignal<Option<(String, String)>>>,
) -> impl IntoView {
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
            let result = act(&id, verb, force).await;
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
    let (main, more) = verbs(&state);
    let button = move |id: String, verb: &'static str, busy: bool| {
        let click = move |_| {
            if verb == "remove" {
                acts.confirming.set(Some(id.clone()));
            } else {
                run(id.clone(), verb);
            }
        };
        let class = if verb == "remove" { "danger" } else { "ghost" };
        view! {
            <button class=format!("{class} act-{verb}") disabled=busy on:click=click>{label(verb)}</button>
        }
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
                    let tabs = links.map(|commit| {
                        let (id, name) = (id.clone(), name.clone());
                        view! {
                            <a class="act-logs" href=Tab::Logs.href(&id)>"Logs"</a>
                            <a class="act-exec" href=Tab::Console.href(&id)>"Exec"</a>
                            <a class="act-inspect" href=Tab::Inspect.href(&id)>"Inspect"</a>
                            <button class="ghost act-commit" on:click=move |_| commit.set(Some((id.clone(), name.clone())))>"Commit…"</button>
                        }
                    });
                    view! {
                        {button(id.clone(), main, busy)}
                        <details class="menu">
                            <summary class="act-more" title="More actions">"⋯"</summary>
                            <div class="menu-items">
                                {more.iter().map(|&verb| button(id.clone(), verb, busy)).collect_view()}
                                {tabs}
                            </div>
                        </details>
                    }
                    .into_any()
                }
            }}
        </span>
    }
}

/// The rows of the table and what the page shows about them.
#[derive(Clone, Copy)]
struct Table {
    list: RwSignal<Option<Vec<ContainerSummary>>>,
    /// CPU % and memory bytes by short ID (the `usage` topic).
    usage: RwSignal<HashMap<String, (f32, u64)>>,
    query: RwSignal<String>,
    state: RwSignal<String>,
    sort: RwSignal<Sort>,
    selected: RwSignal<HashSet<String>>,
    /// The first row on screen and how many fit (window scroll).
    window: RwSignal<(usize, usize)>,
    now: RwSignal<i64>,
}

impl Table {
    fn usage_of(self, id: &str) -> Option<(f32, u64)> {
        self.usage.with(|u| u.get(format::short_id(id)).copied())
    }

    /// The rows that pass the filters, sorted.
    fn shown(self) -> Vec<ContainerSummary> {
        let query = self.query.get().trim().to_ascii_lowercase();
        let state = self.state.get();
        let sort = self.sort.get();
        let usage = self.usage.get();
        let mut rows: Vec<ContainerSummary> = self
            .list
            .get()
            .unwrap_or_default()
            .into_iter()
            .filter(|c| state.is_empty() || c.state == state)
            .filter(|c| table::matches(c, &query))
            .collect();
        table::sort(&mut rows, sort, &usage);
        rows
    }

    /// Re-reads one container's row (an event named it); `None` removes it.
    fn put(self, id: &str, row: Option<ContainerSummary>) {
        self.list.update(|list| {
            let Some(list) = list else {
                return;
            };
            let at = list.iter().position(|c| c.id == id);
            match (at, row) {
                (Some(i), Some(row)) => list[i] = row,
                (Some(i), None) => {
                    list.remove(i);
                }
                (None, Some(row)) => list.insert(0, row),
                (None, None) => {}
            }
        });
        if self
            .list
            .with_untracked(|l| l.as_ref().is_some_and(|l| !l.iter().any(|c| c.id == id)))
        {
            self.selected.update(|s| {
                s.remove(id);
            });
        }
    }
}

/// Container events that change a row (exec and attach events do not).
fn changes_row(action: &str) -> bool {
    !(action.starts_with("exec_")
        || matches!(
            action,
            "attach" | "resize" | "commit" | "top" | "export" | "copy"
        ))
}

/// Pixels of one table row (fixed in the stylesheet, so rows can be windowed).
const ROW_HEIGHT: f64 = 38.0;
/// Rows rendered above and below the screen.
const OVERSCAN: usize = 12;

#[component]
pub fn ContainersPage() -> impl IntoView {
    let acts = Acts::new();
    let can_act = acts.can_act;
    let live = expect_context::<Live>();
    let t = Table {
        list: RwSignal::new(None),
        usage: RwSignal::new(HashMap::new()),
        query: RwSignal::new(String::new()),
        state: RwSignal::new(String::new()),
        sort: RwSignal::new(Sort::default()),
        selected: RwSignal::new(HashSet::new()),
        window: RwSignal::new((0, 60)),
        now: RwSignal::new(now_secs()),
    };
    let running_dialog = RwSignal::new(false);
    let commit = RwSignal::new(None::<(String, String)>);
    let filter_box = NodeRef::<html::Input>::new();
    let body = NodeRef::<html::Tbody>::new();

    // The whole list: at first and after every reconnect (events may have been missed).
    let reload = move || {
        spawn_local(async move {
            match api::containers().await {
                Ok(l) => t.list.set(Some(l)),
                Err(e) => acts.show(&e, "listing containers"),
            }
        });
    };
    reload();
    Effect::new(move |was: Option<WsState>| {
        let now = live.state.get();
        if was == Some(WsState::Reconnecting) && now == WsState::Live {
            reload();
        }
        now
    });
    // One row per container event; the newest answer per container wins.
    let asked = StoredValue::new(HashMap::<String, u64>::new());
    Effect::new(move |seen: Option<u64>| {
        let newest = live.events.with(|l| l.front().map_or(0, |r| r.seq + 1));
        let Some(seen) = seen else {
            return newest;
        };
        let fresh: Vec<(String, String)> = live.events.with(|l| {
            l.iter()
                .take_while(|r| r.seq >= seen)
                .filter(|r| r.event.kind == "container" && changes_row(&r.event.action))
                .map(|r| (r.event.actor.id.clone(), r.event.action.clone()))
                .collect()
        });
        for (id, action) in fresh.into_iter().rev() {
            if action == "destroy" {
                t.put(&id, None);
                continue;
            }
            let ticket = asked
                .try_update_value(|m| {
                    let n = m.entry(id.clone()).or_default();
                    *n += 1;
                    *n
                })
                .unwrap_or(0);
            spawn_local(async move {
                let answer = api::container_row(&id).await;
                if asked.try_with_value(|m| m.get(&id).copied()) != Some(Some(ticket)) {
                    return;
                }
                match answer {
                    Ok(row) => t.put(&id, row),
                    Err(e) => acts.show(&e, "reading a container"),
                }
            });
        }
        newest
    });
    live.follow(Topic::Usage, move |message| {
        if let ServerMessage::Usage { containers } = message {
            t.usage.set(
                containers
                    .iter()
                    .map(|u| (u.id.clone(), (u.cpu, u.mem)))
                    .collect(),
            );
        }
    });
    // Status texts ("Up 5 minutes") stay current.
    if let Ok(ticker) = set_interval_with_handle(
        move || t.now.set(now_secs()),
        std::time::Duration::from_secs(5),
    ) {
        on_cleanup(move || ticker.clear());
    }
    // Which rows are on screen.
    let measure = move || {
        let Some(tbody) = body.get_untracked() else {
            return;
        };
        let above = -tbody.get_bounding_client_rect().top();
        let first = (above.max(0.0) / ROW_HEIGHT) as usize;
        let height = window()
            .inner_height()
            .ok()
            .and_then(|h| h.as_f64())
            .unwrap_or(800.0);
        let fit = (height / ROW_HEIGHT).ceil() as usize;
        let range = (first.saturating_sub(OVERSCAN), fit + 2 * OVERSCAN);
        if t.window.get_untracked() != range {
            t.window.set(range);
        }
    };
    let on_scroll = window_event_listener(ev::scroll, move |_| measure());
    let on_resize = window_event_listener(ev::resize, move |_| measure());
    // `/` focuses the filter (unless typing somewhere).
    let on_key = window_event_listener(ev::keydown, move |ev| {
        let typing = ev
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
            .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
        if ev.key() == "/"
            && !typing
            && let Some(input) = filter_box.get_untracked()
        {
            ev.prevent_default();
            let _ = input.focus();
        }
    });
    on_cleanup(move || {
        on_scroll.remove();
        on_resize.remove();
        on_key.remove();
    });

    let shown = Memo::new(move |_| t.shown());
    Effect::new(move |_| {
        shown.track();
        request_animation_frame(measure);
    });
    let open_first = move |ev: ev::KeyboardEvent| {
        if ev.key() == "Enter"
            && let Some(first) = shown.with_untracked(|s| s.first().map(|c| c.id.clone()))
        {
            let _ = window().location().set_hash(&container_href(&first));
        }
    };

    let rows = move || {
        let (first, count) = t.window.get();
        shown.with(|s| {
            let end = (first + count).min(s.len());
            let start = first.min(end);
            (start, s.len() - end, s[start..end].to_vec())
        })
    };
    let spacer = move |px: usize| {
        (px > 0).then(|| view! { <tr class="spacer" style=format!("height:{}px", px as f64 * ROW_HEIGHT)></tr> })
    };
    let header = move |col: table::Column| {
        let click = move |_| t.sort.update(|s| *s = s.toggled(col));
        let mark = move || {
            let s = t.sort.get();
            if s.column == col {
                if s.ascending { " ▲" } else { " ▼" }
            } else {
                ""
            }
        };
        view! { <th class=format!("sortable col-{}", col.slug()) on:click=click>{col.title()}{mark}</th> }
    };
    let all_box = move |ev: ev::Event| {
        let on = event_target_checked(&ev);
        t.selected.set(if on {
            shown.with_untracked(|s| s.iter().map(|c| c.id.clone()).collect())
        } else {
            HashSet::new()
        });
    };

    let count = move || {
        t.list.with(|l| {
            l.as_ref().map(|list| {
                let running = list.iter().filter(|c| c.state == "running").count();
                let shown_n = shown.with(Vec::len);
                match list.len() {
                    0 => {
                        "No containers yet: run one with the Run button or docker run.".to_string()
                    }
                    n if shown_n == n => format!(
                        "{n} container{}, {running} running",
                        if n == 1 { "" } else { "s" }
                    ),
                    n => format!("{shown_n} of {n} containers shown, {running} running"),
                }
            })
        })
    };

    view! {
        <section class="page">
            <h1>
                "Containers"
                {can_act.then(|| view! {
                    <button id="run-open" class="ghost h1-button" on:click=move |_| running_dialog.set(true)>"Run…"</button>
                })}
            </h1>
            <div class="filters">
                <input
                    id="containers-filter"
                    type="search"
                    placeholder="Filter by name, image, ID or port  ( / )"
                    autocomplete="off"
                    node_ref=filter_box
                    on:input=move |ev| t.query.set(event_target_value(&ev))
                    on:keydown=open_first
                />
                <select id="containers-state" on:change=move |ev| t.state.set(event_target_value(&ev))>
                    <option value="">"All states"</option>
                    <option value="running">"Running"</option>
                    <option value="paused">"Paused"</option>
                    <option value="exited">"Exited"</option>
                    <option value="created">"Created"</option>
                    <option value="restarting">"Restarting"</option>
                </select>
                {move || (can_act && t.selected.with(|s| !s.is_empty())).then(|| view! { <Bulk t=t acts=acts/> })}
            </div>
            {move || acts.error.get().map(|e| view! { <p class="error" id="containers-error">{e}</p> })}
            <div class="card flush">
                <table class="list containers" id="containers">
                    <thead>
                        <tr>
                            {can_act.then(|| view! { <th class="pick"><input id="select-all" type="checkbox" title="Select all shown" on:change=all_box/></th> })}
                            {header(table::Column::Name)}
                            {header(table::Column::Image)}
                            {header(table::Column::State)}
                            <th class="col-status">"Status"</th>
                            <th class="col-ports">"Ports"</th>
                            {header(table::Column::Cpu)}
                            {header(table::Column::Memory)}
                            {header(table::Column::Created)}
                            {can_act.then(|| view! { <th></th> })}
                        </tr>
                    </thead>
                    <tbody node_ref=body>
                        {move || {
                            let (before, after, visible) = rows();
                            view! {
                                {spacer(before)}
                                <For
                                    each=move || visible.clone()
                                    key=|c| table::row_key(c)
                                    children=move |c| row(c, t, acts, commit)
                                />
                                {spacer(after)}
                            }
                        }}
                    </tbody>
                </table>
                <p class="empty-row muted" id="containers-count">
                    {move || count().unwrap_or_else(|| "Loading containers…".to_string())}
                </p>
            </div>
            {move || running_dialog.get().then(|| view! { <RunDialog image=String::new() open=running_dialog/> })}
            {move || commit.get().map(|(id, name)| {
                let open = RwSignal::new(true);
                Effect::new(move |_| if !open.get() { commit.set(None) });
                view! { <CommitDialog id=id name=name open=open/> }
            })}
        </section>
    }
}

fn row(
    c: ContainerSummary,
    t: Table,
    acts: Acts,
    commit: RwSignal<Option<(String, String)>>,
) -> impl IntoView {
    let name = c.name().to_string();
    let href = container_href(&c.id);
    let open = {
        let href = href.clone();
        move || {
            let _ = window().location().set_hash(&href);
        }
    };
    let open_click = open.clone();
    let on_key = move |ev: ev::KeyboardEvent| {
        if ev.key() == "Enter" {
            open();
        }
    };
    let id = c.id.clone();
    let pick = acts.can_act.then(|| {
        let id = id.clone();
        let checked = {
            let id = id.clone();
            move || t.selected.with(|s| s.contains(&id))
        };
        view! {
            <td class="pick" on:click=|ev| ev.stop_propagation()>
                <input type="checkbox" class="pick-row" prop:checked=checked on:change=move |ev| {
                    let on = event_target_checked(&ev);
                    t.selected.update(|s| {
                        if on { s.insert(id.clone()); } else { s.remove(&id); }
                    });
                }/>
            </td>
        }
    });
    let ports = c
        .published()
        .into_iter()
        .map(|(public, inner)| {
            let href = super::container::port_link("", &public.to_string());
            view! {
                <a class="port" href=href target="_blank" rel="noopener" on:click=|ev| ev.stop_propagation()>
                    {format!("{public}→{inner}")}
                </a>
            }
        })
        .collect_view();
    // Only a live container has usage (the last round may still name one just stopped).
    let usage_id = is_live(&c.state).then(|| id.clone());
    let usage = move || usage_id.as_deref().and_then(|id| t.usage_of(id));
    let cpu = {
        let usage = usage.clone();
        move || usage().map_or_else(|| "—".to_string(), |(cpu, _)| format!("{cpu:.1} %"))
    };
    let memory = move || usage().map_or_else(|| "—".to_string(), |(_, m)| format::bytes(m));
    let summary = c.clone();
    let status = move || summary.status_at(t.now.get());
    let actions = acts
        .can_act
        .then(|| view! { <td class="right actions-cell">{row_actions(c.id.clone(), name.clone(), c.state.clone(), acts, Some(commit))}</td> });
    view! {
        <tr data-id=c.id.clone() data-name=name.clone() data-state=c.state.clone() class="link" tabindex="0"
            on:click=move |_| open_click() on:keydown=on_key>
            {pick}
            <td class="name-cell"><a class="name" href=href>{name.clone()}</a></td>
            <td class="image-cell">
                <a href=image_href(&c.image_id) title=c.image_id.clone() on:click=|ev| ev.stop_propagation()>
                    {c.image.clone()}
                </a>
            </td>
            <td class="shrink state">{badge(c.state.clone())}</td>
            <td class="status">{status}</td>
            <td class="ports">{ports}</td>
            <td class="shrink num cpu">{cpu}</td>
            <td class="shrink num mem">{memory}</td>
            <td class="shrink created" title=local_datetime(c.created)>{move || format::ago(c.created, t.now.get())}</td>
            {actions}
        </tr>
    }
}

/// The bulk bar: the selected rows' count and the actions for all of them at once.
#[component]
fn Bulk(t: Table, acts: Acts) -> impl IntoView {
    let confirming = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let run = move |verb: &'static str| {
        let chosen: Vec<(String, String, String)> = t.list.with_untracked(|l| {
            let picked = t.selected.get_untracked();
            l.iter()
                .flatten()
                .filter(|c| picked.contains(&c.id))
                .map(|c| (c.id.clone(), c.name().to_string(), c.state.clone()))
                .collect()
        });
        busy.set(true);
        confirming.set(false);
        acts.error.set(None);
        spawn_local(async move {
            let mut failed = Vec::new();
            for (id, name, state) in chosen {
                if let Err(e) = act(&id, verb, is_live(&state)).await {
                    if acts.handle(&e) {
                        return;
                    }
                    failed.push(format!("{name}: {e}"));
                }
            }
            busy.set(false);
            if verb == "remove" {
                t.selected.set(HashSet::new());
            }
            if !failed.is_empty() {
                acts.error.set(Some(format!(
                    "{} failed for {}",
                    label(verb),
                    failed.join("; ")
                )));
            }
        });
    };
    let n = move || t.selected.with(HashSet::len);
    view! {
        <span class="bulk" id="bulk">
            <span class="bulk-count">{move || format!("{} selected:", n())}</span>
            {["start", "stop", "restart", "kill", "pause", "unpause"].into_iter().map(|verb| view! {
                <button class=format!("ghost bulk-{verb}") disabled=move || busy.get() on:click=move |_| run(verb)>{label(verb)}</button>
            }).collect_view()}
            {move || if confirming.get() {
                view! {
                    <span class="confirm-text">{format!("Remove {} containers (running ones are killed)?", n())}</span>
                    <button class="danger bulk-confirm" on:click=move |_| run("remove")>"Remove"</button>
                    <button class="ghost" on:click=move |_| confirming.set(false)>"Cancel"</button>
                }
                .into_any()
            } else {
                view! { <button class="danger bulk-remove" disabled=move || busy.get() on:click=move |_| confirming.set(true)>"Remove"</button> }.into_any()
            }}
            <button class="ghost bulk-clear" on:click=move |_| t.selected.set(HashSet::new())>"Clear"</button>
        </span>
    }
}
