//! The Changes tab: what the container changed in its image — added, changed and deleted
//! paths with their sizes, and the size of the layer a commit would make
//! (`/berth/v1/containers/<id>/changes`). Reloaded on container events and on Refresh.

use super::commit::change_list;
use crate::api;
use crate::format;
use crate::html;
use crate::json::Json;
use crate::pages::containers::Acts;
use crate::pages::on_container_changes;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::live::{ContainerChanges, SizedChange};

/// The agent's answer (`shared::live::ContainerChanges`), read through [`Json`].
pub(crate) fn read_changes(text: &str) -> Result<ContainerChanges, String> {
    let j = Json::parse(text).ok_or("unexpected answer from the agent")?;
    Ok(ContainerChanges {
        changes: j
            .at("changes")
            .list()
            .iter()
            .map(|c| SizedChange {
                path: c.at("path").str(),
                kind: c.at("kind").str().chars().next().unwrap_or('C'),
                size: c.at("size").num().max(0.0) as u64,
            })
            .collect(),
        layer_size: j.at("layer_size").num().max(0.0) as u64,
    })
}

/// `"2 added, 1 changed, 1 deleted · new layer 1.0 KiB"`.
pub(crate) fn summary(c: &ContainerChanges) -> String {
    if c.changes.is_empty() {
        return "Nothing changed: the container's filesystem is its image's.".to_string();
    }
    let count = |k: char| c.changes.iter().filter(|x| x.kind == k).count();
    format!(
        "{} added, {} changed, {} deleted · new layer {}",
        count('A'),
        count('C'),
        count('D'),
        format::bytes(c.layer_size)
    )
}

#[component]
pub fn ChangesTab(id: String, acts: Acts, committing: RwSignal<bool>) -> impl IntoView {
    let node = NodeRef::<leptos::html::Div>::new();
    let load = move || {
        let id = id.clone();
        spawn_local(async move {
            let answer = api::sized_changes(&id).await;
            let html = match answer {
                Err(e) if acts.handle(&e) => return,
                Err(e) => format!(
                    "<p class=\"error\" id=\"changes-error\">{}</p>",
                    html::esc(&e.to_string())
                ),
                Ok(text) => match read_changes(&text) {
                    Ok(c) => format!(
                        "<p id=\"changes-summary\">{}</p>{}",
                        html::esc(&summary(&c)),
                        change_list(&c.changes)
                    ),
                    Err(e) => format!(
                        "<p class=\"error\" id=\"changes-error\">{}</p>",
                        html::esc(&e)
                    ),
                },
            };
            if let Some(el) = node.get_untracked() {
                el.set_inner_html(&html);
            }
        });
    };
    let again = load.clone();
    on_container_changes(load);
    view! {
        <div class="card">
            <h2>
                "What changed"
                <button id="changes-refresh" class="ghost h1-button" on:click=move |_| again()>"Refresh"</button>
                {acts.can_act.then(|| view! {
                    <button id="changes-commit" class="ghost h1-button" on:click=move |_| committing.set(true)>"Commit…"</button>
                })}
            </h2>
            <p class="muted">
                "Files this container added (A), changed (C) or deleted (D) on top of its image: \
                 what a commit puts into the new image's top layer."
            </p>
            <div node_ref=node><p class="muted">"Loading…"</p></div>
        </div>
    }
}
