//! Whom a TLS connection to a peer trusts: the one certificate whose SHA-256 was pinned when
//! the peer was added (as SSH pins a host key; the name in the certificate then does not
//! matter), or a CA the admin gave. Plain http carries no TLS (loopback only).
//!
//! The pinned verifier still checks the handshake signatures with the pinned certificate's
//! key, so only the holder of that certificate's private key passes.

use super::error::PeerError;
use crate::util::fingerprint::Fingerprint;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::{Arc, Mutex};

/// What a connection to one peer trusts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trust {
    /// Plain http (loopback peers only).
    Plain,
    Pinned(Fingerprint),
    /// A CA certificate (PEM) that must sign the peer's certificate for its host name.
    Ca(String),
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn builder() -> rustls::ConfigBuilder<ClientConfig, rustls::WantsVerifier> {
    // The ring provider supports the safe default versions: this cannot fail.
    ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|_| unreachable!("ring supports TLS 1.2 and 1.3"))
}

/// The rustls configuration for `trust` (for `Plain`, one that trusts nothing: it is never
/// used for a handshake). ALPN is left to the connector, which asks for HTTP/1.1.
pub fn client_config(trust: &Trust, refusal: &Refusal) -> Result<ClientConfig, PeerError> {
    let config = match trust {
        Trust::Plain => builder()
            .with_root_certificates(RootCertStore::empty())
            .with_no_client_auth(),
        Trust::Pinned(pin) => builder()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedVerifier::new(*pin, refusal.clone())))
            .with_no_client_auth(),
        Trust::Ca(pem) => {
            let mut roots = RootCertStore::empty();
            let mut found = 0;
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let cert = cert.map_err(|e| PeerError::BadCa(e.to_string()))?;
                roots
                    .add(cert)
                    .map_err(|e| PeerError::BadCa(e.to_string()))?;
                found += 1;
            }
            if found == 0 {
                return Err(PeerError::BadCa("no PEM certificate in it".into()));
            }
            builder()
                .with_root_certificates(roots)
                .with_no_client_auth()
        }
    };
    Ok(config)
}

/// Where a pinned verifier leaves the reason it last refused a certificate, for the error
/// the caller sees.
#[derive(Clone, Debug, Default)]
pub struct Refusal(Arc<Mutex<Option<String>>>);

impl Refusal {
    fn set(&self, why: String) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
    }

    /// The last reason, once.
    pub fn take(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// Accepts exactly one certificate, by its SHA-256.
#[derive(Debug)]
struct PinnedVerifier {
    pin: Fingerprint,
    algorithms: WebPkiSupportedAlgorithms,
    refusal: Refusal,
}

impl PinnedVerifier {
    fn new(pin: Fingerprint, refusal: Refusal) -> Self {
        PinnedVerifier {
            pin,
            algorithms: provider().signature_verification_algorithms,
            refusal,
        }
    }
}

/// Why a pinned peer's certificate was refused.
#[derive(Debug)]
pub struct PinMismatch {
    pub pinned: Fingerprint,
    pub presented: Fingerprint,
}

impl std::fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the peer presented a certificate with SHA-256 fingerprint {}, not the pinned {}: \
             refusing it (if the peer's certificate really changed, remove the host and add it again)",
            self.presented, self.pinned
        )
    }
}

impl std::error::Error for PinMismatch {}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let presented = Fingerprint::of_der(end_entity.as_ref());
        if presented == self.pin {
            Ok(ServerCertVerified::assertion())
        } else {
            let mismatch = PinMismatch {
                pinned: self.pin,
                presented,
            };
            self.refusal.set(mismatch.to_string());
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Other(rustls::OtherError(Arc::new(mismatch))),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Records the certificate a server presents and refuses it: the first contact with an
/// https peer, where nothing may be sent before the admin confirms the fingerprint.
#[derive(Debug)]
struct Capture {
    seen: Mutex<Option<Fingerprint>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Capture {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(Fingerprint::of_der(end_entity.as_ref()));
        Err(rustls::Error::General(
            "certificate captured for confirmation".into(),
        ))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Opens a TLS handshake to `host:port` only to read the certificate presented; sends no
/// request and no credential.
pub async fn presented_fingerprint(
    host: &str,
    port: u16,
    timeout: std::time::Duration,
) -> Result<Fingerprint, PeerError> {
    let capture = Arc::new(Capture {
        seen: Mutex::new(None),
        algorithms: provider().signature_verification_algorithms,
    });
    let config = builder()
        .dangerous()
        .with_custom_certificate_verifier(capture.clone())
        .with_no_client_auth();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let server_name = ServerName::try_from(bare.to_string())
        .map_err(|e| PeerError::BadInput(format!("host {host:?}: {e}")))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let attempt = async {
        let tcp = tokio::net::TcpStream::connect((bare, port))
            .await
            .map_err(|e| PeerError::Unreachable(format!("connect to {host}:{port}: {e}")))?;
        // Refused by our own verifier once the certificate is recorded.
        let _ = connector.connect(server_name, tcp).await;
        Ok::<(), PeerError>(())
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .map_err(|_| PeerError::Unreachable(format!("{host}:{port}: no TLS answer in time")))??;
    let seen = *capture.seen.lock().unwrap_or_else(|p| p.into_inner());
    seen.ok_or_else(|| {
        PeerError::Unreachable(format!(
            "{host}:{port} presented no certificate (is it serving TLS? try http:// on loopback)"
        ))
    })
}
