//! Engine events, in the shape of Docker's `/events` stream.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The object an event is about, as Docker names it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct Actor {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Attributes", default)]
    pub attributes: BTreeMap<String, String>,
}

/// One state change. Serialises exactly as a Docker event (`Type`, `Action`, `Actor`,
/// `scope`, `time`, `timeNano`), plus `Host` naming the agent it happened on.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Event {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "Action")]
    pub action: String,
    #[serde(rename = "Actor")]
    pub actor: Actor,
    pub scope: String,
    /// Unix seconds.
    pub time: i64,
    #[serde(rename = "timeNano")]
    pub time_nano: i64,
    /// The host this happened on (Berth extension; Docker clients ignore it).
    #[serde(rename = "Host", default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

impl Event {
    /// An event stamped with the given time in nanoseconds since the epoch.
    pub fn at(time_nano: i64, kind: &str, action: &str, actor: Actor) -> Self {
        Event {
            kind: kind.to_string(),
            action: action.to_string(),
            actor,
            scope: "local".to_string(),
            time: time_nano.div_euclid(1_000_000_000),
            time_nano,
            host: None,
        }
    }
}
