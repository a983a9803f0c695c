//! Docker's network routes (`docker network …`), and Berth's per-host port usage
//! (`GET /berth/v1/ports`) for the dashboard's Ports view.

use super::error::{ApiError, ApiResult};
use super::query::{Params, param, parse_bool, parse_filters};
use super::state::AppState;
use crate::network::subnet::Subnet;
use crate::network::{CreateNetwork, NetworkRecord, Networks};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// A network as `GET /networks` and `GET /networks/{id}` show it; `Containers` lists
/// the containers attached now.
fn to_docker(networks: &Networks, record: &NetworkRecord) -> Value {
    let config: Vec<Value> = match (record.subnet, record.gateway) {
        (Some(subnet), Some(gateway)) => {
            vec![json!({"Subnet": subnet.to_string(), "Gateway": gateway.to_string()})]
        }
        _ => Vec::new(),
    };
    let mut containers = Map::new();
    for (id, live) in networks.live_endpoints(&record.id) {
        let e = &live.endpoint;
        containers.insert(
            id,
            json!({
                "Name": live.container_name,
                "EndpointID": e.endpoint_id,
                "MacAddress": e.mac,
                "IPv4Address": format!("{}/{}", e.address, e.prefix_len),
                "IPv6Address": "",
            }),
        );
    }
    let mut options: Map<String, Value> = record
        .options
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    if let Some(bridge) = &record.bridge {
        options
            .entry("com.docker.network.bridge.name")
            .or_insert(json!(bridge));
    }
    json!({
        "Name": record.name,
        "Id": record.id,
        "Created": record.created,
        "Scope": "local",
        "Driver": record.driver,
        "EnableIPv4": true,
        "EnableIPv6": false,
        "IPAM": {"Driver": "default", "Options": null, "Config": config},
        "Internal": record.internal,
        "Attachable": record.attachable,
        "Ingress": false,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": false,
        "Containers": containers,
        "Options": options,
        "Labels": record.labels,
    })
}

/// `GET /networks?filters=` (name, id, driver, label, type=custom|builtin, dangling).
pub async fn list(State(state): State<AppState>, q: Params) -> ApiResult<Json<Value>> {
    let filters = parse_filters(param(&q, "filters"))?;
    let networks = &state.engine.networks;
    let in_use = state.engine.containers.networks_in_use();
    let list: Vec<Value> = networks
        .list()
        .into_iter()
        .filter(|n| {
            filters.iter().all(|(key, values)| {
                values.iter().any(|value| match key.as_str() {
                    "name" => n.name.contains(value.as_str()),
                    "id" => n.id.starts_with(value.as_str()),
                    "driver" => &n.driver == value,
                    "type" => (value == "builtin") == n.builtin,
                    "dangling" => {
                        let used = n.builtin || in_use.contains(&n.id) || in_use.contains(&n.name);
                        parse_bool(Some(value)) != used
                    }
                    "label" => match value.split_once('=') {
                        Some((k, want)) => n.labels.get(k).is_some_and(|x| x == want),
                        None => n.labels.contains_key(value),
                    },
                    _ => true,
                })
            })
        })
        .map(|n| to_docker(networks, &n))
        .collect();
    Ok(Json(Value::Array(list)))
}

/// `GET /networks/{id}`.
pub async fn inspect(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let networks = &state.engine.networks;
    let record = networks.find(&id)?;
    Ok(Json(to_docker(networks, &record)))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CreateBody {
    name: String,
    driver: String,
    internal: bool,
    attachable: bool,
    #[serde(rename = "EnableIPv6")]
    enable_ipv6: Option<bool>,
    #[serde(rename = "IPAM")]
    ipam: Option<IpamBody>,
    labels: Option<BTreeMap<String, String>>,
    options: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct IpamBody {
    driver: String,
    config: Option<Vec<IpamConfig>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct IpamConfig {
    subnet: String,
    gateway: String,
    #[serde(rename = "IPRange")]
    ip_range: String,
}

fn parse_create(body: &[u8]) -> Result<CreateNetwork, ApiError> {
    let body: CreateBody = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid network create body: {e}")))?;
    if body.enable_ipv6 == Some(true) {
        return Err(ApiError::bad_request(
            "IPv6 networks are not supported by Berth yet",
        ));
    }
    let mut subnet = None;
    let mut gateway = None;
    if let Some(ipam) = body.ipam {
        if !ipam.driver.is_empty() && ipam.driver != "default" {
            return Err(ApiError::bad_request(format!(
                "IPAM driver {:?} is not supported: Berth has the default one",
                ipam.driver
            )));
        }
        let configs = ipam.config.unwrap_or_default();
        if configs.len() > 1 {
            return Err(ApiError::bad_request(
                "one IPv4 subnet per network is supported",
            ));
        }
        if let Some(c) = configs.into_iter().next() {
            if !c.ip_range.is_empty() {
                return Err(ApiError::bad_request("--ip-range is not supported yet"));
            }
            if !c.subnet.is_empty() {
                subnet = Some(c.subnet.parse::<Subnet>().map_err(ApiError::bad_request)?);
            }
            if !c.gateway.is_empty() {
                gateway = Some(c.gateway.parse::<Ipv4Addr>().map_err(|_| {
                    ApiError::bad_request(format!("invalid gateway {:?}", c.gateway))
                })?);
            }
        }
    }
    Ok(CreateNetwork {
        name: body.name,
        driver: body.driver,
        internal: body.internal,
        attachable: body.attachable,
        subnet,
        gateway,
        labels: body.labels.unwrap_or_default(),
        options: body.options.unwrap_or_default(),
    })
}

/// `POST /networks/create` → 201 `{"Id","Warning"}`.
pub async fn create(State(state): State<AppState>, body: Bytes) -> ApiResult<Response> {
    let request = parse_create(&body)?;
    let networks = state.engine.networks.clone();
    let record = blocking(move || networks.create(request)).await??;
    Ok((
        StatusCode::CREATED,
        Json(json!({"Id": record.id, "Warning": ""})),
    )
        .into_response())
}

/// `DELETE /networks/{id}`.
pub async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let networks = state.engine.networks.clone();
    blocking(move || networks.remove(&id)).await??;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /networks/prune`: user-defined networks no container refers to.
pub async fn prune(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let in_use = state.engine.containers.networks_in_use();
    let networks = state.engine.networks.clone();
    let deleted = blocking(move || networks.prune(&in_use)).await?;
    Ok(Json(json!({
        "NetworksDeleted": if deleted.is_empty() { Value::Null } else { json!(deleted) }
    })))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct ConnectBody {
    container: String,
    endpoint_config: Option<Value>,
    force: bool,
}

fn parse_connect(body: &[u8]) -> Result<ConnectBody, ApiError> {
    let body: ConnectBody = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))?;
    if body.container.is_empty() {
        return Err(ApiError::bad_request("a container is required"));
    }
    Ok(body)
}

/// `POST /networks/{id}/connect`.
pub async fn connect(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let body = parse_connect(&body)?;
    let endpoint = body
        .endpoint_config
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    state
        .engine
        .containers
        .connect_network(&id, &body.container, endpoint)
        .await?;
    Ok(StatusCode::OK)
}

/// `POST /networks/{id}/disconnect`.
pub async fn disconnect(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let body = parse_connect(&body)?;
    let _ = body.force;
    state
        .engine
        .containers
        .disconnect_network(&id, &body.container)
        .await?;
    Ok(StatusCode::OK)
}

/// `GET /berth/v1/ports`: every published port on this host, served or asked for by a
/// container that is not running, and the host ports claimed twice.
pub async fn port_usage(State(state): State<AppState>) -> Json<shared::ports::PortUsage> {
    Json(state.engine.containers.port_usage())
}

/// Netlink calls block: off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(format!("network operation: {e}")))
}
