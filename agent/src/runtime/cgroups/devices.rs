//! Docker's default device rules for an unprivileged container (v1 devices controller).
//!
//! The container's cgroup first denies everything (`a`), then allows these. The first two
//! rules allow `mknod` of any node (not its use), as Docker does.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceRule {
    /// `'c'` (character), `'b'` (block) or `'a'` (all).
    pub kind: char,
    /// `None` = any (`*`).
    pub major: Option<u32>,
    pub minor: Option<u32>,
    /// Some of `r`, `w`, `m`.
    pub access: &'static str,
}

const fn rule(
    kind: char,
    major: Option<u32>,
    minor: Option<u32>,
    access: &'static str,
) -> DeviceRule {
    DeviceRule {
        kind,
        major,
        minor,
        access,
    }
}

/// Docker's defaults: mknod of anything; use of null, zero, full, random, urandom, tty,
/// console, ptmx, the pts and tun.
pub const DEFAULT_ALLOWED: &[DeviceRule] = &[
    rule('c', None, None, "m"),
    rule('b', None, None, "m"),
    rule('c', Some(1), Some(3), "rwm"),    // /dev/null
    rule('c', Some(1), Some(5), "rwm"),    // /dev/zero
    rule('c', Some(1), Some(7), "rwm"),    // /dev/full
    rule('c', Some(1), Some(8), "rwm"),    // /dev/random
    rule('c', Some(1), Some(9), "rwm"),    // /dev/urandom
    rule('c', Some(5), Some(0), "rwm"),    // /dev/tty
    rule('c', Some(5), Some(1), "rwm"),    // /dev/console
    rule('c', Some(5), Some(2), "rwm"),    // /dev/ptmx
    rule('c', Some(136), None, "rwm"),     // /dev/pts/*
    rule('c', Some(10), Some(200), "rwm"), // /dev/net/tun
];

/// What is written to `devices.deny` before the allow rules.
pub const DENY_ALL: &str = "a";

impl fmt::Display for DeviceRule {
    /// The v1 `devices.allow` syntax: `c 1:3 rwm`, `c 136:* rwm`, `b *:* m`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let num = |n: Option<u32>| n.map_or_else(|| "*".to_string(), |n| n.to_string());
        write!(
            f,
            "{} {}:{} {}",
            self.kind,
            num(self.major),
            num(self.minor),
            self.access
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_devices_allow_lines() {
        let lines: Vec<String> = DEFAULT_ALLOWED.iter().map(|r| r.to_string()).collect();
        assert_eq!(lines[0], "c *:* m");
        assert_eq!(lines[1], "b *:* m");
        assert_eq!(lines[2], "c 1:3 rwm");
        assert_eq!(lines[10], "c 136:* rwm");
        assert_eq!(lines[11], "c 10:200 rwm");
        assert_eq!(lines.len(), 12);
    }
}
