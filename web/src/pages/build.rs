//! Build: type a Dockerfile (and/or pick files, a folder, or a context tar), give tags,
//! build args and no-cache, and watch `POST /build`'s output live; on success, a link to the
//! new image. The context is a tar made here in the browser (`crate::tar`). Viewers see
//! what the page is for, not the form (the agent refuses them anyway).

use super::Mounted;
use crate::api;
use crate::app;
use crate::build_log::{self, BuildLog};
use crate::dom;
use crate::html::esc;
use crate::route::image_href;
use crate::tar::{TarWriter, context_path};
use std::cell::RefCell;
use std::fmt::Write as _;
use std::rc::{Rc, Weak};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{Element, Event};

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

const FORM: &str = "<form class=\"card build-form\" id=\"build-form\">\
    <label for=\"build-dockerfile\">Dockerfile</label>\
    <textarea id=\"build-dockerfile\" class=\"mono\" rows=\"10\" spellcheck=\"false\"></textarea>\
    <div class=\"build-files\"><label>Files <input id=\"build-files\" type=\"file\" multiple></label>\
    <label>A folder <input id=\"build-folder\" type=\"file\" multiple webkitdirectory></label>\
    <label>Or a context tar <input id=\"build-tar\" type=\"file\" multiple></label></div>\
    <p class=\"muted\" id=\"build-picked\">The context is the Dockerfile alone.</p>\
    <div class=\"inline\"><input id=\"build-tags\" placeholder=\"tags, e.g. myapp:1, myapp:latest\" \
    autocomplete=\"off\" spellcheck=\"false\"><label class=\"check\"><input id=\"build-nocache\" \
    type=\"checkbox\"> no cache</label></div>\
    <textarea id=\"build-args\" class=\"mono\" rows=\"2\" placeholder=\"build args, one KEY=VALUE a line\" \
    spellcheck=\"false\"></textarea><button id=\"build-start\" type=\"submit\">Build</button></form>\
    <div id=\"build-error-place\"></div><div id=\"build-log-place\"></div>";

#[derive(Default)]
struct Picks {
    files: Picked,
    folder: Picked,
    tar: Picked,
}

struct BuildPage {
    root: Element,
    picks: RefCell<Picks>,
    log: RefCell<Option<BuildLog>>,
}

impl BuildPage {
    fn running(&self) -> bool {
        self.log.borrow().as_ref().is_some_and(|l| !l.done)
    }

    /// Reads the files of the input that changed.
    fn picked(this: &Rc<Self>, ev: Event) {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let id = input.id();
        let weak = Rc::downgrade(this);
        spawn_local(async move {
            let answer = read_files(input).await;
            let Some(p) = weak.upgrade() else {
                return;
            };
            match answer {
                Ok(files) => {
                    let mut picks = p.picks.borrow_mut();
                    match id.as_str() {
                        "build-files" => picks.files = files,
                        "build-folder" => picks.folder = files,
                        _ => picks.tar = files,
                    }
                    let count = picks.files.len() + picks.folder.len();
                    let text = match (!picks.tar.is_empty(), count) {
                        (true, _) => "A context tar is picked: it is sent as it is (the Dockerfile inside it is used).".to_string(),
                        (false, 0) => "The context is the Dockerfile alone.".to_string(),
                        (false, n) => format!("{n} file(s) picked for the context, beside the Dockerfile."),
                    };
                    dom::set_text(&p.root, "#build-picked", &text);
                }
                Err(e) => dom::error_at(&p.root, "#build-error-place", "build-error", Some(&e)),
            }
        });
    }

    fn submit(this: &Rc<Self>, ev: Event) {
        ev.prevent_default();
        if this.running() {
            return;
        }
        let root = &this.root;
        let body = {
            let picks = this.picks.borrow();
            context_tar(
                &dom::value(root, "#build-dockerfile"),
                &picks.files,
                &picks.folder,
                &picks.tar,
            )
        };
        let query = query(
            &dom::value(root, "#build-tags"),
            &dom::value(root, "#build-args"),
            dom::checked(root, "#build-nocache"),
        );
        dom::error_at(root, "#build-error-place", "build-error", None);
        *this.log.borrow_mut() = Some(BuildLog::default());
        this.draw(true);
        let weak = Rc::downgrade(this);
        spawn_local(async move {
            let result = api::build(&query, &body, |line| {
                if let Some(p) = weak.upgrade() {
                    if let Some(l) = p.log.borrow_mut().as_mut() {
                        l.apply(line);
                    }
                    p.draw(false);
                }
            })
            .await;
            if let Err(e) = &result
                && app::handle(e)
            {
                return;
            }
            let Some(p) = weak.upgrade() else {
                return;
            };
            if let Some(l) = p.log.borrow_mut().as_mut() {
                l.done = true;
                if let Err(e) = &result {
                    l.error = Some(e.to_string());
                }
            }
            p.draw(true);
        });
    }

    /// The output (`whole`: the block too, with the failure or the built image's link).
    fn draw(&self, whole: bool) {
        let log = self.log.borrow();
        let Some(l) = log.as_ref() else {
            return;
        };
        if let Some(button) = dom::find(&self.root, "#build-start") {
            dom::set_prop(&button, "disabled", &(!l.done).into());
        }
        if !whole {
            dom::set_text(&self.root, "#build-output", &l.text);
            return;
        }
        let state = if !l.done {
            "running"
        } else if l.error.is_some() {
            "failed"
        } else {
            "done"
        };
        let mut out = format!(
            "<div class=\"card\" id=\"build-log\" data-state=\"{state}\"><pre id=\"build-output\" class=\"logs\">{}</pre>",
            esc(&l.text)
        );
        if let Some(e) = &l.error {
            let _ = write!(
                out,
                "<p class=\"error\" id=\"build-failure\">{}</p>",
                esc(e)
            );
        }
        if let Some(id) = l.result() {
            let short: String = id.trim_start_matches("sha256:").chars().take(12).collect();
            let _ = write!(
                out,
                "<p id=\"build-result\">Built <a id=\"build-image-link\" href=\"{}\">{}</a></p>",
                esc(&image_href(id)),
                esc(&short)
            );
        }
        out.push_str("</div>");
        dom::set_html(&self.root, "#build-log-place", &out);
    }
}

pub fn mount(root: &Element) -> Option<Mounted> {
    let head = "<h1>Build <span class=\"sub\">an image from a Dockerfile, as docker build does</span></h1>";
    if !app::can_act() {
        root.set_inner_html(&format!(
            "{head}<p class=\"card muted\" id=\"build-viewer\">Building images needs the operator role; \
             your token is a viewer's.</p>"
        ));
        return Some(Box::new(()));
    }
    root.set_inner_html(&format!("{head}{FORM}"));
    if let Some(text) = dom::find(root, "#build-dockerfile") {
        dom::set_prop(&text, "value", &EXAMPLE.into());
    }
    let page = Rc::new(BuildPage {
        root: root.clone(),
        picks: RefCell::new(Picks::default()),
        log: RefCell::new(None),
    });
    let on = |event: &'static str, f: fn(&Rc<BuildPage>, Event)| {
        let weak: Weak<BuildPage> = Rc::downgrade(&page);
        dom::listen(root, event, move |ev| {
            if let Some(p) = weak.upgrade() {
                f(&p, ev);
            }
        })
    };
    let listeners = [
        on("submit", BuildPage::submit),
        on("change", |p, ev| {
            if dom::target(&ev).is_some_and(|t| t.get_attribute("type").as_deref() == Some("file"))
            {
                BuildPage::picked(p, ev);
            }
        }),
    ];
    Some(Box::new((page, listeners)))
}
