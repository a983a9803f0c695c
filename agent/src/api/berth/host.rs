use crate::api::state::AppState;
use axum::Json;
use axum::extract::State;
use shared::host::HostFacts;

/// `GET /berth/v1/host`: this host's facts.
pub async fn host(State(state): State<AppState>) -> Json<HostFacts> {
    Json(state.engine.host_facts())
}
