//! One container (`#/container/<id>`): its state, limits and mounts, its logs, what it changed
//! in its image (`docker diff`) with a form to commit that as a new image, and, while it runs,
//! its processes and one stats sample. Reloads on container events.

use super::containers::{Acts, actions, badge, is_live};
use super::{Latest, command, fact, lines, now_secs, on_container_changes, or_dash, when};
use crate::api::{self, ApiError};
use crate::docker::{Change, ContainerInspect, Stats, Top, container_name};
use crate::format;
use crate::logs::{self, LogLine};
use crate::route::{Page, image_href};
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;

/// One part of the page: not loaded yet, loaded, or why it could not be.
type Part<T> = RwSignal<Option<Result<T, String>>>;

#[derive(Clone, Copy)]
struct Parts {
    inspect: RwSignal<Option<ContainerInspect>>,
    logs: Part<Vec<LogLine>>,
    changes: Part<Vec<Change>>,
    /// Only while the container runs.
    top: RwSignal<Option<Result<(Top, Stats), String>>>,
}

/// Keeps the answer, or the error as text (a 401 goes back to the login view instead).
fn keep<T: Send + Sync + 'static>(part: Part<T>, acts: Acts, answer: Result<T, ApiError>) {
    match answer {
        Err(e) if acts.handle(&e) => {}
        other => part.set(Some(other.map_err(|e| e.to_string()))),
    }
}

#[component]
pub fn ContainerPage(id: String) -> impl IntoView {
    let acts = Acts::new();
    let parts = Parts {
        inspect: RwSignal::new(None),
        logs: RwSignal::new(None),
        changes: RwSignal::new(None),
        top: RwSignal::new(None),
    };
    let latest = Latest::new();
    let wanted = StoredValue::new(id.clone());

    let load = move || {
        let ticket = latest.next();
        let id = wanted.get_value();
        spawn_local(async move {
            let inspect = match api::inspect_container(&id).await {
                Ok(i) => i,
                Err(e) => {
                    if latest.is(ticket) {
                        if let ApiError::Status(404, m) = &e {
                            parts.inspect.set(None);
                            acts.error
                                .set(Some(format!("{m} — it may have been removed.")));
                        } else {
                            acts.show(&e, "reading the container");
                        }
                    }
                    return;
                }
            };
            if !latest.is(ticket) {
                return;
            }
            let (tty, running) = (inspect.config.tty, inspect.state.running);
            let running = running && !inspect.state.paused;
            parts.inspect.set(Some(inspect));
            acts.error.set(None);
            let body = api::container_logs(&id).await;
            if !latest.is(ticket) {
                return;
            }
            keep(parts.logs, acts, body.map(|b| logs::split(&b, tty)));
            let changes = api::container_changes(&id).await;
            if !latest.is(ticket) {
                return;
            }
            keep(parts.changes, acts, changes);
            if !running {
                parts.top.set(None);
                return;
            }
            let sample = match api::container_top(&id).await {
                Ok(top) => api::container_stats(&id).await.map(|s| (top, s)),
                Err(e) => Err(e),
            };
            if latest.is(ticket) {
                keep(parts.top, acts, sample);
            }
        });
    };
    on_container_changes(load);
    let found = Memo::new(move |_| parts.inspect.with(Option::is_some));

    let page = move || {
        let loaded = parts.inspect.get();
        let name = loaded.as_ref().map_or_else(
            || format::short_id(&id).to_string(),
            |i| container_name(&i.name, &i.id).to_string(),
        );
        let error = acts
            .error
            .get()
            .map(|e| view! { <p class="error" id="container-error">{e}</p> });
        let waiting = (loaded.is_none() && error.is_none())
            .then(|| view! { <p class="muted">"Loading…"</p> });
        view! {
            <h1>
                "Container"<span class="sub mono" id="container-name">{name}</span>
                <button id="refresh" class="ghost h1-button" on:click=move |_| load()>"Refresh"</button>
            </h1>
            {error}
            {waiting}
            {loaded.map(|i| details(i, acts))}
        }
    };

    view! {
        <section class="page">
            <p class="crumbs"><a id="back" href=Page::Containers.href()>"← Containers"</a></p>
            {page}
            {move || found.get().then(|| view! {
                {move || parts.top.get().map(processes)}
                {logs_card(parts.logs)}
                {changes_card(parts.changes, wanted.get_value(), acts)}
            })}
        </section>
    }
}

fn details(i: ContainerInspect, acts: Acts) -> impl IntoView {
    let now = now_secs();
    let s = &i.state;
    let mut argv = vec![i.path.clone()];
    argv.extend(i.args.iter().cloned());
    let image_label = if i.config.image.is_empty() {
        format::short_id(&i.image).to_string()
    } else {
        i.config.image.clone()
    };
    let exited = !is_live(&s.status) && s.status != "created";
    let limits = &i.host_config;
    let memory = match limits.memory {
        m if m > 0 => format::bytes(m as u64),
        _ => "no limit".to_string(),
    };
    let cpus = match limits.nano_cpus {
        n if n > 0 => format!("{}", n as f64 / 1e9),
        _ => "no limit".to_string(),
    };
    let pids = match limits.pids_limit {
        p if p > 0 => p.to_string(),
        _ => "no limit".to_string(),
    };
    let mounts: Vec<String> = i
        .mounts
        .iter()
        .map(|m| {
            let ro = if m.rw { "" } else { " (read-only)" };
            format!("{} {} → {}{ro}", m.kind, m.source, m.destination)
        })
        .collect();
    let name = container_name(&i.name, &i.id).to_string();
    view! {
        {acts.can_act.then(|| view! {
            <div class="toolbar">{actions(i.id.clone(), name, s.status.clone(), acts)}</div>
        })}
        <div class="cards">
            <div class="card">
                <h2>"Container"</h2>
                <table class="facts">
                    <tr><th>"State"</th><td id="container-state">{badge(s.status.clone())}</td></tr>
                    {fact("container-id", "ID", i.id.clone())}
                    <tr>
                        <th>"Image"</th>
                        <td><a id="container-image" href=image_href(&i.image) title=i.image.clone()>{image_label}</a></td>
                    </tr>
                    {fact("container-cmd", "Command", command(&argv))}
                    {fact("container-created", "Created", when(&i.created, now))}
                    {fact("container-started", "Started", when(&s.started_at, now))}
                    {exited.then(|| fact("container-finished", "Finished", when(&s.finished_at, now)))}
                    {exited.then(|| fact("container-exit", "Exit code", s.exit_code.to_string()))}
                    {(s.pid > 0).then(|| fact("container-pid", "PID", s.pid.to_string()))}
                    {fact("container-oom", "OOM killed", if s.oom_killed { "yes" } else { "no" }.to_string())}
                    {fact("container-restarts", "Restart count", i.restart_count.to_string())}
                    {(!s.error.is_empty()).then(|| fact("container-state-error", "Error", s.error.clone()))}
                </table>
            </div>
            <div class="card">
                <h2>"Limits and mounts"</h2>
                <table class="facts">
                    {fact("container-memory", "Memory", memory)}
                    {fact("container-cpus", "CPUs", cpus)}
                    {fact("container-pids", "PIDs", pids)}
                    {fact("container-tty", "TTY", if i.config.tty { "yes" } else { "no" }.to_string())}
                    {lines("container-mounts", "Mounts", mounts)}
                </table>
            </div>
        </div>
    }
}

/// A part's error, or its view once loaded.
fn part<T: Clone + Send + Sync + 'static, V: IntoView + 'static>(
    part: Part<T>,
    id: &'static str,
    show: impl Fn(T) -> V + Send + Sync + 'static,
) -> impl IntoView {
    move || match part.get() {
        None => view! { <p class="muted">"Loading…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="error" id=id>{e}</p> }.into_any(),
        Some(Ok(v)) => show(v).into_any(),
    }
}

fn logs_card(logs: Part<Vec<LogLine>>) -> impl IntoView {
    view! {
        <div class="card">
            <h2>"Logs (last 200 lines; stderr in red)"</h2>
            {part(logs, "logs-error", |lines: Vec<LogLine>| {
                if lines.is_empty() {
                    return view! { <p class="muted" id="logs-empty">"No output yet."</p> }.into_any();
                }
                view! {
                    <pre class="logs" id="logs">
                        {lines.into_iter().map(|l| view! { <span class:err=l.err>{l.text}</span> }).collect_view()}
                    </pre>
                }
                .into_any()
            })}
        </div>
    }
}

fn changes_card(changes: Part<Vec<Change>>, id: String, acts: Acts) -> impl IntoView {
    view! {
        <div class="card">
            <h2>"What changed"</h2>
            <p class="muted">
                "Files this container added (A), changed (C) or deleted (D) on top of its image: \
                 what a commit puts into the new image's top layer."
            </p>
            {part(changes, "changes-error", |list: Vec<Change>| {
                let count = |k: u8| list.iter().filter(|c| c.kind == k).count();
                let summary = if list.is_empty() {
                    "Nothing changed: the container's filesystem is its image's.".to_string()
                } else {
                    format!("{} added, {} changed, {} deleted", count(1), count(0), count(2))
                };
                view! {
                    <p id="changes-summary">{summary}</p>
                    <ul class="changes mono" id="changes">
                        {list.into_iter().map(|c| {
                            let letter = c.letter();
                            view! {
                                <li class=format!("chg-{letter}") data-kind=letter>
                                    <b>{letter}</b>" "{c.path}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }
            })}
            {acts.can_act.then(|| commit_form(id, acts))}
        </div>
    }
}

/// Commit the container as a new image (`POST /commit`), with a link to it.
fn commit_form(id: String, acts: Acts) -> impl IntoView {
    let reference = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let done = RwSignal::new(None::<(String, String)>);
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        let target = reference.get_untracked().trim().to_string();
        if target.is_empty() || busy.get_untracked() {
            error.set(Some("Name the new image first, e.g. myapp:v2.".into()));
            return;
        }
        let (repo, tag) = format::split_reference(&target);
        let id = id.clone();
        busy.set(true);
        error.set(None);
        done.set(None);
        spawn_local(async move {
            let answer = api::commit(&id, &repo, &tag).await;
            busy.set(false);
            match answer {
                Ok(image) => done.set(Some((image, format!("{repo}:{tag}")))),
                Err(e) if acts.handle(&e) => {}
                Err(e) => error.set(Some(format!("commit: {e}"))),
            }
        });
    };
    view! {
        <form class="inline commit-form" on:submit=submit>
            <input
                id="commit-ref"
                placeholder="repository:tag for the new image"
                autocomplete="off"
                spellcheck="false"
                on:input=move |ev| reference.set(event_target_value(&ev))
            />
            <button id="commit" type="submit" disabled=busy>
                {move || if busy.get() { "Committing…" } else { "Commit" }}
            </button>
        </form>
        {move || error.get().map(|e| view! { <p class="error" id="commit-error">{e}</p> })}
        {move || done.get().map(|(image, name)| view! {
            <p class="notice ok" id="commit-done">
                "Committed as "<a href=image_href(&image)>{name}</a>" ("{format::short_id(&image).to_string()}")"
            </p>
        })}
    }
}

/// Processes and one stats sample, while the container runs.
fn processes(sample: Result<(Top, Stats), String>) -> impl IntoView {
    let (top, stats) = match sample {
        Ok(s) => s,
        Err(e) => return view! { <p class="error" id="top-error">{e}</p> }.into_any(),
    };
    let used = stats.memory_used();
    let memory = match stats.memory_limit() {
        Some(limit) => format!("{} of {}", format::bytes(used), format::bytes(limit)),
        None => format!("{} (no limit)", format::bytes(used)),
    };
    view! {
        <div class="card flush">
            <h2 class="pad">"Processes"</h2>
            <p class="pad stats">
                <span id="stats-cpu">{format!("CPU {:.1} %", stats.cpu_percent())}</span>
                " · "
                <span id="stats-memory">{format!("memory {memory}")}</span>
            </p>
            <table class="list" id="top">
                <thead>
                    <tr>{top.titles.into_iter().map(|t| view! { <th>{t}</th> }).collect_view()}</tr>
                </thead>
                <tbody>
                    {top.processes.into_iter().map(|p| view! {
                        <tr>{p.into_iter().map(|v| view! { <td class="mono">{or_dash(&v)}</td> }).collect_view()}</tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
