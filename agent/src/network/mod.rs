//! Container networking: the netlink layer (links, addresses, routes, namespaces) and the
//! userland port proxy.
pub mod netlink;
pub mod proxy;
