//! The Console tab: a shell in the container, in a real terminal. The agent bridges a
//! WebSocket (`/berth/v1/containers/<id>/console`, operators only) to a TTY exec; the output
//! is parsed by [`crate::term`] and the screen is drawn row by row (only changed rows are
//! rewritten, once per animation frame). Keys, pastes and the box's size go back: keys as the
//! bytes a terminal sends, pastes bracketed when the shell asks, a resize when the box
//! changes. The mouse wheel scrolls back through the last lines.

use crate::api;
use crate::dom::{self, Listener};
use crate::term::{self, Terminal};
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{BinaryType, Element, Event, MessageEvent, WebSocket};

const SKELETON: &str = "<div class=\"term\" id=\"console\" tabindex=\"0\"></div>\
    <p class=\"muted console-status\"><span id=\"console-status\"></span> \
    <button id=\"console-reconnect\" class=\"ghost\" hidden>Reconnect</button></p>";

/// One open connection: the socket, the terminal state, and what is drawn.
struct Session {
    ws: WebSocket,
    term: Terminal,
    drawn: Vec<String>,
    frame_pending: bool,
    _handlers: [Closure<dyn FnMut(JsValue)>; 3],
}

/// Watches the terminal's box for size changes (the closure lives as long as it).
type Observer = (web_sys::ResizeObserver, Closure<dyn FnMut()>);

pub(super) struct Console {
    id: String,
    pane: Element,
    status: Element,
    reconnect: Element,
    session: RefCell<Option<Session>>,
    _listeners: RefCell<Vec<Listener>>,
    observer: RefCell<Option<Observer>>,
    running: RefCell<bool>,
}

impl Console {
    /// Draws the tab in `body`; [`Console::set_running`] then opens or closes the shell.
    pub(super) fn mount(body: &Element, id: String) -> Option<Rc<Console>> {
        body.set_inner_html("<div class=\"card console-card\"></div>");
        let root = &body.first_element_child()?;
        root.set_inner_html(SKELETON);
        let c = Rc::new(Console {
            id,
            pane: dom::find(root, ".term")?,
            status: dom::find(root, "#console-status")?,
            reconnect: dom::find(root, "#console-reconnect")?,
            session: RefCell::new(None),
            _listeners: RefCell::new(Vec::new()),
            observer: RefCell::new(None),
            running: RefCell::new(false),
        });
        let weak = Rc::downgrade(&c);
        let on = |event: &'static str, f: fn(&Console, Event)| {
            let weak = weak.clone();
            dom::listen(&c.pane, event, move |ev| {
                if let Some(c) = weak.upgrade() {
                    f(&c, ev);
                }
            })
        };
        let mut listeners = vec![
            on("keydown", Console::key),
            on("paste", Console::paste),
            on("wheel", Console::wheel),
        ];
        let w = weak.clone();
        listeners.push(dom::listen(&c.reconnect, "click", move |_| {
            if let Some(c) = w.upgrade() {
                Console::connect(&c);
            }
        }));
        *c._listeners.borrow_mut() = listeners;
        let w = weak.clone();
        let on_resize = Closure::<dyn FnMut()>::new(move || {
            if let Some(c) = w.upgrade() {
                Console::fit(&c);
            }
        });
        if let Ok(obs) = web_sys::ResizeObserver::new(on_resize.as_ref().unchecked_ref()) {
            obs.observe(&c.pane);
            *c.observer.borrow_mut() = Some((obs, on_resize));
        }
        Some(c)
    }

    fn say(&self, text: &str) {
        self.status.set_text_content(Some(text));
    }

    fn connected(&self) -> bool {
        self.session
            .borrow()
            .as_ref()
            .is_some_and(|s| s.ws.ready_state() == WebSocket::OPEN)
    }

    fn send(&self, bytes: &[u8]) {
        if let Some(s) = self.session.borrow().as_ref() {
            let _ = s.ws.send_with_u8_array(bytes);
        }
    }

    /// Draws on the next animation frame (output often comes in many small pieces).
    fn schedule(this: &Rc<Console>) {
        let first = match this.session.borrow_mut().as_mut() {
            Some(s) if !s.frame_pending => {
                s.frame_pending = true;
                true
            }
            _ => false,
        };
        if first {
            let weak = Rc::downgrade(this);
            let frame = Closure::once_into_js(move || {
                if let Some(c) = weak.upgrade() {
                    c.draw();
                }
            });
            let _ = dom::window().request_animation_frame(frame.unchecked_ref());
        }
    }

    /// Rewrites the rows that changed since the last draw.
    fn draw(&self) {
        let mut session = self.session.borrow_mut();
        let Some(s) = session.as_mut() else {
            return;
        };
        s.frame_pending = false;
        let screen = &s.term.screen;
        let rows = screen.size().0;
        let show_cursor = !screen.hide_cursor() && screen.scrollback() == 0;
        let (cursor_row, cursor_col) = screen.cursor_position();
        let children = self.pane.children();
        while children.length() < u32::from(rows) {
            if let Ok(div) = dom::document().create_element("div") {
                let _ = self.pane.append_child(&div);
            }
        }
        while children.length() > u32::from(rows) {
            if let Some(last) = self.pane.last_element_child() {
                last.remove();
            }
        }
        s.drawn.resize(usize::from(rows), String::new());
        for row in 0..rows {
            let cursor = (show_cursor && row == cursor_row).then_some(cursor_col);
            let html = term::row_html(&s.term, row, cursor);
            let slot = &mut s.drawn[usize::from(row)];
            if *slot != html
                && let Some(el) = children.item(u32::from(row))
            {
                el.set_inner_html(&html);
                *slot = html;
            }
        }
    }

    /// Rows and columns that fit the box, from the size of one character cell.
    fn measure(&self) -> Option<(u16, u16)> {
        let probe = dom::make("<span class=\"probe\">MMMMMMMMMM</span>")?;
        self.pane.append_child(&probe).ok()?;
        let cell = probe.get_bounding_client_rect();
        probe.remove();
        let style = dom::window().get_computed_style(&self.pane).ok()??;
        let px = |side: &str| {
            style
                .get_property_value(side)
                .ok()
                .and_then(|v| v.trim_end_matches("px").parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        let width = f64::from(self.pane.client_width()) - px("padding-left") - px("padding-right");
        let height =
            f64::from(self.pane.client_height()) - px("padding-top") - px("padding-bottom");
        Some(term::fit(width, height, cell.width() / 10.0, cell.height()))
    }

    /// Fits the terminal to its box; tells the shell when the size changed.
    fn fit(this: &Rc<Console>) {
        let Some((rows, cols)) = this.measure() else {
            return;
        };
        let changed = match this.session.borrow_mut().as_mut() {
            Some(s) => {
                let changed = s.term.screen.size() != (rows, cols);
                if changed {
                    s.term.screen.set_size(rows, cols);
                    s.drawn.clear();
                    // `shared::live::ConsoleInput::Resize` as the agent reads it.
                    let text = format!("{{\"type\":\"resize\",\"cols\":{cols},\"rows\":{rows}}}");
                    let _ = s.ws.send_with_str(&text);
                }
                changed
            }
            None => false,
        };
        if changed {
            this.pane.set_inner_html("");
            Console::schedule(this);
        }
    }

    fn close(&self) {
        if let Some(s) = self.session.borrow_mut().take() {
            s.ws.set_onmessage(None);
            s.ws.set_onclose(None);
            s.ws.set_onopen(None);
            let _ = s.ws.close();
        }
    }

    pub(super) fn set_running(this: &Rc<Console>, running: bool) {
        *this.running.borrow_mut() = running;
        if running {
            Console::connect(this);
        } else {
            this.close();
            dom::show(&this.reconnect, false);
            this.say("The container is not running: start it to open a console.");
        }
    }

    fn connect(this: &Rc<Console>) {
        this.close();
        dom::show(&this.reconnect, false);
        let (rows, cols) = this.measure().unwrap_or((24, 80));
        // On the shown host: a peer's console goes through this agent's proxy.
        let url = api::ws_url(&format!(
            "/berth/v1/containers/{}/console?cols={cols}&rows={rows}",
            js_sys::encode_uri_component(&this.id)
        ));
        let ws = match WebSocket::new(&url) {
            Ok(ws) => ws,
            Err(e) => {
                this.say(&format!("Cannot open the console: {e:?}"));
                return;
            }
        };
        ws.set_binary_type(BinaryType::Arraybuffer);
        let weak = Rc::downgrade(this);
        let handler = |f: fn(&Rc<Console>, JsValue)| {
            let weak: Weak<Console> = weak.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
                if let Some(c) = weak.upgrade() {
                    f(&c, ev);
                }
            })
        };
        let handlers = [
            handler(Console::on_message),
            handler(Console::on_close),
            handler(Console::on_open),
        ];
        ws.set_onmessage(Some(handlers[0].as_ref().unchecked_ref()));
        ws.set_onclose(Some(handlers[1].as_ref().unchecked_ref()));
        ws.set_onopen(Some(handlers[2].as_ref().unchecked_ref()));
        this.say("Connecting…");
        this.pane.set_inner_html("");
        *this.session.borrow_mut() = Some(Session {
            ws,
            term: term::parser(rows, cols),
            drawn: Vec::new(),
            frame_pending: false,
            _handlers: handlers,
        });
        Console::schedule(this);
    }

    fn on_open(this: &Rc<Console>, _: JsValue) {
        this.say("Connected: type into the terminal; paste with the browser's paste.");
        dom::focus(&this.pane);
    }

    fn on_close(this: &Rc<Console>, _: JsValue) {
        if this
            .status
            .text_content()
            .is_some_and(|t| t.starts_with("Connected"))
        {
            this.say("The console was disconnected.");
        }
        dom::show(&this.reconnect, *this.running.borrow());
    }

    fn on_message(this: &Rc<Console>, ev: JsValue) {
        let Some(ev) = ev.dyn_ref::<MessageEvent>() else {
            return;
        };
        let data = ev.data();
        if let Some(text) = data.as_string() {
            // `shared::live::ConsoleOutput`.
            if let Some(msg) = crate::json::Json::parse(&text) {
                match msg.at("type").str().as_str() {
                    "exit" => this.say(&format!(
                        "The shell exited with code {}.",
                        msg.at("code").str()
                    )),
                    "error" => this.say(&msg.at("message").str()),
                    _ => {}
                }
            }
            return;
        }
        let bytes = js_sys::Uint8Array::new(&data).to_vec();
        let answer = this
            .session
            .borrow_mut()
            .as_mut()
            .map(|s| term::feed(&mut s.term, &bytes))
            .unwrap_or_default();
        if !answer.is_empty() {
            this.send(&answer);
        }
        Console::schedule(this);
    }

    /// The shell's wishes for input: application cursor keys, bracketed paste.
    fn modes(&self) -> (bool, bool) {
        self.session.borrow().as_ref().map_or((false, false), |s| {
            let screen = &s.term.screen;
            (screen.application_cursor(), screen.bracketed_paste())
        })
    }

    fn key(&self, ev: Event) {
        let flag = |k: &str| dom::prop(&ev, k).is_truthy();
        let (ctrl, key) = (flag("ctrlKey"), dom::key(&ev));
        if flag("metaKey") || (ctrl && (flag("shiftKey") || key == "v")) || !self.connected() {
            return; // the browser's own shortcuts: copy, paste
        }
        if let Some(bytes) = term::key_bytes(&key, ctrl, flag("altKey"), self.modes().0) {
            ev.prevent_default();
            self.scroll_to(0);
            self.send(&bytes);
        }
    }

    fn paste(&self, ev: Event) {
        let text = ev
            .dyn_ref::<web_sys::ClipboardEvent>()
            .and_then(|e| e.clipboard_data())
            .and_then(|d| d.get_data("text").ok());
        if let Some(text) = text {
            ev.prevent_default();
            self.send(&term::paste_bytes(&text, self.modes().1));
        }
    }

    fn scroll_to(&self, back: usize) {
        let moved = match self.session.borrow_mut().as_mut() {
            Some(s) if s.term.screen.scrollback() != back => {
                s.term.screen.set_scrollback(back);
                true
            }
            _ => false,
        };
        if moved {
            // Redrawn at once: scrolling is rare next to output.
            if let Some(s) = self.session.borrow_mut().as_mut() {
                s.drawn.clear();
            }
            self.draw();
        }
    }

    fn wheel(&self, ev: Event) {
        let back = self
            .session
            .borrow()
            .as_ref()
            .map_or(0, |s| s.term.screen.scrollback());
        let lines = (dom::prop(&ev, "deltaY").as_f64().unwrap_or(0.0) / 16.0).round() as isize;
        if lines != 0 {
            ev.prevent_default();
            self.scroll_to(back.saturating_add_signed(-lines));
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        self.close();
        if let Some((obs, _)) = self.observer.borrow_mut().take() {
            obs.disconnect();
        }
    }
}
