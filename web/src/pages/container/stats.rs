//! The Stats tab: CPU, memory, network and block I/O drawn in SVG from the `stats` topic
//! (a sample about every second), the last five minutes kept; and the processes (`top`).

use crate::api;
use crate::chart::{self, HEIGHT, WIDTH};
use crate::docker::Top;
use crate::format;
use crate::pages::or_dash;
use crate::socket::Live;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::live::StatsSample;
use shared::ws::{ServerMessage, Topic};
use std::collections::VecDeque;

/// One chart: up to two series (the second dashed), its scale and what the numbers say now.
fn chart(
    id: &'static str,
    title: &'static str,
    now: String,
    series: Vec<Vec<f64>>,
    top: f64,
) -> impl IntoView {
    let lines = series
        .into_iter()
        .enumerate()
        .map(|(i, values)| {
            view! { <polyline class=format!("series s{i}") points=chart::points(&values, top)/> }
        })
        .collect_view();
    view! {
        <div class="card chart" id=id>
            <h2>{title}</h2>
            <p class="chart-now">{now}</p>
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") preserveAspectRatio="none">{lines}</svg>
        </div>
    }
}

fn rate(bytes_per_sec: f64) -> String {
    format!("{}/s", format::bytes(bytes_per_sec.max(0.0) as u64))
}

fn charts(samples: &VecDeque<StatsSample>) -> impl IntoView + use<> {
    let Some(last) = samples.back().cloned() else {
        return view! { <p class="muted" id="stats-waiting">"Waiting for the first sample…"</p> }
            .into_any();
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
    let cpu_top = chart::scale(&[&cpu], 100.0);
    let mem_top = chart::scale(&[&mem], 1048576.0) * 1.25;
    let net_top = chart::scale(&[&rx, &tx], 1024.0);
    let io_top = chart::scale(&[&read, &write], 1024.0);
    view! {
        <div class="charts">
            {chart("stats-cpu", "CPU", format!("{:.1} % (100 % = one CPU)", last.cpu_percent), vec![cpu], cpu_top)}
            {chart(
                "stats-memory",
                "Memory",
                format!(
                    "{} of {} · {} process{}",
                    format::bytes(last.memory_used),
                    format::bytes(last.memory_limit),
                    last.pids,
                    if last.pids == 1 { "" } else { "es" }
                ),
                vec![mem],
                mem_top,
            )}
            {chart(
                "stats-net",
                "Network",
                format!("in {} · out {}", rate(last_of(&rx)), rate(last_of(&tx))),
                vec![rx, tx],
                net_top,
            )}
            {chart(
                "stats-io",
                "Block I/O",
                format!("read {} · write {}", rate(last_of(&read)), rate(last_of(&write))),
                vec![read, write],
                io_top,
            )}
        </div>
    }
    .into_any()
}

fn processes(top: Result<Top, String>) -> impl IntoView {
    let top = match top {
        Ok(t) => t,
        Err(e) => return view! { <p class="error" id="top-error">{e}</p> }.into_any(),
    };
    view! {
        <table class="list" id="top">
            <thead>
                <tr>{top.titles.into_iter().map(|t| view! { <th>{t}</th> }).collect_view()}</tr>
            </thead>
            <tbody>
                {top.processes.into_iter().map(|p| view! {
                    <tr>{p.into_iter().map(|v| view! { <td class="mono">{or_dash(&v)}</td> }).collect_view()}</tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
pub fn StatsTab(id: String, running: Memo<bool>) -> impl IntoView {
    let live = expect_context::<Live>();
    let samples = RwSignal::new(VecDeque::<StatsSample>::new());
    let top = RwSignal::new(None::<Result<Top, String>>);
    let wanted = StoredValue::new(id.clone());
    live.follow(Topic::Stats { container: id }, move |message| {
        if let ServerMessage::Stats { sample, .. } = message {
            samples.update(|s| chart::push(s, sample.clone()));
        }
    });
    let load_top = move || {
        spawn_local(async move {
            let answer = api::container_top(&wanted.get_value()).await;
            top.set(Some(answer.map_err(|e| e.to_string())));
        });
    };
    Effect::new(move |_| {
        if running.get() {
            load_top();
        }
    });
    view! {
        {move || (!running.get()).then(|| view! {
            <p class="notice" id="stats-stopped">"The container is not running: the charts continue when it starts."</p>
        })}
        {move || samples.with(charts)}
        <div class="card flush">
            <h2 class="pad">
                "Processes"
                <button id="top-refresh" class="ghost h1-button" on:click=move |_| load_top()>"Refresh"</button>
            </h2>
            {move || top.get().map(processes)}
        </div>
    }
}
