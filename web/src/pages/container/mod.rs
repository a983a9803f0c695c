//! One container (`#/container/<id>/<tab>`): a header with its state and, for operators, its
//! actions and Commit; then tabs — overview, logs (live), console (a shell), stats (live
//! charts), changes (the writable layer with sizes) and inspect (the raw JSON). The inspect
//! answer is reloaded on container events; the tabs follow their own WebSocket topics.

mod changes;
pub mod commit;
mod console;
mod logs;
mod overview;
mod stats;

use super::containers::{Acts, actions, badge};
use super::{Latest, on_container_changes};
use crate::api::{self, ApiError};
use crate::docker::container_name;
use crate::format;
use crate::json::Json;
use crate::route::{Page, Tab};
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;

/// What the header and the tabs need of the inspect answer.
#[derive(Clone, Debug, PartialEq)]
struct Head {
    id: String,
    name: String,
    status: String,
    running: bool,
}

fn head(raw: &str) -> Option<Head> {
    let j = Json::parse(raw)?;
    let id = j.at("Id").str();
    Some(Head {
        name: container_name(&j.at("Name").str(), &id).to_string(),
        status: j.at("State.Status").str(),
        running: j.at("State.Running").bool() && !j.at("State.Paused").bool(),
        id,
    })
}

fn current_tab() -> Tab {
    let hash = window().location().hash().unwrap_or_default();
    let decoded = js_sys::decode_uri_component(&hash).map_or(hash, String::from);
    Tab::from_hash(&decoded)
}

#[component]
pub fn ContainerPage(id: String) -> impl IntoView {
    let acts = Acts::new();
    let raw = RwSignal::new(None::<String>);
    let tab = RwSignal::new(current_tab());
    let listener = window_event_listener(ev::hashchange, move |_| tab.set(current_tab()));
    on_cleanup(move || listener.remove());
    let committing = RwSignal::new(false);
    let latest = Latest::new();
    let wanted = StoredValue::new(id.clone());

    let load = move || {
        let ticket = latest.next();
        let id = wanted.get_value();
        spawn_local(async move {
            let answer = api::inspect_container_text(&id).await;
            if !latest.is(ticket) {
                return;
            }
            match answer {
                Ok(text) => {
                    raw.set(Some(text));
                    acts.error.set(None);
                }
                Err(ApiError::Status(404, m)) => {
                    raw.set(None);
                    acts.error
                        .set(Some(format!("{m} — it may have been removed.")));
                }
                Err(e) => acts.show(&e, "reading the container"),
            }
        });
    };
    on_container_changes(load);
    let info = Memo::new(move |_| raw.with(|r| r.as_deref().and_then(head)));
    let found = Memo::new(move |_| info.with(Option::is_some));
    let running = Memo::new(move |_| info.with(|i| i.as_ref().is_some_and(|i| i.running)));
    let tab_id = id.clone();

    let header = move || {
        let i = info.get();
        let name = i
            .as_ref()
            .map_or_else(|| format::short_id(&id).to_string(), |i| i.name.clone());
        let tools = i.filter(|_| acts.can_act).map(|i| {
            view! {
                <div class="toolbar">
                    {actions(i.id.clone(), i.name.clone(), i.status.clone(), acts)}
                    <button id="open-commit" class="ghost" on:click=move |_| committing.set(true)>"Commit…"</button>
                </div>
            }
        });
        view! {
            <h1>
                "Container"<span class="sub mono" id="container-name">{name}</span>
                {info.get().map(|i| view! { <span id="container-state">{badge(i.status)}</span> })}
            </h1>
            {tools}
        }
    };
    let tabs = move || {
        let id = tab_id.clone();
        Tab::ALL
            .into_iter()
            .map(|t| {
                view! {
                    <a id=format!("tab-{}", t.slug()) href=t.href(&id) class:active=move || tab.get() == t>
                        {t.title()}
                    </a>
                }
            })
            .collect_view()
    };
    let body = move || {
        let id = wanted.get_value();
        match tab.get() {
            Tab::Overview => view! { <overview::Overview raw=raw/> }.into_any(),
            Tab::Logs => view! { <logs::LogsTab id=id/> }.into_any(),
            Tab::Console => {
                view! { <console::ConsoleTab id=id running=running can_act=acts.can_act/> }
                    .into_any()
            }
            Tab::Stats => view! { <stats::StatsTab id=id running=running/> }.into_any(),
            Tab::Changes => {
                view! { <changes::ChangesTab id=id acts=acts committing=committing/> }.into_any()
            }
            Tab::Inspect => {
                let pretty =
                    move || raw.with(|r| r.as_deref().and_then(Json::parse).map(|j| j.pretty()));
                view! { <pre class="json" id="inspect">{pretty}</pre> }.into_any()
            }
        }
    };
    // The Commit dialog opens in the page (from the header or the Changes tab).
    let section = NodeRef::<leptos::html::Section>::new();
    let dialog = StoredValue::new_local(None::<std::rc::Rc<crate::pages::dialog::Dialog>>);
    Effect::new(move |_| {
        if !committing.get() || !acts.can_act {
            return;
        }
        committing.set(false);
        let name = info.with_untracked(|i| i.as_ref().map(|i| i.name.clone()).unwrap_or_default());
        if let Some(root) = section.get_untracked() {
            dialog.set_value(commit::open(&root, &wanted.get_value(), &name));
        }
    });
    on_cleanup(move || dialog.set_value(None));

    view! {
        <section class="page" node_ref=section>
            <p class="crumbs"><a id="back" href=Page::Containers.href()>"← Containers"</a></p>
            {header}
            {move || acts.error.get().map(|e| view! { <p class="error" id="container-error">{e}</p> })}
            {move || found.get().then(|| view! {
                <nav class="tabs">{tabs.clone()}</nav>
                {body}
            })}
        </section>
    }
}
