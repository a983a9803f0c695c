//! The top of the app: session check, login view, and the logged-in shell (header, nav, page).

use crate::api::{self, ApiError};
use crate::pages;
use crate::route::{Page, Route};
use crate::socket::Live;
use crate::tasks::Tasks;
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::auth::WhoAmI;
use shared::hosts::HostState;

#[derive(Clone, Debug, PartialEq)]
pub enum Session {
    /// Asking `whoami`.
    Checking,
    LoggedOut,
    LoggedIn(WhoAmI),
    /// `whoami` got no usable answer.
    Unreachable(String),
}

/// The app's shared parts, for the pages drawn as plain DOM (see `who`, `live`, `tasks`).
#[derive(Clone, Copy)]
struct Context {
    auth: Auth,
    live: Live,
    tasks: Tasks,
    shown: Shown,
}

thread_local! {
    static CONTEXT: std::cell::Cell<Option<Context>> = const { std::cell::Cell::new(None) };
}

fn context() -> Context {
    CONTEXT
        .with(std::cell::Cell::get)
        .expect("the app is started before any page")
}

/// Who is signed in (`None` on the login view).
pub fn who() -> Option<WhoAmI> {
    context().auth.who()
}

/// Whether the signed-in role may act (operator or admin): viewers get no action buttons.
pub fn can_act() -> bool {
    who().is_some_and(|w| w.role >= shared::auth::Role::Operator)
}

/// Turns a 401 from any call into the login view; true when it did.
pub fn handle(err: &ApiError) -> bool {
    context().auth.handle(err)
}

/// The socket's live state (facts, hosts, events, topics).
pub fn live() -> Live {
    context().live
}

/// The pulls, pushes and copies started here.
pub fn tasks() -> Tasks {
    context().tasks
}

/// Shows host `host` (a peer, or this agent for `None`): the page is made anew for it.
pub fn show_host(host: Option<String>) {
    context().shown.switch(host);
}

const SESSION_ENDED: &str = "Your session has ended (it expired, its token was revoked, or the agent restarted). Sign in again.";

/// The session, shared through context; every page can drop back to the login view.
#[derive(Clone, Copy)]
pub struct Auth {
    pub session: RwSignal<Session>,
    /// Why the login view is showing, when it was not the user's choice.
    pub notice: RwSignal<Option<String>>,
}

impl Auth {
    /// Back to the login view because the agent no longer knows the session.
    pub fn session_ended(self) {
        self.notice.set(Some(SESSION_ENDED.to_string()));
        self.session.set(Session::LoggedOut);
    }

    /// Turns a 401 from any call into the login view; true when it did.
    pub fn handle(self, err: &ApiError) -> bool {
        if matches!(err, ApiError::Unauthorized(_)) {
            self.session_ended();
            true
        } else {
            false
        }
    }

    pub fn who(self) -> Option<WhoAmI> {
        self.session.with_untracked(|s| match s {
            Session::LoggedIn(w) => Some(w.clone()),
            _ => None,
        })
    }
}

/// The host the pages show: this agent (`None`) or one of its peers, whose API the pages
/// then reach through this agent's proxy (see `api::routed`), or [`api::ALL_HOSTS`]: the
/// Containers and Images pages then merge every host, the per-host pages show this one.
#[derive(Clone, Copy)]
pub struct Shown(pub RwSignal<Option<String>>);

impl Shown {
    pub fn switch(self, host: Option<String>) {
        api::set_remote(host.clone());
        self.0.set(host);
    }
}

/// The header's host switcher: this host, then each peer (with its state when not up), then
/// "All hosts".
fn host_switch(live: Live, shown: Shown) -> impl IntoView {
    // Re-rendered only when a name or state changes, not on every facts push.
    let choices = Memo::new(move |_| {
        live.hosts.with(|hosts| {
            hosts
                .iter()
                .map(|h| {
                    let value = if h.local {
                        String::new()
                    } else {
                        h.name.clone()
                    };
                    let label = match (h.local, h.state) {
                        (true, _) => format!("{} (this host)", h.name),
                        (false, HostState::Up) => h.name.clone(),
                        (false, state) => format!("{} ({})", h.name, state.as_str()),
                    };
                    (value, label)
                })
                .chain([(api::ALL_HOSTS.to_string(), "All hosts".to_string())])
                .collect::<Vec<_>>()
        })
    });
    // A peer that was removed cannot stay shown, nor "All hosts" once there is no peer
    // (the switcher goes with the last one).
    Effect::new(move |_| {
        let gone = live.hosts.with(|hosts| {
            shown.0.with(|s| {
                s.as_ref().is_some_and(|n| {
                    let all = n == api::ALL_HOSTS;
                    !hosts.is_empty() && !hosts.iter().any(|h| !h.local && (all || &h.name == n))
                })
            })
        });
        if gone {
            shown.switch(None);
        }
    });
    move || {
        let choices = choices.get();
        // This host and All: a switcher once there is a peer.
        (choices.len() > 2).then(|| {
            let current = shown.0.get_untracked().unwrap_or_default();
            view! {
                <select
                    id="host-switch"
                    title="the host these pages show"
                    prop:value=move || shown.0.get().unwrap_or_default()
                    on:change=move |ev| {
                        let value = event_target_value(&ev);
                        shown.switch((!value.is_empty()).then_some(value));
                    }
                >
                    {choices
                        .into_iter()
                        .map(|(value, label)| {
                            let selected = value == current;
                            view! { <option value=value selected=selected>{label}</option> }
                        })
                        .collect_view()}
                </select>
            }
        })
    }
}

fn check_session(session: RwSignal<Session>) {
    session.set(Session::Checking);
    spawn_local(async move {
        session.set(match api::whoami().await {
            Ok(who) => Session::LoggedIn(who),
            Err(ApiError::Unauthorized(_)) => Session::LoggedOut,
            Err(e) => Session::Unreachable(e.to_string()),
        });
    });
}

#[component]
pub fn App() -> impl IntoView {
    let session = RwSignal::new(Session::Checking);
    let auth = Auth {
        session,
        notice: RwSignal::new(None),
    };
    let live = Live::new();
    let tasks = Tasks::new();
    let shown = Shown(RwSignal::new(None));
    CONTEXT.with(|c| {
        c.set(Some(Context {
            auth,
            live,
            tasks,
            shown,
        }))
    });
    provide_context(auth);
    provide_context(live);
    provide_context(tasks);
    provide_context(shown);
    // Re-render only on a real change: a second "logged out" must not reset the login form.
    let current = Memo::new(move |_| session.get());

    // One socket while logged in, none otherwise.
    Effect::new(move |was_in: Option<bool>| {
        let is_in = current.with(|s| matches!(s, Session::LoggedIn(_)));
        if was_in != Some(is_in) {
            if is_in {
                live.start(move || auth.session_ended());
            } else if was_in.is_some() {
                live.stop();
            }
        }
        is_in
    });

    check_session(session);

    move || match current.get() {
        Session::Checking => {
            view! { <div class="splash">"Connecting to the agent…"</div> }.into_any()
        }
        Session::LoggedOut => view! { <Login/> }.into_any(),
        Session::LoggedIn(who) => view! { <Shell who=who/> }.into_any(),
        Session::Unreachable(msg) => view! {
            <div class="splash">
                <p class="error" id="error">{msg}</p>
                <button on:click=move |_| check_session(session)>"Retry"</button>
            </div>
        }
        .into_any(),
    }
}

#[component]
fn Login() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let token = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let submit = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let secret = token.get_untracked().trim().to_string();
        if secret.is_empty() {
            error.set(Some("Paste an access token first.".into()));
            return;
        }
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match api::login(&secret).await {
                Ok(who) => {
                    auth.notice.set(None);
                    auth.session.set(Session::LoggedIn(who));
                }
                Err(e) => {
                    error.set(Some(e.to_string()));
                    busy.set(false);
                }
            }
        });
    };

    view! {
        <div class="login">
            <form class="card login-card" on:submit=submit>
                <h1><span class="brand-mark">"⚓"</span>" Berth"</h1>
                <p class="muted">
                    "Sign in with an access token. The agent prints a one-time login link when it \
                     starts; admins can create tokens with "<code>"berth token"</code>"."
                </p>
                {move || auth.notice.get().map(|n| view! { <p class="notice" id="login-notice">{n}</p> })}
                <label for="token">"Access token"</label>
                <input
                    id="token"
                    type="password"
                    autocomplete="off"
                    prop:value=move || token.get()
                    on:input=move |ev| token.set(event_target_value(&ev))
                />
                <button id="login" type="submit" disabled=move || busy.get()>
                    {move || if busy.get() { "Signing in…" } else { "Sign in" }}
                </button>
                {move || error.get().map(|e| view! { <p class="error" id="login-error">{e}</p> })}
            </form>
        </div>
    }
}

fn current_route() -> Route {
    let hash = window().location().hash().unwrap_or_default();
    let decoded = js_sys::decode_uri_component(&hash).map_or(hash, String::from);
    Route::from_hash(&decoded)
}

#[component]
fn Shell(who: WhoAmI) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let live = expect_context::<Live>();
    let shown = expect_context::<Shown>();
    // Every sign-in starts on this host.
    shown.switch(None);
    let route = RwSignal::new(current_route());
    let listener = window_event_listener(ev::hashchange, move |_| route.set(current_route()));
    let section = Memo::new(move |_| route.with(Route::section));
    // Pages re-render only when the route really changes (not on a container's tab).
    let page = Memo::new(move |_| route.get());
    on_cleanup(move || listener.remove());
    let error = RwSignal::new(None::<String>);

    let logout = move |_| {
        spawn_local(async move {
            match api::logout().await {
                Ok(()) | Err(ApiError::Unauthorized(_)) => auth.session.set(Session::LoggedOut),
                Err(e) => error.set(Some(format!("logout failed: {e}"))),
            }
        });
    };

    let nav = Page::ALL
        .into_iter()
        .map(|p| {
            view! {
                <a id=format!("nav-{}", p.slug()) href=p.href() class:active=move || section.get() == p>
                    {p.title()}
                </a>
            }
        })
        .collect_view();

    view! {
        <header class="top">
            <span class="brand"><span class="brand-mark">"⚓"</span>" Berth"</span>
            <span class="host" id="whoami-host" title="host">{who.host.clone()}</span>
            {host_switch(live, shown)}
            <span class="role" id="whoami-role" title="your role">{who.role.as_str()}</span>
            <span class="spacer"></span>
            <pages::transfer::TaskList/>
            <span
                id="ws-state"
                class=move || format!("ws {}", live.state.get().label())
                title="live connection to the agent"
            >
                {move || live.state.get().label()}
            </span>
            <button id="logout" class="ghost" on:click=logout>"Log out"</button>
        </header>
        <nav class="nav">{nav}</nav>
        <main class="main">
            {move || error.get().map(|e| view! { <p class="error banner">{e}</p> })}
            {move || live.error.get().map(|e| view! { <p class="error banner" id="ws-error">{e}</p> })}
            // A page is made anew when the shown host changes, so it loads that host's data.
            {move || match (shown.0.track(), page.get()).1 {
                Route::Page(Page::Hosts) => pages::hosted(pages::hosts::mount).into_any(),
                Route::Page(Page::Containers) => pages::hosted(pages::containers::mount).into_any(),
                Route::Container(id) => pages::hosted(move |root| pages::container::mount(root, &id)).into_any(),
                Route::Page(Page::Network) => pages::hosted(pages::network::mount).into_any(),
                Route::Page(Page::Images) => pages::hosted(pages::images::mount).into_any(),
                Route::Image(id) => pages::hosted(move |root| pages::image::mount(root, &id)).into_any(),
                Route::Page(Page::Build) => pages::hosted(pages::build::mount).into_any(),
                Route::Page(Page::Layers) => pages::hosted(pages::layers::mount).into_any(),
                Route::Page(Page::Events) => pages::hosted(pages::events::mount).into_any(),
                Route::Page(Page::Settings) => pages::hosted(pages::settings::mount).into_any(),
            }}
        </main>
    }
}
