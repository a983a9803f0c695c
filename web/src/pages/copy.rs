//! "Copy to…" on an image: a button that opens a picker of the hosts the shown host knows,
//! and the copy's progress (the target's pull, streamed) in a card at the top of the page.
//! Self-contained, so the Images page only places [`progress_card`] and [`copy_to`].

use crate::api;
use crate::app::Auth;
use crate::progress::{PullLog, State};
use leptos::prelude::*;
use leptos::task::spawn_local;

/// The last copy's progress, shared by the page's buttons and its card.
#[derive(Clone, Copy)]
struct CopyLog(RwSignal<Option<PullLog>>);

/// `#copy-progress`: the last copy, line by line as the target reports it. Place it before
/// the buttons (it provides what they write to).
pub fn progress_card() -> impl IntoView {
    let log = CopyLog(RwSignal::new(None));
    provide_context(log);
    move || {
        log.0.get().map(|log| {
            let heading = match log.state {
                State::Running => format!("Copying {}…", log.reference),
                State::Done => format!("Copied {}", log.reference),
                State::Failed => format!(
                    "Copy of {} failed: {}",
                    log.reference,
                    log.error.clone().unwrap_or_default()
                ),
            };
            view! {
                <div class="card">
                    <div id="copy-progress" class="pull-progress" data-state=log.state.as_str()>
                        <p class="pull-heading">{heading}</p>
                        {log.rows.iter().map(|r| view! { <div class="pull-row mono">{r.text()}</div> }).collect_view()}
                    </div>
                </div>
            }
        })
    }
}

/// The "Copy to…" control of image `id` (shown as `name`).
pub fn copy_to(id: String, name: String) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let log = expect_context::<CopyLog>().0;
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
        log.set(Some(PullLog::new(format!("{name} to {to}"))));
        let id = id.clone();
        spawn_local(async move {
            let result = api::copy_image(&id, &to, |line| {
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
        });
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
