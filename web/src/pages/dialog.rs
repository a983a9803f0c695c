//! A modal dialog drawn as plain DOM: an overlay with a form, closed by its Close button
//! (`[data-close]`), a click outside it or Escape. The dialog's own code adds listeners to
//! it with [`Dialog::on`]; closing removes the markup and drops them.

use crate::dom::{self, Listener};
use std::cell::RefCell;
use std::rc::Rc;
use web_sys::{Element, Event};

pub struct Dialog {
    pub overlay: Element,
    /// The `<form>` inside.
    pub form: Element,
    listeners: RefCell<Vec<Listener>>,
}

impl Dialog {
    /// Shows a dialog with `id` and `body` (markup inside the form) in `parent`.
    pub fn open(parent: &Element, id: &str, body: &str) -> Option<Rc<Dialog>> {
        let overlay = dom::make(&format!(
            "<div class=\"overlay\"><form class=\"dialog card\" id=\"{id}\">{body}</form></div>"
        ))?;
        parent.append_child(&overlay).ok()?;
        let form = overlay.first_element_child()?;
        let dialog = Rc::new(Dialog {
            overlay,
            form,
            listeners: RefCell::new(Vec::new()),
        });
        let weak = Rc::downgrade(&dialog);
        let close = move |ev: Event| {
            let outside = dom::target(&ev).is_some_and(|t| t.class_list().contains("overlay"));
            let button = dom::closest(&ev, "[data-close]").is_some();
            let escape = ev.type_() == "keydown" && dom::key(&ev) == "Escape";
            if (outside || button || escape)
                && let Some(d) = weak.upgrade()
            {
                d.close();
            }
        };
        let first = dom::listen(&dialog.overlay, "click", close.clone());
        let second = dom::listen(&dialog.overlay, "keydown", close);
        dialog.listeners.borrow_mut().extend([first, second]);
        Some(dialog)
    }

    /// Calls `f` for `event` inside the dialog while it is open.
    pub fn on(&self, event: &'static str, f: impl FnMut(Event) + 'static) {
        self.listeners
            .borrow_mut()
            .push(dom::listen(&self.form, event, f));
    }

    pub fn is_open(&self) -> bool {
        self.overlay.is_connected()
    }

    pub fn close(&self) {
        self.overlay.remove();
        self.listeners.borrow_mut().clear();
    }

    pub fn find(&self, css: &str) -> Option<Element> {
        dom::find(&self.form, css)
    }

    pub fn set_html(&self, css: &str, html: &str) {
        dom::set_html(&self.form, css, html);
    }

    pub fn set_text(&self, css: &str, text: &str) {
        dom::set_text(&self.form, css, text);
    }
}
