//! The HTTP API: the Docker Engine API subset, Berth's own `/berth/v1/` routes, the
//! dashboard's WebSocket and its files. Handlers call the engine; they hold no state.

pub mod assets;
mod auth_layer;
mod berth;
mod body;
mod build;
mod console;
mod containers;
pub mod error;
mod events;
mod exec;
mod feeds;
mod hijack;
mod image_archive;
mod image_transfer;
mod images;
mod networks;
mod origin;
mod progress;
pub mod query;
pub(crate) mod registry;
pub mod state;
mod system;
mod version_prefix;
mod volumes;
mod ws;

use crate::engine::Engine;
use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::{any, delete, get, post};
use error::ApiError;
use state::{AppState, Transport};
use std::convert::Infallible;
use std::sync::Arc;
use tower::{Layer, Service};
use tower_http::compression::CompressionLayer;

/// The routes, behind the credential check for `transport`.
pub fn router(engine: Arc<Engine>, transport: Transport) -> Router {
    let state = AppState { engine, transport };
    let dashboard = Router::new()
        .route("/", get(assets::root))
        .fallback(assets::fallback)
        .layer(CompressionLayer::new());
    Router::new()
        // Docker Engine API
        .route("/_ping", get(system::ping))
        .route("/version", get(system::version))
        .route("/info", get(system::info))
        .route("/events", get(events::events))
        .route("/system/df", get(images::disk_usage))
        .route("/images/json", get(images::list))
        .route("/images/prune", post(images::prune))
        .route("/images/get", get(image_archive::save_many))
        .route("/images/load", post(image_archive::load))
        .route("/images/create", post(image_transfer::create))
        .route(
            "/images/{*rest}",
            get(images::get).post(images::post).delete(images::delete),
        )
        .route("/containers/json", get(containers::list))
        .route("/containers/create", post(containers::create))
        .route("/containers/prune", post(containers::prune))
        .route("/containers/{id}/json", get(containers::inspect))
        .route("/containers/{id}", delete(containers::remove))
        .route("/containers/{id}/start", post(containers::start))
        .route("/containers/{id}/stop", post(containers::stop))
        .route("/containers/{id}/restart", post(containers::restart))
        .route("/containers/{id}/kill", post(containers::kill))
        .route("/containers/{id}/pause", post(containers::pause))
        .route("/containers/{id}/unpause", post(containers::unpause))
        .route("/containers/{id}/rename", post(containers::rename))
        .route("/containers/{id}/update", post(containers::update))
        .route("/containers/{id}/wait", post(containers::wait))
        .route("/containers/{id}/attach", post(containers::attach))
        .route("/containers/{id}/resize", post(containers::resize))
        .route("/containers/{id}/logs", get(containers::logs))
        .route("/containers/{id}/top", get(containers::top))
        .route("/containers/{id}/changes", get(containers::changes))
        .route("/containers/{id}/export", get(containers::export))
        .route(
            "/containers/{id}/archive",
            get(containers::archive_get)
                .head(containers::archive_head)
                .put(containers::archive_put),
        )
        .route("/commit", post(containers::commit))
        .route("/build", post(build::build))
        .route("/build/prune", post(build::prune))
        .route("/networks", get(networks::list))
        .route("/networks/create", post(networks::create))
        .route("/networks/prune", post(networks::prune))
        .route(
            "/networks/{id}",
            get(networks::inspect).delete(networks::remove),
        )
        .route("/networks/{id}/connect", post(networks::connect))
        .route("/networks/{id}/disconnect", post(networks::disconnect))
        .route("/volumes", get(volumes::list))
        .route("/volumes/create", post(volumes::create))
        .route("/volumes/prune", post(volumes::prune))
        .route(
            "/volumes/{name}",
            get(volumes::inspect).delete(volumes::remove),
        )
        .route("/containers/{id}/stats", get(containers::stats))
        .route("/containers/{id}/exec", post(exec::create))
        .route("/exec/{id}/start", post(exec::start))
        .route("/exec/{id}/json", get(exec::inspect))
        .route("/exec/{id}/resize", post(exec::resize))
        // The distribution API, read-only: this agent's images for other agents to pull
        .route("/v2/", get(registry::base))
        .route("/v2", get(registry::base))
        .route("/v2/{*rest}", get(registry::serve))
        // Berth
        .route("/login", get(berth::session::login_link))
        .route("/berth/v1/login", post(berth::session::login))
        .route("/berth/v1/logout", post(berth::session::logout))
        .route("/berth/v1/whoami", get(berth::session::whoami))
        .route("/berth/v1/host", get(berth::host::host))
        .route("/berth/v1/layers", get(berth::layers::graph))
        .route("/berth/v1/ports", get(networks::port_usage))
        .route("/berth/v1/ports/check", get(berth::containers::check_port))
        .route(
            "/berth/v1/containers/{id}/changes",
            get(berth::containers::changes),
        )
        .route(
            "/berth/v1/tokens",
            get(berth::tokens::list).post(berth::tokens::create),
        )
        .route("/berth/v1/tokens/{id}", delete(berth::tokens::revoke))
        .route("/berth/v1/login-url", post(berth::tokens::login_url))
        .route(
            "/berth/v1/hosts",
            get(berth::hosts::list).post(berth::hosts::add),
        )
        .route("/berth/v1/hosts/{name}", delete(berth::hosts::remove))
        .route("/berth/v1/images/fetch", post(berth::image_copy::fetch))
        .route("/berth/v1/images/{*rest}", post(berth::image_copy::copy))
        .route(
            "/berth/v1/hosts/{name}/docker/{*path}",
            any(berth::hosts::proxy),
        )
        .route("/berth/v1/ws", get(ws::upgrade))
        .route("/berth/v1/containers/{id}/console", get(console::upgrade))
        .merge(dashboard)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth_layer::require_credential,
        ))
        .with_state(state)
}

/// The whole service: Docker's `/vX.Y` prefixes are stripped before routing.
pub fn service(
    engine: Arc<Engine>,
    transport: Transport,
) -> impl Service<Request, Response = axum::response::Response, Error = Infallible, Future: Send>
+ Clone
+ Send
+ 'static {
    middleware::from_fn(version_prefix::strip_version_prefix).layer(router(engine, transport))
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
}
