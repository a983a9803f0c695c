//! The Containers table without the DOM: its columns, sorting, the filter, and each row and
//! its action buttons as markup (the page replaces the rows on screen in one go and handles
//! their clicks in one place). Pure, so it is unit-tested on the host.

use crate::docker::ContainerSummary;
use crate::format;
use crate::html::esc;
use crate::route::{Tab, container_href, image_href};
use std::collections::HashMap;
use std::fmt::Write as _;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    Name,
    Image,
    State,
    Cpu,
    Memory,
    Created,
    Host,
}

impl Column {
    pub fn title(self) -> &'static str {
        match self {
            Column::Name => "Name",
            Column::Image => "Image",
            Column::State => "State",
            Column::Cpu => "CPU",
            Column::Memory => "Memory",
            Column::Created => "Created",
            Column::Host => "Host",
        }
    }

    pub fn slug(self) -> &'static str {
        match self {
            Column::Name => "name",
            Column::Image => "image",
            Column::State => "state",
            Column::Cpu => "cpu",
            Column::Memory => "mem",
            Column::Created => "created",
            Column::Host => "host",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sort {
    pub column: Column,
    pub ascending: bool,
}

impl Default for Sort {
    /// Newest first, as `docker ps`.
    fn default() -> Self {
        Sort {
            column: Column::Created,
            ascending: false,
        }
    }
}

impl Sort {
    /// A click on `column`'s header: the other direction on the same column; a new column
    /// starts with the order people want first (names A–Z, the most CPU first).
    pub fn toggled(self, column: Column) -> Sort {
        if self.column == column {
            Sort {
                column,
                ascending: !self.ascending,
            }
        } else {
            Sort {
                column,
                ascending: matches!(
                    column,
                    Column::Name | Column::Image | Column::State | Column::Host
                ),
            }
        }
    }
}

/// Sorts `rows` by `sort`; `usage` (CPU %, memory bytes by short ID) for the live columns.
/// Ties keep the name order, so the table does not jump as numbers move.
pub fn sort(rows: &mut [ContainerSummary], sort: Sort, usage: &HashMap<String, (f32, u64)>) {
    let live = |c: &ContainerSummary| {
        usage
            .get(crate::format::short_id(&c.id))
            .copied()
            .unwrap_or((-1.0, 0))
    };
    rows.sort_by(|a, b| {
        let order = match sort.column {
            Column::Name => a.name().cmp(b.name()),
            Column::Image => a.image.cmp(&b.image),
            Column::State => a.state.cmp(&b.state),
            Column::Cpu => live(a).0.total_cmp(&live(b).0),
            Column::Memory => live(a).1.cmp(&live(b).1),
            Column::Created => a.created.cmp(&b.created),
            Column::Host => a.host.cmp(&b.host),
        };
        let order = if sort.ascending {
            order
        } else {
            order.reverse()
        };
        order.then_with(|| a.name().cmp(b.name()))
    });
}

/// Whether a row matches the filter text (lowercase): in its name, image, ID, state, host
/// or a published port.
pub fn matches(c: &ContainerSummary, query: &str) -> bool {
    if query.is_empty() {
        return true;
    }
    c.name().to_ascii_lowercase().contains(query)
        || c.host.to_ascii_lowercase().contains(query)
        || c.image.to_ascii_lowercase().contains(query)
        || c.id.starts_with(query)
        || c.state.contains(query)
        || c.published()
            .iter()
            .any(|(p, inner)| format!("{p}→{inner}").contains(query))
}

/// Whether a container in `state` has a process (stopping or removing it kills it).
pub fn is_live(state: &str) -> bool {
    matches!(state, "running" | "paused" | "restarting")
}

/// What can be done to a container in `state`: the button shown, then the menu's verbs.
pub fn verbs(state: &str) -> (&'static str, &'static [&'static str]) {
    match state {
        "running" => ("stop", &["restart", "pause", "kill", "remove"]),
        "paused" => ("unpause", &["stop", "kill", "remove"]),
        "restarting" => ("stop", &["kill", "remove"]),
        _ => ("start", &["remove"]),
    }
}

pub fn label(verb: &str) -> &'static str {
    match verb {
        "start" => "Start",
        "stop" => "Stop",
        "restart" => "Restart",
        "pause" => "Pause",
        "unpause" => "Unpause",
        "kill" => "Kill",
        _ => "Remove",
    }
}

/// How one container's buttons look now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ActionsUi {
    /// Remove was clicked: ask once more.
    pub confirming: bool,
    /// An action runs on it.
    pub busy: bool,
    pub menu_open: bool,
    /// The menu also links to the container's tabs and offers Commit.
    pub links: bool,
}

/// A container's action buttons: the likely one, the others in a menu. Each button carries
/// `data-verb`; the page finds the container in the nearest `data-id` around it.
pub fn actions_html(id: &str, name: &str, state: &str, ui: ActionsUi) -> String {
    let disabled = if ui.busy { " disabled" } else { "" };
    if ui.confirming {
        let question = if is_live(state) {
            format!("Remove {name}? It is {state}: it will be killed.")
        } else {
            format!("Remove {name}?")
        };
        return format!(
            "<span class=\"actions nowrap\"><span class=\"confirm-text\">{}</span>\
             <button class=\"confirm danger\" data-verb=\"remove-now\"{disabled}>{}</button>\
             <button class=\"cancel ghost\" data-verb=\"cancel\">Cancel</button></span>",
            esc(&question),
            if ui.busy { "Removing…" } else { "Remove" }
        );
    }
    let button = |out: &mut String, verb: &str| {
        let class = if verb == "remove" { "danger" } else { "ghost" };
        let _ = write!(
            out,
            "<button class=\"{class} act-{verb}\" data-verb=\"{verb}\"{disabled}>{}</button>",
            label(verb)
        );
    };
    let (main, more) = verbs(state);
    let mut out = String::from("<span class=\"actions nowrap\">");
    button(&mut out, main);
    let _ = write!(
        out,
        "<details class=\"menu\"{}><summary class=\"act-more\" title=\"More actions\">⋯</summary><div class=\"menu-items\">",
        if ui.menu_open { " open" } else { "" }
    );
    for verb in more {
        button(&mut out, verb);
    }
    if ui.links {
        for (tab, class, text) in [
            (Tab::Logs, "act-logs", "Logs"),
            (Tab::Console, "act-exec", "Exec"),
            (Tab::Inspect, "act-inspect", "Inspect"),
        ] {
            let _ = write!(
                out,
                "<a class=\"{class}\" href=\"{}\">{text}</a>",
                esc(&tab.href(id))
            );
        }
        out.push_str("<button class=\"ghost act-commit\" data-verb=\"commit\">Commit…</button>");
    }
    out.push_str("</div></details></span>");
    out
}

/// What a row shows besides the container itself.
pub struct RowUi<'a> {
    /// Unix seconds, for the status and age texts.
    pub now: i64,
    /// The browser's offset from UTC in seconds, for the created time's tooltip.
    pub offset: i64,
    /// CPU % and memory bytes, when it runs.
    pub usage: Option<(f32, u64)>,
    pub selected: bool,
    /// Operators get the checkbox and the actions.
    pub actions: Option<ActionsUi>,
    /// The name of the machine the container runs on, for the port links (the page's for
    /// this agent, a peer's from its URL).
    pub host: &'a str,
    /// Whether the Host column is shown ("All hosts").
    pub host_column: bool,
}

/// The host part of a peer's URL (`https://10.0.0.2:7070/x` → `10.0.0.2`, `http://[::1]:7070`
/// → `::1`; the agent keeps peers' URLs as scheme, host and port), for links to its
/// published ports.
pub fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or_default();
    match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    }
}

/// One row of the table (a fixed height in the stylesheet).
pub fn row_html(c: &ContainerSummary, ui: &RowUi) -> String {
    let name = c.name();
    let mut out = format!(
        "<tr data-id=\"{id}\" data-name=\"{n}\" data-state=\"{s}\" data-host=\"{h}\" class=\"link\" tabindex=\"0\">",
        id = esc(&c.id),
        n = esc(name),
        s = esc(&c.state),
        h = esc(c.peer.as_deref().unwrap_or_default())
    );
    if ui.actions.is_some() {
        let _ = write!(
            out,
            "<td class=\"pick\"><input type=\"checkbox\" class=\"pick-row\"{}></td>",
            if ui.selected { " checked" } else { "" }
        );
    }
    let _ = write!(
        out,
        "<td class=\"name-cell\"><a class=\"name\" href=\"{}\">{}</a></td>\
         <td class=\"image-cell\"><a href=\"{}\" title=\"{}\">{}</a></td>\
         <td class=\"shrink state\"><span class=\"badge s-{s}\">{s}</span></td>\
         <td class=\"status\">{}</td>{}<td class=\"ports\">",
        esc(&container_href(&c.id)),
        esc(name),
        esc(&image_href(&c.image_id)),
        esc(&c.image_id),
        esc(&c.image),
        esc(&c.status_at(ui.now)),
        host_cell(ui.host_column, &c.host),
        s = esc(&c.state)
    );
    let host = if ui.host.contains(':') {
        format!("[{}]", ui.host)
    } else {
        ui.host.to_string()
    };
    for (public, inner) in c.published() {
        let _ = write!(
            out,
            "<a class=\"port\" href=\"http://{}:{public}/\" target=\"_blank\" rel=\"noopener\">{public}→{}</a>",
            esc(&host),
            esc(&inner)
        );
    }
    let (cpu, mem) = match ui.usage.filter(|_| is_live(&c.state)) {
        Some((cpu, mem)) => (
            format!("{} %", format::fixed(cpu.into(), 1)),
            format::bytes(mem),
        ),
        None => ("—".to_string(), "—".to_string()),
    };
    let _ = write!(
        out,
        "</td><td class=\"shrink num cpu\">{cpu}</td><td class=\"shrink num mem\">{mem}</td>\
         <td class=\"shrink created\" title=\"{}\">{}</td>",
        format::datetime(c.created, ui.offset),
        format::ago(c.created, ui.now)
    );
    if let Some(actions) = ui.actions {
        let _ = write!(
            out,
            "<td class=\"right actions-cell\">{}</td>",
            actions_html(&c.id, name, &c.state, actions)
        );
    }
    out.push_str("</tr>");
    out
}

/// The Host column's cell, when it is shown.
pub fn host_cell(shown: bool, host: &str) -> String {
    if shown {
        format!("<td class=\"shrink host\">{}</td>", esc(host))
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(name: &str, state: &str, created: i64) -> ContainerSummary {
        ContainerSummary {
            id: format!("{name:0<64}"),
            names: vec![format!("/{name}")],
            image: format!("img-{name}"),
            state: state.into(),
            created,
            ..Default::default()
        }
    }

    #[test]
    fn sorts_by_columns_and_usage() {
        let mut rows = vec![
            c("b", "running", 2),
            c("a", "exited", 3),
            c("c", "running", 1),
        ];
        sort(&mut rows, Sort::default(), &HashMap::new());
        let names =
            |r: &[ContainerSummary]| r.iter().map(|c| c.name().to_string()).collect::<Vec<_>>();
        assert_eq!(names(&rows), ["a", "b", "c"]);
        let by_name = Sort::default().toggled(Column::Name);
        assert!(by_name.ascending);
        sort(&mut rows, by_name.toggled(Column::Name), &HashMap::new());
        assert_eq!(names(&rows), ["c", "b", "a"]);
        let usage: HashMap<String, (f32, u64)> = [
            ("c00000000000".to_string(), (50.0, 10)),
            ("b00000000000".to_string(), (5.0, 99)),
        ]
        .into();
        let cpu = Sort::default().toggled(Column::Cpu);
        assert!(!cpu.ascending);
        sort(&mut rows, cpu, &usage);
        assert_eq!(names(&rows), ["c", "b", "a"]);
        sort(&mut rows, Sort::default().toggled(Column::Memory), &usage);
        assert_eq!(names(&rows), ["b", "c", "a"]);
    }

    #[test]
    fn filters() {
        let web = c("web", "running", 1);
        assert!(matches(&web, ""));
        assert!(matches(&web, "we"));
        assert!(matches(&web, "img-"));
        assert!(matches(&web, "running"));
        assert!(!matches(&web, "db"));
    }

    #[test]
    fn rows_as_markup() {
        let mut web = c("w<b>", "running", 100);
        web.started_at = 100;
        web.image_id = "sha256:ab".into();
        web.ports = vec![crate::docker::PortSummary {
            ip: "0.0.0.0".into(),
            private: 80,
            public: 8080,
            kind: "tcp".into(),
        }];
        let ui = RowUi {
            now: 400,
            offset: 0,
            usage: Some((12.5, 2048)),
            selected: true,
            actions: Some(ActionsUi::default()),
            host: "127.0.0.1",
            host_column: false,
        };
        let html = row_html(&web, &ui);
        assert!(html.contains("data-host=\"\""), "{html}");
        assert!(!html.contains("class=\"shrink host\""), "{html}");
        assert!(html.starts_with("<tr data-id=\"w&lt;b&gt;"), "{html}");
        assert!(html.contains("data-name=\"w&lt;b&gt;\""), "{html}");
        assert!(html.contains("class=\"pick-row\" checked"), "{html}");
        assert!(
            html.contains("<td class=\"status\">Up 5 minutes</td>"),
            "{html}"
        );
        assert!(html.contains("href=\"http://127.0.0.1:8080/\""), "{html}");
        assert!(html.contains(">8080→80/tcp<"), "{html}");
        assert!(
            html.contains(">12.5 %<") && html.contains(">2.0 KiB<"),
            "{html}"
        );
        assert!(html.contains("data-verb=\"stop\""), "{html}");
        assert!(!html.contains("act-logs"), "{html}");
        let viewer = RowUi {
            actions: None,
            usage: None,
            ..ui
        };
        let html = row_html(&web, &viewer);
        assert!(
            !html.contains("<button") && !html.contains("pick-row"),
            "{html}"
        );
        assert!(html.contains(">—<"), "{html}");
        // "All hosts": a peer's row names its host, for the actions and the Host column.
        let on_peer = ContainerSummary {
            peer: Some("b<".into()),
            host: "b<".into(),
            ..web.clone()
        };
        let html = row_html(
            &on_peer,
            &RowUi {
                host_column: true,
                host: "10.0.0.2",
                ..viewer
            },
        );
        assert!(html.contains("data-host=\"b&lt;\""), "{html}");
        assert!(
            html.contains("<td class=\"shrink host\">b&lt;</td>"),
            "{html}"
        );
        assert!(html.contains("href=\"http://10.0.0.2:8080/\""), "{html}");
        assert!(matches(&on_peer, "b<"));
    }

    #[test]
    fn peer_url_hosts() {
        assert_eq!(url_host("https://10.0.0.2:7070/x"), "10.0.0.2");
        assert_eq!(url_host("http://[::1]:7070"), "::1");
        assert_eq!(url_host("http://node-b"), "node-b");
        assert_eq!(url_host(""), "");
    }

    #[test]
    fn sorts_by_host_then_name() {
        let mut a = c("a", "running", 1);
        a.host = "zed".into();
        let mut b = c("b", "running", 1);
        b.host = "alpha".into();
        let mut rows = vec![a, b];
        sort(
            &mut rows,
            Sort::default().toggled(Column::Host),
            &HashMap::new(),
        );
        assert_eq!(rows[0].host, "alpha");
    }

    #[test]
    fn actions_by_state_and_mode() {
        let open = ActionsUi {
            menu_open: true,
            links: true,
            ..Default::default()
        };
        let html = actions_html("abc", "web", "exited", open);
        assert!(
            html.contains("act-start") && html.contains("act-remove"),
            "{html}"
        );
        assert!(html.contains("<details class=\"menu\" open>"), "{html}");
        assert!(html.contains("href=\"#/container/abc/logs\""), "{html}");
        let asking = ActionsUi {
            confirming: true,
            busy: true,
            ..Default::default()
        };
        let html = actions_html("abc", "web", "paused", asking);
        assert!(html.contains("It is paused: it will be killed."), "{html}");
        assert!(
            html.contains("data-verb=\"remove-now\" disabled>Removing…"),
            "{html}"
        );
        assert_eq!(verbs("paused").0, "unpause");
    }
}
