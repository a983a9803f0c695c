//! Messages on the dashboard's WebSocket, `/berth/v1/ws`.
//!
//! One socket per browser: the client subscribes to topics, the server pushes typed
//! messages. Actions stay plain HTTP calls.

use crate::auth::Role;
use crate::event::Event;
use crate::host::HostFacts;
use crate::hosts::HostStatus;
use crate::live::{LogLine, StatsSample, Usage};
use serde::{Deserialize, Serialize};

/// What a client can subscribe to.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    /// Every engine event.
    Events,
    /// This host's facts, pushed every few seconds and after each event.
    Host,
    /// Every host (this one first, then its peers) with its state and facts, pushed every
    /// few seconds and when a peer comes or goes.
    Hosts,
    /// A container's log: its last lines at once, then each new line as it is written
    /// (across restarts, until unsubscribed). `container`: an ID, ID prefix or name.
    Logs { container: String },
    /// A container's usage, about every second while it runs.
    Stats { container: String },
    /// CPU and memory of every running container, every 2 seconds.
    Usage,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    Subscribe { topic: Topic },
    Unsubscribe { topic: Topic },
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// First message on every socket.
    Hello {
        host: String,
        role: Role,
    },
    Subscribed {
        topic: Topic,
    },
    Unsubscribed {
        topic: Topic,
    },
    Event {
        event: Event,
    },
    Host {
        facts: HostFacts,
    },
    Hosts {
        hosts: Vec<HostStatus>,
    },
    /// Lines of a container's log (topic `logs`); `container` as subscribed.
    Logs {
        container: String,
        lines: Vec<LogLine>,
    },
    /// One usage sample of a container (topic `stats`); `container` as subscribed.
    Stats {
        container: String,
        sample: StatsSample,
    },
    /// Every running container's CPU and memory (topic `usage`).
    Usage {
        containers: Vec<Usage>,
    },
    /// The client sent something the server could not take.
    Error {
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages_have_a_stable_wire_form() {
        let m: ClientMessage =
            serde_json::from_str(r#"{"type":"subscribe","topic":"events"}"#).unwrap();
        assert_eq!(
            m,
            ClientMessage::Subscribe {
                topic: Topic::Events
            }
        );
        assert!(serde_json::from_str::<ClientMessage>(r#"{"type":"explode"}"#).is_err());
        let logs: ClientMessage =
            serde_json::from_str(r#"{"type":"subscribe","topic":{"logs":{"container":"web"}}}"#)
                .unwrap();
        assert_eq!(
            logs,
            ClientMessage::Subscribe {
                topic: Topic::Logs {
                    container: "web".into()
                }
            }
        );
        let usage: ClientMessage =
            serde_json::from_str(r#"{"type":"unsubscribe","topic":"usage"}"#).unwrap();
        assert_eq!(
            usage,
            ClientMessage::Unsubscribe {
                topic: Topic::Usage
            }
        );
    }
}
