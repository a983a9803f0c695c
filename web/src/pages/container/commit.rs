//! The Commit dialog: before committing, what the new layer will hold (the changes list) and
//! its size; then repository:tag, message, author, Dockerfile `--change` lines and whether to
//! pause the container meanwhile. While it runs it counts the seconds; on success it links to
//! the new image, whose page shows its history.

use super::changes::summary;
use crate::api;
use crate::app::Auth;
use crate::format;
use crate::route::image_href;
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::live::{ContainerChanges, SizedChange};

/// Changes shown before the list says "and N more".
const LISTED: usize = 500;

/// The changes as a list: the kind's letter in colour, the path, the size of files.
pub(crate) fn change_list(changes: Vec<SizedChange>) -> impl IntoView {
    let more = changes.len().saturating_sub(LISTED);
    view! {
        <ul class="changes mono" id="changes">
            {changes.into_iter().take(LISTED).map(|c| {
                let letter = c.kind.to_string();
                let class = format!("chg-{letter}");
                let size = (c.kind != 'D' && c.size > 0).then(|| view! { <span class="size">{format::bytes(c.size)}</span> });
                view! {
                    <li class=class data-kind=letter>
                        <b>{c.kind.to_string()}</b>" "{c.path}{size}
                    </li>
                }
            }).collect_view()}
            {(more > 0).then(|| view! { <li class="muted">{format!("… and {more} more")}</li> })}
        </ul>
    }
}

/// `--change` lines: one Dockerfile instruction per non-empty line.
pub fn change_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[component]
pub fn CommitDialog(id: String, name: String, open: RwSignal<bool>) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let preview = RwSignal::new(None::<Result<ContainerChanges, String>>);
    let reference = RwSignal::new(String::new());
    let comment = RwSignal::new(String::new());
    let author = RwSignal::new(String::new());
    let changes = RwSignal::new(String::new());
    let pause = RwSignal::new(true);
    let busy = RwSignal::new(None::<f64>);
    let elapsed = RwSignal::new(0u32);
    let error = RwSignal::new(None::<String>);
    let done = RwSignal::new(None::<(String, String)>);
    let wanted = StoredValue::new(id);

    spawn_local(async move {
        let answer = api::sized_changes(&wanted.get_value()).await;
        preview.set(Some(answer.map_err(|e| e.to_string())));
    });
    let tick = move || {
        if let Some(started) = busy.get_untracked() {
            elapsed.set(((js_sys::Date::now() - started) / 1000.0) as u32);
        }
    };
    let ticker = set_interval_with_handle(tick, std::time::Duration::from_millis(500)).ok();
    on_cleanup(move || {
        if let Some(t) = ticker {
            t.clear();
        }
    });

    let submit = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked().is_some() {
            return;
        }
        let target = reference.get_untracked().trim().to_string();
        busy.set(Some(js_sys::Date::now()));
        elapsed.set(0);
        error.set(None);
        done.set(None);
        spawn_local(async move {
            let answer = api::commit_full(
                &wanted.get_value(),
                &target,
                comment.get_untracked().trim(),
                author.get_untracked().trim(),
                &change_lines(&changes.get_untracked()),
                pause.get_untracked(),
            )
            .await;
            busy.set(None);
            match answer {
                Ok(image) => {
                    let shown = if target.is_empty() {
                        format::short_id(&image).to_string()
                    } else {
                        target
                    };
                    done.set(Some((image, shown)));
                }
                Err(e) if auth.handle(&e) => {}
                Err(e) => error.set(Some(format!("The commit failed: {e}"))),
            }
        });
    };
    let text = |signal: RwSignal<String>| move |ev| signal.set(event_target_value(&ev));
    view! {
        <div class="overlay" on:click=move |_| open.set(false)>
            <form class="dialog card" id="commit-dialog" on:click=|ev| ev.stop_propagation() on:submit=submit>
                <h2>"Commit " <span class="mono">{name}</span> " as a new image"</h2>
                {move || match preview.get() {
                    None => view! { <p class="muted">"Reading what changed…"</p> }.into_any(),
                    Some(Err(e)) => view! { <p class="error">{e}</p> }.into_any(),
                    Some(Ok(c)) => view! {
                        <p id="commit-summary">{summary(&c)}</p>
                        <div class="dialog-scroll">{change_list(c.changes)}</div>
                    }
                    .into_any(),
                }}
                <label>"Repository:tag"
                    <input id="commit-ref" placeholder="myapp:v2 (empty: an untagged image)" autocomplete="off" spellcheck="false" on:input=text(reference)/>
                </label>
                <label>"Message"<input id="commit-message" autocomplete="off" on:input=text(comment)/></label>
                <label>"Author"<input id="commit-author" autocomplete="off" on:input=text(author)/></label>
                <label>"Changes (Dockerfile instructions, one per line)"
                    <textarea id="commit-changes" rows="3" placeholder="ENV MODE=prod\nCMD [\"httpd\", \"-f\"]" on:input=text(changes)></textarea>
                </label>
                <label class="check">
                    <input id="commit-pause" type="checkbox" checked on:change=move |ev| pause.set(event_target_checked(&ev))/>
                    " Pause the container while committing"
                </label>
                {move || error.get().map(|e| view! { <p class="error" id="commit-error">{e}</p> })}
                {move || done.get().map(|(image, shown)| view! {
                    <p class="notice ok" id="commit-done">
                        "Committed as "<a href=image_href(&image)>{shown}</a>
                        " ("{format::short_id(&image).to_string()}"): open it for its history."
                    </p>
                })}
                <div class="dialog-buttons">
                    <button id="commit" type="submit" disabled=move || busy.get().is_some()>
                        {move || match busy.get() {
                            Some(_) => format!("Committing… {} s", elapsed.get()),
                            None => "Commit".to_string(),
                        }}
                    </button>
                    <button type="button" class="ghost" id="commit-close" on:click=move |_| open.set(false)>"Close"</button>
                </div>
            </form>
        </div>
    }
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
}
