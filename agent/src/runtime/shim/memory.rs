//! Keeping a supervisor small: one runs per container, for the container's whole life.
//!
//! Setting a container up runs much of the `berth` binary's code (spec parsing, mounts,
//! namespaces), and the kernel maps code in 64 KiB chunks around each fault, so a
//! supervisor would carry ~1 MB of code pages it never runs again. Once set up, it drops
//! its mappings of the executable's code: the pages stay in the page cache (shared with
//! the agent), and the poll loop faults back in only what it uses.

use std::path::Path;

/// `madvise(MADV_DONTNEED)` over this process's mappings of its own executable's code
/// (`r-xp` only: never written, so dropping them loses nothing — unlike relocated
/// read-only data, which is private and must stay).
pub fn release_startup_code() {
    let Ok(exe) = std::fs::read_link("/proc/self/exe") else {
        return;
    };
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return;
    };
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
            continue;
        };
        // offset, device, inode, then the path (absent for anonymous mappings).
        let path = fields.nth(3);
        if perms != "r-xp" || path.map(Path::new) != Some(exe.as_path()) {
            continue;
        }
        let Some((start, end)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end)) = (
            usize::from_str_radix(start, 16),
            usize::from_str_radix(end, 16),
        ) else {
            continue;
        };
        if end > start {
            // SAFETY: a private, never-written file mapping of our own executable: its
            // pages are re-read from the file on the next access. MADV_RANDOM: no
            // read-around for those faults, so the poll loop maps back the pages it runs
            // rather than the chunks around them.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_RANDOM);
            }
        }
    }
}
