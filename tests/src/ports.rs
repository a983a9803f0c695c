//! Free loopback ports for test servers.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::{Mutex, OnceLock};

use anyhow::{Context, Result};

/// Ports already handed out by this process: the kernel may give a just-released port again,
/// and two servers of the same test binary must never be told the same one.
fn handed_out() -> &'static Mutex<HashSet<u16>> {
    static PORTS: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    PORTS.get_or_init(|| Mutex::new(HashSet::new()))
}

/// Returns a TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read the port,
/// drop the listener) and that this process has not handed out before.
pub fn free_loopback_port() -> Result<u16> {
    for _ in 0..64 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .context("binding 127.0.0.1:0 to find a free port")?;
        let port = listener.local_addr()?.port();
        drop(listener);
        let mut used = handed_out()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if used.insert(port) {
            return Ok(port);
        }
    }
    anyhow::bail!("no fresh loopback port found after 64 tries")
}

/// Like [`free_loopback_port`], as a full socket address.
pub fn free_loopback_addr() -> Result<SocketAddr> {
    Ok(SocketAddr::from((
        Ipv4Addr::LOCALHOST,
        free_loopback_port()?,
    )))
}
