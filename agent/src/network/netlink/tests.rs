//! Root-only tests against the real kernel: every test makes its own uniquely named bridge,
//! veths and namespace files (in a tempdir), and a guard removes them even on failure.
//! What is inside a namespace is read over netlink from a socket opened there.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use netlink_packet_route::address::AddressAttribute;
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage};

use super::*;

/// These tests talk to the kernel: as anyone else they fail rather than pass untested.
fn is_root() -> bool {
    assert!(
        rustix::process::geteuid().is_root(),
        "the netlink tests need root (run them as CI does, through tests/run as root)"
    );
    true
}

fn hex(n: usize) -> String {
    let mut b = vec![0u8; n.div_ceil(2)];
    getrandom::fill(&mut b).expect("random");
    let mut s = hex::encode(b);
    s.truncate(n);
    s
}

/// Links and namespaces a test made; all removed on drop, whatever happened.
struct Guard {
    links: Vec<String>,
    netns: Vec<PathBuf>,
    dir: tempfile::TempDir,
}

impl Guard {
    fn new() -> Guard {
        Guard {
            links: Vec::new(),
            netns: Vec::new(),
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// A unique name with `prefix`, deleted on drop.
    fn link(&mut self, prefix: &str) -> String {
        let name = format!("{prefix}{}", hex(6));
        self.links.push(name.clone());
        name
    }

    /// A namespace file path in the tempdir, removed on drop (not created here).
    fn netns_path(&mut self, name: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        self.netns.push(path.clone());
        path
    }

    fn netns(&mut self, name: &str) -> PathBuf {
        let path = self.netns_path(name);
        create_netns(&path).expect("create_netns");
        path
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        for link in &self.links {
            let _ = delete_link(link);
        }
        for ns in &self.netns {
            let _ = remove_netns(ns);
        }
        // create_netns made the tempdir a mount point of its own.
        let _ = rustix::mount::unmount(self.dir.path(), rustix::mount::UnmountFlags::DETACH);
    }
}

/// A random 10.x.y.0/24 that no host route or address overlaps.
fn free_subnet() -> Ipv4Addr {
    let used = host_ipv4_networks().expect("host networks");
    loop {
        let r = hex(4);
        let x = u8::from_str_radix(&r[..2], 16).expect("hex");
        let y = u8::from_str_radix(&r[2..], 16).expect("hex");
        let net = Ipv4Addr::new(10, x, y, 0);
        let overlaps = used.iter().any(|&(n, len)| {
            let len = len.min(24);
            network(n, len) == network(net, len)
        });
        if !overlaps {
            return net;
        }
    }
}

fn host(net: Ipv4Addr, n: u8) -> Ipv4Addr {
    let o = net.octets();
    Ipv4Addr::new(o[0], o[1], o[2], n)
}

/// Links, IPv4 addresses (index, addr, prefix) and IPv4 routes of a namespace.
type NetState = (
    Vec<LinkMessage>,
    Vec<(u32, Ipv4Addr, u8)>,
    Vec<RouteMessage>,
);

fn state(ns: Option<&Path>) -> NetState {
    let socket = ns.map(|path| {
        let file = netns::open(path).expect("open netns");
        netns::socket_in(&file, path).expect("socket in netns")
    });
    block_on(async {
        let h = match socket {
            Some(s) => connect_socket(s),
            None => connect()?,
        };
        let links: Vec<LinkMessage> = h.link().get().execute().try_collect().await.expect("links");
        let addrs: Vec<(u32, Ipv4Addr, u8)> = h
            .address()
            .get()
            .execute()
            .try_collect::<Vec<_>>()
            .await
            .expect("addresses")
            .into_iter()
            .filter_map(|a| {
                a.attributes.iter().find_map(|at| match at {
                    AddressAttribute::Local(IpAddr::V4(ip)) => {
                        Some((a.header.index, *ip, a.header.prefix_len))
                    }
                    _ => None,
                })
            })
            .collect();
        let routes: Vec<RouteMessage> = h
            .route()
            .get(RouteMessageBuilder::<Ipv4Addr>::new().build())
            .execute()
            .try_collect()
            .await
            .expect("routes");
        Ok((links, addrs, routes))
    })
    .expect("netlink state")
}

fn find<'a>(links: &'a [LinkMessage], name: &str) -> Option<&'a LinkMessage> {
    links.iter().find(|l| {
        l.attributes
            .iter()
            .any(|a| matches!(a, LinkAttribute::IfName(n) if n == name))
    })
}

fn is_up(link: &LinkMessage) -> bool {
    link.header.flags.contains(LinkFlags::Up)
}

/// A bridge with `.1` of a free /24, returning (name, subnet).
fn bridge(guard: &mut Guard) -> (String, Ipv4Addr) {
    let name = guard.link("bt");
    let net = free_subnet();
    ensure_bridge(&name, host(net, 1), 24).expect("ensure_bridge");
    (name, net)
}

fn spec<'a>(bridge: &'a str, host_name: &'a str, netns: &'a Path, net: Ipv4Addr) -> VethSpec<'a> {
    VethSpec {
        bridge,
        host_name,
        netns,
        ifname: "eth0",
        address: host(net, 2),
        prefix_len: 24,
        gateway: Some(host(net, 1)),
        mac: [0x02, 0x42, 0xac, 0x11, 0x00, 0x02],
    }
}

#[test]
fn ensure_bridge_is_idempotent_sets_address_and_up() {
    if !is_root() {
        return;
    }
    let mut guard = Guard::new();
    let name = guard.link("bt");
    let net = free_subnet();
    ensure_bridge(&name, host(net, 1), 24).expect("first ensure_bridge");
    ensure_bridge(&name, host(net, 1), 24).expect("second ensure_bridge");
    assert!(link_exists(&name).expect("link_exists"));

    let (links, addrs, _) = state(None);
    let br = find(&links, &name).expect("bridge listed");
    assert!(is_up(br), "bridge is up");
    assert_eq!(link_kind(br), Some(&InfoKind::Bridge));
    let on_bridge: Vec<_> = addrs.iter().filter(|a| a.0 == br.header.index).collect();
    assert_eq!(
        on_bridge,
        vec![&(br.header.index, host(net, 1), 24)],
        "one address"
    );

    // Down by someone else: the next ensure brings it up again.
    block_on(async {
        let h = connect()?;
        h.link()
            .set(LinkUnspec::new_with_index(br.header.index).down().build())
            .execute()
            .await
            .map_err(request(|| "down".into()))
    })
    .expect("set down");
    ensure_bridge(&name, host(net, 1), 24).expect("third ensure_bridge");
    let (links, _, _) = state(None);
    assert!(is_up(find(&links, &name).expect("bridge")));

    // A link that is not a bridge is refused, not reused.
    let err = ensure_bridge("lo", host(net, 1), 24).expect_err("lo is no bridge");
    assert!(matches!(err, NetlinkError::NotABridge { .. }), "{err}");
}

#[test]
fn host_networks_include_bridge_subnet() {
    if !is_root() {
        return;
    }
    let mut guard = Guard::new();
    let (_, net) = bridge(&mut guard);
    let nets = host_ipv4_networks().expect("host_ipv4_networks");
    assert!(nets.contains(&(net, 24)), "{net}/24 in {nets:?}");
    assert!(nets.contains(&(Ipv4Addr::new(127, 0, 0, 0), 8)), "{nets:?}");
    assert!(
        !nets.iter().any(|&(_, len)| len == 0),
        "no default route: {nets:?}"
    );
}

#[test]
fn add_veth_configures_both_ends_and_carries_tcp() {
    if !is_root() {
        return;
    }
    let mut guard = Guard::new();
    let (br, net) = bridge(&mut guard);
    let ns = guard.netns("c1");
    let veth = guard.link("vt");
    let spec = spec(&br, &veth, &ns, net);
    add_veth(&spec).expect("add_veth");

    // Host side: the host end is up and enslaved to the bridge; no eth0 leaked to the host.
    let (links, _, _) = state(None);
    let bridge_index = find(&links, &br).expect("bridge").header.index;
    let host_end = find(&links, &veth).expect("host end");
    assert!(is_up(host_end));
    assert!(
        host_end
            .attributes
            .contains(&LinkAttribute::Controller(bridge_index)),
        "host end's master is the bridge"
    );

    // Namespace side: eth0 with MAC, address, up; default route via the gateway; lo up.
    let (links, addrs, routes) = state(Some(&ns));
    let lo = find(&links, "lo").expect("lo");
    assert!(is_up(lo), "lo is up");
    let eth0 = find(&links, "eth0").expect("eth0 in the namespace");
    assert!(is_up(eth0), "eth0 is up");
    assert!(
        eth0.attributes
            .contains(&LinkAttribute::Address(spec.mac.to_vec())),
        "eth0 MAC"
    );
    assert!(
        addrs.contains(&(eth0.header.index, host(net, 2), 24)),
        "{addrs:?}"
    );
    let default = routes.iter().find(|r| {
        r.header.destination_prefix_length == 0
            && r.header.table == RouteHeader::RT_TABLE_MAIN
            && r.attributes
                .contains(&RouteAttribute::Gateway(RouteAddress::Inet(host(net, 1))))
    });
    assert!(default.is_some(), "default route via gateway: {routes:?}");

    // TCP from the host namespace over the bridge to a listener inside the namespace.
    let ns_file = netns::open(&ns).expect("open netns");
    let addr = host(net, 2);
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::channel();
        let server = s.spawn(move || {
            // SAFETY: setns of this test thread only, which ends after.
            let r = unsafe { libc::setns(ns_file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(r, 0, "setns: {}", io::Error::last_os_error());
            let listener = TcpListener::bind(SocketAddrV4::new(addr, 0)).expect("bind in netns");
            tx.send(listener.local_addr().expect("local addr"))
                .expect("send");
            listener.set_nonblocking(true).expect("nonblocking");
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                match listener.accept() {
                    Ok((mut conn, peer)) => {
                        conn.write_all(b"hello").expect("write");
                        return Some(peer);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        if Instant::now() > deadline {
                            return None;
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(e) => panic!("accept: {e}"),
                }
            }
        });
        let target = rx.recv().expect("listener address");
        let mut conn = TcpStream::connect_timeout(&target, Duration::from_secs(3))
            .expect("connect over bridge");
        conn.set_read_timeout(Some(Duration::from_secs(3)))
            .expect("timeout");
        let mut buf = Vec::new();
        conn.read_to_end(&mut buf).expect("read");
        assert_eq!(buf, b"hello");
        let peer = server.join().expect("server thread").expect("accepted");
        assert_eq!(
            peer.ip(),
            IpAddr::V4(host(net, 1)),
            "came from the bridge address"
        );
    });

    // Deleting the host end removes both ends.
    assert!(delete_link(&veth).expect("delete_link"));
    assert!(!link_exists(&veth).expect("link_exists"));
    let (links, _, _) = state(Some(&ns));
    assert!(
        find(&links, "eth0").is_none(),
        "peer gone with the host end"
    );
    assert!(!delete_link(&veth).expect("second delete_link"));

    remove_netns(&ns).expect("remove_netns");
    assert!(!ns.exists());
    remove_netns(&ns).expect("remove_netns again is Ok");
}

#[test]
fn delete_link_in_removes_the_container_interface() {
    if !is_root() {
        return;
    }
    let mut guard = Guard::new();
    let (br, net) = bridge(&mut guard);
    let ns = guard.netns("c2");
    let veth = guard.link("vt");
    let mut spec = spec(&br, &veth, &ns, net);
    spec.ifname = "eth1";
    spec.gateway = None;
    add_veth(&spec).expect("add_veth");
    let (_, _, routes) = state(Some(&ns));
    assert!(
        !routes
            .iter()
            .any(|r| r.header.destination_prefix_length == 0
                && r.header.table == RouteHeader::RT_TABLE_MAIN),
        "no default route without a gateway"
    );

    assert!(delete_link_in(&ns, "eth1").expect("delete_link_in"));
    assert!(
        !link_exists(&veth).expect("link_exists"),
        "host end gone too"
    );
    assert!(!delete_link_in(&ns, "eth1").expect("second delete_link_in"));
}

#[test]
fn bad_input_is_refused_and_leaves_nothing() {
    if !is_root() {
        return;
    }
    let mut guard = Guard::new();
    let (br, net) = bridge(&mut guard);
    let ns = guard.netns("c3");
    let veth = guard.link("vt");

    // Name too long.
    let long = "v".repeat(16);
    let mut s = spec(&br, &long, &ns, net);
    let err = add_veth(&s).expect_err("16-byte name");
    assert!(matches!(err, NetlinkError::InvalidName { .. }), "{err}");
    assert!(err.to_string().contains("IFNAMSIZ"), "{err}");
    assert!(matches!(
        ensure_bridge(&long, host(net, 1), 24),
        Err(NetlinkError::InvalidName { .. })
    ));
    assert!(matches!(
        delete_link("a/b"),
        Err(NetlinkError::InvalidName { .. })
    ));

    // Missing bridge.
    let missing = format!("bt{}", hex(6));
    s = spec(&missing, &veth, &ns, net);
    let err = add_veth(&s).expect_err("missing bridge");
    assert!(
        matches!(err, NetlinkError::NoSuchBridge(ref b) if *b == missing),
        "{err}"
    );
    assert!(!link_exists(&veth).expect("link_exists"));

    // Missing namespace file, and a file that is no namespace.
    let nowhere = guard.dir.path().join("nope");
    s = spec(&br, &veth, &nowhere, net);
    let err = add_veth(&s).expect_err("missing netns");
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT), "{err}");
    assert!(err.to_string().contains("nope"), "{err}");
    let plain = guard.dir.path().join("plain");
    std::fs::write(&plain, b"").expect("plain file");
    s = spec(&br, &veth, &plain, net);
    assert!(matches!(add_veth(&s), Err(NetlinkError::NotANetns(_))));
    assert!(!link_exists(&veth).expect("link_exists"));

    // A namespace file is not made twice; a stale plain file is reused.
    assert!(matches!(
        create_netns(&ns),
        Err(NetlinkError::NetnsExists(_))
    ));
    let stale = guard.netns_path("stale");
    std::fs::write(&stale, b"").expect("stale file");
    create_netns(&stale).expect("create over a stale file");

    // Failure after the pair exists rolls it back: a gateway off the subnet.
    s = spec(&br, &veth, &ns, net);
    s.gateway = Some(Ipv4Addr::new(192, 0, 2, 254));
    let err = add_veth(&s).expect_err("unreachable gateway");
    assert!(err.to_string().contains("default route"), "{err}");
    assert!(!link_exists(&veth).expect("link_exists"), "rolled back");
    let (links, _, _) = state(Some(&ns));
    assert!(find(&links, "eth0").is_none(), "peer rolled back");

    // An ifname already taken in the namespace: the second pair is refused whole.
    s = spec(&br, &veth, &ns, net);
    add_veth(&s).expect("add_veth");
    let veth2 = guard.link("vt");
    let s2 = spec(&br, &veth2, &ns, net);
    let err = add_veth(&s2).expect_err("eth0 taken");
    assert_eq!(err.raw_os_error(), Some(libc::EEXIST), "{err}");
    assert!(!link_exists(&veth2).expect("link_exists"));
}

#[test]
fn callable_from_spawn_blocking_in_a_multi_thread_runtime() {
    if !is_root() {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let calls: Vec<_> = (0..4)
            .map(|_| tokio::task::spawn_blocking(|| link_exists("lo")))
            .collect();
        for call in calls {
            assert!(call.await.expect("join").expect("link_exists"));
        }
    });
}

/// `create_netns + add_veth + delete_link + remove_netns`, the per-container cost of bridge
/// networking, printed: a measurement, not a check (run it with
/// `cargo test -p agent timing_of -- --ignored --nocapture`; bench/ compares with peers).
#[test]
#[ignore = "a measurement; prints timings"]
fn timing_of_a_container_network_lifecycle() {
    if !is_root() {
        return;
    }
    let mut guard = Guard::new();
    let (br, net) = bridge(&mut guard);
    let veth = guard.link("vt");
    let ns = guard.netns_path("timed");
    let rounds = 20;
    let mut times = Vec::new();
    for _ in 0..rounds {
        // The kernel tears the last round's namespace down in the background (holding the
        // rtnl lock at times); a container start does not usually follow a teardown so close.
        std::thread::sleep(Duration::from_millis(50));
        let start = Instant::now();
        create_netns(&ns).expect("create_netns");
        let t1 = start.elapsed();
        add_veth(&spec(&br, &veth, &ns, net)).expect("add_veth");
        let t2 = start.elapsed();
        assert!(delete_link(&veth).expect("delete_link"));
        let t3 = start.elapsed();
        remove_netns(&ns).expect("remove_netns");
        let t4 = start.elapsed();
        times.push((t1, t2 - t1, t3 - t2, t4 - t3, t4));
    }
    times.sort_by_key(|t| t.4);
    let (c, a, d, r, total) = times[rounds / 2];
    let mut setup: Vec<Duration> = times.iter().map(|t| t.0 + t.1).collect();
    setup.sort();
    eprintln!(
        "netlink lifecycle, median of {rounds}: total {total:?} = create_netns {c:?} + add_veth {a:?} \
         + delete_link {d:?} + remove_netns {r:?} (total min {:?}, max {:?}); \
         setup alone (create_netns + add_veth) median {:?}, max {:?}",
        times[0].4,
        times[rounds - 1].4,
        setup[rounds / 2],
        setup[rounds - 1]
    );
}
