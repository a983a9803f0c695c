//! Messages on the dashboard's WebSocket, `/berth/v1/ws`.
//!
//! One socket per browser: the client subscribes to topics, the server pushes typed
//! messages. Actions stay plain HTTP calls.

use crate::auth::Role;
use crate::event::Event;
use crate::host::HostFacts;
use crate::hosts::HostStatus;
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
    }
}
