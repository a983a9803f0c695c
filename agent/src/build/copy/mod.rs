//! COPY and ADD: which files, where they land, and the layer they make.
//!
//! Sources are resolved inside their root (the build context, or `--from` another image):
//! `..` above the context is refused, a symlink is followed inside it, never on the host.
//! The files go as a tar through the layer extractor (whiteout names refused) onto the
//! step's snapshot, so every path check that guards image layers guards COPY too.
//! Semantics are Docker's legacy builder's: a directory's contents are copied; a file goes
//! to `dest` or, when `dest` ends with `/` or is a directory, to `dest/<name>`; missing
//! parents are made (0755, owned by `--chown`); several sources need a `dest/`; context
//! files belong to root unless `--chown` says otherwise, `--from` files keep their owner.

pub mod archive;
pub mod sources;
pub mod tarout;

use super::chown;
use super::context::Context;
use super::error::BuildError;
use super::pattern::Glob;
use crate::layer::{ApplyOptions, apply_layer};
use archive::{Archive, Downloaded};
use rustix::fs::{FileType, Mode, OFlags, ResolveFlags, openat2};
use sha2::{Digest, Sha256};
use sources::{Node, NodeKind, Rewrite, Source, join};
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use tarout::{Meta, TarOut};

/// A COPY or ADD with its arguments expanded.
#[derive(Debug, Clone)]
pub struct CopySpec {
    pub add: bool,
    pub sources: Vec<String>,
    /// Absolute, a trailing `/` kept (it means "a directory").
    pub dest: String,
    pub chown: Option<String>,
    pub chmod: Option<u32>,
    /// ADD's downloaded URLs (fetched before the step, as their content is its input).
    pub downloads: Vec<Downloaded>,
}

impl CopySpec {
    fn name(&self) -> &'static str {
        if self.add { "ADD" } else { "COPY" }
    }

    /// The local (non-URL) sources.
    fn local_sources(&self) -> impl Iterator<Item = &String> {
        self.sources
            .iter()
            .filter(move |s| !(self.add && archive::is_url(s)))
    }

    /// `COPY --chown=x --chmod=y <what> in <dest> `: the history line's comment and the
    /// cache key's text (with `what` the content digest, or the --from image and paths).
    pub fn describe(&self, what: &str) -> String {
        let mut text = format!("{} ", self.name());
        if let Some(chown) = &self.chown {
            text.push_str(&format!("--chown={chown} "));
        }
        if let Some(chmod) = self.chmod {
            text.push_str(&format!("--chmod={chmod:o} "));
        }
        text.push_str(&format!("{what} in {} ", self.dest));
        text
    }
}

/// A source picked for copying.
struct Picked<I> {
    /// The name it takes under a directory destination (the source's last component).
    name: String,
    item: I,
    node: Node,
}

fn trim_source(source: &str) -> &str {
    let mut s = source.trim_start_matches('/');
    while let Some(rest) = s.strip_prefix("./") {
        s = rest.trim_start_matches('/');
    }
    if s == "." { "" } else { s }
}

fn base_name(path: &str) -> String {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Resolves the sources; `explain` adds to a not-found error (e.g. a symlink's target).
fn pick<S: Source>(
    src: &S,
    spec: &CopySpec,
    explain: &dyn Fn(&str) -> String,
) -> Result<Vec<Picked<S::Item>>, BuildError> {
    let mut picked = Vec::new();
    for source in spec.local_sources() {
        let path = trim_source(source);
        let names = if Glob::has_wildcards(path) {
            src.matching(path)?
        } else {
            vec![path.to_string()]
        };
        for name in names {
            match src.resolve(&name)? {
                Some((item, node)) => picked.push(Picked {
                    name: base_name(&name),
                    item,
                    node,
                }),
                None => {
                    return Err(BuildError::bad(format!(
                        "{} failed: file not found in build context or excluded by .dockerignore: stat {name}: file does not exist{}",
                        spec.name(),
                        explain(&name)
                    )));
                }
            }
        }
    }
    let total = picked.len() + spec.downloads.len();
    if total == 0 {
        return Err(BuildError::bad(format!(
            "{} failed: no source files were specified",
            spec.name()
        )));
    }
    if total > 1 && !spec.dest.ends_with('/') {
        return Err(BuildError::bad(format!(
            "When using {} with more than one source file, the destination must be a directory and end with a /",
            spec.name()
        )));
    }
    Ok(picked)
}

fn context_explain(ctx: &Context) -> impl Fn(&str) -> String + '_ {
    move |name: &str| match ctx.get(name).map(|e| &e.kind) {
        Some(super::context::Kind::Symlink(target)) => format!(
            " (it is a symlink to {target}, and links are followed inside the build context only)"
        ),
        _ => String::new(),
    }
}

/// The digest of what a COPY from the context would copy: `file:<hex>`, `dir:<hex>` or,
/// for several sources, `multi:<hex>` (Docker's forms). No file data is read.
pub fn context_digest(ctx: &Context, spec: &CopySpec) -> Result<String, BuildError> {
    let picked = pick(ctx, spec, &context_explain(ctx))?;
    let mut parts = Vec::new();
    for p in &picked {
        let mut h = Sha256::new();
        p.item.1.digest_into(&mut h);
        if p.node.kind == NodeKind::Dir {
            ctx.tree_digest(&p.item.0, &mut h);
            parts.push(format!("dir:{}", hex::encode(h.finalize())));
        } else {
            parts.push(format!("file:{}", hex::encode(h.finalize())));
        }
    }
    for d in &spec.downloads {
        parts.push(format!("url:{}", d.sha256));
    }
    if parts.len() == 1 {
        return Ok(parts.remove(0));
    }
    let mut h = Sha256::new();
    for (p, name) in parts.iter().zip(spec.sources.iter()) {
        h.update(name.as_bytes());
        h.update(b"\0");
        h.update(p.as_bytes());
        h.update(b"\0");
    }
    Ok(format!("multi:{}", hex::encode(h.finalize())))
}

const RESOLVE: ResolveFlags = ResolveFlags::IN_ROOT.union(ResolveFlags::NO_MAGICLINKS);

/// Whether `rel` exists in the destination root (symlinks followed inside it) and is a
/// directory.
fn existing(root: &OwnedFd, rel: &str) -> Option<bool> {
    let rel = if rel.is_empty() { "." } else { rel };
    let fd = openat2(
        root,
        rel,
        OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
        RESOLVE,
    )
    .ok()?;
    let st = rustix::fs::fstat(&fd).ok()?;
    Some(FileType::from_raw_mode(st.st_mode) == FileType::Directory)
}

/// Dir entries for the missing parents of `rel` (not `rel` itself).
fn missing_parents(root: &OwnedFd, rel: &str) -> Vec<String> {
    let mut missing = Vec::new();
    let mut at = 0;
    while let Some(i) = rel[at..].find('/') {
        let parent = &rel[..at + i];
        if !missing.is_empty() || existing(root, parent).is_none() {
            missing.push(parent.to_string());
        }
        at += i + 1;
    }
    missing
}

fn fd_path(fd: &OwnedFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

fn options() -> ApplyOptions {
    ApplyOptions {
        refuse_whiteouts: true,
        ..ApplyOptions::default()
    }
}

/// Writes a tar on a thread (`produce`) while the extractor applies it at `dest`.
fn apply_produced(
    dest: &Path,
    produce: impl FnOnce(&mut TarOut<std::io::PipeWriter>) -> Result<(), BuildError> + Send,
) -> Result<(), BuildError> {
    let (reader, writer) =
        std::io::pipe().map_err(|e| BuildError::internal(format!("pipe: {e}")))?;
    std::thread::scope(|scope| {
        let producer = scope.spawn(move || -> Result<(), BuildError> {
            let mut out = TarOut::new(writer);
            produce(&mut out)?;
            out.finish()
                .and_then(|mut w| w.flush())
                .map_err(|e| BuildError::internal(format!("writing the copy: {e}")))
        });
        // The reader goes with the extractor: if it stops early, the producer's next
        // write fails instead of blocking.
        let applied = apply_layer(reader, dest, &options());
        let produced = producer
            .join()
            .unwrap_or_else(|_| Err(BuildError::internal("the copy thread panicked")));
        match (applied, produced) {
            (Err(e), _) => Err(BuildError::bad(format!("copying files: {e}"))),
            (Ok(_), Err(e)) => Err(e),
            (Ok(_), Ok(())) => Ok(()),
        }
    })
}

/// Copies from `src` into the mounted root `root` as `spec` says. `context_files` makes
/// copied files root's unless `--chown` (context files); otherwise owners are kept.
/// Blocking.
pub fn execute<S: Source + Sync>(
    src: &S,
    spec: &CopySpec,
    root: &Path,
    context_files: bool,
    explain: &(dyn Fn(&str) -> String + Sync),
) -> Result<(), BuildError>
where
    S::Item: Sync,
{
    let root_fd = rustix::fs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| BuildError::internal(format!("opening the step's root: {e}")))?;
    let owner = match &spec.chown {
        Some(c) => Some(chown::resolve(c, &root_fd)?),
        None if context_files => Some((0, 0)),
        None => None,
    };
    let rewrite = Rewrite {
        owner,
        mode: spec.chmod,
    };
    let picked = pick(src, spec, explain)?;
    let dest_dir_hint = spec.dest.ends_with('/');
    let dest = spec.dest.trim_matches('/').to_string();
    let dest_state = existing(&root_fd, &dest);
    let dest_is_dir = dest_dir_hint || dest_state == Some(true);
    let parent_owner = owner.unwrap_or((0, 0));
    let dir_meta = |mode| Meta {
        mode,
        uid: parent_owner.0,
        gid: parent_owner.1,
        mtime: now(),
    };

    // Archives (ADD) are extracted separately, after the plain copy.
    let mut archives: Vec<(&Picked<S::Item>, Archive)> = Vec::new();
    let mut plain: Vec<&Picked<S::Item>> = Vec::new();
    for p in &picked {
        if spec.add && matches!(p.node.kind, NodeKind::File { .. }) {
            let mut prefix = vec![0u8; archive::PEEK];
            let n = src.peek(&p.item, &mut prefix)?;
            if let Some(kind) = archive::detect(&prefix[..n], &p.name)? {
                archives.push((p, kind));
                continue;
            }
        }
        if p.node.kind == NodeKind::Dir && dest_state == Some(false) {
            return Err(BuildError::bad(format!(
                "{}: cannot copy a directory to {}: it is a file in the image",
                spec.name(),
                spec.dest
            )));
        }
        plain.push(p);
    }

    let needs_dest_dir = dest_is_dir || plain.iter().any(|p| p.node.kind == NodeKind::Dir);
    let wants_dir =
        needs_dest_dir || !archives.is_empty() || (!spec.downloads.is_empty() && dest_is_dir);
    apply_produced(root, |out| {
        // Missing parents of the destination (and the destination directory itself).
        let io = |e: std::io::Error| BuildError::internal(format!("writing the copy: {e}"));
        let first_dir = plain.iter().find(|p| p.node.kind == NodeKind::Dir);
        for parent in missing_parents(&root_fd, &dest) {
            out.dir(&parent, dir_meta(0o755)).map_err(io)?;
        }
        if wants_dir && !dest.is_empty() && dest_state.is_none() {
            let meta = match first_dir {
                Some(d) => rewrite.apply(d.node.meta),
                None => dir_meta(0o755),
            };
            out.dir(&dest, meta).map_err(io)?;
        }
        for p in &plain {
            match &p.node.kind {
                NodeKind::Dir => src.write_tree(&p.item, &dest, rewrite, out)?,
                NodeKind::File { .. } => {
                    let target = if dest_is_dir {
                        join(&dest, &p.name)
                    } else {
                        dest.clone()
                    };
                    if target.is_empty() {
                        return Err(BuildError::bad(format!(
                            "{}: cannot determine a file name for {}",
                            spec.name(),
                            p.name
                        )));
                    }
                    src.write_file(&p.item, &p.node, &target, rewrite.apply(p.node.meta), out)?;
                }
                NodeKind::Symlink(_) => {} // resolution followed every link
            }
        }
        for d in &spec.downloads {
            let name = match (&d.name, dest_is_dir) {
                (_, false) => dest.clone(),
                (Some(n), true) => join(&dest, n),
                (None, true) => {
                    return Err(BuildError::bad(format!(
                        "cannot determine filename for source {}",
                        d.url
                    )));
                }
            };
            let meta = rewrite.apply(Meta {
                mode: 0o600,
                uid: 0,
                gid: 0,
                mtime: d.mtime,
            });
            out.file(&name, meta, d.data.len() as u64, &d.data[..])
                .map_err(io)?;
        }
        Ok(())
    })?;

    for (p, kind) in archives {
        let dir = if dest.is_empty() { "." } else { dest.as_str() };
        let dest_fd = openat2(
            &root_fd,
            dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            RESOLVE,
        )
        .map_err(|e| {
            BuildError::bad(format!(
                "ADD {}: the destination {}: {e}",
                p.name, spec.dest
            ))
        })?;
        let reader = archive::decoder(kind, src.reader(&p.item)?)?;
        apply_layer(reader, Path::new(&fd_path(&dest_fd)), &options())
            .map_err(|e| BuildError::bad(format!("ADD {}: extracting the archive: {e}", p.name)))?;
    }
    Ok(())
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `COPY` from the context into `root`.
pub fn from_context(ctx: &Context, spec: &CopySpec, root: &Path) -> Result<(), BuildError> {
    let explain = context_explain(ctx);
    let explain = move |name: &str| explain(name);
    execute(ctx, spec, root, true, &explain)
}

/// `COPY --from` another image's root (mounted at `source_root`) into `root`.
pub fn from_image(source_root: &Path, spec: &CopySpec, root: &Path) -> Result<(), BuildError> {
    let fd = rustix::fs::open(
        source_root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| BuildError::internal(format!("opening the source image: {e}")))?;
    let src = sources::ImageRoot { root: fd };
    execute(&src, spec, root, false, &|_| String::new())
}

/// WORKDIR: makes `dir` (absolute) and its missing parents in `root` (0755, root's, as
/// Docker does); nothing when it is there.
pub fn make_dir(root: &Path, dir: &str) -> Result<(), BuildError> {
    let rel = dir.trim_matches('/').to_string();
    if rel.is_empty() {
        return Ok(());
    }
    let root_fd = rustix::fs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| BuildError::internal(format!("opening the step's root: {e}")))?;
    match existing(&root_fd, &rel) {
        Some(true) => return Ok(()),
        Some(false) => {
            return Err(BuildError::bad(format!(
                "WORKDIR {dir}: it exists in the image and is not a directory"
            )));
        }
        None => {}
    }
    let mut dirs = missing_parents(&root_fd, &rel);
    dirs.push(rel);
    let meta = Meta {
        mode: 0o755,
        uid: 0,
        gid: 0,
        mtime: now(),
    };
    apply_produced(root, |out| {
        for d in &dirs {
            out.dir(d, meta)
                .map_err(|e| BuildError::internal(format!("making {dir}: {e}")))?;
        }
        Ok(())
    })
}
