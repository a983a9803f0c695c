//! Networking through the stock docker CLI, as root on the real kernel: the default bridge,
//! published ports served by the agent's port proxy (TCP and UDP), user-defined networks
//! whose containers find each other by name, the network modes, `docker network …`, and
//! that nothing (veth, lease, listener, namespace) outlives its container.
//! Traffic goes only to loopback and to the bridges and namespaces these tests make.

use berth_tests::{CliOutput, DockerCli, TestAgent};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::time::Duration;

struct Setup {
    agent: TestAgent,
    docker: DockerCli,
}

fn setup() -> Setup {
    let (agent, docker) = berth_tests::agent_with_busybox(&[]).expect("agent with busybox");
    Setup { agent, docker }
}

fn run(docker: &DockerCli, args: &[&str]) -> CliOutput {
    docker.run(args).expect("docker ran")
}

fn ok(docker: &DockerCli, args: &[&str]) -> String {
    run(docker, args)
        .ok()
        .unwrap_or_else(|e| panic!("docker {args:?}: {e:#}"))
        .stdout
}

fn inspect(docker: &DockerCli, name: &str) -> Value {
    let list: Value = serde_json::from_str(&ok(docker, &["inspect", name])).expect("inspect JSON");
    list[0].clone()
}

/// Polls `check` for up to 30 s (no test asserts on elapsed time; this only bounds how
/// long a broken build takes to fail).
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..600 {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for: {what}");
}

/// `GET /` over HTTP/1.0; the body, or `None` if nothing answered.
fn http_get(addr: SocketAddr) -> Option<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream
        .write_all(b"GET / HTTP/1.0\r\nHost: test\r\n\r\n")
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.").then(|| body.to_string())
}

/// A busybox httpd serving `text` at `/` on port 80.
fn httpd_command(text: &str) -> String {
    format!("mkdir -p /www && echo {text} > /www/index.html && exec httpd -f -p 80 -h /www")
}

fn free_port() -> u16 {
    berth_tests::ports::free_loopback_port().expect("free port")
}

/// Interfaces enslaved to `bridge` on the host.
fn bridge_ports(bridge: &str) -> Vec<String> {
    std::fs::read_dir(Path::new("/sys/class/net").join(bridge).join("brif"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The kernel deletes a veth pair once its namespace is gone, in the background.
fn veths_gone(bridge: &str) {
    eventually(&format!("no veth left on {bridge}"), || {
        bridge_ports(bridge).is_empty()
    });
}

/// Every address lease in the agent's network records.
fn leases(agent: &TestAgent) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(agent.root().join("networks"))
        .expect("networks dir")
        .flatten()
    {
        let record: Value =
            serde_json::from_slice(&std::fs::read(entry.path()).expect("read")).expect("json");
        if let Some(leases) = record["leases"].as_object() {
            out.extend(leases.keys().cloned());
        }
    }
    out
}

async fn port_usage(agent: &TestAgent) -> Value {
    agent
        .get("/berth/v1/ports")
        .send()
        .await
        .expect("ports request")
        .json()
        .await
        .expect("ports JSON")
}

fn netns_files(agent: &TestAgent) -> Vec<String> {
    std::fs::read_dir(agent.temp_dir().join("netns"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn published_tcp_port_serves_the_page_and_a_clash_fails_cleanly() {
    let s = setup();
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    ok(
        &s.docker,
        &[
            "run",
            "-d",
            "--name",
            "web",
            "-p",
            &publish,
            "busybox",
            "sh",
            "-c",
            &httpd_command("hello-berth"),
        ],
    );
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    eventually("the page through the proxy", || {
        http_get(addr).is_some_and(|b| b.contains("hello-berth"))
    });
    assert_eq!(
        ok(&s.docker, &["port", "web"]).trim(),
        format!("80/tcp -> 127.0.0.1:{port}")
    );
    let ps = ok(&s.docker, &["ps", "--format", "{{.Ports}}"]);
    assert!(ps.contains(&format!("127.0.0.1:{port}->80/tcp")), "{ps}");
    let web = inspect(&s.docker, "web");
    let ip = web["NetworkSettings"]["IPAddress"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!ip.is_empty(), "{web}");
    assert_eq!(
        web["NetworkSettings"]["Networks"]["bridge"]["IPAddress"],
        ip
    );
    // The container is reachable at its own address too (the agent's bridge).
    let direct: SocketAddr = format!("{ip}:80").parse().unwrap();
    assert!(http_get(direct).is_some_and(|b| b.contains("hello-berth")));
    let usage = port_usage(&s.agent).await;
    let mappings = usage["mappings"].as_array().unwrap();
    assert_eq!(mappings.len(), 1, "{usage}");
    assert_eq!(mappings[0]["host_port"], port);
    assert_eq!(mappings[0]["container_port"], 80);
    assert_eq!(mappings[0]["container_name"], "web");

    // The same host port again: refused at create, and nothing is left of the attempt.
    let clash = run(
        &s.docker,
        &[
            "run", "-d", "--name", "web2", "-p", &publish, "busybox", "sleep", "100",
        ],
    );
    assert!(!clash.success(), "{clash:?}");
    assert!(
        clash.stderr.contains("port is already allocated"),
        "{clash:?}"
    );
    assert_eq!(
        ok(&s.docker, &["ps", "-aq", "--filter", "name=web2"]).trim(),
        ""
    );

    // Taken between create and start: the start fails, and leaves no interface or lease.
    let later = free_port();
    let created = ok(
        &s.docker,
        &[
            "create",
            "--name",
            "web3",
            "-p",
            &format!("127.0.0.1:{later}:80"),
            "busybox",
            "sleep",
            "100",
        ],
    );
    assert!(!created.trim().is_empty());
    let squatter = TcpListener::bind(("127.0.0.1", later)).expect("squat the port");
    let start = run(&s.docker, &["start", "web3"]);
    assert!(!start.success(), "{start:?}");
    assert!(
        start.stderr.contains("port is already allocated"),
        "{start:?}"
    );
    drop(squatter);
    let web3 = inspect(&s.docker, "web3");
    assert_eq!(web3["State"]["Status"], "created");
    assert_eq!(web3["NetworkSettings"]["IPAddress"], "");
    assert_eq!(bridge_ports(&s.agent.bridge_name()).len(), 1);
    assert_eq!(leases(&s.agent).len(), 1);

    ok(&s.docker, &["rm", "-f", "web", "web3"]);
    assert!(
        http_get(addr).is_none(),
        "the listener outlived its container"
    );
    assert!(
        TcpListener::bind(addr).is_ok(),
        "the host port is still held"
    );
    veths_gone(&s.agent.bridge_name());
    assert!(leases(&s.agent).is_empty());
}

/// The host's python3, bind-mounted read-only into a busybox container, answers UDP.
#[test]
fn published_udp_port_echoes_a_datagram() {
    let s = setup();
    let port = free_port();
    let lib = std::fs::canonicalize("/lib").expect("/lib");
    let lib64 = std::fs::canonicalize("/lib64").expect("/lib64");
    let echo = "import socket\n\
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
                s.bind(('0.0.0.0', 5353))\n\
                while True:\n    data, peer = s.recvfrom(4096)\n    s.sendto(b'echo:' + data, peer)\n";
    ok(
        &s.docker,
        &[
            "run",
            "-d",
            "--name",
            "udp",
            "-p",
            &format!("127.0.0.1:{port}:5353/udp"),
            "-v",
            "/usr:/usr:ro",
            "-v",
            &format!("{}:/lib:ro", lib.display()),
            "-v",
            &format!("{}:/lib64:ro", lib64.display()),
            "busybox",
            "/usr/bin/python3",
            "-c",
            echo,
        ],
    );
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut answer = String::new();
    eventually("a UDP echo through the proxy", || {
        client
            .send_to(b"ping-berth", ("127.0.0.1", port))
            .expect("send");
        let mut buf = [0u8; 512];
        match client.recv_from(&mut buf) {
            Ok((n, _)) => {
                answer = String::from_utf8_lossy(&buf[..n]).into_owned();
                true
            }
            Err(_) => false,
        }
    });
    assert_eq!(answer, "echo:ping-berth");
    assert_eq!(
        ok(&s.docker, &["port", "udp"]).trim(),
        format!("5353/udp -> 127.0.0.1:{port}")
    );
    ok(&s.docker, &["rm", "-f", "udp"]);
}

#[test]
fn containers_on_a_user_network_reach_each_other_by_name() {
    let s = setup();
    ok(&s.docker, &["network", "create", "appnet"]);
    let start_api = |docker: &DockerCli| {
        ok(
            docker,
            &[
                "run",
                "-d",
                "--name",
                "api",
                "--network",
                "appnet",
                "--network-alias",
                "backend",
                "busybox",
                "sh",
                "-c",
                &httpd_command("from-api"),
            ],
        );
    };
    start_api(&s.docker);
    // A client that was there before the server is recreated.
    ok(
        &s.docker,
        &[
            "run",
            "-d",
            "--name",
            "client",
            "--network",
            "appnet",
            "busybox",
            "sleep",
            "1000",
        ],
    );
    let fetch = |docker: &DockerCli, host: &str| {
        run(
            docker,
            &["exec", "client", "wget", "-qO-", &format!("http://{host}/")],
        )
    };
    for name in ["api", "backend"] {
        let mut last = None;
        eventually(&format!("wget http://{name}/ from client"), || {
            let out = fetch(&s.docker, name);
            let good = out.success() && out.stdout.contains("from-api");
            last = Some(out);
            good
        });
        drop(last);
    }
    // A fresh container started later resolves it too.
    let fresh = ok(
        &s.docker,
        &[
            "run",
            "--rm",
            "--network",
            "appnet",
            "busybox",
            "wget",
            "-qO-",
            "http://api/",
        ],
    );
    assert!(fresh.contains("from-api"), "{fresh}");

    let first_ip = inspect(&s.docker, "api")["NetworkSettings"]["Networks"]["appnet"]["IPAddress"]
        .as_str()
        .unwrap()
        .to_string();
    let network = inspect(&s.docker, "appnet");
    assert_eq!(
        network["Containers"].as_object().unwrap().len(),
        2,
        "{network}"
    );

    ok(&s.docker, &["rm", "-f", "api"]);
    start_api(&s.docker);
    let second_ip = inspect(&s.docker, "api")["NetworkSettings"]["Networks"]["appnet"]["IPAddress"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(
        first_ip, second_ip,
        "the recreated container kept its address"
    );
    eventually("the name follows the new address", || {
        let out = fetch(&s.docker, "api");
        out.success() && out.stdout.contains("from-api")
    });
    let hosts = ok(&s.docker, &["exec", "client", "cat", "/etc/hosts"]);
    assert!(
        hosts.contains(&format!("{second_ip}\tapi backend")),
        "{hosts}"
    );
    assert!(!hosts.contains(&format!("{first_ip}\t")), "{hosts}");

    let busy = run(&s.docker, &["network", "rm", "appnet"]);
    assert!(
        !busy.success() && busy.stderr.contains("active endpoints"),
        "{busy:?}"
    );
    let bridge = format!("br-{}", &network["Id"].as_str().unwrap()[..12]);
    assert!(Path::new("/sys/class/net").join(&bridge).exists());
    ok(&s.docker, &["rm", "-f", "api", "client"]);
    ok(&s.docker, &["network", "rm", "appnet"]);
    assert!(
        !Path::new("/sys/class/net").join(&bridge).exists(),
        "bridge left behind"
    );
}

#[test]
fn network_modes_bridge_none_host_and_container() {
    let s = setup();
    let links = |args: &[&str]| -> Vec<String> {
        let mut full = vec!["run", "--rm"];
        full.extend_from_slice(args);
        full.extend_from_slice(&["busybox", "ip", "-o", "link"]);
        ok(&s.docker, &full)
            .lines()
            .filter_map(|l| l.split(':').nth(1))
            .map(|n| n.trim().split('@').next().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(links(&["--network", "none"]), vec!["lo"]);
    let host = links(&["--network", "host"]);
    assert!(host.contains(&s.agent.bridge_name()), "{host:?}");
    assert_eq!(links(&[]), vec!["lo", "eth0"]);

    // The default bridge: an address in its subnet and a default route via its gateway.
    let bridge = inspect(&s.docker, "bridge");
    let gateway = bridge["IPAM"]["Config"][0]["Gateway"]
        .as_str()
        .unwrap()
        .to_string();
    let route = ok(&s.docker, &["run", "--rm", "busybox", "ip", "route"]);
    assert!(
        route.contains(&format!("default via {gateway} dev eth0")),
        "{route}"
    );

    ok(
        &s.docker,
        &["run", "-d", "--name", "base", "busybox", "sleep", "1000"],
    );
    let base_ip = inspect(&s.docker, "base")["NetworkSettings"]["IPAddress"]
        .as_str()
        .unwrap()
        .to_string();
    let shared = ok(
        &s.docker,
        &[
            "run",
            "--rm",
            "--network",
            "container:base",
            "busybox",
            "ip",
            "-o",
            "-4",
            "addr",
            "show",
            "eth0",
        ],
    );
    assert!(shared.contains(&format!("inet {base_ip}/")), "{shared}");
    ok(&s.docker, &["rm", "-f", "base"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_containers_leave_no_veth_lease_listener_or_namespace() {
    let s = setup();
    let bridge = s.agent.bridge_name();
    let mut ids = Vec::new();
    for _ in 0..50 {
        let id = ok(
            &s.docker,
            &[
                "run",
                "-d",
                "-p",
                "127.0.0.1::80",
                "busybox",
                "sleep",
                "1000",
            ],
        );
        ids.push(id.trim().to_string());
    }
    assert_eq!(bridge_ports(&bridge).len(), 50);
    assert_eq!(leases(&s.agent).len(), 50);
    assert_eq!(netns_files(&s.agent).len(), 50);
    let usage = port_usage(&s.agent).await;
    let mappings = usage["mappings"].as_array().unwrap().clone();
    assert_eq!(mappings.len(), 50);
    let mut args = vec!["rm", "-f"];
    args.extend(ids.iter().map(String::as_str));
    ok(&s.docker, &args);
    veths_gone(&bridge);
    assert!(leases(&s.agent).is_empty(), "leases left");
    assert!(netns_files(&s.agent).is_empty(), "namespaces left");
    assert_eq!(
        port_usage(&s.agent).await["mappings"],
        serde_json::json!([])
    );
    for m in mappings {
        let port = m["host_port"].as_u64().unwrap() as u16;
        assert!(
            TcpListener::bind(("127.0.0.1", port)).is_ok(),
            "port {port} still held"
        );
    }
}

#[test]
fn published_ports_come_back_after_the_agent_is_killed() {
    let mut s = setup();
    let port = free_port();
    ok(
        &s.docker,
        &[
            "run",
            "-d",
            "--name",
            "web",
            "-p",
            &format!("127.0.0.1:{port}:80"),
            "busybox",
            "sh",
            "-c",
            &httpd_command("still-here"),
        ],
    );
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    eventually("the page", || {
        http_get(addr).is_some_and(|b| b.contains("still-here"))
    });
    let before = inspect(&s.docker, "web")["NetworkSettings"]["IPAddress"].clone();
    s.agent.kill_hard().expect("kill the agent");
    s.agent.restart().expect("restart the agent");
    eventually("the page after the restart", || {
        http_get(addr).is_some_and(|b| b.contains("still-here"))
    });
    let web = inspect(&s.docker, "web");
    assert_eq!(web["NetworkSettings"]["IPAddress"], before);
    assert_eq!(
        ok(&s.docker, &["port", "web"]).trim(),
        format!("80/tcp -> 127.0.0.1:{port}")
    );
    ok(&s.docker, &["stop", "-t", "0", "web"]);
    assert!(http_get(addr).is_none());
    veths_gone(&s.agent.bridge_name());
    assert!(leases(&s.agent).is_empty());
}

#[test]
fn network_commands_and_their_errors() {
    let s = setup();
    let since = chrono_now();
    ok(
        &s.docker,
        &[
            "network",
            "create",
            "--subnet",
            "10.213.7.0/24",
            "--gateway",
            "10.213.7.254",
            "custom1",
        ],
    );
    let custom = inspect(&s.docker, "custom1");
    assert_eq!(custom["IPAM"]["Config"][0]["Subnet"], "10.213.7.0/24");
    assert_eq!(custom["IPAM"]["Config"][0]["Gateway"], "10.213.7.254");
    assert_eq!(custom["Driver"], "bridge");
    let ls = ok(&s.docker, &["network", "ls", "--format", "{{.Name}}"]);
    for name in ["bridge", "host", "none", "custom1"] {
        assert!(ls.lines().any(|l| l == name), "{ls}");
    }
    let errors = [
        (vec!["network", "create", "custom1"], "already exists"),
        (
            vec!["network", "create", "--subnet", "10.213.7.128/25", "other"],
            "overlaps",
        ),
        (
            vec!["network", "create", "--subnet", "10.0.0.0/33", "bad"],
            "subnet",
        ),
        (
            vec!["network", "create", "--driver", "macvlan", "mv"],
            "driver",
        ),
        (vec!["network", "rm", "bridge"], "pre-defined"),
        (vec!["network", "rm", "nosuch"], "not found"),
    ];
    for (args, needle) in errors {
        let out = run(&s.docker, &args);
        assert!(
            !out.success() && out.stderr.contains(needle),
            "{args:?}: {out:?}"
        );
    }
    let unknown = run(
        &s.docker,
        &["run", "--rm", "--network", "nosuch", "busybox", "true"],
    );
    assert!(
        !unknown.success() && unknown.stderr.contains("not found"),
        "{unknown:?}"
    );
    assert_eq!(ok(&s.docker, &["ps", "-aq"]).trim(), "");

    let addr = ok(
        &s.docker,
        &[
            "run",
            "--rm",
            "--network",
            "custom1",
            "--ip",
            "10.213.7.9",
            "busybox",
            "sh",
            "-c",
            "ip -o -4 addr show eth0; ip route",
        ],
    );
    assert!(addr.contains("inet 10.213.7.9/24"), "{addr}");
    assert!(addr.contains("default via 10.213.7.254"), "{addr}");

    // connect and disconnect a running container.
    ok(
        &s.docker,
        &["run", "-d", "--name", "c1", "busybox", "sleep", "1000"],
    );
    ok(&s.docker, &["network", "connect", "custom1", "c1"]);
    let eth1 = ok(&s.docker, &["exec", "c1", "ip", "-o", "-4", "addr"]);
    assert!(
        eth1.contains("eth1") && eth1.contains("10.213.7."),
        "{eth1}"
    );
    let c1 = inspect(&s.docker, "c1");
    assert!(
        c1["NetworkSettings"]["Networks"]["custom1"]["IPAddress"]
            .as_str()
            .is_some_and(|a| a.starts_with("10.213.7."))
    );
    ok(&s.docker, &["network", "disconnect", "custom1", "c1"]);
    let after = ok(&s.docker, &["exec", "c1", "ip", "-o", "-4", "addr"]);
    assert!(!after.contains("eth1"), "{after}");
    ok(&s.docker, &["rm", "-f", "c1"]);

    let pruned = ok(&s.docker, &["network", "prune", "-f"]);
    assert!(pruned.contains("custom1"), "{pruned}");
    let ls = ok(&s.docker, &["network", "ls", "--format", "{{.Name}}"]);
    assert!(!ls.contains("custom1"), "{ls}");

    let until = chrono_now() + 1;
    let events = ok(
        &s.docker,
        &[
            "events",
            "--since",
            &since.to_string(),
            "--until",
            &until.to_string(),
            "--filter",
            "type=network",
            "--format",
            "{{.Action}}",
        ],
    );
    for action in ["create", "connect", "disconnect", "destroy"] {
        assert!(
            events.lines().any(|l| l == action),
            "{action} missing: {events}"
        );
    }
}

fn chrono_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn publish_all_and_host_port_ranges() {
    let s = setup();
    ok(
        &s.docker,
        &[
            "run", "-d", "--name", "all", "-P", "--expose", "80", "--expose", "53/udp", "busybox",
            "sleep", "1000",
        ],
    );
    let ports = ok(&s.docker, &["port", "all"]);
    // Every exposed port, on 0.0.0.0 and ::, at a host port the kernel picked.
    for key in [
        "80/tcp -> 0.0.0.0:",
        "80/tcp -> [::]:",
        "53/udp -> 0.0.0.0:",
        "53/udp -> [::]:",
    ] {
        assert!(ports.contains(key), "{key} missing: {ports}");
    }
    // A range: the first free port of it.
    let low = free_port();
    let squatter = TcpListener::bind(("127.0.0.1", low)).expect("squat");
    let high = low.saturating_add(20);
    ok(
        &s.docker,
        &[
            "run",
            "-d",
            "--name",
            "ranged",
            "-p",
            &format!("127.0.0.1:{low}-{high}:80"),
            "busybox",
            "sleep",
            "1000",
        ],
    );
    let ranged = ok(&s.docker, &["port", "ranged", "80"]);
    let chosen: u16 = ranged
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {ranged}"));
    assert!(
        chosen > low && chosen <= high,
        "{chosen} not in ({low}, {high}]"
    );
    drop(squatter);
    ok(&s.docker, &["rm", "-f", "all", "ranged"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_network_input_gets_clear_errors_and_leaves_nothing() {
    let s = setup();
    // A /30 has one address left after its gateway: the second container cannot start.
    ok(
        &s.docker,
        &["network", "create", "--subnet", "10.213.9.0/30", "tiny"],
    );
    ok(
        &s.docker,
        &[
            "run",
            "-d",
            "--name",
            "first",
            "--network",
            "tiny",
            "busybox",
            "sleep",
            "1000",
        ],
    );
    let second = run(
        &s.docker,
        &[
            "run",
            "-d",
            "--name",
            "second",
            "--network",
            "tiny",
            "busybox",
            "sleep",
            "1000",
        ],
    );
    assert!(!second.success(), "{second:?}");
    assert!(
        second.stderr.contains("no available addresses"),
        "{second:?}"
    );
    let state = inspect(&s.docker, "second");
    assert_eq!(state["NetworkSettings"]["IPAddress"], "");
    assert_eq!(leases(&s.agent).len(), 1);
    assert_eq!(netns_files(&s.agent).len(), 1);
    ok(&s.docker, &["rm", "-f", "first", "second"]);
    ok(&s.docker, &["network", "rm", "tiny"]);

    // Malformed bodies and unknown names through the API.
    let cases: [(&str, &str, &str, u16); 5] = [
        ("POST", "/networks/create", "{not json", 400),
        ("POST", "/networks/create", r#"{"Name":"../evil"}"#, 400),
        (
            "POST",
            "/networks/create",
            r#"{"Name":"x","IPAM":{"Config":[{"Subnet":"300.1.1.0/24"}]}}"#,
            400,
        ),
        (
            "POST",
            "/networks/bridge/connect",
            r#"{"Container":"nosuch"}"#,
            404,
        ),
        (
            "POST",
            "/containers/create",
            r#"{"Image":"busybox","HostConfig":{"PortBindings":{"80/sctp":[{"HostPort":"1"}]}}}"#,
            400,
        ),
    ];
    for (method, path, body, status) in cases {
        let response = s
            .agent
            .request(method.parse().unwrap(), path)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), status, "{method} {path} {body}");
        let message: Value = response.json().await.expect("error JSON");
        assert!(message["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    assert!(
        Path::new("/sys/class/net")
            .join("x")
            .exists()
            .then_some(())
            .is_none()
    );
    assert_eq!(ok(&s.docker, &["ps", "-aq"]).trim(), "");
}
