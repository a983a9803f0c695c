//! Events: every host's events as they arrive on the socket, newest first, with filters
//! by type, host and free text (action, object ID, name or any attribute; `/` focuses it).

use super::{local_clock, local_datetime};
use crate::format;
use crate::socket::{EVENTS_KEPT, Live, Received};
use leptos::prelude::*;
use shared::event::Event;

fn event_row(r: Received) -> impl IntoView {
    let e = r.event;
    let attrs = format::attributes(&e.actor.attributes);
    let host = e.host.unwrap_or_default();
    view! {
        <tr data-seq=r.seq>
            <td class="shrink">{local_datetime(e.time)}</td>
            <td class="shrink host">{host}</td>
            <td class="shrink">{e.kind}</td>
            <td class="shrink action">{e.action}</td>
            <td class="shrink mono" title=e.actor.id.clone()>{format::short_id(&e.actor.id).to_string()}</td>
            <td class="attrs">{attrs}</td>
        </tr>
    }
}

/// Whether the event passes the filters: its type and host (empty: any), and every word of
/// `text` found in its action, object ID or an attribute (case-insensitive).
pub fn matches(e: &Event, kind: &str, host: &str, text: &str) -> bool {
    if !kind.is_empty() && e.kind != kind {
        return false;
    }
    if !host.is_empty() && e.host.as_deref().unwrap_or_default() != host {
        return false;
    }
    let haystack = format!(
        "{} {} {}",
        e.action,
        e.actor.id,
        format::attributes(&e.actor.attributes)
    )
    .to_lowercase();
    text.to_lowercase()
        .split_whitespace()
        .all(|word| haystack.contains(word))
}

/// The distinct values of `field` among the events, sorted.
fn choices<'a>(
    list: impl IntoIterator<Item = &'a Received>,
    field: impl Fn(&Event) -> String,
) -> Vec<String> {
    let mut out: Vec<String> = list.into_iter().map(|r| field(&r.event)).collect();
    out.retain(|v| !v.is_empty());
    out.sort();
    out.dedup();
    out
}

#[component]
pub fn EventsPage() -> impl IntoView {
    let live = expect_context::<Live>();
    let kind = RwSignal::new(String::new());
    let host = RwSignal::new(String::new());
    let text = RwSignal::new(String::new());
    let shown = Memo::new(move |_| {
        let (k, h, t) = (kind.get(), host.get(), text.get());
        live.events.with(|list| {
            list.iter()
                .filter(|r| matches(&r.event, &k, &h, &t))
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    let count = move || live.events.with(|l| l.len());
    let kinds = Memo::new(move |_| live.events.with(|l| choices(l, |e| e.kind.clone())));
    let hosts = Memo::new(move |_| {
        live.events
            .with(|l| choices(l, |e| e.host.clone().unwrap_or_default()))
    });
    let filter_box = NodeRef::<leptos::html::Input>::new();
    super::focus_on_slash(filter_box);
    let select = |id: &'static str,
                  any: &'static str,
                  value: RwSignal<String>,
                  options: Memo<Vec<String>>| {
        view! {
            <select id=id on:change=move |ev| value.set(event_target_value(&ev))>
                <option value="" selected=move || value.with(String::is_empty)>{any}</option>
                <For each=move || options.get() key=|o| o.clone() let:o>
                    <option value=o.clone() selected={let o = o.clone(); move || value.with(|v| *v == o)}>{o.clone()}</option>
                </For>
            </select>
        }
    };

    view! {
        <section class="page">
            <h1>
                "Events"
                <span class="sub" id="events-count">
                    {move || {
                        let (n, all) = (shown.with(Vec::len), count());
                        if n == all {
                            format!("{all} shown, newest first (the last {EVENTS_KEPT} are kept)")
                        } else {
                            format!("{n} of {all} shown, newest first (the last {EVENTS_KEPT} are kept)")
                        }
                    }}
                </span>
            </h1>
            <div class="filters">
                <input
                    id="events-filter"
                    node_ref=filter_box
                    placeholder="Filter: action, ID, name, image… (press /)"
                    autocomplete="off"
                    spellcheck="false"
                    on:input=move |ev| text.set(event_target_value(&ev))
                />
                {select("events-type", "every type", kind, kinds)}
                {select("events-host", "every host", host, hosts)}
            </div>
            <div class="card flush">
                <table class="list" id="events">
                    <thead>
                        <tr>
                            <th>"Time"</th>
                            <th>"Host"</th>
                            <th>"Type"</th>
                            <th>"Action"</th>
                            <th>"Object"</th>
                            <th>"Attributes"</th>
                        </tr>
                    </thead>
                    <tbody>
                        <For each=move || shown.get() key=|r| r.seq children=event_row/>
                    </tbody>
                </table>
                {move || (count() == 0).then(|| view! {
                    <p class="empty-row muted" id="events-empty">
                        "No events yet. They appear here live as the engine changes state"
                        {move || live.since.get().map(|t| format!(" (listening since {})", local_clock(t)))}
                        "."
                    </p>
                })}
                {move || (count() > 0 && shown.with(Vec::is_empty)).then(|| view! {
                    <p class="empty-row muted" id="events-none-match">"No event matches the filters."</p>
                })}
            </div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::event::Actor;
    use std::collections::BTreeMap;

    fn event(kind: &str, action: &str, name: &str, host: Option<&str>) -> Event {
        let mut attributes = BTreeMap::new();
        attributes.insert("name".to_string(), name.to_string());
        let mut e = Event::at(
            0,
            kind,
            action,
            Actor {
                id: "abc123".into(),
                attributes,
            },
        );
        e.host = host.map(str::to_string);
        e
    }

    #[test]
    fn filters_by_type_host_and_words() {
        let e = event("container", "start", "web", Some("a"));
        assert!(matches(&e, "", "", ""));
        assert!(matches(&e, "container", "a", "WEB start"));
        assert!(matches(&e, "", "", "abc1"));
        assert!(!matches(&e, "image", "", ""));
        assert!(!matches(&e, "", "b", ""));
        assert!(!matches(&e, "", "", "web stop"));
        assert!(!matches(&event("image", "pull", "x", None), "", "a", ""));
    }
}
