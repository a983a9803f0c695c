//! The proxy against real loopback servers (127.0.0.1 and ::1, kernel-picked ports).

use super::udp::{self, Limits};
use super::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

const LOCAL4: Ipv4Addr = Ipv4Addr::LOCALHOST;
const LOCAL6: Ipv6Addr = Ipv6Addr::LOCALHOST;
const PATIENCE: Duration = Duration::from_secs(10);

fn any_port(ip: impl Into<std::net::IpAddr>) -> SocketAddr {
    SocketAddr::new(ip.into(), 0)
}

/// A TCP echo server that passes half-closes on: EOF from the client ends its writes.
async fn tcp_echo() -> SocketAddr {
    let listener = TcpListener::bind(any_port(LOCAL4)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(echo_stream(stream));
        }
    });
    addr
}

async fn echo_stream(mut stream: TcpStream) {
    let (mut read, mut write) = stream.split();
    if tokio::io::copy(&mut read, &mut write).await.is_ok() {
        let _ = write.shutdown().await;
    }
}

/// A proxy on `host` (kernel-picked port) in front of `target`.
fn proxy(host: IpAddr, protocol: Protocol, target: SocketAddr) -> Forwarding {
    Listener::bind(SocketAddr::new(host, 0), protocol)
        .unwrap()
        .serve(target)
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Sends `data` through `addr` while reading the echo, then half-closes and reads to EOF.
async fn round_trip(addr: SocketAddr, data: &[u8]) -> Vec<u8> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let sent = data.to_vec();
    let writer = tokio::spawn(async move {
        write.write_all(&sent).await.unwrap();
        write.shutdown().await.unwrap();
    });
    let mut echoed = Vec::with_capacity(data.len());
    tokio::time::timeout(PATIENCE, read.read_to_end(&mut echoed))
        .await
        .expect("echo timed out")
        .unwrap();
    writer.await.unwrap();
    echoed
}

#[tokio::test]
async fn tcp_round_trips_a_mebibyte() {
    let forward = proxy(LOCAL4.into(), Protocol::Tcp, tcp_echo().await);
    let data = pattern(1 << 20, 7);
    let echoed = round_trip(forward.local_addr(), &data).await;
    assert_eq!(echoed.len(), data.len());
    assert!(echoed == data, "the echo differs from what was sent");
    assert!(
        super::relay::splicing(),
        "the kernel refused splice on loopback TCP"
    );
}

#[tokio::test]
async fn tcp_half_close_still_gets_the_reply() {
    // Replies only after the client's EOF, then closes.
    let listener = TcpListener::bind(any_port(LOCAL4)).await.unwrap();
    let target = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        stream.read_to_end(&mut request).await.unwrap();
        let reply = format!("got {} bytes", request.len());
        stream.write_all(reply.as_bytes()).await.unwrap();
    });
    let forward = proxy(LOCAL4.into(), Protocol::Tcp, target);

    let mut client = TcpStream::connect(forward.local_addr()).await.unwrap();
    client.write_all(b"hello").await.unwrap();
    client.shutdown().await.unwrap();
    let mut reply = String::new();
    tokio::time::timeout(PATIENCE, client.read_to_string(&mut reply))
        .await
        .expect("reply timed out")
        .unwrap();
    assert_eq!(reply, "got 5 bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_serves_many_connections_at_once() {
    let forward = proxy(LOCAL4.into(), Protocol::Tcp, tcp_echo().await);
    let addr = forward.local_addr();
    let clients: Vec<_> = (0..50u8)
        .map(|i| {
            tokio::spawn(async move {
                let data = pattern(64 * 1024 + usize::from(i), i);
                assert!(round_trip(addr, &data).await == data, "client {i}");
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
}

/// A connected pair over loopback: (the end the test keeps, the end handed to the relay).
async fn loopback_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind(any_port(LOCAL4)).await.unwrap();
    let (kept, accepted) = tokio::join!(
        TcpStream::connect(listener.local_addr().unwrap()),
        listener.accept()
    );
    (kept.unwrap(), accepted.unwrap().0)
}

/// Relays between two loopback pairs: returns (client end, server end, the relay's task).
async fn relayed() -> (
    TcpStream,
    TcpStream,
    tokio::task::JoinHandle<std::io::Result<super::relay::Moved>>,
) {
    let (client, proxied_client) = loopback_pair().await;
    let (server, proxied_server) = loopback_pair().await;
    let relay = tokio::spawn(super::relay::relay(proxied_client, proxied_server));
    (client, server, relay)
}

#[tokio::test]
async fn a_small_exchange_is_copied_and_bulk_is_spliced() {
    use super::relay::COPY_BUFFER;
    let (mut client, mut server, relay) = relayed().await;
    // A request and a reply that fit the buffer: copied, no pipe.
    client.write_all(b"GET / HTTP/1.0\r\n\r\n").await.unwrap();
    let mut request = [0u8; 18];
    server.read_exact(&mut request).await.unwrap();
    assert_eq!(&request, b"GET / HTTP/1.0\r\n\r\n");
    let reply = pattern(1024, 1);
    server.write_all(&reply).await.unwrap();
    let mut got = vec![0u8; reply.len()];
    client.read_exact(&mut got).await.unwrap();
    assert!(got == reply);
    // Then bulk from the server: the direction switches to splice once a read fills the
    // buffer. Sent while the client reads, so the socket buffers cannot fill up.
    let bulk = pattern(8 << 20, 2);
    let sent = bulk.clone();
    let writer = tokio::spawn(async move {
        server.write_all(&sent).await.unwrap();
        server.shutdown().await.unwrap();
        server
    });
    let mut rest = Vec::new();
    tokio::time::timeout(PATIENCE, client.read_to_end(&mut rest))
        .await
        .expect("bulk timed out")
        .unwrap();
    assert_eq!(rest.len(), bulk.len());
    assert!(rest == bulk, "the bulk bytes differ");
    let mut server = writer.await.unwrap();
    client.shutdown().await.unwrap();
    let mut tail = Vec::new();
    server.read_to_end(&mut tail).await.unwrap();
    assert!(tail.is_empty());

    let moved = relay.await.unwrap().unwrap();
    let total = (request.len() + reply.len() + bulk.len()) as u64;
    assert_eq!(moved.copied + moved.spliced, total, "{moved:?}");
    assert!(
        super::relay::splicing(),
        "the kernel refused splice on loopback TCP"
    );
    // Before the switch, at most the request, the reply and a few buffers' worth of bulk.
    assert!(
        moved.copied <= (request.len() + reply.len() + 4 * COPY_BUFFER) as u64,
        "bulk was copied: {moved:?}"
    );
}

#[tokio::test]
async fn the_server_closing_first_still_gets_the_clients_rest() {
    // The server ends its side at once, then reads what the client still sends.
    let (mut client, mut server, relay) = relayed().await;
    server.shutdown().await.unwrap();
    let mut nothing = Vec::new();
    tokio::time::timeout(PATIENCE, client.read_to_end(&mut nothing))
        .await
        .expect("the server's EOF did not reach the client")
        .unwrap();
    assert!(nothing.is_empty());
    let data = pattern(100_000, 5);
    client.write_all(&data).await.unwrap();
    drop(client);
    let mut got = Vec::new();
    tokio::time::timeout(PATIENCE, server.read_to_end(&mut got))
        .await
        .expect("the client's bytes or EOF did not reach the server")
        .unwrap();
    assert!(got == data, "{} of {} bytes", got.len(), data.len());
    let moved = relay.await.unwrap().unwrap();
    assert_eq!(moved.copied + moved.spliced, data.len() as u64);
}

#[tokio::test]
async fn accepted_clients_inherit_tcp_nodelay_from_the_listener() {
    // The proxy sets TCP_NODELAY once on the host socket and relies on Linux handing it to
    // every accepted connection.
    let listener = match super::bind::bind(any_port(LOCAL4), Protocol::Tcp).unwrap() {
        super::bind::Bound::Tcp(listener) => listener,
        super::bind::Bound::Udp(_) => unreachable!("bound TCP"),
    };
    let _client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    listener.set_nonblocking(false).unwrap();
    let (accepted, _) = listener.accept().unwrap();
    assert!(accepted.nodelay().unwrap());
}

#[tokio::test]
async fn ipv6_listener_forwards_to_an_ipv4_target() {
    let forward = proxy(LOCAL6.into(), Protocol::Tcp, tcp_echo().await);
    assert!(forward.local_addr().is_ipv6());
    let data = pattern(100_000, 3);
    assert!(round_trip(forward.local_addr(), &data).await == data);
}

/// A socket bound to a port but not listening: connections to it are refused until
/// `listen` is called.
fn reserved_port() -> (std::os::fd::OwnedFd, SocketAddr) {
    use rustix::net::{AddressFamily, SocketFlags, SocketType, sockopt};
    let fd = rustix::net::socket_with(
        AddressFamily::INET,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .unwrap();
    sockopt::set_socket_reuseaddr(&fd, true).unwrap();
    rustix::net::bind(&fd, &any_port(LOCAL4)).unwrap();
    let addr = match rustix::net::getsockname(&fd).unwrap().try_into() {
        Ok(addr) => addr,
        Err(e) => panic!("getsockname: {e:?}"),
    };
    (fd, addr)
}

#[tokio::test]
async fn refused_target_closes_the_client_and_the_proxy_keeps_serving() {
    let (reserved, target) = reserved_port();
    let forward = proxy(LOCAL4.into(), Protocol::Tcp, target);

    let mut client = TcpStream::connect(forward.local_addr()).await.unwrap();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(PATIENCE, client.read(&mut buf))
        .await
        .expect("the proxy kept a client whose target refused");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");

    // The container's port opens: the same forward serves the next client.
    rustix::net::listen(&reserved, 16).unwrap();
    let listener = std::net::TcpListener::from(reserved);
    listener.set_nonblocking(true).unwrap();
    let listener = TcpListener::from_std(listener).unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(echo_stream(stream));
        }
    });
    assert_eq!(round_trip(forward.local_addr(), b"again").await, b"again");
}

#[tokio::test]
async fn binding_a_taken_port_says_so_in_dockers_words() {
    for (ip, shown) in [
        (IpAddr::from(LOCAL4), "127.0.0.1"),
        (LOCAL6.into(), "[::1]"),
    ] {
        for protocol in [Protocol::Tcp, Protocol::Udp] {
            let first = Listener::bind(SocketAddr::new(ip, 0), protocol).unwrap();
            let port = first.local_addr().port();
            assert_eq!(first.protocol(), protocol);
            let error = Listener::bind(first.local_addr(), protocol).unwrap_err();
            assert!(
                matches!(error, ProxyError::PortAllocated { .. }),
                "{error:?}"
            );
            assert_eq!(
                error.to_string(),
                format!("Bind for {shown}:{port} failed: port is already allocated")
            );
        }
    }
}

#[tokio::test]
async fn ipv4_and_ipv6_wildcards_bind_side_by_side() {
    let v4 = Listener::bind(any_port(Ipv4Addr::UNSPECIFIED), Protocol::Tcp).unwrap();
    let port = v4.local_addr().port();
    let v6 = Listener::bind(
        SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), port),
        Protocol::Tcp,
    );
    assert!(v6.is_ok(), "{v6:?}");
}

#[tokio::test]
async fn close_frees_the_port_at_once_and_ends_connections() {
    for protocol in [Protocol::Tcp, Protocol::Udp] {
        let target = match protocol {
            Protocol::Tcp => tcp_echo().await,
            Protocol::Udp => udp_echo().await,
        };
        let forward = proxy(LOCAL4.into(), protocol, target);
        let addr = forward.local_addr();
        let mut client = None;
        if protocol == Protocol::Tcp {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream.write_all(b"ping").await.unwrap();
            let mut buf = [0u8; 4];
            stream.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"ping");
            client = Some(stream);
        }

        forward.close();
        let again = Listener::bind(addr, protocol);
        assert!(again.is_ok(), "{protocol} {addr} not free: {again:?}");
        drop(again);

        if let Some(mut stream) = client {
            let mut buf = [0u8; 4];
            let read = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
                .await
                .expect("the proxied connection outlived close()");
            assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
        }
    }
}

#[tokio::test]
async fn drop_frees_the_port_too() {
    let forward = proxy(LOCAL4.into(), Protocol::Tcp, tcp_echo().await);
    let addr = forward.local_addr();
    drop(forward);
    // Without SO_REUSEADDR on the new socket's side either: the old one is gone.
    assert!(std::net::UdpSocket::bind(addr).is_ok());
    let probe = rustix::net::socket(
        rustix::net::AddressFamily::INET,
        rustix::net::SocketType::STREAM,
        None,
    )
    .unwrap();
    rustix::net::bind(&probe, &addr).unwrap();
}

/// A UDP server that answers every datagram with `<datagram>|<sender address>`.
async fn udp_echo() -> SocketAddr {
    let socket = UdpSocket::bind(any_port(LOCAL4)).await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65535];
        while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
            let mut reply = buf[..n].to_vec();
            reply.extend_from_slice(format!("|{peer}").as_bytes());
            let _ = socket.send_to(&reply, peer).await;
        }
    });
    addr
}

/// Sends `datagram` to `proxy` from `client`; returns the reply's payload and the sender
/// address the target saw.
async fn udp_ask(client: &UdpSocket, proxy: SocketAddr, datagram: &[u8]) -> (Vec<u8>, String) {
    client.send_to(datagram, proxy).await.unwrap();
    let mut buf = vec![0u8; 65535];
    let (n, from) = tokio::time::timeout(PATIENCE, client.recv_from(&mut buf))
        .await
        .expect("no UDP reply")
        .unwrap();
    assert_eq!(from, proxy, "the reply must come from the host port");
    let reply = &buf[..n];
    let bar = reply.iter().rposition(|&b| b == b'|').unwrap();
    (
        reply[..bar].to_vec(),
        String::from_utf8(reply[bar + 1..].to_vec()).unwrap(),
    )
}

#[tokio::test]
async fn udp_clients_each_get_their_own_replies() {
    let forward = proxy(LOCAL4.into(), Protocol::Udp, udp_echo().await);
    let addr = forward.local_addr();
    let a = UdpSocket::bind(any_port(LOCAL4)).await.unwrap();
    let b = UdpSocket::bind(any_port(LOCAL4)).await.unwrap();

    let (reply_a, seen_a) = udp_ask(&a, addr, b"from a").await;
    let (reply_b, seen_b) = udp_ask(&b, addr, b"from b").await;
    assert_eq!(reply_a, b"from a");
    assert_eq!(reply_b, b"from b");
    assert_ne!(seen_a, seen_b, "each client has its own session");
    // The session stays: the same source port on the target's side.
    assert_eq!(udp_ask(&a, addr, b"a again").await.1, seen_a);

    // A large datagram arrives whole.
    let big = pattern(60_000, 9);
    let (reply, _) = udp_ask(&b, addr, &big).await;
    assert!(reply == big, "a 60000-byte datagram was cut");
}

#[tokio::test]
async fn udp_ipv6_listener_forwards_to_an_ipv4_target() {
    let forward = proxy(LOCAL6.into(), Protocol::Udp, udp_echo().await);
    let client = UdpSocket::bind(any_port(LOCAL6)).await.unwrap();
    let (reply, _) = udp_ask(&client, forward.local_addr(), b"six to four").await;
    assert_eq!(reply, b"six to four");
}

#[tokio::test]
async fn udp_sessions_are_capped_and_expire() {
    let socket = std::net::UdpSocket::bind(any_port(LOCAL4)).unwrap();
    socket.set_nonblocking(true).unwrap();
    let local = socket.local_addr().unwrap();
    let target = udp_echo().await;
    let limits = Limits {
        idle: Duration::from_millis(300),
        max_sessions: 2,
    };
    let (closable, task) = udp::serve_with(socket, target, limits).unwrap();
    let _forward = Forwarding {
        local,
        target,
        socket: Some(closable),
        task: Some(task),
    };
    let clients = [
        UdpSocket::bind(any_port(LOCAL4)).await.unwrap(),
        UdpSocket::bind(any_port(LOCAL4)).await.unwrap(),
        UdpSocket::bind(any_port(LOCAL4)).await.unwrap(),
    ];
    let (_, first_a) = udp_ask(&clients[0], local, b"a").await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let (_, first_b) = udp_ask(&clients[1], local, b"b").await;
    assert_eq!(udp_ask(&clients[1], local, b"b").await.1, first_b);
    // A third client takes the longest idle session's place: a's.
    udp_ask(&clients[2], local, b"c").await;
    let (_, second_a) = udp_ask(&clients[0], local, b"a").await;
    assert_ne!(first_a, second_a, "a's session should have been evicted");

    // Idle past the limit (and a sweep): a's new session is gone too.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, third_a) = udp_ask(&clients[0], local, b"a").await;
    assert_ne!(second_a, third_a, "a's session should have expired");
}

#[test]
fn protocol_parses_and_prints() {
    assert_eq!("tcp".parse::<Protocol>().unwrap(), Protocol::Tcp);
    assert_eq!("UDP".parse::<Protocol>().unwrap(), Protocol::Udp);
    assert!("sctp".parse::<Protocol>().is_err());
    assert_eq!(Protocol::Udp.to_string(), "udp");
    assert_eq!(serde_json::to_string(&Protocol::Tcp).unwrap(), "\"tcp\"");
    assert_eq!(
        serde_json::from_str::<Protocol>("\"udp\"").unwrap(),
        Protocol::Udp
    );
}

/// Throughput through the proxy against direct, on loopback. A measurement, not a check:
/// `cargo test --release -p agent network::proxy::tests::throughput -- --ignored --nocapture`.
#[test]
#[ignore]
fn throughput_one_gibibyte() {
    use std::io::{Read, Write};
    const TOTAL: u64 = 1 << 30;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    // A sink: reads to EOF, then answers with the byte count.
    let sink = std::net::TcpListener::bind(any_port(LOCAL4)).unwrap();
    let target = sink.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in sink.incoming() {
            let mut stream = stream.unwrap();
            let mut buf = vec![0u8; 256 * 1024];
            let mut count = 0u64;
            loop {
                match stream.read(&mut buf).unwrap() {
                    0 => break,
                    n => count += n as u64,
                }
            }
            stream.write_all(&count.to_be_bytes()).unwrap();
        }
    });
    let forward = {
        let _runtime = runtime.enter();
        proxy(LOCAL4.into(), Protocol::Tcp, target)
    };
    let send = |addr: SocketAddr| {
        let started = std::time::Instant::now();
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        let chunk = vec![7u8; 256 * 1024];
        let mut sent = 0;
        while sent < TOTAL {
            stream.write_all(&chunk).unwrap();
            sent += chunk.len() as u64;
        }
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        let mut count = [0u8; 8];
        stream.read_exact(&mut count).unwrap();
        assert_eq!(u64::from_be_bytes(count), TOTAL);
        TOTAL as f64 / started.elapsed().as_secs_f64() / f64::from(1 << 30)
    };
    for _ in 0..2 {
        let direct = send(target);
        let proxied = send(forward.local_addr());
        eprintln!("1 GiB: direct {direct:.2} GiB/s, through the proxy {proxied:.2} GiB/s");
    }
}

/// Request/response rate with 1 KiB responses (like `wrk` against a small HTTP page),
/// through the proxy against direct. A measurement, not a check (see above for how to run).
#[test]
#[ignore]
fn request_rate_small_responses() {
    use std::io::{Read, Write};
    const CONNECTIONS: usize = 4;
    const RUN: Duration = Duration::from_secs(3);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = std::net::TcpListener::bind(any_port(LOCAL4)).unwrap();
    let target = server.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in server.incoming() {
            let mut stream = stream.unwrap();
            std::thread::spawn(move || {
                let mut response = b"HTTP/1.1 200 OK\r\nContent-Length: 1024\r\n\r\n".to_vec();
                response.resize(response.len() + 1024, b'x');
                let mut request = [0u8; 128];
                while let Ok(n) = stream.read(&mut request) {
                    if n == 0 || stream.write_all(&response).is_err() {
                        break;
                    }
                }
            });
        }
    });
    let forward = {
        let _runtime = runtime.enter();
        proxy(LOCAL4.into(), Protocol::Tcp, target)
    };
    let rate = |addr: SocketAddr| {
        let clients: Vec<_> = (0..CONNECTIONS)
            .map(|_| {
                std::thread::spawn(move || {
                    let mut stream = std::net::TcpStream::connect(addr).unwrap();
                    stream.set_nodelay(true).unwrap();
                    let request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
                    let mut response = vec![0u8; 1024 + 41];
                    let started = std::time::Instant::now();
                    let mut done = 0u64;
                    while started.elapsed() < RUN {
                        stream.write_all(request).unwrap();
                        stream.read_exact(&mut response).unwrap();
                        done += 1;
                    }
                    done
                })
            })
            .collect();
        let total: u64 = clients.into_iter().map(|c| c.join().unwrap()).sum();
        total as f64 / RUN.as_secs_f64()
    };
    for _ in 0..2 {
        let direct = rate(target);
        let proxied = rate(forward.local_addr());
        eprintln!(
            "1 KiB responses, {CONNECTIONS} connections: direct {direct:.0}/s, through the proxy {proxied:.0}/s ({:.0}%)",
            100.0 * proxied / direct
        );
    }
}
