//! Events: every host's events as they arrive on the socket, newest first, with the host
//! each happened on.

use super::{local_clock, local_datetime};
use crate::format;
use crate::socket::{EVENTS_KEPT, Live, Received};
use leptos::prelude::*;

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

#[component]
pub fn EventsPage() -> impl IntoView {
    let live = expect_context::<Live>();
    let count = move || live.events.with(|l| l.len());

    view! {
        <section class="page">
            <h1>
                "Events"
                <span class="sub" id="events-count">
                    {move || format!("{} shown, newest first (the last {EVENTS_KEPT} are kept)", count())}
                </span>
            </h1>
            <div class="card flush">
                <table class="list" id="events">
                    <thead>
                        <tr>
                            <th>"Time"</th>
                            <th>"Host"</th>
                            <th>"Type"</th>
                            <th>"Action"</th>
                            <th>"Actor"</th>
                            <th>"Attributes"</th>
                        </tr>
                    </thead>
                    <tbody>
                        <For
                            each=move || live.events.get()
                            key=|r| r.seq
                            children=event_row
                        />
                    </tbody>
                </table>
                {move || (count() == 0).then(|| view! {
                    <p class="empty-row muted" id="events-empty">
                        "No events yet. They appear here live as the engine changes state"
                        {move || live.since.get().map(|t| format!(" (listening since {})", local_clock(t)))}
                        "."
                    </p>
                })}
            </div>
        </section>
    }
}
