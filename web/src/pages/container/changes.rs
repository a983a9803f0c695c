//! The Changes tab: what the container changed in its image — added, changed and deleted
//! paths with their sizes, and the size of the layer a commit would make
//! (`/berth/v1/containers/<id>/changes`). Reloaded on container events and on Refresh.

use super::commit::change_list;
use crate::api;
use crate::format;
use crate::pages::containers::Acts;
use crate::pages::on_container_changes;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::live::ContainerChanges;

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
    let loaded = RwSignal::new(None::<Result<ContainerChanges, String>>);
    let wanted = StoredValue::new(id);
    let load = move || {
        spawn_local(async move {
            let answer = api::sized_changes(&wanted.get_value()).await;
            match answer {
                Err(e) if acts.handle(&e) => {}
                other => loaded.set(Some(other.map_err(|e| e.to_string()))),
            }
        });
    };
    on_container_changes(load);
    view! {
        <div class="card">
            <h2>
                "What changed"
                <button id="changes-refresh" class="ghost h1-button" on:click=move |_| load()>"Refresh"</button>
                {acts.can_act.then(|| view! {
                    <button id="changes-commit" class="ghost h1-button" on:click=move |_| committing.set(true)>"Commit…"</button>
                })}
            </h2>
            <p class="muted">
                "Files this container added (A), changed (C) or deleted (D) on top of its image: \
                 what a commit puts into the new image's top layer."
            </p>
            {move || match loaded.get() {
                None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error" id="changes-error">{e}</p> }.into_any(),
                Some(Ok(c)) => view! {
                    <p id="changes-summary">{summary(&c)}</p>
                    {change_list(c.changes)}
                }
                .into_any(),
            }}
        </div>
    }
}
