//! Pull, push and copy progress as the Images page and the header's task list show it: one row per
//! layer with a bar while bytes move, "already on this host" for layers that were there.

use crate::format;
use crate::progress::{PullLog, Row, State};
use crate::tasks::{Kind, Task, Tasks};
use leptos::prelude::*;

/// A whole transfer: its heading, then one row per layer and per general line.
pub fn progress_view(kind: Kind, log: PullLog, dom_id: Option<&'static str>) -> impl IntoView {
    let (noun, running, done) = kind.words();
    let heading = match log.state {
        State::Running => format!("{running} {}…", log.reference),
        State::Done => format!("{done} {}", log.reference),
        State::Failed => format!("{noun} of {} failed", log.reference),
    };
    let (done, layers) = log.layers_done();
    let count = (layers > 0).then(|| format!(" — {done}/{layers} layers"));
    view! {
        <div id=dom_id class="pull-progress" data-state=log.state.as_str()>
            <p class="pull-heading">{heading}<span class="muted">{count}</span></p>
            {log.rows.into_iter().map(progress_row).collect_view()}
            {log.error.map(|e| view! { <p class="error task-error">{e}</p> })}
        </div>
    }
}

fn progress_row(row: Row) -> impl IntoView {
    let amounts = match (row.current, row.total) {
        (Some(c), Some(t)) if t > 0 => format!("{} / {}", format::bytes(c), format::bytes(t)),
        _ => String::new(),
    };
    let present = row.was_present();
    view! {
        <div class="pull-row" data-id=row.id.clone().unwrap_or_default() class:present=present>
            <span class="mono">{row.text()}</span>
            {present.then(|| view! { <span class="chip here">"already here"</span> })}
            {row.percent().map(|p| view! {
                <span class="bar pull-bar" title=amounts.clone()>
                    <span style=format!("width: {p:.1}%")></span>
                </span>
                <span class="muted pull-amounts">{amounts.clone()}</span>
            })}
        </div>
    }
}

/// The header's task button and, when open, the list of pulls and pushes.
#[component]
pub fn TaskList() -> impl IntoView {
    let tasks = expect_context::<Tasks>();
    let open = RwSignal::new(false);
    let label = move || {
        let (all, running) = (tasks.list.with(Vec::len), tasks.running());
        match running {
            0 => format!("Tasks ({all})"),
            n => format!("Tasks: {n} running"),
        }
    };
    view! {
        <span class="tasks">
            <button
                id="tasks-toggle"
                class="ghost"
                class:busy=move || { tasks.running() > 0 }
                on:click=move |_| open.update(|o| *o = !*o)
                title="pulls, pushes and copies started from this dashboard"
            >
                {label}
            </button>
            {move || open.get().then(|| view! {
                <div class="card task-panel" id="task-panel">
                    <div class="task-head">
                        <h2>"Pulls, pushes and copies"</h2>
                        <button class="ghost" id="tasks-clear" on:click=move |_| tasks.clear_finished()>
                            "Clear finished"
                        </button>
                    </div>
                    {move || {
                        let list: Vec<Task> = tasks.list.get().into_iter().rev().collect();
                        if list.is_empty() {
                            view! { <p class="muted">"None yet. Pulls, pushes and copies you start show here, and go on while you browse."</p> }.into_any()
                        } else {
                            list.into_iter()
                                .map(|t| view! { <div class="task" data-task=t.id>{progress_view(t.kind, t.log, None)}</div> })
                                .collect_view()
                                .into_any()
                        }
                    }}
                </div>
            })}
        </span>
    }
}
