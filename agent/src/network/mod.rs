//! Container networking on the host: the userland port proxy behind `-p host:container`.

pub mod proxy;
