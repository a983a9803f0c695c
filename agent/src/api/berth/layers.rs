use crate::api::error::ApiResult;
use crate::api::state::AppState;
use axum::Json;
use axum::extract::State;
use shared::layers::{ContainerRef, LayerGraph};

/// `GET /berth/v1/layers`: every layer, the images containing it, the containers on it, and
/// each image's history tied to its layers.
pub async fn graph(State(state): State<AppState>) -> ApiResult<Json<LayerGraph>> {
    let mut graph = state.engine.images.layer_graph()?;
    graph.containers = state
        .engine
        .containers
        .all()
        .iter()
        .map(|c| {
            let r = c.snapshot();
            ContainerRef {
                name: r.name,
                image: r.image_id,
                state: r.state.status.as_str().to_string(),
                id: r.id,
            }
        })
        .collect();
    graph.containers.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Json(graph))
}
