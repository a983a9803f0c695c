//! Settings: your role; for admins, the access tokens (list, create, revoke).

use super::local_datetime;
use crate::api;
use crate::app::Auth;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::auth::{CreateTokenRequest, CreatedToken, Role, TokenInfo};

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
            {(role == Some(Role::Admin)).then(|| view! { <Tokens mine=token_id.clone()/> })}
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
