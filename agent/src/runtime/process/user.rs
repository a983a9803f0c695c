//! `--user` resolution against the container's own /etc/passwd and /etc/group, and the
//! switch to that user. The image's files are hostile input: reads are bounded, IDs above
//! 2^31-1 are refused (CVE-2024-40635: they would wrap to root), and the number of
//! groups is capped (CVE-2026-47262).

use super::{SetupError, check};
use std::io::Read;

/// Most bytes read from /etc/passwd or /etc/group.
const MAX_FILE: u64 = 4 << 20;
/// Most supplementary groups a process gets.
const MAX_GROUPS: usize = 1024;
/// Highest ID accepted.
const MAX_ID: u64 = i32::MAX as u64;

#[derive(Debug, PartialEq, Clone)]
pub struct ExecUser {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub home: String,
}

struct Passwd<'a> {
    name: &'a str,
    uid: u32,
    gid: u32,
    home: &'a str,
}

struct Group<'a> {
    name: &'a str,
    gid: u32,
    members: &'a str,
}

fn parse_id(s: &str) -> Option<u32> {
    let n: u64 = s.trim().parse().ok()?;
    (n <= MAX_ID).then_some(n as u32)
}

fn passwd_entries(text: &str) -> impl Iterator<Item = Passwd<'_>> {
    text.lines().filter_map(|line| {
        let mut f = line.split(':');
        let name = f.next()?;
        let _pw = f.next()?;
        let uid = parse_id(f.next()?)?;
        let gid = parse_id(f.next()?)?;
        let _gecos = f.next();
        let home = f.next().unwrap_or("");
        (!name.is_empty() && !name.starts_with('#')).then_some(Passwd {
            name,
            uid,
            gid,
            home,
        })
    })
}

fn group_entries(text: &str) -> impl Iterator<Item = Group<'_>> {
    text.lines().filter_map(|line| {
        let mut f = line.split(':');
        let name = f.next()?;
        let _pw = f.next()?;
        let gid = parse_id(f.next()?)?;
        let members = f.next().unwrap_or("");
        (!name.is_empty() && !name.starts_with('#')).then_some(Group { name, gid, members })
    })
}

/// A numeric ID as written by the user: refused above 2^31-1 rather than wrapped.
fn numeric(s: &str, what: &str) -> Result<Option<u32>, SetupError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    match parse_id(s) {
        Some(n) => Ok(Some(n)),
        None => Err(SetupError::Invalid(format!(
            "{what} {s} is out of range (maximum {MAX_ID})"
        ))),
    }
}

fn group_id(name: &str, group: &str) -> Result<u32, SetupError> {
    if let Some(gid) = numeric(name, "gid")? {
        return Ok(gid);
    }
    group_entries(group)
        .find(|g| g.name == name)
        .map(|g| g.gid)
        .ok_or_else(|| SetupError::UnknownGroup(name.to_string()))
}

/// Resolves Docker's `--user` forms (`""`, `name`, `uid`, `name:group`, `uid:gid`) plus
/// `--group-add` against the contents of /etc/passwd and /etc/group.
pub fn resolve(
    spec: &str,
    additional: &[String],
    passwd: &str,
    group: &str,
) -> Result<ExecUser, SetupError> {
    let (user_part, group_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let user_part = if user_part.is_empty() { "0" } else { user_part };
    let by_name = passwd_entries(passwd).find(|p| p.name == user_part);
    let (uid, mut gid, home, name) = match by_name {
        Some(p) => (p.uid, p.gid, p.home.to_string(), Some(p.name)),
        None => match numeric(user_part, "uid")? {
            Some(uid) => match passwd_entries(passwd).find(|p| p.uid == uid) {
                Some(p) => (uid, p.gid, p.home.to_string(), Some(p.name)),
                None => (uid, 0, String::new(), None),
            },
            None => return Err(SetupError::UnknownUser(user_part.to_string())),
        },
    };
    let mut groups = Vec::new();
    if let Some(g) = group_part.filter(|g| !g.is_empty()) {
        gid = group_id(g, group)?;
    } else if let Some(name) = name {
        // Membership in /etc/group, as runc: only when no group was given.
        for g in group_entries(group) {
            if g.members.split(',').any(|m| m.trim() == name) && !groups.contains(&g.gid) {
                groups.push(g.gid);
                if groups.len() >= MAX_GROUPS {
                    break;
                }
            }
        }
    }
    for g in additional {
        let g = group_id(g, group)?;
        if !groups.contains(&g) {
            groups.push(g);
        }
        if groups.len() > MAX_GROUPS {
            return Err(SetupError::Invalid(format!(
                "more than {MAX_GROUPS} supplementary groups"
            )));
        }
    }
    let home = if home.is_empty() {
        "/".to_string()
    } else {
        home
    };
    Ok(ExecUser {
        uid,
        gid,
        groups,
        home,
    })
}

/// Reads a file of the container (already the process's root), at most [`MAX_FILE`]
/// bytes; a missing file is empty.
pub fn read_etc(path: &str) -> Result<String, SetupError> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
        Err(e) => return Err(super::sys(format!("open {path}"))(e)),
    };
    let mut bytes = Vec::new();
    file.take(MAX_FILE)
        .read_to_end(&mut bytes)
        .map_err(super::sys(format!("read {path}")))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Resolves the user inside the container (after `pivot_root`).
pub fn lookup(spec: &str, additional: &[String]) -> Result<ExecUser, SetupError> {
    let passwd = read_etc("/etc/passwd")?;
    let group = read_etc("/etc/group")?;
    resolve(spec, additional, &passwd, &group)
}

/// setgroups, setgid, setuid — in that order, while still root.
pub fn switch(user: &ExecUser) -> Result<(), SetupError> {
    // SAFETY: plain syscalls with valid pointers.
    unsafe {
        check(
            libc::setgroups(user.groups.len(), user.groups.as_ptr()),
            || "setgroups".into(),
        )?;
        check(libc::setresgid(user.gid, user.gid, user.gid), || {
            format!("setgid {}", user.gid)
        })?;
        check(libc::setresuid(user.uid, user.uid, user.uid), || {
            format!("setuid {}", user.uid)
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
        nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n\
        app:x:1000:1000::/home/app:/bin/sh\n\
        evil:x:4294967296:0::/:/bin/sh\n";
    const GROUP: &str = "root:x:0:\nwheel:x:10:app,root\nstaff:x:50:app\nnogroup:x:65534:\n";

    #[test]
    fn root_by_default() {
        let u = resolve("", &[], PASSWD, GROUP).unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (0, 0, "/root"));
        assert_eq!(u.groups, vec![10]);
    }

    #[test]
    fn name_and_membership() {
        let u = resolve("app", &["nogroup".into(), "7".into()], PASSWD, GROUP).unwrap();
        assert_eq!((u.uid, u.gid), (1000, 1000));
        assert_eq!(u.groups, vec![10, 50, 65534, 7]);
        assert_eq!(u.home, "/home/app");
    }

    #[test]
    fn numeric_forms() {
        let u = resolve("65534", &[], PASSWD, GROUP).unwrap();
        assert_eq!((u.uid, u.gid), (65534, 65534));
        let u = resolve("4242:4343", &[], PASSWD, GROUP).unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (4242, 4343, "/"));
        let u = resolve("nobody:staff", &[], PASSWD, GROUP).unwrap();
        assert_eq!((u.uid, u.gid), (65534, 50));
    }

    #[test]
    fn unknown_and_overflowing() {
        let e = resolve("foo", &[], PASSWD, GROUP).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unable to find user foo: no matching entries in passwd file"
        );
        assert!(resolve("app:nope", &[], PASSWD, GROUP).is_err());
        assert!(resolve("2147483648", &[], PASSWD, GROUP).is_err());
        assert!(resolve("0:4294967296", &[], PASSWD, GROUP).is_err());
        // An entry with an overflowing uid is ignored, not wrapped to root.
        assert!(resolve("evil", &[], PASSWD, GROUP).is_err());
    }
}
