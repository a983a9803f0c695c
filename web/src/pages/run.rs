//! The Run dialog (from the Containers page's Run button and from an image's page): image
//! (pulled when missing, with its progress), name, command, entrypoint, environment rows, port
//! rows with a live check that the host port is free (and a free one offered), volumes,
//! network, restart policy, memory and CPU limits, remove on exit, and detach or attach (open
//! the new container's logs). The equivalent `docker run` line follows the form as it is
//! filled.
//!
//! Plain DOM ([`super::dialog`]): the fields are markup ([`crate::runform::form_html`]) read
//! back when needed.

use super::dialog::Dialog;
use crate::api::{self, ApiError};
use crate::app;
use crate::dom::{self, all, checked, value};
use crate::format;
use crate::html::esc;
use crate::json::Json;
use crate::progress::PullLog;
use crate::route::{Tab, container_href};
use crate::runform::{self, PortRow, RunForm, VolumeRow};
use leptos::prelude::{set_timeout, window};
use leptos::task::spawn_local;
use shared::live::PortCheck;
use std::cell::Cell;
use std::rc::{Rc, Weak};
use std::time::Duration;
use wasm_bindgen::JsValue;
use web_sys::{Element, Event};

/// The form as filled in now.
fn read(root: &Element) -> RunForm {
    RunForm {
        image: value(root, "#run-image"),
        name: value(root, "#run-name"),
        command: value(root, "#run-cmd"),
        entrypoint: value(root, "#run-entrypoint"),
        env: all(root, ".env-row")
            .iter()
            .map(|r| (value(r, ".env-key"), value(r, ".env-value")))
            .collect(),
        ports: all(root, ".port-row")
            .iter()
            .map(|r| PortRow {
                host: value(r, ".port-host"),
                container: value(r, ".port-container"),
                protocol: value(r, ".port-proto"),
            })
            .collect(),
        volumes: all(root, ".volume-row")
            .iter()
            .map(|r| VolumeRow {
                source: value(r, ".vol-source"),
                target: value(r, ".vol-target"),
                read_only: checked(r, ".vol-ro"),
            })
            .collect(),
        network: value(root, "#run-network"),
        restart: value(root, "#run-restart"),
        retries: value(root, "#run-retries"),
        memory: value(root, "#run-memory"),
        cpus: value(root, "#run-cpus"),
        remove: checked(root, "#run-rm"),
        attach: checked(root, "#run-attach"),
    }
}

const TAIL: &str = "<p class=\"cmdline mono\" id=\"run-cmdline\"></p><div id=\"run-pull\"></div>\
    <p class=\"error\" id=\"run-error\" hidden></p><p class=\"notice ok\" id=\"run-done\" hidden></p>\
    <div class=\"dialog-buttons\"><button id=\"run\" type=\"submit\">Run</button>\
    <button type=\"button\" class=\"ghost\" id=\"run-close\" data-close>Close</button></div>";

pub struct RunDialog {
    dialog: Rc<Dialog>,
    busy: Cell<bool>,
    rows: Cell<u64>,
}

/// Opens the Run dialog in `parent` with `image` filled in.
pub fn open(parent: &Element, image: &str) -> Option<Rc<RunDialog>> {
    let body = format!(
        "<h2>Run a container</h2><div class=\"run-fields\">{}</div>{TAIL}",
        runform::form_html(image)
    );
    let dialog = Dialog::open(parent, "run-dialog", &body)?;
    let _ = dialog.form.class_list().add_1("wide");
    let run = Rc::new(RunDialog {
        dialog,
        busy: Cell::new(false),
        rows: Cell::new(1),
    });
    let weak = Rc::downgrade(&run);
    let on = |event: &'static str, f: fn(&Rc<RunDialog>, Event)| {
        let weak: Weak<RunDialog> = weak.clone();
        run.dialog.on(event, move |ev| {
            if let Some(r) = weak.upgrade() {
                f(&r, ev);
            }
        });
    };
    on("input", RunDialog::changed);
    on("change", RunDialog::changed);
    on("click", RunDialog::clicked);
    on("submit", RunDialog::submit);
    run.refresh();
    // The networks this host has.
    let weak = Rc::downgrade(&run);
    spawn_local(async move {
        let Ok(list) = api::networks().await else {
            return;
        };
        let mut names: Vec<String> = list.into_iter().map(|n| n.name).collect();
        names.sort();
        let options: String = names
            .iter()
            .map(|n| {
                let selected = if n == "bridge" { " selected" } else { "" };
                format!("<option{selected}>{}</option>", esc(n))
            })
            .collect();
        if let Some(r) = weak.upgrade() {
            r.dialog.set_html("#run-network", &options);
        }
    });
    Some(run)
}

impl RunDialog {
    fn refresh(&self) {
        let line = read(&self.dialog.form).docker_command();
        self.dialog.set_text("#run-cmdline", &line);
    }

    fn say(&self, css: &str, html: Option<&str>) {
        if let Some(el) = self.dialog.find(css) {
            el.set_inner_html(html.unwrap_or(""));
            dom::show(&el, html.is_some());
        }
    }

    fn changed(this: &Rc<RunDialog>, ev: Event) {
        this.refresh();
        let row = dom::target(&ev)
            .filter(|el| el.matches(".port-host, .port-proto").unwrap_or(false))
            .and_then(|el| el.closest(".port-row").ok().flatten());
        if let Some(row) = row {
            check(row);
        }
    }

    fn clicked(this: &Rc<RunDialog>, ev: Event) {
        let Some(button) = dom::closest(&ev, "button") else {
            return;
        };
        if let Some(kind) = button.get_attribute("data-add") {
            let (list, html) = match kind.as_str() {
                "port" => {
                    this.rows.set(this.rows.get() + 1);
                    ("#run-ports", runform::port_row_html(this.rows.get()))
                }
                "env" => ("#run-env", runform::ENV_ROW.to_string()),
                _ => ("#run-volumes", runform::VOLUME_ROW.to_string()),
            };
            if let Some(list) = this.dialog.find(list) {
                let _ = list.insert_adjacent_html("beforeend", &html);
            }
        } else if button.class_list().contains("row-remove") {
            if let Ok(Some(row)) = button.closest(".row") {
                row.remove();
            }
        } else if let Some(port) = button.get_attribute("data-port")
            && let Ok(Some(row)) = button.closest(".port-row")
        {
            if let Some(input) = dom::find(&row, ".port-host") {
                dom::set_prop(&input, "value", &JsValue::from_str(&port));
            }
            check(row);
        }
        this.refresh();
    }

    fn submit(this: &Rc<RunDialog>, ev: Event) {
        ev.prevent_default();
        if this.busy.get() {
            return;
        }
        let form = read(&this.dialog.form);
        let body = match form.create_body() {
            Ok(b) => b,
            Err(e) => return this.say("#run-error", Some(&esc(&e))),
        };
        this.say("#run-error", None);
        this.say("#run-done", None);
        this.busy(Some("Creating…"));
        let weak = Rc::downgrade(this);
        spawn_local(async move {
            let result = match create(&weak, &form, body).await {
                Ok(id) => {
                    if let Some(r) = weak.upgrade() {
                        r.busy(Some("Starting…"));
                    }
                    api::container_action(api::remote().as_deref(), &id, "start")
                        .await
                        .map(|()| id)
                }
                Err(e) => Err(e),
            };
            let Some(r) = weak.upgrade() else {
                return;
            };
            r.busy(None);
            match result {
                Ok(id) if form.attach => {
                    r.dialog.close();
                    let _ = window().location().set_hash(&Tab::Logs.href(&id));
                }
                Ok(id) => {
                    let shown = match form.name.trim() {
                        "" => format::short_id(&id).to_string(),
                        name => name.to_string(),
                    };
                    let html = format!(
                        "Started <a href=\"{}\">{}</a>.",
                        esc(&container_href(&id)),
                        esc(&shown)
                    );
                    r.say("#run-done", Some(&html));
                }
                Err(e) if app::handle(&e) => r.dialog.close(),
                Err(e) => r.say("#run-error", Some(&esc(&e.to_string()))),
            }
        });
    }

    fn busy(&self, label: Option<&str>) {
        self.busy.set(label.is_some());
        if let Some(button) = self.dialog.find("#run") {
            button.set_text_content(Some(label.unwrap_or("Run")));
            dom::set_prop(&button, "disabled", &JsValue::from_bool(label.is_some()));
        }
    }

    fn show_pull(&self, log: &PullLog) {
        self.dialog.set_html("#run-pull", &log.html());
    }
}

/// Creates the container, pulling the image first when the agent does not have it.
async fn create(
    dialog: &Weak<RunDialog>,
    form: &RunForm,
    body: String,
) -> Result<String, ApiError> {
    match api::create_container(&form.name, body.clone()).await {
        Err(ApiError::Status(404, m)) if m.contains("No such image") || m.contains("not found") => {
            let (name, tag) = format::split_reference(&form.image);
            let mut log = PullLog::new(format!("{name}:{tag}"));
            let pulled = api::pull(&name, &tag, |line| {
                log.apply(line);
                if let Some(d) = dialog.upgrade() {
                    d.show_pull(&log);
                }
            })
            .await;
            log.finish(pulled.map_err(|e| e.to_string()));
            if let Some(d) = dialog.upgrade() {
                d.show_pull(&log);
            }
            if let Some(e) = log.error {
                return Err(ApiError::Status(
                    404,
                    format!("pulling {}: {e}", form.image),
                ));
            }
            api::create_container(&form.name, body).await
        }
        other => other,
    }
}

/// A port row's host-port check, a moment after typing stops.
fn check(row: Element) {
    let port = value(&row, ".port-host").trim().parse::<u16>();
    let protocol = value(&row, ".port-proto");
    let Some(out) = dom::find(&row, ".port-check") else {
        return;
    };
    let Ok(port) = port else {
        out.set_inner_html("");
        let _ = row.remove_attribute("data-asked");
        return;
    };
    let asked = format!("{port}/{protocol}");
    // `input` and then `change` (on leaving the field) both come here: one check a value
    // (a second answer would replace the first one's button under the user's pointer).
    if row.get_attribute("data-asked").as_deref() == Some(asked.as_str()) {
        return;
    }
    let _ = row.set_attribute("data-asked", &asked);
    out.set_inner_html("");
    set_timeout(
        move || {
            let current = move |row: &Element| {
                row.get_attribute("data-asked").as_deref() == Some(asked.as_str())
            };
            if !current(&row) {
                return;
            }
            spawn_local(async move {
                let html = match api::check_port(port, &protocol).await {
                    Ok(text) => {
                        let j = Json::parse(&text);
                        let field = |k: &str| j.as_ref().map(|j| j.at(k));
                        runform::check_html(&PortCheck {
                            port,
                            protocol,
                            free: field("free").is_some_and(|f| f.bool()),
                            reason: field("reason").map(|r| r.str()).filter(|r| !r.is_empty()),
                            suggestion: field("suggestion")
                                .map(|s| s.num() as u16)
                                .filter(|p| *p > 0),
                        })
                    }
                    Err(e) => format!("<span class=\"port-taken\">{}</span>", esc(&e.to_string())),
                };
                if current(&row) {
                    out.set_inner_html(&html);
                }
            });
        },
        Duration::from_millis(250),
    );
}
