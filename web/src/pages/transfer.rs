//! Pull, push and copy progress as the Images page and the header's task list show it: one row per
//! layer with a bar while bytes move, "already on this host" for layers that were there.

use crate::format;
use crate::html::esc;
use crate::progress::{PullLog, State};
use crate::tasks::{Kind, Task, Tasks};
use leptos::prelude::*;
use std::fmt::Write as _;

/// A whole transfer as markup: its heading, then one row per layer and per general line;
/// `dom_id` names the block (`pull-progress`), `with_error` adds the failure under it.
pub fn progress_html(kind: Kind, log: &PullLog, dom_id: Option<&str>, with_error: bool) -> String {
    let (noun, running, done) = kind.words();
    let heading = match log.state {
        State::Running => format!("{running} {}…", log.reference),
        State::Done => format!("{done} {}", log.reference),
        State::Failed => format!("{noun} of {} failed", log.reference),
    };
    let (done, layers) = log.layers_done();
    let mut out = String::from("<div");
    if let Some(id) = dom_id {
        let _ = write!(out, " id=\"{id}\"");
    }
    let _ = write!(
        out,
        " class=\"pull-progress\" data-state=\"{}\"><p class=\"pull-heading\">{}<span class=\"muted\">",
        log.state.as_str(),
        esc(&heading)
    );
    if layers > 0 {
        let _ = write!(out, " — {done}/{layers} layers");
    }
    out.push_str("</span></p>");
    for row in &log.rows {
        let present = row.was_present();
        let _ = write!(
            out,
            "<div class=\"pull-row{}\" data-id=\"{}\"><span class=\"mono\">{}</span>",
            if present { " present" } else { "" },
            esc(row.id.as_deref().unwrap_or_default()),
            esc(&row.text())
        );
        if present {
            out.push_str("<span class=\"chip here\">already here</span>");
        }
        if let Some(p) = row.percent() {
            let amounts = match (row.current, row.total) {
                (Some(c), Some(t)) if t > 0 => {
                    format!("{} / {}", format::bytes(c), format::bytes(t))
                }
                _ => String::new(),
            };
            let _ = write!(
                out,
                "<span class=\"bar pull-bar\" title=\"{amounts}\"><span style=\"width: {}%\"></span></span>\
                 <span class=\"muted pull-amounts\">{amounts}</span>",
                format::fixed(p, 1)
            );
        }
        out.push_str("</div>");
    }
    if with_error && let Some(e) = &log.error {
        let _ = write!(out, "<p class=\"error task-error\">{}</p>", esc(e));
    }
    out.push_str("</div>");
    out
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
                                .map(|t| {
                                    let html = progress_html(t.kind, &t.log, None, true);
                                    view! { <div class="task" data-task=t.id inner_html=html></div> }
                                })
                                .collect_view()
                                .into_any()
                        }
                    }}
                </div>
            })}
        </span>
    }
}
