//! Pages whose engine parts have not landed yet: they say so instead of showing made-up data.

use leptos::prelude::*;

/// `status` is the whole sentence: which part is missing and what therefore cannot be shown.
fn pending(id: &'static str, title: &'static str, status: &'static str) -> impl IntoView {
    view! {
        <section class="page">
            <h1>{title}</h1>
            <div class="card empty" id=id>
                <p class="empty-title">{status}</p>
                <p class="muted">
                    "This page fills in once that part of Berth is built; the Hosts, Images, Layers and \
                     Events pages already show live data from the agent."
                </p>
            </div>
        </section>
    }
}

pub fn containers() -> impl IntoView {
    pending(
        "containers-empty",
        "Containers",
        "The container runtime has not landed in this build: no containers to show.",
    )
}
