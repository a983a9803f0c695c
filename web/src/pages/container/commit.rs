//! The Commit dialog: before committing, what the new layer will hold (the changes list) and
//! its size; then repository:tag, message, author, Dockerfile `--change` lines and whether to
//! pause the container meanwhile. While it runs it counts the seconds; on success it links to
//! the new image, whose page shows its history. Plain DOM ([`crate::pages::dialog`]).

use super::changes::{read_changes, summary};
use crate::api;
use crate::app;
use crate::dom::{self, checked, value};
use crate::format;
use crate::html;
use crate::pages::dialog::Dialog;
use crate::route::image_href;
use shared::live::SizedChange;
use std::fmt::Write as _;
use std::rc::Rc;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::spawn_local;
use web_sys::Element;

/// Changes shown before the list says "and N more".
const LISTED: usize = 500;

/// The changes as a list: the kind's letter in colour, the path, the size of files.
pub(crate) fn change_list(changes: &[SizedChange]) -> String {
    let mut out = String::from("<ul class=\"changes mono\" id=\"changes\">");
    for c in changes.iter().take(LISTED) {
        let size = if c.kind != 'D' && c.size > 0 {
            format!("<span class=\"size\">{}</span>", format::bytes(c.size))
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "<li class=\"chg-{k}\" data-kind=\"{k}\"><b>{k}</b> {}{size}</li>",
            html::esc(&c.path),
            k = html::esc(&c.kind.to_string())
        );
    }
    let more = changes.len().saturating_sub(LISTED);
    if more > 0 {
        let _ = write!(out, "<li class=\"muted\">… and {more} more</li>");
    }
    out.push_str("</ul>");
    out
}

/// `--change` lines: one Dockerfile instruction per non-empty line.
pub fn change_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

const FIELDS: &str = "<p id=\"commit-summary\" class=\"muted\">Reading what changed…</p>\
    <div class=\"dialog-scroll\" id=\"commit-preview\"></div>\
    <label>Repository:tag<input id=\"commit-ref\" placeholder=\"myapp:v2 (empty: an untagged image)\" autocomplete=\"off\" spellcheck=\"false\"></label>\
    <label>Message<input id=\"commit-message\" autocomplete=\"off\"></label>\
    <label>Author<input id=\"commit-author\" autocomplete=\"off\"></label>\
    <label>Changes (Dockerfile instructions, one per line)<textarea id=\"commit-changes\" rows=\"3\" placeholder=\"ENV MODE=prod\"></textarea></label>\
    <label class=\"check\"><input id=\"commit-pause\" type=\"checkbox\" checked> Pause the container while committing</label>\
    <p class=\"error\" id=\"commit-error\" hidden></p><p class=\"notice ok\" id=\"commit-done\" hidden></p>\
    <div class=\"dialog-buttons\"><button id=\"commit\" type=\"submit\">Commit</button>\
    <button type=\"button\" class=\"ghost\" id=\"commit-close\" data-close>Close</button></div>";

/// Opens the Commit dialog for container `id` (shown as `name`) of peer `remote` (`None`:
/// this agent) in `parent`.
pub fn open(parent: &Element, remote: Option<String>, id: &str, name: &str) -> Option<Rc<Dialog>> {
    let body = format!(
        "<h2>Commit <span class=\"mono\">{}</span> as a new image</h2>{FIELDS}",
        html::esc(name)
    );
    let dialog = Dialog::open(parent, "commit-dialog", &body)?;
    let weak = Rc::downgrade(&dialog);
    let wanted = id.to_string();
    let peer = remote.clone();
    spawn_local(async move {
        let answer = api::sized_changes(peer.as_deref(), &wanted)
            .await
            .map_err(|e| e.to_string());
        let Some(d) = weak.upgrade() else {
            return;
        };
        match answer.and_then(|t| read_changes(&t)) {
            Ok(c) => {
                d.set_text("#commit-summary", &summary(&c));
                d.set_html("#commit-preview", &change_list(&c.changes));
            }
            Err(e) => d.set_text("#commit-summary", &e),
        }
    });
    let weak = Rc::downgrade(&dialog);
    let id = id.to_string();
    dialog.on("submit", move |ev| {
        ev.prevent_default();
        let Some(d) = weak.upgrade() else {
            return;
        };
        let Some(button) = d.find("#commit") else {
            return;
        };
        if dom::prop(&button, "disabled").is_truthy() {
            return;
        }
        let form = &d.form;
        let (reference, comment, author) = (
            value(form, "#commit-ref").trim().to_string(),
            value(form, "#commit-message").trim().to_string(),
            value(form, "#commit-author").trim().to_string(),
        );
        let changes = change_lines(&value(form, "#commit-changes"));
        let pause = checked(form, "#commit-pause");
        for css in ["#commit-error", "#commit-done"] {
            if let Some(el) = d.find(css) {
                dom::show(&el, false);
            }
        }
        dom::set_prop(&button, "disabled", &JsValue::TRUE);
        button.set_text_content(Some("Committing… 0 s"));
        // Seconds on the button while it runs.
        let started = js_sys::Date::now();
        let shown = button.clone();
        let ticker = dom::every(500, move || {
            let secs = ((js_sys::Date::now() - started) / 1000.0) as u32;
            shown.set_text_content(Some(&format!("Committing… {secs} s")));
        });
        let weak = weak.clone();
        let id = id.clone();
        let remote = remote.clone();
        spawn_local(async move {
            let answer = api::commit_full(
                remote.as_deref(),
                &id,
                &reference,
                &comment,
                &author,
                &changes,
                pause,
            )
            .await;
            drop(ticker);
            let Some(d) = weak.upgrade() else {
                return;
            };
            dom::set_prop(&button, "disabled", &JsValue::FALSE);
            button.set_text_content(Some("Commit"));
            let (css, html) = match answer {
                Ok(image) => {
                    let name = if reference.is_empty() {
                        format::short_id(&image).to_string()
                    } else {
                        reference
                    };
                    // `data-host`: a merged ("All hosts") page opens it on that host.
                    let link = format!(
                        "Committed as <a data-host=\"{}\" href=\"{}\">{}</a> ({}): open it for its history.",
                        html::esc(remote.as_deref().unwrap_or_default()),
                        html::esc(&image_href(&image)),
                        html::esc(&name),
                        format::short_id(&image)
                    );
                    ("#commit-done", link)
                }
                Err(e) if app::handle(&e) => return d.close(),
                Err(e) => (
                    "#commit-error",
                    html::esc(&format!("The commit failed: {e}")),
                ),
            };
            if let Some(el) = d.find(css) {
                el.set_inner_html(&html);
                dom::show(&el, true);
            }
        });
    });
    Some(dialog)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_lines_drop_blanks() {
        assert_eq!(
            change_lines(" ENV A=1 \n\n CMD [\"sh\"]\n"),
            ["ENV A=1", "CMD [\"sh\"]"]
        );
        assert!(change_lines("\n  \n").is_empty());
    }

    #[test]
    fn change_lists() {
        let list = change_list(&[
            SizedChange {
                path: "/a<b>".into(),
                kind: 'A',
                size: 2048,
            },
            SizedChange {
                path: "/gone".into(),
                kind: 'D',
                size: 0,
            },
        ]);
        assert_eq!(
            list,
            "<ul class=\"changes mono\" id=\"changes\"><li class=\"chg-A\" data-kind=\"A\"><b>A</b> /a&lt;b&gt;<span class=\"size\">2.0 KiB</span></li>\
             <li class=\"chg-D\" data-kind=\"D\"><b>D</b> /gone</li></ul>"
        );
    }
}
