//! Pages whose engine parts have not landed yet: they say so instead of showing made-up data.

use leptos::prelude::*;

fn pending(
    id: &'static str,
    title: &'static str,
    part: &'static str,
    what: &'static str,
) -> impl IntoView {
    view! {
        <section class="page">
            <h1>{title}</h1>
            <div class="card empty" id=id>
                <p class="empty-title">{format!("{part} has not landed in this build: {what}.")}</p>
                <p class="muted">
                    "This page fills in once that part of Berth is built; the Hosts and Events pages \
                     already show live data from the agent."
                </p>
            </div>
        </section>
    }
}

pub fn containers() -> impl IntoView {
    pending(
        "containers-empty",
        "Containers",
        "The container runtime",
        "no containers to show",
    )
}

pub fn images() -> impl IntoView {
    pending(
        "images-empty",
        "Images",
        "The image store and registry client",
        "no images to show",
    )
}

pub fn layers() -> impl IntoView {
    pending(
        "layers-empty",
        "Layers",
        "The layer store and snapshotter",
        "no layer graph to show",
    )
}
