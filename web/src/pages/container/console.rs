//! The Console tab: a shell in the container, in a real terminal. The agent bridges a
//! WebSocket (`/berth/v1/containers/<id>/console`, operators only) to a TTY exec; the output
//! is parsed by [`crate::term`] and the screen is drawn row by row (only changed rows are
//! rewritten, once per animation frame). Keys, pastes and the box's size go back: keys as the
//! bytes a terminal sends, pastes bracketed when the shell asks, a resize when the box
//! changes. The mouse wheel scrolls back through the last lines.

use crate::format;
use crate::term::{self, Parser};
use leptos::ev;
use leptos::html;
use leptos::prelude::*;
use shared::live::{ConsoleInput, ConsoleOutput};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{BinaryType, MessageEvent, WebSocket};

/// One open console: the socket, the terminal state, and what is drawn.
struct Session {
    ws: WebSocket,
    parser: Parser,
    drawn: Vec<String>,
    frame_pending: bool,
    /// Lines scrolled back (0: the live screen).
    back: usize,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut()>,
}

#[derive(Clone, Copy)]
struct Term {
    session: StoredValue<Option<Session>, LocalStorage>,
    pane: NodeRef<html::Div>,
    /// What is shown under the terminal: connecting, exited, errors.
    status: RwSignal<String>,
    connected: RwSignal<bool>,
}

impl Term {
    fn send(self, bytes: &[u8]) {
        self.session.with_value(|s| {
            if let Some(s) = s {
                let _ = s.ws.send_with_u8_array(bytes);
            }
        });
    }

    fn send_json(self, input: &ConsoleInput) {
        let Ok(text) = serde_json::to_string(input) else {
            return;
        };
        self.session.with_value(|s| {
            if let Some(s) = s {
                let _ = s.ws.send_with_str(&text);
            }
        });
    }

    /// Draws on the next animation frame (output often comes in many small pieces).
    fn schedule(self) {
        let first = self
            .session
            .try_update_value(|s| match s {
                Some(s) if !s.frame_pending => {
                    s.frame_pending = true;
                    true
                }
                _ => false,
            })
            .unwrap_or(false);
        if first {
            request_animation_frame(move || self.draw());
        }
    }

    /// Rewrites the rows that changed since the last draw.
    fn draw(self) {
        let Some(pane) = self.pane.get_untracked() else {
            return;
        };
        self.session.update_value(|s| {
            let Some(s) = s else {
                return;
            };
            s.frame_pending = false;
            let screen = s.parser.screen();
            let (rows, _) = screen.size();
            let rows = rows.get();
            let show_cursor = !screen.hide_cursor() && s.back == 0;
            let (cursor_row, cursor_col) = screen.cursor_position();
            let children = pane.children();
            while children.length() < u32::from(rows) {
                if let Ok(div) = document().create_element("div") {
                    let _ = pane.append_child(&div);
                }
            }
            while children.length() > u32::from(rows) {
                if let Some(last) = pane.last_element_child() {
                    last.remove();
                }
            }
            s.drawn.resize(usize::from(rows), String::new());
            for row in 0..rows {
                let cursor = (show_cursor && row == cursor_row).then_some(cursor_col);
                let html = term::row_html(screen, row, cursor);
                let slot = &mut s.drawn[usize::from(row)];
                if *slot != html
                    && let Some(el) = children.item(u32::from(row))
                {
                    el.set_inner_html(&html);
                    *slot = html;
                }
            }
        });
    }

    /// Rows and columns that fit the box, from the size of one character cell.
    fn measure(self) -> Option<(u16, u16)> {
        let pane = self.pane.get_untracked()?;
        let probe = document().create_element("span").ok()?;
        probe.set_text_content(Some("MMMMMMMMMM"));
        let _ = probe.set_attribute("class", "probe");
        pane.append_child(&probe).ok()?;
        let cell = probe.get_bounding_client_rect();
        probe.remove();
        let style = window().get_computed_style(&pane).ok()??;
        let pad = |side: &str| {
            style
                .get_property_value(side)
                .ok()
                .and_then(|v| v.trim_end_matches("px").parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        let width = f64::from(pane.client_width()) - pad("padding-left") - pad("padding-right");
        let height = f64::from(pane.client_height()) - pad("padding-top") - pad("padding-bottom");
        Some(term::fit(width, height, cell.width() / 10.0, cell.height()))
    }

    /// Fits the terminal to its box; tells the shell when the size changed.
    fn fit(self) {
        let Some((rows, cols)) = self.measure() else {
            return;
        };
        let changed = self
            .session
            .try_update_value(|s| match s {
                Some(s) => {
                    let (r, c) = s.parser.screen().size();
                    if (r.get(), c.get()) == (rows, cols) {
                        return false;
                    }
                    let n =
                        |v: u16| std::num::NonZeroU16::new(v).unwrap_or(std::num::NonZeroU16::MIN);
                    s.parser.screen_mut().set_size(n(rows), n(cols));
                    s.drawn.clear();
                    true
                }
                None => false,
            })
            .unwrap_or(false);
        if changed {
            self.send_json(&ConsoleInput::Resize { cols, rows });
            if let Some(pane) = self.pane.get_untracked() {
                pane.set_inner_html("");
            }
            self.schedule();
        }
    }

    fn close(self) {
        self.session.update_value(|s| {
            if let Some(s) = s.take() {
                s.ws.set_onmessage(None);
                s.ws.set_onclose(None);
                let _ = s.ws.close();
            }
        });
        self.connected.set(false);
    }

    fn connect(self, id: &str) {
        self.close();
        let (rows, cols) = self.measure().unwrap_or((24, 80));
        let location = window().location();
        let base = format::ws_url(
            &location.protocol().unwrap_or_default(),
            &location.host().unwrap_or_default(),
        );
        let url = format!(
            "{}/containers/{}/console?cols={cols}&rows={rows}",
            base.trim_end_matches("/ws"),
            js_sys::encode_uri_component(id)
        );
        let ws = match WebSocket::new(&url) {
            Ok(ws) => ws,
            Err(e) => {
                self.status.set(format!("Cannot open the console: {e:?}"));
                return;
            }
        };
        ws.set_binary_type(BinaryType::Arraybuffer);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            let data = ev.data();
            if let Some(text) = data.as_string() {
                match serde_json::from_str::<ConsoleOutput>(&text) {
                    Ok(ConsoleOutput::Exit { code }) => {
                        self.status
                            .set(format!("The shell exited with code {code}."));
                    }
                    Ok(ConsoleOutput::Error { message }) => self.status.set(message),
                    Err(_) => {}
                }
                return;
            }
            let bytes = js_sys::Uint8Array::new(&data).to_vec();
            let answer = self
                .session
                .try_update_value(|s| s.as_mut().map(|s| term::feed(&mut s.parser, &bytes)))
                .flatten()
                .unwrap_or_default();
            if !answer.is_empty() {
                self.send(&answer);
            }
            self.schedule();
        });
        let on_close = Closure::<dyn FnMut()>::new(move || {
            self.connected.set(false);
            if self.status.with_untracked(|s| s.starts_with("Connected")) {
                self.status.set("The console was disconnected.".into());
            }
        });
        let on_open = Closure::once_into_js(move || {
            self.connected.set(true);
            self.status
                .set("Connected: type into the terminal; paste with the browser's paste.".into());
            if let Some(pane) = self.pane.get_untracked() {
                let _ = pane.focus();
            }
        });
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        ws.set_onopen(Some(on_open.unchecked_ref()));
        self.status.set("Connecting…".into());
        self.session.set_value(Some(Session {
            ws,
            parser: term::parser(rows, cols),
            drawn: Vec::new(),
            frame_pending: false,
            back: 0,
            _on_message: on_message,
            _on_close: on_close,
        }));
        if let Some(pane) = self.pane.get_untracked() {
            pane.set_inner_html("");
        }
        self.schedule();
    }

    fn key(self, ev: ev::KeyboardEvent) {
        if ev.meta_key() || (ev.ctrl_key() && (ev.shift_key() || ev.key() == "v")) {
            return; // the browser's own shortcuts: copy, paste
        }
        let app_cursor = self.session.with_value(|s| {
            s.as_ref()
                .is_some_and(|s| s.parser.screen().application_cursor())
        });
        if let Some(bytes) = term::key_bytes(&ev.key(), ev.ctrl_key(), ev.alt_key(), app_cursor) {
            ev.prevent_default();
            self.scroll_to(0);
            self.send(&bytes);
        }
    }

    fn paste(self, ev: ev::ClipboardEvent) {
        let Some(text) = ev.clipboard_data().and_then(|d| d.get_data("text").ok()) else {
            return;
        };
        ev.prevent_default();
        let bracketed = self.session.with_value(|s| {
            s.as_ref()
                .is_some_and(|s| s.parser.screen().bracketed_paste())
        });
        self.send(&term::paste_bytes(&text, bracketed));
    }

    fn scroll_to(self, back: usize) {
        self.session.update_value(|s| {
            if let Some(s) = s
                && s.back != back
            {
                s.parser.screen_mut().set_scrollback(back);
                s.back = s.parser.screen().scrollback();
            }
        });
        self.schedule();
    }

    fn wheel(self, ev: ev::WheelEvent) {
        let back = self
            .session
            .with_value(|s| s.as_ref().map_or(0, |s| s.back));
        let lines = (ev.delta_y() / 16.0).round() as isize;
        if lines != 0 {
            ev.prevent_default();
            self.scroll_to(back.saturating_add_signed(-lines));
        }
    }
}

#[component]
pub fn ConsoleTab(id: String, running: Memo<bool>, can_act: bool) -> impl IntoView {
    if !can_act {
        return view! {
            <p class="notice" id="console-refused">"Only operators and admins can open a console."</p>
        }
        .into_any();
    }
    let t = Term {
        session: StoredValue::new_local(None),
        pane: NodeRef::new(),
        status: RwSignal::new(String::new()),
        connected: RwSignal::new(false),
    };
    let id = StoredValue::new(id);
    {
        // Connect once the box is on screen (it is measured), and again when the
        // container starts running.
        Effect::new(move |_| {
            if running.get() {
                t.connect(&id.get_value());
            } else {
                t.close();
                t.status
                    .set("The container is not running: start it to open a console.".into());
            }
        });
    }
    let observer = StoredValue::new_local(None::<(web_sys::ResizeObserver, Closure<dyn FnMut()>)>);
    Effect::new(move |_| {
        let Some(pane) = t.pane.get() else {
            return;
        };
        let on_resize = Closure::<dyn FnMut()>::new(move || t.fit());
        if let Ok(obs) = web_sys::ResizeObserver::new(on_resize.as_ref().unchecked_ref()) {
            obs.observe(&pane);
            observer.set_value(Some((obs, on_resize)));
        }
    });
    on_cleanup(move || {
        t.close();
        if let Some((obs, _)) = observer.try_update_value(Option::take).flatten() {
            obs.disconnect();
        }
    });
    let reconnect = move |_| t.connect(&id.get_value());
    view! {
        <div class="card console-card">
            <div
                class="term"
                id="console"
                tabindex="0"
                node_ref=t.pane
                on:keydown=move |ev| t.key(ev)
                on:paste=move |ev| t.paste(ev)
                on:wheel=move |ev| t.wheel(ev)
            ></div>
            <p class="muted console-status">
                <span id="console-status">{move || t.status.get()}</span>
                {move || (!t.connected.get() && running.get()).then(|| view! {
                    " "<button id="console-reconnect" class="ghost" on:click=reconnect>"Reconnect"</button>
                })}
            </p>
        </div>
    }
    .into_any()
}
