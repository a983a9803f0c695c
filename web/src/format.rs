//! Pure formatting helpers: no DOM, no JS, so they are unit-tested on the host.

use std::collections::BTreeMap;

/// Bytes in binary units with one decimal: `"23.4 GiB"`, `"512 B"`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64;
    let mut unit = 0;
    // 1023.95 would print as "1024.0": move up a unit instead.
    while v >= 1023.95 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// `"23.4 GiB total, 22.1 GiB available"`.
pub fn memory(total: u64, available: u64) -> String {
    format!("{} total, {} available", bytes(total), bytes(available))
}

/// Share of memory in use, 0–100, for the usage bar.
pub fn used_percent(total: u64, available: u64) -> f64 {
    if total == 0 {
        return 0.0;
    }
    let used = total.saturating_sub(available) as f64;
    (used * 100.0 / total as f64).clamp(0.0, 100.0)
}

/// `"v1 (cgroupfs)"`; the parts the agent left empty are left out.
pub fn cgroup(version: &str, driver: &str) -> String {
    match (version.trim(), driver.trim()) {
        ("", "") => "unknown".to_string(),
        ("", d) => d.to_string(),
        (v, "") => format!("v{v}"),
        (v, d) => format!("v{v} ({d})"),
    }
}

/// `"3 (1 running)"`.
pub fn containers(total: u64, running: u64) -> String {
    format!("{total} ({running} running)")
}

/// A coarse duration: `"3d 4h 12m"`, `"4h 12m"`, `"12m 5s"`, `"5s"`.
pub fn duration(secs: u64) -> String {
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3_600,
        secs % 3_600 / 60,
        secs % 60,
    );
    if d > 0 {
        format!("{d}d {h}h {m}m")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {s}s")
    } else {
        format!("{s}s")
    }
}

/// Load averages over 1, 5 and 15 minutes: `"0.12 0.34 0.56"`.
pub fn load(l: &[f64; 3]) -> String {
    format!("{:.2} {:.2} {:.2}", l[0], l[1], l[2])
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `"2025-11-24 22:46:03"` for Unix seconds, shifted by `offset_secs` (local minus UTC).
pub fn datetime(unix_secs: i64, offset_secs: i64) -> String {
    let t = unix_secs + offset_secs;
    let (y, mo, d) = civil_from_days(t.div_euclid(86_400));
    let s = t.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02}",
        s / 3_600,
        s % 3_600 / 60,
        s % 60
    )
}

/// `"22:46:03"` for Unix seconds, shifted by `offset_secs` (local minus UTC).
pub fn clock(unix_secs: i64, offset_secs: i64) -> String {
    let s = (unix_secs + offset_secs).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3_600, s % 3_600 / 60, s % 60)
}

/// Event attributes as `"k=v, k=v"` in key order.
pub fn attributes(attrs: &BTreeMap<String, String>) -> String {
    attrs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A 64-hex-digit ID (optionally `sha256:`-prefixed) shortened to 12 digits, as docker does;
/// anything else (names, references) unchanged.
pub fn short_id(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        &hex[..12]
    } else {
        id
    }
}

/// The dashboard socket's URL for the page's `location.protocol` and `location.host`.
pub fn ws_url(protocol: &str, host: &str) -> String {
    let scheme = if protocol == "https:" { "wss" } else { "ws" };
    format!("{scheme}://{host}/berth/v1/ws")
}

/// Milliseconds to wait before reconnect attempt `attempt` (1-based): 0.5 s doubling to 15 s.
pub fn backoff_ms(attempt: u32) -> u32 {
    500u32
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(5))
        .min(15_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_use_binary_units() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1024), "1.0 KiB");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(25_125_558_681), "23.4 GiB");
        assert_eq!(bytes(1024 * 1024 - 1), "1.0 MiB");
        assert_eq!(bytes(u64::MAX), "16384.0 PiB");
    }

    #[test]
    fn memory_reads_naturally() {
        assert_eq!(
            memory(25_125_558_681, 23_729_694_310),
            "23.4 GiB total, 22.1 GiB available"
        );
        assert_eq!(used_percent(100, 25), 75.0);
        assert_eq!(used_percent(0, 0), 0.0);
        assert_eq!(used_percent(100, 200), 0.0);
    }

    #[test]
    fn cgroup_names_version_and_driver() {
        assert_eq!(cgroup("1", "cgroupfs"), "v1 (cgroupfs)");
        assert_eq!(cgroup("2", ""), "v2");
        assert_eq!(cgroup("", ""), "unknown");
        assert_eq!(cgroup("", "systemd"), "systemd");
    }

    #[test]
    fn durations_are_coarse() {
        assert_eq!(duration(5), "5s");
        assert_eq!(duration(65), "1m 5s");
        assert_eq!(duration(3_600 * 4 + 60 * 12 + 9), "4h 12m");
        assert_eq!(duration(86_400 * 3 + 3_600 * 4 + 60 * 12), "3d 4h 12m");
    }

    #[test]
    fn load_and_counts() {
        assert_eq!(load(&[0.123, 1.0, 12.345]), "0.12 1.00 12.35");
        assert_eq!(containers(3, 1), "3 (1 running)");
    }

    #[test]
    fn datetimes_match_known_instants() {
        assert_eq!(datetime(0, 0), "1970-01-01 00:00:00");
        assert_eq!(datetime(951_782_400, 0), "2000-02-29 00:00:00");
        assert_eq!(datetime(1_764_024_363, 0), "2025-11-24 22:46:03");
        assert_eq!(datetime(1_764_024_363, 3_600), "2025-11-24 23:46:03");
        assert_eq!(datetime(1_764_028_800, -3_600), "2025-11-24 23:00:00");
        assert_eq!(datetime(-1, 0), "1969-12-31 23:59:59");
        assert_eq!(clock(1_764_024_363, 0), "22:46:03");
        assert_eq!(clock(1_764_024_363, 7_200), "00:46:03");
    }

    #[test]
    fn attributes_in_key_order() {
        let mut a = BTreeMap::new();
        a.insert("name".to_string(), "web".to_string());
        a.insert("image".to_string(), "busybox".to_string());
        assert_eq!(attributes(&a), "image=busybox, name=web");
        assert_eq!(attributes(&BTreeMap::new()), "");
    }

    #[test]
    fn ids_shorten_like_docker() {
        let hex = "0123456789abcdef".repeat(4);
        assert_eq!(short_id(&hex), "0123456789ab");
        assert_eq!(short_id(&format!("sha256:{hex}")), "0123456789ab");
        assert_eq!(short_id("busybox:latest"), "busybox:latest");
        assert_eq!(short_id("abc"), "abc");
    }

    #[test]
    fn socket_url_follows_the_page() {
        assert_eq!(
            ws_url("http:", "127.0.0.1:7070"),
            "ws://127.0.0.1:7070/berth/v1/ws"
        );
        assert_eq!(ws_url("https:", "h:443"), "wss://h:443/berth/v1/ws");
    }

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        assert_eq!(backoff_ms(0), 500);
        assert_eq!(backoff_ms(1), 500);
        assert_eq!(backoff_ms(2), 1_000);
        assert_eq!(backoff_ms(5), 8_000);
        assert_eq!(backoff_ms(6), 15_000);
        assert_eq!(backoff_ms(100), 15_000);
    }
}
