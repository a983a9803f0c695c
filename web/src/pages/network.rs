//! Ports & networks: every published port on this host (`GET /berth/v1/ports`) — served, or
//! asked for by a container that is not running — with host ports claimed twice shown in red
//! above the table and on their rows, and every
//! network with the containers attached to it (`GET /networks`), refreshed by `network` events
//! and by containers that start, die or go (no polling); operators create networks and remove
//! user-defined ones.

use super::{Latest, on_network_changes, or_dash};
use crate::api::{self, ApiError};
use crate::app::Auth;
use crate::docker::{Network, container_name, create_network_body};
use crate::format;
use crate::route::container_href;
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::auth::Role;
use shared::ports::{PortMapping, PortUsage};

/// Action state of the page, kept at page level so that a reload (any event) keeps it.
#[derive(Clone, Copy)]
struct Acts {
    auth: Auth,
    can_act: bool,
    /// The network a Remove is running on.
    busy: RwSignal<Option<String>>,
    /// The last failed Remove: (network ID, message), shown in that network's card.
    failed: RwSignal<Option<(String, String)>>,
}

impl Acts {
    /// Shows `e` through `error` (or goes back to the login view on a 401).
    fn show(self, error: RwSignal<Option<String>>, e: &ApiError, doing: &str) {
        if !self.auth.handle(e) {
            error.set(Some(format!("{doing}: {e}")));
        }
    }
}

#[component]
pub fn NetworkPage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let acts = Acts {
        auth,
        can_act: auth.who().is_some_and(|w| w.role >= Role::Operator),
        busy: RwSignal::new(None),
        failed: RwSignal::new(None),
    };
    let ports = RwSignal::new(None::<PortUsage>);
    let ports_error = RwSignal::new(None::<String>);
    let networks = RwSignal::new(None::<Vec<Network>>);
    let networks_error = RwSignal::new(None::<String>);
    let (latest_ports, latest_networks) = (Latest::new(), Latest::new());

    let load = move || {
        let ticket = latest_ports.next();
        spawn_local(async move {
            let answer = api::ports().await;
            if !latest_ports.is(ticket) {
                return;
            }
            match answer {
                Ok(usage) => {
                    ports_error.set(None);
                    ports.set(Some(usage));
                }
                Err(e) => acts.show(ports_error, &e, "listing published ports"),
            }
        });
        let ticket = latest_networks.next();
        spawn_local(async move {
            let answer = api::networks().await;
            if !latest_networks.is(ticket) {
                return;
            }
            match answer {
                Ok(list) => {
                    networks_error.set(None);
                    networks.set(Some(list));
                }
                Err(e) => acts.show(networks_error, &e, "listing networks"),
            }
        });
    };
    on_network_changes(load);

    let ports_view = move || {
        let error = ports_error
            .get()
            .map(|e| view! { <p class="error" id="ports-error">{e}</p> });
        let body = ports.get().map(|usage| {
            let clashing: Vec<(u16, String)> = usage
                .conflicts
                .iter()
                .map(|c| (c.host_port, c.protocol.clone()))
                .collect();
            let conflicts = (!usage.conflicts.is_empty()).then(|| view! {
                <div class="conflicts" id="port-conflicts">
                    {usage.conflicts.iter().map(|c| view! {
                        <p class="conflict" data-port=c.host_port.to_string()>
                            <strong>{format!("⚠ Port {}/{} is claimed twice: ", c.host_port, c.protocol)}</strong>
                            {c.message.clone()}
                        </p>
                    }).collect_view()}
                </div>
            });
            let table = match usage.mappings.len() {
            0 => view! {
                <p class="empty-row muted" id="ports-empty">
                    "No published ports. Publish one when you start a container: "
                    <code>"docker run -p 8080:80 …"</code>
                    " (or "<code>"-P"</code>" for every port its image exposes)."
                </p>
            }
            .into_any(),
            n => view! {
                <table class="list" id="ports">
                    <thead>
                        <tr>
                            <th>"Host address"</th>
                            <th>"Container : port"</th>
                            <th>"State"</th>
                            <th>"Container IP"</th>
                            <th>"Network"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {usage.mappings.into_iter().map(|m| {
                            let clash = clashing.contains(&(m.host_port, m.protocol.clone()));
                            port_row(m, clash)
                        }).collect_view()}
                    </tbody>
                </table>
                <p class="empty-row muted" id="ports-count">
                    {format!("{n} published port{}", if n == 1 { "" } else { "s" })}
                </p>
            }
            .into_any(),
            };
            view! { {conflicts}{table} }
        });
        let loading = body
            .is_none()
            .then(|| view! { <p class="empty-row muted">"Loading published ports…"</p> });
        view! { {error}{body}{loading} }
    };

    let networks_view = move || {
        let error = networks_error
            .get()
            .map(|e| view! { <p class="error" id="networks-error">{e}</p> });
        let body = networks.get().map(|list| {
            view! {
                <div class="cards" id="networks">
                    {list.into_iter().map(|n| network_card(n, acts, load)).collect_view()}
                </div>
            }
        });
        let loading = body
            .is_none()
            .then(|| view! { <p class="muted">"Loading networks…"</p> });
        view! { {error}{body}{loading} }
    };

    view! {
        <section class="page">
            <h1>
                "Ports & networks"
                <span class="sub">"what this host publishes, and where its containers are attached"</span>
            </h1>
            <div class="card flush" id="ports-card">
                <h2 class="pad">"Published ports"</h2>
                {ports_view}
            </div>
            {acts.can_act.then(|| create_form(auth, load))}
            {networks_view}
        </section>
    }
}

/// `127.0.0.1:8080/tcp → web:80`, whether it is served now, the container's address and its
/// network; `clash` marks a host port claimed twice.
fn port_row(m: PortMapping, clash: bool) -> impl IntoView {
    let host = format::host_port(&m.host_ip, m.host_port, &m.protocol);
    let name = container_name(&m.container_name, &m.container_id).to_string();
    let state = if m.served {
        "served".to_string()
    } else {
        format!("asked for ({})", or_dash(&m.state))
    };
    view! {
        <tr
            data-port=m.host_port.to_string()
            data-container=name.clone()
            class:clash=clash
            class:muted=!m.served
            data-served=m.served.to_string()
        >
            <td class="shrink mono host">{host}</td>
            <td class="target">
                <span class="muted">"→ "</span>
                <a class="name" href=container_href(&m.container_id) title=m.container_id.clone()>{name.clone()}</a>
                <span class="mono">{format!(":{}", m.container_port)}</span>
            </td>
            <td class="shrink port-state">{state}</td>
            <td class="shrink mono ip">{or_dash(&m.container_ip)}</td>
            <td class="shrink network">{m.network}</td>
        </tr>
    }
}

/// One network: its facts, the containers on it, and Remove for a user-defined one.
fn network_card(
    n: Network,
    acts: Acts,
    reload: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let id = n.id.clone();
    let remove = (acts.can_act && !n.is_predefined()).then(|| {
        let (id, name) = (id.clone(), n.name.clone());
        let busy = {
            let id = id.clone();
            move || acts.busy.with(|b| b.as_deref() == Some(id.as_str()))
        };
        let click = move |_| {
            let (id, name) = (id.clone(), name.clone());
            acts.busy.set(Some(id.clone()));
            acts.failed.set(None);
            spawn_local(async move {
                let result = api::remove_network(&id).await;
                acts.busy.set(None);
                match result {
                    Ok(()) => reload(),
                    Err(e) if acts.auth.handle(&e) => {}
                    Err(e) => acts.failed.set(Some((id, format!("removing {name}: {e}")))),
                }
            });
        };
        view! { <button class="network-remove danger" disabled=busy on:click=click>"Remove"</button> }
    });
    let failed = {
        let id = id.clone();
        move || {
            acts.failed
                .get()
                .filter(|(failed, _)| *failed == id)
                .map(|(_, e)| view! { <p class="error remove-error">{e}</p> })
        }
    };
    let members = n.members();
    let none = members
        .is_empty()
        .then_some(view! { <li class="muted">"No containers attached."</li> });
    let items = members
        .into_iter()
        .map(|(cid, m)| {
            let name = container_name(&m.name, cid).to_string();
            view! {
                <li data-name=name.clone()>
                    <a href=container_href(cid)>{name.clone()}</a>
                    {format!(" → {}", m.ip())}
                </li>
            }
        })
        .collect_view();
    view! {
        <div class="card network" data-name=n.name.clone() data-id=id>
            <h3 class="network-head">{n.name.clone()}<span class="spacer"></span>{remove}</h3>
            <p class="mono network-facts">{n.summary()}</p>
            <ul class="members">{none}{items}</ul>
            {failed}
        </div>
    }
}

/// The Create form (operators): a name and, optionally, a subnet; the agent picks one when it
/// is left empty.
fn create_form(auth: Auth, reload: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let subnet = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let submit = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let (name_text, subnet_text) = (name.get_untracked(), subnet.get_untracked());
        if name_text.trim().is_empty() {
            error.set(Some("Type a name for the network first.".into()));
            return;
        }
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let result = api::create_network(create_network_body(&name_text, &subnet_text)).await;
            busy.set(false);
            match result {
                Ok(()) => reload(),
                Err(e) if auth.handle(&e) => {}
                Err(e) => error.set(Some(format!("creating {}: {e}", name_text.trim()))),
            }
        });
    };

    view! {
        <div class="card" id="network-create-card">
            <h2>"Create a network"</h2>
            <form class="inline" id="network-create" on:submit=submit>
                <input
                    id="network-name"
                    placeholder="name, e.g. appnet"
                    autocomplete="off"
                    spellcheck="false"
                    on:input=move |ev| name.set(event_target_value(&ev))
                />
                <input
                    id="network-subnet"
                    placeholder="subnet (optional), e.g. 10.20.0.0/24"
                    autocomplete="off"
                    spellcheck="false"
                    on:input=move |ev| subnet.set(event_target_value(&ev))
                />
                <button id="network-create-submit" type="submit" disabled=move || busy.get()>
                    "Create"
                </button>
            </form>
            {move || error.get().map(|e| view! { <p class="error" id="network-create-error">{e}</p> })}
        </div>
    }
}
