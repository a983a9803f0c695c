//! Capabilities: the bounding set is exactly the listed ones, effective and permitted
//! too, inheritable and ambient empty (CVE-2022-24769). Done with raw `capset`/`prctl`
//! so no capability crate is needed.

use super::{SetupError, check};

/// Capability names in kernel order (`CAP_CHOWN` = 0 … `CAP_CHECKPOINT_RESTORE` = 40).
pub const NAMES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// A 64-bit capability mask from names (`CAP_X` or `X`, any case). Unknown names are an
/// error rather than silently dropped.
pub fn mask(names: &[String]) -> Result<u64, SetupError> {
    let mut mask = 0u64;
    for name in names {
        let upper = name.to_ascii_uppercase();
        let full = if upper.starts_with("CAP_") {
            upper
        } else {
            format!("CAP_{upper}")
        };
        match NAMES.iter().position(|n| *n == full) {
            Some(bit) => mask |= 1 << bit,
            None => return Err(SetupError::Invalid(format!("unknown capability {name:?}"))),
        }
    }
    Ok(mask)
}

/// The highest capability this kernel knows (read before `pivot_root`).
pub fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(NAMES.len() as u32 - 1)
        .min(63)
}

/// Drops from the bounding set every capability not in `keep`. Needs CAP_SETPCAP, so
/// runs before the switch to the container's user.
pub fn drop_bounding(keep: u64, last: u32) -> Result<(), SetupError> {
    for cap in 0..=last {
        if keep & (1 << cap) == 0 {
            // SAFETY: prctl with integer arguments.
            let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
            // EINVAL: the kernel does not know this capability; nothing to drop.
            if r == -1 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINVAL) {
                return check(r, || format!("drop capability {cap} from bounding set")).map(drop);
            }
        }
    }
    Ok(())
}

/// Keeps the permitted set across the switch to a non-root user (runc's order:
/// keep-caps, setuid, then capset).
pub fn keep_across_setuid(on: bool) -> Result<(), SetupError> {
    // SAFETY: prctl with integer arguments.
    let r = unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, on as libc::c_ulong, 0, 0, 0) };
    check(r, || "prctl PR_SET_KEEPCAPS".into()).map(drop)
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const CAP_V3: u32 = 0x2008_0522;

/// Effective = permitted = `caps`, inheritable empty, ambient cleared.
pub fn set(caps: u64) -> Result<(), SetupError> {
    let hdr = CapHeader {
        version: CAP_V3,
        pid: 0,
    };
    let lo = caps as u32;
    let hi = (caps >> 32) as u32;
    let data = [
        CapData {
            effective: lo,
            permitted: lo,
            inheritable: 0,
        },
        CapData {
            effective: hi,
            permitted: hi,
            inheritable: 0,
        },
    ];
    // SAFETY: capset with a v3 header and two data structs, as the kernel expects.
    let r = unsafe { libc::syscall(libc::SYS_capset, &hdr as *const CapHeader, data.as_ptr()) };
    check(r as libc::c_int, || "capset".into())?;
    // SAFETY: prctl with integer arguments.
    let r = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    check(r, || "clear ambient capabilities".into()).map(drop)
}

/// `no_new_privs`: setuid binaries and file capabilities grant nothing after exec.
pub fn no_new_privs() -> Result<(), SetupError> {
    // SAFETY: prctl with integer arguments.
    let r = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    check(r, || "prctl PR_SET_NO_NEW_PRIVS".into()).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_to_mask() {
        assert_eq!(
            mask(&["CAP_CHOWN".into(), "kill".into()]).unwrap(),
            1 | 1 << 5
        );
        assert_eq!(NAMES[21], "CAP_SYS_ADMIN");
        assert_eq!(NAMES[40], "CAP_CHECKPOINT_RESTORE");
        assert!(mask(&["CAP_NOPE".into()]).is_err());
        let all: Vec<String> = crate::runtime::spec::DEFAULT_CAPABILITIES
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(mask(&all).unwrap().count_ones(), 14);
    }
}
