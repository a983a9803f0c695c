//! Container networking: the pre-defined and user-defined networks (Linux bridges made over
//! netlink), their persisted address leases, each container's namespace and veths, and the
//! port proxy that serves published ports without iptables.

mod error;
pub mod netlink;
mod port_check;
pub mod port_conflicts;
pub mod ports;
pub mod proxy;
mod record;
pub mod sandbox;
mod service;
pub mod subnet;

pub use error::NetworkError;
pub use record::NetworkRecord;
pub use sandbox::Sandbox;
pub use service::{AttachRequest, CreateNetwork, EndpointRequest, NetworkOptions, Networks};
