//! Adding a peer: the name, URL and token are checked, the peer's TLS identity is settled
//! (the fingerprint it presents is returned for confirmation at first contact, like SSH's
//! first connection; a given fingerprint or CA must match), and the token must work there.
//! Shared by `POST /berth/v1/hosts` and `berth hosts add`.

use super::client::PeerClient;
use super::error::PeerError;
use super::registry::{self, PeerRecord};
use super::trust;
use crate::util::fingerprint::Fingerprint;
use shared::auth::WhoAmI;
use shared::host::HostFacts;
use shared::hosts::AddHostRequest;
use std::time::Duration;

/// How long first contact may take.
const CONTACT_TIMEOUT: Duration = Duration::from_secs(5);

/// What a successful admission knows of the peer.
pub struct Admitted {
    pub record: PeerRecord,
    /// The role of the peer's token there.
    pub role: shared::auth::Role,
    pub facts: HostFacts,
}

/// Checks `request` and contacts the peer; nothing is stored.
pub async fn admit(request: &AddHostRequest, local_name: &str) -> Result<Admitted, PeerError> {
    let name = request.name.trim();
    registry::check_name(name)?;
    if name == local_name {
        return Err(PeerError::BadInput(format!(
            "{name:?} is this host's own name; give the peer another"
        )));
    }
    let token = request.token.trim();
    registry::check_token(token)?;
    let url = registry::normalize_url(&request.url)?;
    let fingerprint = request
        .fingerprint
        .as_deref()
        .filter(|f| !f.trim().is_empty())
        .map(Fingerprint::parse)
        .transpose()
        .map_err(PeerError::BadInput)?;
    let ca = request.ca.clone().filter(|c| !c.trim().is_empty());
    if let Some(ca) = &ca {
        registry::check_ca(ca)?;
    }
    let https = url.starts_with("https://");
    if !https && (fingerprint.is_some() || ca.is_some()) {
        return Err(PeerError::BadInput(
            "a fingerprint or CA only applies to an https:// peer".into(),
        ));
    }
    if https && fingerprint.is_none() && ca.is_none() {
        let (host, port) = host_port(&url)?;
        let presented = trust::presented_fingerprint(&host, port, CONTACT_TIMEOUT).await?;
        return Err(PeerError::ConfirmFingerprint {
            url,
            fingerprint: presented,
        });
    }
    let record = registry::record(name, &url, token, fingerprint, ca);
    // Checks the CA's PEM too.
    trust::client_config(
        &super::client::trust_of(&record),
        &trust::Refusal::default(),
    )?;
    let client = PeerClient::new(&record)?;
    let who: WhoAmI = client
        .get_json("/berth/v1/whoami", CONTACT_TIMEOUT)
        .await
        .map_err(|e| match e {
            PeerError::Refused {
                status: 401,
                message,
            } => PeerError::BadInput(format!("the peer refused the token: {message}")),
            other => other,
        })?;
    let facts: HostFacts = client.get_json("/berth/v1/host", CONTACT_TIMEOUT).await?;
    Ok(Admitted {
        record,
        role: who.role,
        facts,
    })
}

/// `scheme://host:port` → (`host` without brackets, port).
fn host_port(url: &str) -> Result<(String, u16), PeerError> {
    let parsed = url::Url::parse(url).map_err(|e| PeerError::BadInput(format!("{url}: {e}")))?;
    let host = match parsed.host() {
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        Some(h) => h.to_string(),
        None => return Err(PeerError::BadInput(format!("{url}: no host"))),
    };
    let port = parsed
        .port_or_known_default()
        .ok_or_else(|| PeerError::BadInput(format!("{url}: no port")))?;
    Ok((host, port))
}
