use crate::auth::AuthError;
use crate::util::fingerprint::Fingerprint;

#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("peers file: {0}")]
    Storage(#[from] AuthError),
    #[error("{0}")]
    BadInput(String),
    #[error("a host named {0:?} already exists")]
    NameTaken(String),
    #[error("no host named {0:?}")]
    NoSuchPeer(String),
    #[error(
        "refusing to send a token to {0} over plain http: only loopback peers may use http; \
         serve the peer with `berth serve --tls` and add it as https://"
    )]
    PlainHttp(String),
    /// First contact over https: the admin must confirm the presented certificate.
    #[error(
        "{url} presented a certificate with SHA-256 fingerprint {fingerprint}; compare it with \
         the fingerprint the peer printed at start, then add the peer again with this \
         fingerprint (or trust a CA instead)"
    )]
    ConfirmFingerprint {
        url: String,
        fingerprint: Fingerprint,
    },
    #[error("bad CA certificate: {0}")]
    BadCa(String),
    /// The peer could not be reached, or its TLS identity was refused.
    #[error("{0}")]
    Unreachable(String),
    /// The peer answered with an error status.
    #[error("the peer answered {status}: {message}")]
    Refused { status: u16, message: String },
}
