//! TCP forwarding: the accept loop, and per client one task that connects to the target
//! and relays both ways ([`super::relay`]).

use super::relay;
use super::slot::{Closable, Slot};
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::{AbortHandle, JoinSet};

/// How long a client waits for the container to accept before its connection is closed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A pause after accept fails for want of resources (descriptors, memory): the pending
/// connection stays queued, and retrying at once would spin.
const RESOURCE_BACKOFF: Duration = Duration::from_millis(100);

/// Registers `listener` with the current runtime and spawns its accept loop. Returns the
/// closable socket and the loop's handle; aborting the loop ends every connection.
pub fn serve(
    listener: std::net::TcpListener,
    target: SocketAddr,
) -> io::Result<(Arc<dyn Closable>, AbortHandle)> {
    let listener = Arc::new(Slot::new(TcpListener::from_std(listener)?));
    let task = tokio::spawn(accept_loop(listener.clone(), target));
    Ok((listener, task.abort_handle()))
}

async fn accept_loop(listener: Arc<Slot<TcpListener>>, target: SocketAddr) {
    // Dropping the set (when this task is aborted) aborts every connection task.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            // Reaps finished connections as they end, so the set holds only live ones.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = accept(&listener) => match accepted {
                None => return,
                Some(Ok((client, peer))) => {
                    connections.spawn(forward(client, peer, target));
                }
                Some(Err(error)) => {
                    tracing::warn!(%target, %error, "port proxy: accept failed");
                    if resource_shortage(&error) {
                        tokio::time::sleep(RESOURCE_BACKOFF).await;
                    }
                }
            },
        }
    }
}

/// The next client, or `None` once the forward is closed.
async fn accept(listener: &Slot<TcpListener>) -> Option<io::Result<(TcpStream, SocketAddr)>> {
    poll_fn(|cx| match listener.with(|l| l.poll_accept(cx)) {
        None => Poll::Ready(None),
        Some(accepted) => accepted.map(Some),
    })
    .await
}

/// A connection to the container. Small writes (interactive protocols, request/response)
/// must not wait on Nagle at the hop the client does not know about: TCP_NODELAY here, and
/// on the client's side through the listener ([`super::bind`]).
async fn connect(target: SocketAddr) -> io::Result<TcpStream> {
    let socket = match target {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_nodelay(true)?;
    socket.connect(target).await
}

fn resource_shortage(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Serves one client: connects to the target (closing the client if that fails) and
/// relays until both sides are done.
async fn forward(client: TcpStream, peer: SocketAddr, target: SocketAddr) {
    let server = match tokio::time::timeout(CONNECT_TIMEOUT, connect(target)).await {
        Ok(Ok(server)) => server,
        Ok(Err(error)) => {
            tracing::debug!(%peer, %target, %error, "port proxy: cannot reach the container");
            return;
        }
        Err(_) => {
            tracing::debug!(%peer, %target, "port proxy: connecting to the container timed out");
            return;
        }
    };
    match relay::relay(client, server).await {
        Ok(moved) => {
            tracing::trace!(%peer, %target, ?moved, "port proxy: connection done");
        }
        Err(error) => {
            tracing::debug!(%peer, %target, %error, "port proxy: connection ended");
        }
    }
}
