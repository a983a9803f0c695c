//! Netlink for container networking: bridges, veth pairs, addresses and routes inside
//! network namespaces, and the namespaces themselves. No `ip` subprocess: typed rtnetlink
//! messages over a netlink socket.
//!
//! The API is synchronous, for `tokio::task::spawn_blocking`. Each call runs rtnetlink on a
//! private current-thread runtime of its own (never inside the caller's runtime), so it must
//! not be called from an async task directly. Work inside a namespace goes through a netlink
//! socket that a short-lived helper thread opened there (see `netns.rs`); the calling thread
//! never changes namespace.
//!
//! Round trips per call are few: `add_veth` is one bridge lookup, one `RTM_NEWLINK` that
//! makes the pair with the host end enslaved and up and the peer already named, with its MAC,
//! in the namespace (meanwhile a helper thread opens the namespace's socket); then inside the
//! namespace a lookup, up, the address and the route. Measured on a 2-core VM, kernel 6.18:
//! `create_netns` + `add_veth` about 5 ms, nearly all of it kernel work; `delete_link` of a
//! veth about 20 ms, the kernel's RCU waits when it unregisters a device (`ip link del` takes
//! the same).

mod netns;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd};
use std::path::{Path, PathBuf};

use futures_util::TryStreamExt;
use netlink_packet_route::AddressFamily;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteHeader, RouteMessage};
use rtnetlink::sys::{Socket, TokioSocket};
use rtnetlink::{Handle, LinkBridge, LinkUnspec, LinkVeth, RouteMessageBuilder};

/// Longest interface name the kernel takes (IFNAMSIZ less the NUL).
pub const IFNAME_MAX: usize = 15;

/// A netlink-layer failure, with what was being done to which link, namespace or address.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    /// A name the kernel would refuse: empty, longer than IFNAMSIZ, `.`/`..`, or with `/`,
    /// `:`, NUL or whitespace in it.
    #[error("invalid interface name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },
    /// An argument out of range (prefix length, MAC address).
    #[error("invalid {what}: {value}")]
    InvalidArgument { what: &'static str, value: String },
    #[error("bridge {0:?} does not exist")]
    NoSuchBridge(String),
    #[error("link {name:?} exists but is not a bridge (kind {kind})")]
    NotABridge { name: String, kind: String },
    #[error("network namespace {0:?} already exists")]
    NetnsExists(PathBuf),
    #[error("{0:?} is not a network namespace")]
    NotANetns(PathBuf),
    /// A syscall on a namespace file or in a helper thread failed.
    #[error("network namespace {path:?}: {op}: {source}")]
    Netns {
        path: PathBuf,
        op: &'static str,
        source: io::Error,
    },
    /// The helper thread for a namespace panicked.
    #[error("network namespace {0:?}: helper thread panicked")]
    HelperPanicked(PathBuf),
    /// A netlink request the kernel refused, or the socket failed; `source` is the OS error.
    #[error("{op}: {source}")]
    Request { op: String, source: io::Error },
}

impl NetlinkError {
    /// The OS error number behind this error, if there is one.
    #[cfg(test)]
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Self::Netns { source, .. } | Self::Request { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

/// What [`add_veth`] makes: a veth pair from a host bridge into a namespace.
pub struct VethSpec<'a> {
    /// Existing host bridge to enslave the host end to.
    pub bridge: &'a str,
    /// Host-side name, e.g. "veth1a2b3c4" (at most 15 bytes).
    pub host_name: &'a str,
    /// A namespace file made by [`create_netns`].
    pub netns: &'a Path,
    /// Name inside the namespace: "eth0", "eth1", ...
    pub ifname: &'a str,
    pub address: Ipv4Addr,
    pub prefix_len: u8,
    /// `Some`: a default route via it inside the namespace.
    pub gateway: Option<Ipv4Addr>,
    /// The container-side MAC.
    pub mac: [u8; 6],
}

/// A new network namespace kept alive by a bind mount at `path` (like `ip netns add`: the
/// parent dir is made a shared bind mount of itself once so unmounts propagate; the file is
/// created; a helper thread unshare(CLONE_NEWNET)s and bind-mounts /proc/thread-self/ns/net).
/// Loopback is brought up inside. Fails if `path` already holds a namespace.
pub fn create_netns(path: &Path) -> Result<(), NetlinkError> {
    let socket = netns::create(path)?;
    let up = block_on(async {
        let h = connect_socket(socket);
        // A new namespace's loopback is always ifindex 1 (LOOPBACK_IFINDEX).
        let lo = LinkUnspec::new_with_index(1).up().build();
        h.link()
            .set(lo)
            .execute()
            .await
            .map_err(request(|| format!("set lo up in {}", path.display())))
    });
    if up.is_err() {
        let _ = netns::remove(path);
    }
    up
}

/// Unmounts (MNT_DETACH) and unlinks; Ok if already gone.
pub fn remove_netns(path: &Path) -> Result<(), NetlinkError> {
    netns::remove(path)
}

/// Creates the bridge if missing, assigns gateway/prefix_len if not yet assigned, sets it up.
/// Idempotent (an agent restart calls it again).
pub fn ensure_bridge(name: &str, gateway: Ipv4Addr, prefix_len: u8) -> Result<(), NetlinkError> {
    check_ifname(name)?;
    check_prefix(prefix_len)?;
    block_on(async {
        let h = connect()?;
        let link = match get_link(&h, name).await? {
            Some(link) => link,
            None => {
                // A set (not random) MAC keeps the bridge's address from following its
                // lowest-numbered port as containers come and go.
                let create = LinkBridge::new(name)
                    .address(random_mac()?.to_vec())
                    .build();
                match h.link().add(create).execute().await {
                    Ok(()) => {}
                    // Made meanwhile by someone else: fine, it is checked below.
                    Err(e) if errno(&e) == Some(libc::EEXIST) => {}
                    Err(e) => return Err(request(|| format!("create bridge {name}"))(e)),
                }
                get_link(&h, name)
                    .await?
                    .ok_or_else(|| NetlinkError::NoSuchBridge(name.to_string()))?
            }
        };
        let kind = link_kind(&link);
        if kind != Some(&InfoKind::Bridge) {
            return Err(NetlinkError::NotABridge {
                name: name.to_string(),
                kind: kind.map_or_else(|| "none".to_string(), |k| k.to_string()),
            });
        }
        let index = link.header.index;
        match h
            .address()
            .add(index, IpAddr::V4(gateway), prefix_len)
            .execute()
            .await
        {
            Ok(()) => {}
            Err(e) if errno(&e) == Some(libc::EEXIST) => {}
            Err(e) => {
                return Err(request(|| {
                    format!("add address {gateway}/{prefix_len} to bridge {name}")
                })(e));
            }
        }
        if !link.header.flags.contains(LinkFlags::Up) {
            h.link()
                .set(LinkUnspec::new_with_index(index).up().build())
                .execute()
                .await
                .map_err(request(|| format!("set bridge {name} up")))?;
        }
        Ok(())
    })
}

/// Deletes a link by name in the host namespace; Ok(false) if it did not exist.
pub fn delete_link(name: &str) -> Result<bool, NetlinkError> {
    check_ifname(name)?;
    block_on(async { del_link(&connect()?, name, "host").await })
}

pub fn link_exists(name: &str) -> Result<bool, NetlinkError> {
    check_ifname(name)?;
    block_on(async { Ok(get_link(&connect()?, name).await?.is_some()) })
}

/// Veth pair: host end enslaved to the bridge and up; peer moved into the netns (by fd),
/// renamed to ifname, MAC set, address added, up; default route via gateway if Some.
/// All or nothing: on any failure it deletes the pair it made before returning the error.
pub fn add_veth(spec: &VethSpec<'_>) -> Result<(), NetlinkError> {
    check_ifname(spec.bridge)?;
    check_ifname(spec.host_name)?;
    check_ifname(spec.ifname)?;
    check_prefix(spec.prefix_len)?;
    if spec.mac[0] & 1 != 0 || spec.mac == [0; 6] {
        return Err(NetlinkError::InvalidArgument {
            what: "MAC address (zero or multicast)",
            value: format_mac(&spec.mac),
        });
    }
    let ns = netns::open(spec.netns)?;
    let ns_name = spec.netns.display();
    std::thread::scope(|scope| {
        // The namespace's socket is opened by a helper thread while this one works on the
        // host side: the thread's start-up is off the critical path.
        let ns_socket = netns::spawn_socket_in(scope, &ns, spec.netns)?;
        block_on(async {
            let host = connect()?;
            let bridge = get_link(&host, spec.bridge)
                .await?
                .ok_or_else(|| NetlinkError::NoSuchBridge(spec.bridge.to_string()))?;
            if link_kind(&bridge) != Some(&InfoKind::Bridge) {
                return Err(NetlinkError::NotABridge {
                    name: spec.bridge.to_string(),
                    kind: link_kind(&bridge).map_or_else(|| "none".to_string(), |k| k.to_string()),
                });
            }

            // The peer is born in the namespace with its final name and MAC. Not up yet: the
            // kernel refuses to open a veth end before its pair is linked (ENOTCONN).
            let peer = LinkUnspec::new_with_name(spec.ifname)
                .address(spec.mac.to_vec())
                .setns_by_fd(ns.as_raw_fd())
                .build();
            let pair = LinkVeth::new(spec.host_name, spec.ifname)
                .set_info_data(InfoData::Veth(InfoVeth::Peer(peer)))
                .controller(bridge.header.index)
                .up()
                .build();
            host.link().add(pair).execute().await.map_err(request(|| {
                format!(
                    "create veth {} (bridge {}) <-> {} in {ns_name}",
                    spec.host_name, spec.bridge, spec.ifname
                )
            }))?;

            // Joining blocks this runtime's only thread, which has nothing else to do.
            let inside = match netns::join(ns_socket, spec.netns) {
                Ok(socket) => configure_peer(connect_socket(socket), spec).await,
                Err(e) => Err(e),
            };
            if inside.is_err() {
                // Deleting one end deletes both.
                let _ = del_link(&host, spec.host_name, "host").await;
            }
            inside
        })
    })
}

/// Up, address and default route on the namespace side of a new pair.
async fn configure_peer(h: Handle, spec: &VethSpec<'_>) -> Result<(), NetlinkError> {
    let ns_name = spec.netns.display();
    let index = get_link(&h, spec.ifname)
        .await?
        .ok_or_else(|| NetlinkError::Request {
            op: format!("find {} in {ns_name}", spec.ifname),
            source: io::Error::from_raw_os_error(libc::ENODEV),
        })?
        .header
        .index;
    h.link()
        .set(LinkUnspec::new_with_index(index).up().build())
        .execute()
        .await
        .map_err(request(|| format!("set {} up in {ns_name}", spec.ifname)))?;
    h.address()
        .add(index, IpAddr::V4(spec.address), spec.prefix_len)
        .execute()
        .await
        .map_err(request(|| {
            format!(
                "add address {}/{} to {} in {ns_name}",
                spec.address, spec.prefix_len, spec.ifname
            )
        }))?;
    if let Some(gateway) = spec.gateway {
        let route = RouteMessageBuilder::<Ipv4Addr>::new()
            .gateway(gateway)
            .output_interface(index)
            .build();
        h.route().add(route).execute().await.map_err(request(|| {
            format!(
                "add default route via {gateway} dev {} in {ns_name}",
                spec.ifname
            )
        }))?;
    }
    Ok(())
}

/// Removes a container's interface inside a netns by name (for `network disconnect`);
/// Ok(false) if absent.
pub fn delete_link_in(netns: &Path, ifname: &str) -> Result<bool, NetlinkError> {
    check_ifname(ifname)?;
    let ns = netns::open(netns)?;
    let socket = netns::socket_in(&ns, netns)?;
    let where_ = netns.display().to_string();
    block_on(async { del_link(&connect_socket(socket), ifname, &where_).await })
}

/// Every IPv4 network the host already uses: destination prefixes of all routes in the main
/// table and the prefixes of every interface address (to pick a free subnet for a new bridge).
/// Network addresses (host bits cleared), deduplicated; the default route (`/0`) is left out,
/// since it overlaps everything and blocks nothing.
pub fn host_ipv4_networks() -> Result<Vec<(Ipv4Addr, u8)>, NetlinkError> {
    block_on(async {
        let h = connect()?;
        let mut nets = Vec::new();

        let routes: Vec<RouteMessage> = h
            .route()
            .get(RouteMessageBuilder::<Ipv4Addr>::new().build())
            .execute()
            .try_collect()
            .await
            .map_err(request(|| "list IPv4 routes".to_string()))?;
        for route in &routes {
            let table = route
                .attributes
                .iter()
                .find_map(|a| match a {
                    RouteAttribute::Table(t) => Some(*t),
                    _ => None,
                })
                .unwrap_or(u32::from(route.header.table));
            let len = route.header.destination_prefix_length;
            if table != u32::from(RouteHeader::RT_TABLE_MAIN) || len == 0 {
                continue;
            }
            if let Some(dst) = route.attributes.iter().find_map(|a| match a {
                RouteAttribute::Destination(RouteAddress::Inet(ip)) => Some(*ip),
                _ => None,
            }) {
                nets.push(network(dst, len));
            }
        }

        let mut query = h.address().get();
        query.message_mut().header.family = AddressFamily::Inet;
        let addrs: Vec<AddressMessage> = query
            .execute()
            .try_collect()
            .await
            .map_err(request(|| "list IPv4 addresses".to_string()))?;
        for addr in &addrs {
            let ip = addr.attributes.iter().find_map(|a| match a {
                AddressAttribute::Local(IpAddr::V4(ip)) => Some(*ip),
                _ => None,
            });
            let ip = ip.or_else(|| {
                addr.attributes.iter().find_map(|a| match a {
                    AddressAttribute::Address(IpAddr::V4(ip)) => Some(*ip),
                    _ => None,
                })
            });
            if let Some(ip) = ip {
                nets.push(network(ip, addr.header.prefix_len));
            }
        }

        nets.sort();
        nets.dedup();
        Ok(nets)
    })
}

/// `ip` with the bits past `prefix_len` cleared.
fn network(ip: Ipv4Addr, prefix_len: u8) -> (Ipv4Addr, u8) {
    let len = prefix_len.min(32);
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    (Ipv4Addr::from(u32::from(ip) & mask), len)
}

/// Runs `fut` on a private current-thread runtime (rtnetlink's connection task lives there).
fn block_on<T>(fut: impl Future<Output = Result<T, NetlinkError>>) -> Result<T, NetlinkError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(|source| NetlinkError::Request {
            op: "start netlink runtime".into(),
            source,
        })?;
    rt.block_on(fut)
}

/// A netlink connection in the host namespace (the caller's). Inside the runtime only.
fn connect() -> Result<Handle, NetlinkError> {
    let (conn, handle, _) =
        rtnetlink::new_connection().map_err(|source| NetlinkError::Request {
            op: "open netlink socket".into(),
            source,
        })?;
    tokio::spawn(conn);
    Ok(handle)
}

/// A netlink connection over a socket opened elsewhere (in a namespace). Inside the runtime.
fn connect_socket(socket: Socket) -> Handle {
    // SAFETY: `into_raw_fd` hands over the only owner of an open netlink socket.
    let socket = unsafe { TokioSocket::from_raw_fd(socket.into_raw_fd()) };
    let (conn, handle, _) = rtnetlink::from_socket(socket);
    tokio::spawn(conn);
    handle
}

/// The link called `name`, or `None` if there is none.
async fn get_link(h: &Handle, name: &str) -> Result<Option<LinkMessage>, NetlinkError> {
    let mut links = h.link().get().match_name(name).execute();
    match links.try_next().await {
        Ok(link) => Ok(link),
        Err(e) if errno(&e) == Some(libc::ENODEV) => Ok(None),
        Err(e) => Err(request(|| format!("look up link {name}"))(e)),
    }
}

/// Deletes the link called `name` (by name, one round trip); `false` if there was none.
async fn del_link(h: &Handle, name: &str, where_: &str) -> Result<bool, NetlinkError> {
    let msg = LinkUnspec::new_with_name(name).build();
    match h.link().del_with_message(msg).execute().await {
        Ok(()) => Ok(true),
        Err(e) if errno(&e) == Some(libc::ENODEV) => Ok(false),
        Err(e) => Err(request(|| format!("delete link {name} in {where_}"))(e)),
    }
}

fn link_kind(link: &LinkMessage) -> Option<&InfoKind> {
    link.attributes.iter().find_map(|a| match a {
        LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
            LinkInfo::Kind(kind) => Some(kind),
            _ => None,
        }),
        _ => None,
    })
}

/// The positive errno of a netlink error reply.
fn errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => Some(m.raw_code().abs()),
        _ => None,
    }
}

fn request<F: FnOnce() -> String>(op: F) -> impl FnOnce(rtnetlink::Error) -> NetlinkError {
    move |e| {
        let source = match &e {
            rtnetlink::Error::NetlinkError(m) => m.to_io(),
            other => io::Error::other(other.to_string()),
        };
        NetlinkError::Request { op: op(), source }
    }
}

/// The kernel's `dev_valid_name`, and IFNAMSIZ, checked up front for a clear error.
fn check_ifname(name: &str) -> Result<(), NetlinkError> {
    let reason = if name.is_empty() {
        "empty"
    } else if name.len() > IFNAME_MAX {
        "longer than 15 bytes (IFNAMSIZ)"
    } else if name == "." || name == ".." {
        "reserved"
    } else if name
        .chars()
        .any(|c| c == '/' || c == ':' || c == '\0' || c.is_whitespace())
    {
        "contains '/', ':', NUL or whitespace"
    } else {
        return Ok(());
    };
    Err(NetlinkError::InvalidName {
        name: name.to_string(),
        reason,
    })
}

fn check_prefix(prefix_len: u8) -> Result<(), NetlinkError> {
    if prefix_len > 32 {
        return Err(NetlinkError::InvalidArgument {
            what: "IPv4 prefix length",
            value: prefix_len.to_string(),
        });
    }
    Ok(())
}

/// A random unicast, locally administered MAC.
fn random_mac() -> Result<[u8; 6], NetlinkError> {
    let mut mac = [0u8; 6];
    getrandom::fill(&mut mac).map_err(|e| NetlinkError::Request {
        op: "random MAC".into(),
        source: io::Error::other(e.to_string()),
    })?;
    mac[0] = (mac[0] & 0xfe) | 0x02;
    Ok(mac)
}

fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}
