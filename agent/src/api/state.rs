use crate::engine::Engine;
use std::sync::Arc;

/// Which listener a request came in on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// `/run/berth/berth.sock`: root-only, no token (like docker.sock).
    UnixSocket,
    /// HTTP on `--listen`: every request needs a credential.
    Tcp,
}

#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    pub transport: Transport,
}
