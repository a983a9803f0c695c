//! One image (`#/image/<id>`): what it runs (config), what it is made of (layers) and how it
//! was made (history). Reloads on image events, so a new tag shows and a removal says so.

use super::{
    Latest, command, fact, lines, local_datetime, now_secs, on_image_changes, or_dash, when,
};
use crate::api::{self, ApiError};
use crate::app::Auth;
use crate::docker::{HistoryItem, ImageInspect};
use crate::format;
use crate::route::Page;
use leptos::prelude::*;
use leptos::task::spawn_local;

#[derive(Clone)]
struct Loaded {
    inspect: ImageInspect,
    history: Vec<HistoryItem>,
}

async fn fetch(id: &str) -> Result<Loaded, ApiError> {
    Ok(Loaded {
        inspect: api::inspect_image(id).await?,
        history: api::image_history(id).await?,
    })
}

#[component]
pub fn ImagePage(id: String) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let data = RwSignal::new(None::<Loaded>);
    let error = RwSignal::new(None::<String>);
    let latest = Latest::new();
    let wanted = StoredValue::new(id.clone());

    on_image_changes(move || {
        let ticket = latest.next();
        let id = wanted.get_value();
        spawn_local(async move {
            let answer = fetch(&id).await;
            if !latest.is(ticket) {
                return;
            }
            match answer {
                Ok(loaded) => {
                    data.set(Some(loaded));
                    error.set(None);
                }
                Err(ApiError::Status(404, m)) => {
                    data.set(None);
                    error.set(Some(format!("{m} — it may have been removed.")));
                }
                Err(e) if !auth.handle(&e) => error.set(Some(format!("reading the image: {e}"))),
                Err(_) => {}
            }
        });
    });

    // The Run dialog (operators) opens in the page.
    let section = NodeRef::<leptos::html::Section>::new();
    let running = StoredValue::new_local(None::<std::rc::Rc<super::run::RunDialog>>);
    on_cleanup(move || running.set_value(None));

    // One reactive block: the page is rebuilt on each load.
    let page = move || {
        let (loaded, error) = (data.get(), error.get());
        let name = loaded.as_ref().map_or_else(
            || format::short_id(&id).to_string(),
            |d| format::image_name(&d.inspect.repo_tags).to_string(),
        );
        let waiting = (loaded.is_none() && error.is_none())
            .then(|| view! { <p class="muted">"Loading…"</p> });
        let can_run = auth
            .who()
            .is_some_and(|w| w.role >= shared::auth::Role::Operator);
        let run_name = if name == "<none>" {
            id.clone()
        } else {
            name.clone()
        };
        let run = move |_| {
            if let Some(root) = section.get_untracked() {
                running.set_value(super::run::open(&root, &run_name, auth));
            }
        };
        view! {
            <h1>
                "Image"<span class="sub mono" id="image-name">{name}</span>
                {(can_run && loaded.is_some()).then(|| view! {
                    <button id="image-run" class="ghost h1-button" on:click=run>"Run…"</button>
                })}
            </h1>
            {error.map(|e| view! { <p class="error" id="image-error">{e}</p> })}
            {waiting}
            {loaded.map(details)}
        }
    };

    view! {
        <section class="page" node_ref=section>
            <p class="crumbs"><a id="back" href=Page::Images.href()>"← Images"</a></p>
            {page}
        </section>
    }
}

fn details(d: Loaded) -> impl IntoView {
    let now = now_secs();
    let i = d.inspect;
    let created_text = when(&i.created, now);
    let size = i.size.max(0) as u64;
    let platform = or_dash(&i.platform());
    let c = i.config;
    let labels: Vec<String> = c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let ports: Vec<String> = c.exposed_ports.keys().cloned().collect();
    let layer_count = i.root_fs.layers.len();

    view! {
        <div class="cards">
            <div class="card">
                <h2>"Image"</h2>
                <table class="facts">
                    {fact("image-id", "ID", i.id.clone())}
                    {lines("image-tags", "Tags", i.repo_tags.clone())}
                    {lines("image-digests", "Digests", i.repo_digests.clone())}
                    {fact("image-created", "Created", created_text)}
                    {fact("image-size", "Size", format!("{} ({size} bytes)", format::bytes(size)))}
                    {fact("image-platform", "Platform", platform)}
                    {(!i.author.is_empty()).then(|| fact("image-author", "Author", i.author.clone()))}
                    {(!i.comment.is_empty()).then(|| fact("image-comment", "Comment", i.comment.clone()))}
                </table>
            </div>
            <div class="card">
                <h2>"Runs"</h2>
                <table class="facts">
                    {fact("image-entrypoint", "Entrypoint", command(&c.entrypoint))}
                    {fact("image-cmd", "Cmd", command(&c.cmd))}
                    {fact("image-workdir", "Working dir", or_dash(&c.working_dir))}
                    {fact("image-user", "User", or_dash(&c.user))}
                    {lines("image-env", "Env", c.env)}
                    {(!ports.is_empty()).then(|| lines("image-ports", "Ports", ports))}
                    {(!labels.is_empty()).then(|| lines("image-labels", "Labels", labels))}
                </table>
            </div>
        </div>
        <div class="card">
            <h2>
                {format!("Layers ({layer_count}, bottom first)")}
                <a class="h2-link" href=Page::Layers.href()>"what they share →"</a>
            </h2>
            <ol class="mono rootfs" id="image-layers">
                {i.root_fs.layers.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}
            </ol>
        </div>
        <div class="card flush">
            <h2 class="pad">"History (newest first)"</h2>
            <table class="list" id="history">
                <thead>
                    <tr>
                        <th>"Created"</th>
                        <th>"Created by"</th>
                        <th>"Size"</th>
                        <th>"Comment"</th>
                    </tr>
                </thead>
                <tbody>
                    {d.history.into_iter().map(|h| history_row(h, now)).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

fn history_row(h: HistoryItem, now: i64) -> impl IntoView {
    let created = h.created;
    let size = h.size.max(0) as u64;
    view! {
        <tr class:muted=size == 0>
            <td class="shrink" title=local_datetime(created)>{format::ago(created, now)}</td>
            <td class="mono created-by">{h.created_by}</td>
            <td class="shrink">{format::bytes(size)}</td>
            <td class="muted">{h.comment}</td>
        </tr>
    }
}
