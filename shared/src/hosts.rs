//! Hosts: this agent and its peers, as `GET /berth/v1/hosts` lists them.

use crate::host::HostFacts;
use serde::{Deserialize, Serialize};

/// Whether a host answers.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum HostState {
    /// Added, not yet heard from.
    Connecting,
    /// Answers, and its events arrive.
    Up,
    /// Does not answer (see `error`); retried by itself.
    Unreachable,
}

impl HostState {
    pub fn as_str(self) -> &'static str {
        match self {
            HostState::Connecting => "connecting",
            HostState::Up => "up",
            HostState::Unreachable => "unreachable",
        }
    }
}

/// One host of `GET /berth/v1/hosts`: the local one first, then each peer.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct HostStatus {
    /// The peer's name as added (`b`), or this host's name.
    pub name: String,
    /// True for the agent answering.
    pub local: bool,
    /// Where the host is reached (`https://10.0.0.2:7070`).
    pub url: String,
    pub state: HostState,
    /// Unix seconds when `state` began.
    pub since: i64,
    /// Why it is unreachable (the last error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// SHA-256 of the TLS certificate: pinned for a peer, served for the local host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// The host's facts (version, counts, CPU, memory, disk), the latest known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facts: Option<HostFacts>,
}

/// `POST /berth/v1/hosts`: add a peer.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct AddHostRequest {
    /// Lowercase letters, digits, `-`, `_` and `.`; 1–63 characters.
    pub name: String,
    /// `https://host:port`, or `http://` on loopback only.
    pub url: String,
    /// A Berth token of the peer; its role there limits what this host can do there.
    pub token: String,
    /// The SHA-256 fingerprint of the peer's certificate, once confirmed (`AB:CD:…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// A CA certificate (PEM) to trust for the peer instead of pinning its certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
}

/// The answer `409` of `POST /berth/v1/hosts` over https without a fingerprint or CA: the
/// certificate the peer presented, for the admin to confirm (send it back as `fingerprint`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ConfirmFingerprint {
    pub message: String,
    pub fingerprint: String,
}

/// `POST /berth/v1/images/fetch` (what `POST /berth/v1/images/{name}/copy?to=…` asks the
/// target host to do): pull one image from another agent's `/v2/`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FetchImageRequest {
    /// Where the source agent is reached: `https://host:port` (or `http://` on loopback).
    pub source: String,
    /// SHA-256 of the source's TLS certificate; required for an https source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// A pull grant of the source (it reads this one image and nothing else).
    pub token: String,
    /// The repository the source serves the image under.
    pub repository: String,
    /// The digest of the manifest to pull.
    pub digest: String,
    /// The name to record the image under (`docker.io/library/busybox:latest`); none
    /// leaves it untagged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}
