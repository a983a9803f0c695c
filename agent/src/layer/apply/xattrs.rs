//! Extended attributes from PAX `SCHILY.xattr.*` records: which are taken, and setting them.
//!
//! An allow-list: `user.*` (application data) and `security.capability` (file capabilities,
//! e.g. `ping` with `cap_net_raw`). Everything else is skipped with a warning:
//! - `trusted.*`, above all `trusted.overlay.*`: the overlayfs metadata (`opaque`, `redirect`,
//!   `metacopy`, `origin`) lives there; a layer that carried its own could make overlayfs look
//!   up other paths than the image shows. Only whiteout translation (`entry.rs`) sets
//!   `trusted.overlay.opaque`.
//! - other `security.*` (SELinux, IMA, SMACK labels): host policy, not the image's call.
//! - `system.*` (POSIX ACLs) and unknown namespaces.
//!
//! Set after `chown`, which clears `security.capability` (and after the data, since a write
//! clears it too).

use std::os::fd::BorrowedFd;

use rustix::fs::{XattrFlags, fsetxattr};
use rustix::io::Errno;

/// Whether an xattr from the archive is applied.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Allow,
    Refuse(&'static str),
}

pub(crate) fn verdict(name: &[u8]) -> Verdict {
    let user = name.starts_with(b"user.") && name.len() > b"user.".len();
    if user || name == b"security.capability" {
        Verdict::Allow
    } else if name.starts_with(b"trusted.") {
        Verdict::Refuse("trusted.* attributes (overlayfs metadata) are not taken from layers")
    } else if name.starts_with(b"security.") {
        Verdict::Refuse("security labels are not taken from layers")
    } else {
        Verdict::Refuse("xattr namespace not allowed in layers")
    }
}

/// What happened to one xattr.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Set,
    /// Refused by policy, or the filesystem does not support it; the reason is for the log.
    Skipped(String),
}

/// Sets `name = value` on the open file `fd` if policy allows it.
pub(crate) fn set(fd: BorrowedFd<'_>, name: &[u8], value: &[u8]) -> Result<Outcome, Errno> {
    if let Verdict::Refuse(why) = verdict(name) {
        return Ok(Outcome::Skipped(why.to_string()));
    }
    match fsetxattr(fd, name, value, XattrFlags::empty()) {
        Ok(()) => Ok(Outcome::Set),
        // A filesystem without user xattrs: the layer still applies, minus the attribute
        // (Docker ignores ENOTSUP here too).
        Err(Errno::OPNOTSUPP) => Ok(Outcome::Skipped(
            "the filesystem does not support it".to_string(),
        )),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_list() {
        assert_eq!(verdict(b"user.mime_type"), Verdict::Allow);
        assert_eq!(verdict(b"security.capability"), Verdict::Allow);
        for refused in [
            &b"trusted.overlay.opaque"[..],
            b"trusted.overlay.redirect",
            b"trusted.anything",
            b"security.selinux",
            b"security.ima",
            b"system.posix_acl_access",
            b"user.",
            b"other.name",
        ] {
            assert!(
                matches!(verdict(refused), Verdict::Refuse(_)),
                "{}",
                String::from_utf8_lossy(refused)
            );
        }
    }
}
