//! Settings: your role; for admins, the access tokens (list, create, revoke) and the peers
//! (add — confirming an https peer's certificate fingerprint first — and remove).

use super::local_datetime;
use crate::api;
use crate::app::Auth;
use crate::socket::Live;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::auth::{CreateTokenRequest, CreatedToken, Role, TokenInfo};
use shared::hosts::{AddHostRequest, ConfirmFingerprint};

fn role_help(role: Role) -> &'static str {
    match role {
        Role::Viewer => "read-only: can look at hosts, containers, images and events",
        Role::Operator => "can act on containers and images",
        Role::Admin => "can do everything, including managing tokens and peers",
    }
}

#[component]
pub fn SettingsPage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let who = auth.who();
    let role = who.as_ref().map(|w| w.role);
    let token_id = who.as_ref().and_then(|w| w.token_id.clone());

    view! {
        <section class="page">
            <h1>"Settings"</h1>
            <div class="card">
                <h2>"You"</h2>
                <table class="facts">
                    <tr>
                        <th>"Role"</th>
                        <td>
                            <span id="my-role" class="role">{role.map(Role::as_str).unwrap_or("—")}</span>
                            <span class="muted">" — "{role.map(role_help).unwrap_or("")}</span>
                        </td>
                    </tr>
                    <tr>
                        <th>"Token"</th>
                        <td id="my-token">
                            {match token_id.clone() {
                                Some(id) => view! { <span class="mono">{id}</span> }.into_any(),
                                None => view! {
                                    <span class="muted">"none: this session came from a one-time login link"</span>
                                }
                                .into_any(),
                            }}
                        </td>
                    </tr>
                </table>
            </div>
            {(role == Some(Role::Admin)).then(|| view! { <Tokens mine=token_id.clone()/> <Peers/> })}
        </section>
    }
}

#[component]
fn Tokens(mine: Option<String>) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let tokens = RwSignal::new(None::<Vec<TokenInfo>>);
    let error = RwSignal::new(None::<String>);
    let created = RwSignal::new(None::<CreatedToken>);
    let name = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Viewer);
    let busy = RwSignal::new(false);

    let reload = move || {
        spawn_local(async move {
            match api::list_tokens().await {
                Ok(mut list) => {
                    list.sort_by_key(|t| t.created);
                    tokens.set(Some(list));
                }
                Err(e) if !auth.handle(&e) => error.set(Some(format!("listing tokens: {e}"))),
                Err(_) => {}
            }
        });
    };
    reload();

    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let req = CreateTokenRequest {
            role: role.get_untracked(),
            name: name.get_untracked().trim().to_string(),
        };
        spawn_local(async move {
            match api::create_token(&req).await {
                Ok(t) => {
                    created.set(Some(t));
                    name.set(String::new());
                    reload();
                }
                Err(e) if !auth.handle(&e) => error.set(Some(format!("creating a token: {e}"))),
                Err(_) => {}
            }
            busy.set(false);
        });
    };

    let revoke = move |id: String| {
        error.set(None);
        spawn_local(async move {
            match api::revoke_token(&id).await {
                Ok(()) => {
                    if created.with_untracked(|c| c.as_ref().is_some_and(|c| c.info.id == id)) {
                        created.set(None);
                    }
                    reload();
                }
                Err(e) if !auth.handle(&e) => error.set(Some(format!("revoking {id}: {e}"))),
                Err(_) => {}
            }
        });
    };

    let row = move |t: TokenInfo| {
        let is_mine = mine.as_deref() == Some(t.id.as_str());
        let id = t.id.clone();
        view! {
            <tr data-id=t.id.clone()>
                <td class="shrink mono">{t.id.clone()}</td>
                <td>{t.name.clone()}{is_mine.then(|| view! { <span class="tag">"this session"</span> })}</td>
                <td class="shrink"><span class="role">{t.role.as_str()}</span></td>
                <td class="shrink">{local_datetime(t.created)}</td>
                <td class="right">
                    <button
                        class="revoke danger"
                        title=if is_mine { "revoking the token of this session logs you out" } else { "revoke this token" }
                        on:click=move |_| revoke(id.clone())
                    >
                        "Revoke"
                    </button>
                </td>
            </tr>
        }
    };

    view! {
        <div class="card">
            <h2>"Access tokens"</h2>
            {move || error.get().map(|e| view! { <p class="error" id="tokens-error">{e}</p> })}
            {move || created.get().map(|t| view! {
                <div class="secret">
                    <p>
                        "Token "<b>{t.info.name.clone()}</b>" ("{t.info.role.as_str()}
                        ") created. Copy the secret now: it is not shown again."
                    </p>
                    <code id="token-secret">{t.token.clone()}</code>
                    <button class="ghost" on:click=move |_| created.set(None)>"Done"</button>
                </div>
            })}
            <form class="inline" on:submit=create>
                <input
                    id="token-name"
                    placeholder="name, e.g. ci or team-dashboard"
                    prop:value=move || name.get()
                    on:input=move |ev| name.set(event_target_value(&ev))
                />
                <select
                    id="token-role"
                    on:change=move |ev| {
                        if let Ok(r) = event_target_value(&ev).parse::<Role>() {
                            role.set(r);
                        }
                    }
                >
                    {Role::ALL
                        .into_iter()
                        .map(|r| view! { <option value=r.as_str() selected=move || role.get() == r>{r.as_str()}</option> })
                        .collect_view()}
                </select>
                <button id="token-create" type="submit" disabled=move || busy.get()>"Create token"</button>
            </form>
            <table class="list" id="tokens">
                <thead>
                    <tr>
                        <th>"ID"</th>
                        <th>"Name"</th>
                        <th>"Role"</th>
                        <th>"Created"</th>
                        <th></th>
                    </tr>
                </thead>
                <tbody>
                    {move || tokens.get().map(|list| list.into_iter().map(&row).collect_view())}
                </tbody>
            </table>
            {move || tokens.with(|t| t.is_none()).then(|| view! { <p class="muted">"Loading tokens…"</p> })}
        </div>
    }
}

/// Peers: the hosts this agent shows and proxies to (their state comes over the socket).
#[component]
fn Peers() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let live = expect_context::<Live>();
    let name = RwSignal::new(String::new());
    let url = RwSignal::new(String::new());
    let token = RwSignal::new(String::new());
    let confirm = RwSignal::new(None::<ConfirmFingerprint>);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let add = move |fingerprint: Option<String>| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let req = AddHostRequest {
            name: name.get_untracked().trim().to_string(),
            url: url.get_untracked().trim().to_string(),
            token: token.get_untracked().trim().to_string(),
            fingerprint,
            ca: None,
        };
        spawn_local(async move {
            match api::add_host(&req).await {
                Ok(api::Added::Done) => {
                    confirm.set(None);
                    name.set(String::new());
                    url.set(String::new());
                    token.set(String::new());
                }
                Ok(api::Added::Confirm(c)) => confirm.set(Some(c)),
                Err(e) if !auth.handle(&e) => {
                    confirm.set(None);
                    error.set(Some(format!("adding {}: {e}", req.name)));
                }
                Err(_) => {}
            }
            busy.set(false);
        });
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        add(None);
    };
    let remove = move |peer: String| {
        error.set(None);
        spawn_local(async move {
            match api::remove_host(&peer).await {
                Ok(()) => {}
                Err(e) if !auth.handle(&e) => error.set(Some(format!("removing {peer}: {e}"))),
                Err(_) => {}
            }
        });
    };
    let input = |id: &'static str, placeholder: &'static str, value: RwSignal<String>| {
        view! {
            <input
                id=id
                placeholder=placeholder
                autocomplete="off"
                spellcheck="false"
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
        }
    };
    // Rebuilt when a peer, its state or its pin changes, not on every facts push.
    let peers = Memo::new(move |_| {
        live.hosts.with(|hosts| {
            hosts
                .iter()
                .filter(|h| !h.local)
                .map(|h| {
                    (
                        h.name.clone(),
                        h.url.clone(),
                        h.state,
                        h.fingerprint.clone(),
                    )
                })
                .collect::<Vec<_>>()
        })
    });
    let rows = move || {
        peers
            .get()
            .into_iter()
            .map(|(peer_name, peer_url, state, fingerprint)| {
                let (peer, label) = (peer_name.clone(), peer_name.clone());
                let state = state.as_str();
                view! {
                    <tr data-name=peer_name>
                        <td class="shrink">{label}</td>
                        <td class="mono">{peer_url}</td>
                        <td class="shrink"><span class=format!("badge s-{state}")>{state}</span></td>
                        <td class="fingerprint">{fingerprint.unwrap_or_else(|| "— (loopback http)".into())}</td>
                        <td class="right">
                            <button class="remove-host danger" on:click=move |_| remove(peer.clone())>"Remove"</button>
                        </td>
                    </tr>
                }
            })
            .collect_view()
    };

    view! {
        <div class="card" id="peers">
            <h2>"Peers"</h2>
            <p class="muted">
                "Other Berth agents this one shows and acts on. Give a token of the peer (made there with "
                <code>"berth token create"</code>"); its role there limits what can be done there."
            </p>
            {move || error.get().map(|e| view! { <p class="error" id="peers-error">{e}</p> })}
            {move || confirm.get().map(|c| view! {
                <div class="secret" id="peer-confirm">
                    <p>{c.message.clone()}</p>
                    <code id="peer-fingerprint">{c.fingerprint.clone()}</code>
                    <button id="peer-confirm-yes" on:click=move |_| add(Some(c.fingerprint.clone()))>"Trust this certificate"</button>
                    <button class="ghost" on:click=move |_| confirm.set(None)>"Cancel"</button>
                </div>
            })}
            <form class="inline" on:submit=submit>
                {input("peer-name", "name, e.g. node-b", name)}
                {input("peer-url", "https://host:7070", url)}
                {input("peer-token", "a token of the peer", token)}
                <button id="peer-add" type="submit" disabled=move || busy.get()>"Add peer"</button>
            </form>
            <table class="list" id="peers-list">
                <thead>
                    <tr><th>"Name"</th><th>"Address"</th><th>"State"</th><th>"Certificate (SHA-256)"</th><th></th></tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}
