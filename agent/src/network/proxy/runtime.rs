//! The proxy's own thread: a single-threaded tokio runtime that runs every forward's
//! accept loop, connection and UDP session, apart from the agent's API runtime.
//!
//! A proxied connection is mostly short system calls separated by waits; on the API's
//! multi-threaded runtime its task woke whichever worker was free and the workers woke one
//! another (3.3 context switches per proxied HTTP request, against 1.8 for haproxy). One
//! thread that sleeps in `epoll_wait` wakes once per batch of events, and a busy API (a
//! pull, a build) cannot delay a forward. One thread splices gigabytes per second and
//! relays tens of thousands of short connections per second.

use std::sync::OnceLock;
use tokio::runtime::Handle;

static PROXY: OnceLock<Option<Handle>> = OnceLock::new();

/// The proxy runtime's handle, started at the first call; `None` if its thread could not
/// be started (logged), and then forwards run on the caller's runtime.
pub fn handle() -> Option<&'static Handle> {
    PROXY.get_or_init(start).as_ref()
}

fn start() -> Option<Handle> {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "port proxy: cannot build its runtime; it shares the API's");
            return None;
        }
    };
    let handle = runtime.handle().clone();
    // The thread lives as long as the process: forwards come and go, the runtime stays.
    let spawned = std::thread::Builder::new()
        .name("berth-proxy".into())
        .spawn(move || runtime.block_on(std::future::pending::<()>()));
    match spawned {
        Ok(_) => Some(handle),
        Err(error) => {
            tracing::error!(%error, "port proxy: cannot start its thread; it shares the API's runtime");
            None
        }
    }
}
