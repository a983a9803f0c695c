//! The Stats tab: CPU, memory, network and block I/O drawn in SVG from the `stats` topic
//! (a sample about every second), the last five minutes kept; and the processes (`top`).

use crate::api;
use crate::chart::{self, HEIGHT, WIDTH};
use crate::docker::Top;
use crate::dom::{self, Listener};
use crate::format;
use crate::html;
use crate::json::Json;
use crate::pages::or_dash;
use shared::live::StatsSample;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::rc::Rc;
use wasm_bindgen_futures::spawn_local;
use web_sys::Element;

/// One chart's card: up to two series (the second dashed), its scale and what the numbers
/// say now.
fn chart(out: &mut String, id: &str, title: &str, now: &str, series: &[Vec<f64>], top: f64) {
    let _ = write!(
        out,
        "<div class=\"card chart\" id=\"{id}\"><h2>{title}</h2><p class=\"chart-now\">{}</p>\
         <svg viewBox=\"0 0 {} {}\" preserveAspectRatio=\"none\">",
        html::esc(now),
        WIDTH as u32,
        HEIGHT as u32
    );
    for (i, values) in series.iter().enumerate() {
        let _ = write!(
            out,
            "<polyline class=\"series s{i}\" points=\"{}\"/>",
            chart::points(values, top)
        );
    }
    out.push_str("</svg></div>");
}

fn rate(bytes_per_sec: f64) -> String {
    format!("{}/s", format::bytes(bytes_per_sec.max(0.0) as u64))
}

fn charts(samples: &VecDeque<StatsSample>) -> String {
    let Some(last) = samples.back().cloned() else {
        return "<p class=\"muted\" id=\"stats-waiting\">Waiting for the first sample…</p>".into();
    };
    let cpu: Vec<f64> = samples.iter().map(|s| s.cpu_percent).collect();
    let mem: Vec<f64> = samples.iter().map(|s| s.memory_used as f64).collect();
    let (rx, tx) = (
        chart::rates(samples, |s| s.net_rx),
        chart::rates(samples, |s| s.net_tx),
    );
    let (read, write) = (
        chart::rates(samples, |s| s.block_read),
        chart::rates(samples, |s| s.block_write),
    );
    let last_of = |v: &[f64]| v.last().copied().unwrap_or(0.0);
    let mut out = String::from("<div class=\"charts\">");
    let cpu_top = chart::scale(&[&cpu], 100.0);
    let mem_top = chart::scale(&[&mem], 1048576.0) * 1.25;
    let net_top = chart::scale(&[&rx, &tx], 1024.0);
    let io_top = chart::scale(&[&read, &write], 1024.0);
    let plural = if last.pids == 1 { "" } else { "es" };
    let memory = format!(
        "{} of {} · {} process{plural}",
        format::bytes(last.memory_used),
        format::bytes(last.memory_limit),
        last.pids
    );
    let net = format!("in {} · out {}", rate(last_of(&rx)), rate(last_of(&tx)));
    let io = format!(
        "read {} · write {}",
        rate(last_of(&read)),
        rate(last_of(&write))
    );
    let cpu_now = format!("{} % (100 % = one CPU)", format::fixed(last.cpu_percent, 1));
    chart(&mut out, "stats-cpu", "CPU", &cpu_now, &[cpu], cpu_top);
    chart(&mut out, "stats-memory", "Memory", &memory, &[mem], mem_top);
    chart(&mut out, "stats-net", "Network", &net, &[rx, tx], net_top);
    chart(
        &mut out,
        "stats-io",
        "Block I/O",
        &io,
        &[read, write],
        io_top,
    );
    out.push_str("</div>");
    out
}

fn processes(top: Result<Top, String>) -> String {
    match top {
        Ok(t) => {
            let rows: Vec<Vec<String>> = t
                .processes
                .iter()
                .map(|p| p.iter().map(|v| or_dash(v)).collect())
                .collect();
            html::table("top", &t.titles, &rows)
        }
        Err(e) => format!("<p class=\"error\" id=\"top-error\">{}</p>", html::esc(&e)),
    }
}

const SKELETON: &str = "<p class=\"notice\" id=\"stats-stopped\" hidden>The container is not running: \
    the charts continue when it starts.</p><div id=\"stats-charts\">\
    <p class=\"muted\" id=\"stats-waiting\">Waiting for the first sample…</p></div>\
    <div class=\"card flush\"><h2 class=\"pad\">Processes \
    <button id=\"top-refresh\" class=\"ghost h1-button\">Refresh</button></h2><div id=\"stats-top\"></div></div>";

/// A sample of the `stats` topic, read through [`Json`].
fn sample(message: &Json) -> StatsSample {
    let s = message.at("sample");
    let n = |k: &str| s.at(k).num().max(0.0) as u64;
    StatsSample {
        time_ms: n("time_ms"),
        cpu_percent: s.at("cpu_percent").num(),
        memory_used: n("memory_used"),
        memory_limit: n("memory_limit"),
        net_rx: n("net_rx"),
        net_tx: n("net_tx"),
        block_read: n("block_read"),
        block_write: n("block_write"),
        pids: n("pids"),
    }
}

pub(super) struct Stats {
    id: String,
    root: Element,
    samples: RefCell<VecDeque<StatsSample>>,
    _refresh: RefCell<Option<Listener>>,
}

impl Stats {
    /// Draws the tab in `body` (the page's `stats` topic then feeds [`Stats::message`]).
    pub(super) fn mount(body: &Element, id: String) -> Option<Rc<Stats>> {
        body.set_inner_html("<div></div>");
        let root = body.first_element_child()?;
        root.set_inner_html(SKELETON);
        let stats = Rc::new(Stats {
            id,
            root,
            samples: RefCell::new(VecDeque::new()),
            _refresh: RefCell::new(None),
        });
        let weak = Rc::downgrade(&stats);
        let button = dom::find(&stats.root, "#top-refresh")?;
        *stats._refresh.borrow_mut() = Some(dom::listen(&button, "click", move |_| {
            if let Some(s) = weak.upgrade() {
                Stats::load_top(&s);
            }
        }));
        Some(stats)
    }

    fn load_top(this: &Rc<Stats>) {
        let weak = Rc::downgrade(this);
        let id = this.id.clone();
        spawn_local(async move {
            let answer = api::container_top(&id).await.map_err(|e| e.to_string());
            if let Some(s) = weak.upgrade() {
                dom::set_html(&s.root, "#stats-top", &processes(answer));
            }
        });
    }

    pub(super) fn running(this: &Rc<Stats>, running: bool) {
        if let Some(note) = dom::find(&this.root, "#stats-stopped") {
            dom::show(&note, !running);
        }
        if running {
            Stats::load_top(this);
        }
    }

    pub(super) fn message(&self, message: &Json) {
        if message.at("type").str() == "stats" {
            let html = {
                let mut samples = self.samples.borrow_mut();
                chart::push(&mut samples, sample(message));
                charts(&samples)
            };
            dom::set_html(&self.root, "#stats-charts", &html);
        }
    }
}
