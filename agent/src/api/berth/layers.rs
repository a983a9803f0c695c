use crate::api::error::ApiResult;
use crate::api::state::AppState;
use axum::Json;
use axum::extract::State;
use shared::layers::LayerGraph;

/// `GET /berth/v1/layers`: every layer, the images containing it, the containers on it.
pub async fn graph(State(state): State<AppState>) -> ApiResult<Json<LayerGraph>> {
    Ok(Json(state.engine.images.layer_graph()?))
}
