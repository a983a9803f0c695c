//! Build: type a Dockerfile (and/or pick files, a folder, or a context tar), give tags,
//! build args and no-cache, and watch `POST /build`'s output live; on success, a link to the
//! new image. The context is a tar made here in the browser (`crate::tar`). Viewers see
//! what the page is for, not the form (the agent refuses them anyway).

use crate::api;
use crate::app::Auth;
use crate::build_log::{self, BuildLog};
use crate::route::image_href;
use crate::tar::{TarWriter, context_path};
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::auth::Role;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

const EXAMPLE: &str =
    "FROM busybox\nRUN echo built in the browser > /hello.txt\nCMD [\"cat\", \"/hello.txt\"]\n";

/// Files picked for the context: (path in the context, bytes).
type Picked = Vec<(String, Vec<u8>)>;

/// Reads the files an `<input type=file>` holds.
async fn read_files(input: web_sys::HtmlInputElement) -> Result<Picked, String> {
    let Some(list) = input.files() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for i in 0..list.length() {
        let Some(file) = list.get(i) else { continue };
        let buffer = JsFuture::from(file.array_buffer())
            .await
            .map_err(|e| format!("reading {}: {e:?}", file.name()))?;
        let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
        // `webkitRelativePath`: set for a folder's files (`folder/sub/file`), else empty.
        let relative = js_sys::Reflect::get(&file, &"webkitRelativePath".into())
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default();
        out.push((context_path(&relative, &file.name()), bytes));
    }
    Ok(out)
}

fn file_input(
    id: &'static str,
    folder: bool,
    into: RwSignal<Picked>,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let on_change = move |ev: ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        spawn_local(async move {
            match read_files(input).await {
                Ok(files) => into.set(files),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! { <input id=id type="file" multiple=true prop:webkitdirectory=folder on:change=on_change/> }
}

/// The tar to send: a picked tar as it is, else the picked files plus the typed Dockerfile.
fn context_tar(dockerfile: &str, files: &Picked, folder: &Picked, tar: &Picked) -> Vec<u8> {
    if let Some((_, bytes)) = tar.first() {
        return bytes.clone();
    }
    let now = (js_sys::Date::now() / 1000.0) as u64;
    let mut writer = TarWriter::new();
    for (path, bytes) in folder.iter().chain(files) {
        // A typed Dockerfile wins over a picked one.
        if path != "Dockerfile" || dockerfile.trim().is_empty() {
            writer.add_file(path, bytes, 0o644, now);
        }
    }
    if !dockerfile.trim().is_empty() {
        writer.add_file("Dockerfile", dockerfile.as_bytes(), 0o644, now);
    }
    writer.finish()
}

fn query(tags: &str, args: &str, no_cache: bool) -> String {
    let mut parts: Vec<String> = build_log::tags(tags)
        .iter()
        .map(|t| format!("t={}", String::from(js_sys::encode_uri_component(t))))
        .collect();
    if !args.trim().is_empty() {
        let json = build_log::build_args(args);
        parts.push(format!(
            "buildargs={}",
            String::from(js_sys::encode_uri_component(&json))
        ));
    }
    if no_cache {
        parts.push("nocache=1".into());
    }
    parts.push("rm=1".into());
    parts.join("&")
}

#[component]
pub fn BuildPage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let can_act = auth.who().is_some_and(|w| w.role >= Role::Operator);
    view! {
        <section class="page">
            <h1>"Build" <span class="sub">"an image from a Dockerfile, as docker build does"</span></h1>
            {if can_act {
                build_form(auth).into_any()
            } else {
                view! {
                    <p class="card muted" id="build-viewer">
                        "Building images needs the operator role; your token is a viewer's."
                    </p>
                }
                .into_any()
            }}
        </section>
    }
}

fn build_form(auth: Auth) -> impl IntoView {
    let dockerfile = RwSignal::new(EXAMPLE.to_string());
    let tags = RwSignal::new(String::new());
    let args = RwSignal::new(String::new());
    let no_cache = RwSignal::new(false);
    let files = RwSignal::new(Picked::new());
    let folder = RwSignal::new(Picked::new());
    let tar = RwSignal::new(Picked::new());
    let log = RwSignal::new(None::<BuildLog>);
    let error = RwSignal::new(None::<String>);
    let running = move || log.with(|l| l.as_ref().is_some_and(|l| !l.done));

    let submit = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        if running() {
            return;
        }
        let body = context_tar(
            &dockerfile.get_untracked(),
            &files.get_untracked(),
            &folder.get_untracked(),
            &tar.get_untracked(),
        );
        let query = query(
            &tags.get_untracked(),
            &args.get_untracked(),
            no_cache.get_untracked(),
        );
        error.set(None);
        log.set(Some(BuildLog::default()));
        spawn_local(async move {
            let result = api::build(&query, &body, |line| {
                log.update(|l| {
                    if let Some(l) = l {
                        l.apply(line)
                    }
                })
            })
            .await;
            if let Err(e) = &result
                && auth.handle(e)
            {
                return;
            }
            log.update(|l| {
                if let Some(l) = l {
                    l.done = true;
                    if let Err(e) = &result {
                        l.error = Some(e.to_string());
                    }
                }
            });
        });
    };

    let picked = move || {
        let count = files.with(Vec::len) + folder.with(Vec::len);
        let has_tar = tar.with(|t| !t.is_empty());
        match (has_tar, count) {
            (true, _) => {
                "A context tar is picked: it is sent as it is (the Dockerfile inside it is used)."
                    .to_string()
            }
            (false, 0) => "The context is the Dockerfile alone.".to_string(),
            (false, n) => format!("{n} file(s) picked for the context, beside the Dockerfile."),
        }
    };

    view! {
        <form class="card build-form" id="build-form" on:submit=submit>
            <label for="build-dockerfile">"Dockerfile"</label>
            <textarea
                id="build-dockerfile"
                class="mono"
                rows="10"
                spellcheck="false"
                prop:value=move || dockerfile.get()
                on:input=move |ev| dockerfile.set(event_target_value(&ev))
            ></textarea>
            <div class="build-files">
                <label>"Files " {file_input("build-files", false, files, error)}</label>
                <label>"A folder " {file_input("build-folder", true, folder, error)}</label>
                <label>"Or a context tar " {file_input("build-tar", false, tar, error)}</label>
            </div>
            <p class="muted" id="build-picked">{picked}</p>
            <div class="inline">
                <input
                    id="build-tags"
                    placeholder="tags, e.g. myapp:1, myapp:latest"
                    autocomplete="off"
                    spellcheck="false"
                    on:input=move |ev| tags.set(event_target_value(&ev))
                />
                <label class="check">
                    <input
                        id="build-nocache"
                        type="checkbox"
                        on:change=move |ev| no_cache.set(event_target_checked(&ev))
                    />
                    " no cache"
                </label>
            </div>
            <textarea
                id="build-args"
                class="mono"
                rows="2"
                placeholder="build args, one KEY=VALUE a line"
                spellcheck="false"
                on:input=move |ev| args.set(event_target_value(&ev))
            ></textarea>
            <button id="build-start" type="submit" disabled=running>"Build"</button>
        </form>
        {move || error.get().map(|e| view! { <p class="error" id="build-error">{e}</p> })}
        {move || log.get().map(|l| {
            let state = if !l.done { "running" } else if l.error.is_some() { "failed" } else { "done" };
            let link = l.result().map(|id| {
                let short: String = id.trim_start_matches("sha256:").chars().take(12).collect();
                view! {
                    <p id="build-result">"Built "<a id="build-image-link" href=image_href(id)>{short}</a></p>
                }
            });
            let failure = l.error.clone().map(|e| view! { <p class="error" id="build-failure">{e}</p> });
            view! {
                <div class="card" id="build-log" data-state=state>
                    <pre id="build-output" class="logs">{l.text.clone()}</pre>
                    {failure}
                    {link}
                </div>
            }
        })}
    }
}
