//! "Copy to…" on an image: a button that opens a picker of the hosts the shown host knows;
//! the copy itself (the target's pull, streamed) runs as a task, so its progress shows on the
//! Images page and in the header's task list.

use crate::api;
use crate::app::Auth;
use crate::tasks::Tasks;
use leptos::prelude::*;
use leptos::task::spawn_local;

/// The "Copy to…" control of image `id` (shown as `name`).
pub fn copy_to(id: String, name: String) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let tasks = expect_context::<Tasks>();
    // `None`: closed; `Some(None)`: loading the hosts; `Some(Some(list))`: choosing.
    let picking = RwSignal::new(None::<Option<Vec<String>>>);
    let target = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let open = move |_| {
        error.set(None);
        picking.set(Some(None));
        spawn_local(async move {
            match api::copy_targets().await {
                Ok(hosts) => {
                    let names: Vec<String> = hosts.into_iter().map(|h| h.name).collect();
                    target.set(names.first().cloned().unwrap_or_default());
                    picking.set(Some(Some(names)));
                }
                Err(e) if !auth.handle(&e) => {
                    picking.set(None);
                    error.set(Some(format!("listing hosts: {e}")));
                }
                Err(_) => {}
            }
        });
    };
    let start = move |_| {
        let to = target.get_untracked();
        if to.is_empty() {
            return;
        }
        picking.set(None);
        tasks.copy(auth, id.clone(), name.clone(), to);
    };
    move || {
        match picking.get() {
        None => view! {
            <button class="copy ghost" on:click=open>"Copy to…"</button>
            {error.get().map(|e| view! { <span class="error">{e}</span> })}
        }
        .into_any(),
        Some(None) => view! { <span class="muted">"Loading hosts…"</span> }.into_any(),
        Some(Some(names)) if names.is_empty() => view! {
            <span class="muted">"No other host known here (add peers in Settings)."</span>
            <button class="cancel ghost" on:click=move |_| picking.set(None)>"OK"</button>
        }
        .into_any(),
        Some(Some(names)) => view! {
            <select class="copy-target" on:change=move |ev| target.set(event_target_value(&ev))>
                {names.into_iter().map(|n| view! { <option value=n.clone()>{n.clone()}</option> }).collect_view()}
            </select>
            <button class="copy-go" on:click=start.clone()>"Copy"</button>
            <button class="cancel ghost" on:click=move |_| picking.set(None)>"Cancel"</button>
        }
        .into_any(),
    }
    }
}
