//! `berth serve --tls`: the certificate (a self-signed one made on first start and kept in
//! `<root>/auth/tls/`, or the operator's `--tls-cert`/`--tls-key` files), the rustls server
//! config, and a listener that hands finished TLS handshakes to axum.
//!
//! Handshakes run in their own tasks with a time limit, so a client that connects and says
//! nothing holds up no one else.

use crate::util::atomic_file::write_atomic;
use crate::util::fingerprint::Fingerprint;
use anyhow::{Context, Result, bail};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::net::SocketAddr;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// A client has this long to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Finished handshakes waiting for the HTTP server to take them.
const ACCEPT_QUEUE: usize = 64;

/// The server's certificate and key, ready to serve.
pub struct TlsMaterial {
    pub config: Arc<ServerConfig>,
    /// SHA-256 of the leaf certificate: what peers pin.
    pub fingerprint: Fingerprint,
    pub cert_path: PathBuf,
    /// True when this start made the self-signed certificate.
    pub created: bool,
}

/// Where the self-signed certificate lives.
pub fn self_signed_dir(root: &Path) -> PathBuf {
    root.join("auth").join("tls")
}

/// Loads `--tls-cert`/`--tls-key`, or the self-signed pair under `<root>/auth/tls/` (made
/// now if missing, for `names`: host names and addresses the certificate should cover).
pub fn load_or_create(
    root: &Path,
    given: Option<(&Path, &Path)>,
    names: &[String],
) -> Result<TlsMaterial> {
    let (cert_path, key_path, created) = match given {
        Some((cert, key)) => (cert.to_path_buf(), key.to_path_buf(), false),
        None => {
            let dir = self_signed_dir(root);
            let cert = dir.join("cert.pem");
            let key = dir.join("key.pem");
            let created = !cert.exists() || !key.exists();
            if created {
                create_self_signed(&dir, &cert, &key, names)?;
            }
            (cert, key, created)
        }
    };
    let chain = CertificateDer::pem_file_iter(&cert_path)
        .with_context(|| format!("read TLS certificate {}", cert_path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("parse TLS certificate {}", cert_path.display()))?;
    let Some(leaf) = chain.first() else {
        bail!("{} holds no PEM certificate", cert_path.display());
    };
    let fingerprint = Fingerprint::of_der(leaf.as_ref());
    let key = PrivateKeyDer::from_pem_file(&key_path)
        .with_context(|| format!("read TLS private key {}", key_path.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .with_context(|| {
            format!(
                "TLS certificate {} and key {} do not make a usable pair",
                cert_path.display(),
                key_path.display()
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsMaterial {
        config: Arc::new(config),
        fingerprint,
        cert_path,
        created,
    })
}

fn create_self_signed(dir: &Path, cert: &Path, key: &Path, names: &[String]) -> Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("create {}", dir.display()))?;
    let mut params = rcgen::CertificateParams::new(names.to_vec())
        .context("certificate names for the self-signed certificate")?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Berth agent (self-signed)");
    let key_pair = rcgen::KeyPair::generate().context("generate a TLS key")?;
    let made = params
        .self_signed(&key_pair)
        .context("sign the self-signed certificate")?;
    write_atomic(key, key_pair.serialize_pem().as_bytes(), 0o600)
        .with_context(|| format!("write {}", key.display()))?;
    write_atomic(cert, made.pem().as_bytes(), 0o644)
        .with_context(|| format!("write {}", cert.display()))?;
    Ok(())
}

/// The names a self-signed certificate covers: loopback, this host's name, and the
/// address the agent listens on.
pub fn certificate_names(hostname: &str, listen: SocketAddr) -> Vec<String> {
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    if !hostname.is_empty() && hostname.parse::<std::net::IpAddr>().is_err() {
        names.push(hostname.to_string());
    }
    if !listen.ip().is_unspecified() && !listen.ip().is_loopback() {
        names.push(listen.ip().to_string());
    }
    names.dedup();
    names
}

/// A TCP listener whose connections come out of their TLS handshake.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> Result<Self> {
        let local = tcp.local_addr().context("read the listening address")?;
        let (sender, ready) = mpsc::channel(ACCEPT_QUEUE);
        let acceptor = TlsAcceptor::from(config);
        tokio::spawn(accept_loop(tcp, acceptor, sender));
        Ok(TlsListener { ready, local })
    }
}

async fn accept_loop(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    sender: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    loop {
        let (stream, peer) = match tcp.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!("accepting a TLS connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if sender.is_closed() {
            return;
        }
        let _ = stream.set_nodelay(true);
        let (acceptor, sender) = (acceptor.clone(), sender.clone());
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = sender.send((tls, peer)).await;
                }
                Ok(Err(e)) => tracing::debug!("TLS handshake with {peer} failed: {e}"),
                Err(_) => tracing::debug!("TLS handshake with {peer} timed out"),
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(ready) => ready,
            // The accept loop never ends while we hold the receiver.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makes_then_keeps_a_self_signed_certificate() {
        let root = tempfile::tempdir().unwrap();
        let names = certificate_names("node-a", "127.0.0.1:7070".parse().unwrap());
        let first = load_or_create(root.path(), None, &names).unwrap();
        assert!(first.created);
        let again = load_or_create(root.path(), None, &names).unwrap();
        assert!(!again.created);
        assert_eq!(first.fingerprint, again.fingerprint, "kept across restarts");
        use std::os::unix::fs::PermissionsExt;
        let key = self_signed_dir(root.path()).join("key.pem");
        let mode = std::fs::metadata(key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_certificate_file_without_a_certificate_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("c.pem");
        let key = dir.path().join("k.pem");
        std::fs::write(&cert, "not a certificate").unwrap();
        std::fs::write(&key, "not a key").unwrap();
        let err = load_or_create(dir.path(), Some((&cert, &key)), &[])
            .err()
            .unwrap();
        assert!(format!("{err:#}").contains("c.pem"), "{err:#}");
    }

    #[test]
    fn names_cover_loopback_and_the_listen_address() {
        let names = certificate_names("node-a", "10.1.2.3:7070".parse().unwrap());
        assert!(names.contains(&"node-a".to_string()));
        assert!(names.contains(&"10.1.2.3".to_string()));
        assert!(names.contains(&"127.0.0.1".to_string()));
    }
}
