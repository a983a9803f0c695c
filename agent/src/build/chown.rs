//! `COPY --chown=user[:group]` and `--chmod=mode`, as Docker reads them: names are looked
//! up in the image's own /etc/passwd and /etc/group (read inside the image's root, bounded,
//! IDs above 2^31-1 refused); a missing group means "the same as the user" (a name is
//! looked up as a group name, a number is used as the GID).

use super::error::BuildError;
use rustix::fs::{Mode, OFlags, ResolveFlags, openat2};
use std::io::Read;
use std::os::fd::AsFd;

/// Most bytes read from /etc/passwd or /etc/group.
const MAX_FILE: u64 = 4 << 20;
const MAX_ID: u64 = i32::MAX as u64;

/// A file of the image, read with its path resolved inside `root`; missing = empty.
fn read_in_root(root: impl AsFd, path: &str) -> Result<String, BuildError> {
    let fd = match openat2(
        root,
        path,
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    ) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Ok(String::new()),
        Err(e) => {
            return Err(BuildError::internal(format!(
                "reading /{path} of the image: {e}"
            )));
        }
    };
    let mut bytes = Vec::new();
    std::fs::File::from(fd)
        .take(MAX_FILE)
        .read_to_end(&mut bytes)
        .map_err(|e| BuildError::internal(format!("reading /{path} of the image: {e}")))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn numeric(s: &str) -> Result<Option<u32>, BuildError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    match s.parse::<u64>() {
        Ok(n) if n <= MAX_ID => Ok(Some(n as u32)),
        _ => Err(BuildError::bad(format!(
            "--chown: ID {s} is out of range (maximum {MAX_ID})"
        ))),
    }
}

/// The ID of `name` in a passwd- or group-format file (third field).
fn lookup(text: &str, name: &str) -> Option<u32> {
    text.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next()? == name).then_some(())?;
        let id: u64 = fields.nth(1)?.trim().parse().ok()?;
        (id <= MAX_ID).then_some(id as u32)
    })
}

/// Resolves `--chown` against the image mounted at `root` (a directory fd).
pub fn resolve(spec: &str, root: impl AsFd + Copy) -> Result<(u32, u32), BuildError> {
    let mut parts = spec.split(':');
    let user = parts.next().unwrap_or_default();
    let group = parts.next().unwrap_or(user);
    if parts.next().is_some() || user.is_empty() || group.is_empty() {
        return Err(BuildError::bad(format!(
            "invalid chown string format: {spec}"
        )));
    }
    let uid = match numeric(user)? {
        Some(uid) => uid,
        None => lookup(&read_in_root(root, "etc/passwd")?, user).ok_or_else(|| {
            BuildError::bad(format!(
                "unable to convert uid/gid chown string to host mapping: can't find uid for user {user}: no such user: {user}"
            ))
        })?,
    };
    let gid = match numeric(group)? {
        Some(gid) => gid,
        None => lookup(&read_in_root(root, "etc/group")?, group).ok_or_else(|| {
            BuildError::bad(format!(
                "unable to convert uid/gid chown string to host mapping: can't find gid for group {group}: no such group: {group}"
            ))
        })?,
    };
    Ok((uid, gid))
}

/// `--chmod=0755` (octal, at most 07777).
pub fn parse_chmod(spec: &str) -> Result<u32, BuildError> {
    u32::from_str_radix(spec, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| {
            BuildError::bad(format!(
                "invalid chmod parameter {spec:?}: expected an octal mode like 0755"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_numbers_and_defaults() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        std::fs::write(
            dir.path().join("etc/passwd"),
            "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\nbig:x:4294967296:1::/:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("etc/group"),
            "root:x:0:\napp:x:1000:\nstaff:x:50:\n",
        )
        .unwrap();
        let root = std::fs::File::open(dir.path()).unwrap();
        assert_eq!(resolve("app", &root).unwrap(), (1000, 1000));
        assert_eq!(resolve("app:staff", &root).unwrap(), (1000, 50));
        assert_eq!(resolve("10:20", &root).unwrap(), (10, 20));
        assert_eq!(resolve("10", &root).unwrap(), (10, 10));
        assert!(
            resolve("ghost", &root)
                .unwrap_err()
                .message
                .contains("no such user")
        );
        assert!(
            resolve("big", &root).is_err(),
            "an overflowing uid is not found"
        );
        assert!(
            resolve("99999999999", &root)
                .unwrap_err()
                .message
                .contains("out of range")
        );
        assert!(resolve("a:b:c", &root).is_err());
        assert_eq!(parse_chmod("0640").unwrap(), 0o640);
        assert!(parse_chmod("999").is_err());
        assert!(parse_chmod("17777").is_err());
    }
}
