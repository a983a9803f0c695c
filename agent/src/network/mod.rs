//! Container networking: the netlink layer (links, addresses, routes, namespaces).
pub mod netlink;
