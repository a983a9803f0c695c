//! Pure formatting helpers: no DOM, no JS, so they are unit-tested on the host.

use std::collections::BTreeMap;

/// `v` with `decimals` digits after the point (half away from zero), written with integer
/// arithmetic: core's float printing costs the wasm about 10 KB. NaN and infinities read 0.
pub fn fixed(v: f64, decimals: u32) -> String {
    let v = if v.is_finite() { v } else { 0.0 };
    let scale = 10u64.pow(decimals);
    let scaled = (v.abs() * scale as f64).round() as u64;
    let sign = if v < 0.0 && scaled > 0 { "-" } else { "" };
    if decimals == 0 {
        format!("{sign}{scaled}")
    } else {
        format!(
            "{sign}{}.{:0width$}",
            scaled / scale,
            scaled % scale,
            width = decimals as usize
        )
    }
}

/// `text` in lower case: the browser's `toLowerCase` in the wasm (no case tables in the
/// bundle), Rust's on the host; both follow Unicode.
pub fn lower(text: &str) -> String {
    #[cfg(target_arch = "wasm32")]
    {
        String::from(js_sys::JsString::from(text).to_lower_case())
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        text.to_lowercase()
    }
}

/// Whether every word of `words` is in `haystack`, ignoring case (filter boxes).
pub fn contains_words(haystack: &str, words: &str) -> bool {
    let haystack = lower(haystack);
    lower(words)
        .split_whitespace()
        .all(|word| haystack.contains(word))
}

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
    format!("{} {}", fixed(v, 1), UNITS[unit])
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
    format!("{} {} {}", fixed(l[0], 2), fixed(l[1], 2), fixed(l[2], 2))
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

/// How long ago `then` was, at `now` (both Unix seconds), in the words `docker images` uses:
/// `"About a minute ago"`, `"3 hours ago"`, `"25 years ago"`. `"—"` for an unknown (≤ 0) time.
pub fn ago(then: i64, now: i64) -> String {
    if then <= 0 {
        return "—".to_string();
    }
    let secs = now.saturating_sub(then);
    if secs < 1 {
        return "Less than a second ago".to_string();
    }
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit} ago")
        } else {
            format!("{n} {unit}s ago")
        }
    };
    let minutes = secs / 60;
    // Rounded to the nearest hour, as docker's go-units does.
    let hours = (secs + 1_800) / 3_600;
    if secs < 60 {
        plural(secs, "second")
    } else if minutes == 1 {
        "About a minute ago".to_string()
    } else if minutes < 60 {
        plural(minutes, "minute")
    } else if hours == 1 {
        "About an hour ago".to_string()
    } else if hours < 48 {
        plural(hours, "hour")
    } else if hours < 24 * 7 * 2 {
        plural(hours / 24, "day")
    } else if hours < 24 * 30 * 2 {
        plural(hours / 24 / 7, "week")
    } else if hours < 24 * 365 * 2 {
        plural(hours / 24 / 30, "month")
    } else {
        plural(hours / 24 / 365, "year")
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the inverse of `civil_from_days`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix seconds of an RFC 3339 time as image configs carry it
/// (`"2000-01-01T00:00:00Z"`, `"2024-05-01T10:00:00.123456789+02:00"`); `None` if unreadable.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let s = s.trim();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(range)?;
        if part.bytes().all(|b| b.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let sep = |i: usize, allowed: &[u8]| s.as_bytes().get(i).is_some_and(|b| allowed.contains(b));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let mut rest = s.get(19..)?;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let zone = &rest[1..];
            let (h, m) = zone.split_once(':')?;
            if h.len() != 2 || m.len() != 2 {
                return None;
            }
            let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
            sign * (h * 3_600 + m * 60)
        }
    };
    let days = days_from_civil(year, month as u32, day as u32);
    Some(days * 86_400 + hour * 3_600 + minute * 60 + second - offset)
}

/// A reference split into what `POST /images/create` wants as `fromImage` and `tag`, the way
/// docker does: the tag follows the last `:` after the last `/` (so a registry port is not a
/// tag), a digest follows `@`, and the tag defaults to `latest`.
pub fn split_reference(reference: &str) -> (String, String) {
    let reference = reference.trim();
    if let Some((name, digest)) = reference.split_once('@') {
        return (name.to_string(), digest.to_string());
    }
    let slash = reference.rfind('/').map_or(0, |i| i + 1);
    match reference[slash..].rfind(':') {
        Some(colon) if !reference[slash + colon + 1..].is_empty() => (
            reference[..slash + colon].to_string(),
            reference[slash + colon + 1..].to_string(),
        ),
        Some(colon) => (reference[..slash + colon].to_string(), "latest".to_string()),
        None => (reference.to_string(), "latest".to_string()),
    }
}

/// An image's name for lists: its first `repository:tag`, or `<none>` when untagged.
pub fn image_name(tags: &[String]) -> &str {
    tags.iter()
        .map(String::as_str)
        .find(|t| !t.is_empty() && *t != "<none>:<none>")
        .unwrap_or("<none>")
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

/// A published port's host side: `"127.0.0.1:8080/tcp"`, `"[::]:53/udp"`.
pub fn host_port(ip: &str, port: u16, protocol: &str) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}/{protocol}")
    } else {
        format!("{ip}:{port}/{protocol}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_point_numbers() {
        assert_eq!(fixed(12.345, 1), "12.3");
        assert_eq!(fixed(0.06, 1), "0.1");
        assert_eq!(fixed(99.96, 1), "100.0");
        assert_eq!(fixed(7.0, 0), "7");
        assert_eq!(fixed(-1.5, 2), "-1.50");
        assert_eq!(fixed(-0.001, 1), "0.0");
        assert_eq!(fixed(f64::NAN, 1), "0.0");
    }

    #[test]
    fn host_ports_bracket_ipv6() {
        assert_eq!(host_port("127.0.0.1", 8080, "tcp"), "127.0.0.1:8080/tcp");
        assert_eq!(host_port("::", 53, "udp"), "[::]:53/udp");
    }

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
    fn ago_reads_like_docker() {
        let now = 1_764_024_363;
        assert_eq!(ago(now, now), "Less than a second ago");
        assert_eq!(ago(now + 30, now), "Less than a second ago");
        assert_eq!(ago(now - 1, now), "1 second ago");
        assert_eq!(ago(now - 59, now), "59 seconds ago");
        assert_eq!(ago(now - 90, now), "About a minute ago");
        assert_eq!(ago(now - 600, now), "10 minutes ago");
        assert_eq!(ago(now - 3_600, now), "About an hour ago");
        assert_eq!(ago(now - 3 * 3_600, now), "3 hours ago");
        assert_eq!(ago(now - 3 * 86_400, now), "3 days ago");
        assert_eq!(ago(now - 20 * 86_400, now), "2 weeks ago");
        assert_eq!(ago(now - 100 * 86_400, now), "3 months ago");
        assert_eq!(ago(946_684_800, now), "25 years ago");
        assert_eq!(ago(0, now), "—");
    }

    #[test]
    fn rfc3339_times_parse() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2000-01-01T00:00:00Z"), Some(946_684_800));
        assert_eq!(
            parse_rfc3339("2025-11-24T22:46:03.123456789Z"),
            Some(1_764_024_363)
        );
        assert_eq!(
            parse_rfc3339("2025-11-24T23:46:03+01:00"),
            Some(1_764_024_363)
        );
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z"), Some(951_782_400));
        for bad in [
            "",
            "2000-01-01",
            "2000-13-01T00:00:00Z",
            "2000-01-01T00:00:00",
            "x000-01-01T00:00:00Z",
            "2000-01-01T00:00:00.Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
        // The inverse of the formatter.
        for t in [0, 951_782_400, 1_764_024_363, -86_401] {
            let text = datetime(t, 0).replace(' ', "T") + "Z";
            assert_eq!(parse_rfc3339(&text), Some(t), "{text}");
        }
    }

    #[test]
    fn references_split_like_docker() {
        let split = |r: &str| {
            let (n, t) = split_reference(r);
            format!("{n} {t}")
        };
        assert_eq!(split("busybox"), "busybox latest");
        assert_eq!(split("busybox:1.36"), "busybox 1.36");
        assert_eq!(split(" library/busybox:musl "), "library/busybox musl");
        assert_eq!(
            split("127.0.0.1:5000/busybox"),
            "127.0.0.1:5000/busybox latest"
        );
        assert_eq!(
            split("127.0.0.1:5000/x/busybox:v2"),
            "127.0.0.1:5000/x/busybox v2"
        );
        assert_eq!(split("busybox:"), "busybox latest");
        let digest = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(
            split(&format!("127.0.0.1:5000/busybox@{digest}")),
            format!("127.0.0.1:5000/busybox {digest}")
        );
    }

    #[test]
    fn image_names_fall_back_to_none() {
        assert_eq!(image_name(&[]), "<none>");
        assert_eq!(image_name(&["<none>:<none>".into()]), "<none>");
        assert_eq!(image_name(&["a:1".into(), "b:2".into()]), "a:1");
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
