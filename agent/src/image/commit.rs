//! `docker commit`: a container's changes (a layer tar from `layer::diff::write_layer_tar`)
//! become a new image = the container's image + that layer + a history entry (DESIGN §5).
//! The time taken depends on the size of the change, never on the image's size: the parent's
//! layers are referenced by chain ID, only the new tar is read.
//!
//! Also the `--change` lines (`apply_changes`): the Dockerfile instructions Docker accepts there.

use super::config::{History, ImageConfig};
use super::error::ImageError;
use super::layers::NewImage;
use super::service::Images;
use crate::store::records::{ImageRecord, LayerRecord};
use crate::util::clock::rfc3339;
use serde_json::{Map, Value, json};
use std::io::Read;
use std::sync::Arc;

/// What to commit.
pub struct CommitRequest<'a> {
    /// The container's image.
    pub parent: &'a ImageRecord,
    /// The container's changes as an uncompressed layer tar (e.g. the read end of a pipe
    /// that `write_layer_tar` writes into on another thread).
    pub layer_tar: Box<dyn Read + Send>,
    /// The new image's config: the parent's, with the container's Config merged and the
    /// `--change` lines applied, by the caller. `created`, `rootfs.diff_ids`, `history`,
    /// `author` and `comment` are set here.
    pub config: ImageConfig,
    pub author: Option<String>,
    pub comment: Option<String>,
    /// The container's command, for the history entry.
    pub created_by: String,
    /// Full names (`docker.io/library/x:tag`) to point at the new image.
    pub tags: &'a [String],
    /// A change with nothing in it adds no layer, only a history entry with `empty_layer`
    /// (what Docker's image builder does; `docker commit` here always adds one).
    pub empty_layer_if_unchanged: bool,
}

/// The diff ID of a layer tar with no entries (two zero blocks).
pub const EMPTY_LAYER_DIFF_ID: &str =
    "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";

/// A new image that only changes the config (a build's ENV, CMD, LABEL, …).
pub struct DeriveRequest<'a> {
    pub parent: &'a ImageRecord,
    /// The new config: the caller sets `config.config` (and `author`); `created` and a
    /// history entry with `empty_layer` are added here, the layers stay the parent's.
    pub config: ImageConfig,
    pub created_by: String,
    pub tags: &'a [String],
}

impl Images {
    /// Stores the layer (uncompressed, `application/vnd.oci.image.layer.v1.tar`) over the
    /// parent's layers and records the new image, its parent and tags. Like Docker, always
    /// adds a layer, an empty one (a tar of two zero blocks) when nothing changed. Publishes
    /// no event (the container service emits `commit`).
    pub async fn commit(
        self: &Arc<Self>,
        request: CommitRequest<'_>,
    ) -> Result<ImageRecord, ImageError> {
        let CommitRequest {
            parent,
            layer_tar,
            mut config,
            author,
            comment,
            created_by,
            tags,
            empty_layer_if_unchanged,
        } = request;
        // Held until the image is recorded: a concurrent rmi/prune keeps the parent's layers
        // and the new blob and layer.
        let lease = self.leases.take();
        let mut layers: Vec<LayerRecord> = Vec::with_capacity(parent.layers.len() + 1);
        for chain in &parent.layers {
            lease.hold(chain);
            let layer = self
                .store
                .meta
                .layer(chain)?
                .ok_or_else(|| ImageError::NotFound(format!("layer {chain}")))?;
            layers.push(layer);
        }
        let parent_chain = parent.layers.last().cloned();
        let this = self.clone();
        let (layer, lease) = tokio::task::spawn_blocking(move || {
            let layer = this.unpack_local(
                layer_tar,
                parent_chain.as_deref(),
                None,
                "the container's changes",
                &lease,
            );
            (layer, lease)
        })
        .await
        .map_err(|e| ImageError::Layer(format!("commit task: {e}")))?;
        let layer = layer?;

        let empty = empty_layer_if_unchanged && layer.diff_id == EMPTY_LAYER_DIFF_ID;
        let now = rfc3339(std::time::SystemTime::now());
        config.created = Some(now.clone());
        config.rootfs.kind = "layers".to_string();
        if !empty {
            config.rootfs.diff_ids.push(layer.diff_id.clone());
        }
        let author = author.filter(|a| !a.is_empty());
        let comment = comment.filter(|c| !c.is_empty());
        config.history.push(History {
            created: Some(now),
            created_by: Some(created_by),
            author: author.clone(),
            comment: comment.clone(),
            empty_layer: empty,
        });
        if author.is_some() {
            config.author = author;
        }
        match comment {
            Some(c) => {
                config.extra.insert("comment".to_string(), Value::String(c));
            }
            None => {
                config.extra.remove("comment");
            }
        }
        if !empty {
            layers.push(layer);
        }
        let image = self.add_child(&parent.id, &config, &layers, tags).await?;
        drop(lease);
        Ok(image)
    }
}

impl Images {
    /// Records a commit's or a build step's image: `config` over `layers`, made from
    /// `parent`, with `tags` pointing at it.
    async fn add_child(
        &self,
        parent: &str,
        config: &ImageConfig,
        layers: &[LayerRecord],
        tags: &[String],
    ) -> Result<ImageRecord, ImageError> {
        let bytes = serde_json::to_vec(config).map_err(|e| ImageError::BadInput(e.to_string()))?;
        self.add_image(NewImage {
            config: &bytes,
            layers,
            manifest: None,
            repo_digest: None,
            tags,
            parent: Some(parent.to_string()),
        })
        .await
    }

    /// Records an image with the parent's layers and a new config (no layer is made):
    /// a build's metadata-only steps. Publishes no event.
    pub async fn derive(&self, request: DeriveRequest<'_>) -> Result<ImageRecord, ImageError> {
        let DeriveRequest {
            parent,
            mut config,
            created_by,
            tags,
        } = request;
        let lease = self.leases.take();
        let mut layers: Vec<LayerRecord> = Vec::with_capacity(parent.layers.len());
        for chain in &parent.layers {
            lease.hold(chain);
            layers.push(
                self.store
                    .meta
                    .layer(chain)?
                    .ok_or_else(|| ImageError::NotFound(format!("layer {chain}")))?,
            );
        }
        let now = rfc3339(std::time::SystemTime::now());
        config.created = Some(now.clone());
        config.rootfs.kind = "layers".to_string();
        config.history.push(History {
            created: Some(now),
            created_by: Some(created_by),
            author: config.author.clone().filter(|a| !a.is_empty()),
            comment: None,
            empty_layer: true,
        });
        let image = self.add_child(&parent.id, &config, &layers, tags).await?;
        drop(lease);
        Ok(image)
    }
}

impl Images {
    /// The image with no layers that a build's `FROM scratch` starts from. Its config has
    /// no time in it, so it is the same image every time.
    pub async fn empty_image(&self) -> Result<ImageRecord, ImageError> {
        let config = json!({
            "architecture": "amd64",
            "os": "linux",
            "config": {
                "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
            },
            "rootfs": { "type": "layers", "diff_ids": [] },
        });
        let bytes = serde_json::to_vec(&config).map_err(|e| ImageError::BadInput(e.to_string()))?;
        self.add_image(NewImage {
            config: &bytes,
            layers: &[],
            manifest: None,
            repo_digest: None,
            tags: &[],
            parent: None,
        })
        .await
    }
}

/// The instructions `docker commit --change` accepts (moby's `validCommitCommands`).
const ALLOWED: &[&str] = &[
    "CMD",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "LABEL",
    "ONBUILD",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// Dockerfile instructions that exist but cannot be used in `--change`.
const NOT_FOR_COMMIT: &[&str] = &[
    "ADD",
    "ARG",
    "COPY",
    "FROM",
    "HEALTHCHECK",
    "MAINTAINER",
    "RUN",
    "SHELL",
];

fn bad(msg: impl Into<String>) -> ImageError {
    ImageError::BadInput(msg.into())
}

/// Applies `docker commit --change` lines to an image's container config (the `config`
/// object of the image config: `Cmd`, `Env`, …), in order, as Docker does.
pub fn apply_changes(config: &mut Value, changes: &[String]) -> Result<(), ImageError> {
    if !config.is_object() {
        *config = Value::Object(Map::new());
    }
    let mut cmd_set = false;
    for line in changes {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (word, rest) = match line.find(char::is_whitespace) {
            Some(i) => (&line[..i], line[i..].trim()),
            None => (line, ""),
        };
        let instruction = word.to_ascii_uppercase();
        if NOT_FOR_COMMIT.contains(&instruction.as_str()) {
            return Err(bad(format!("{word} is not a valid change command")));
        }
        if !ALLOWED.contains(&instruction.as_str()) {
            return Err(bad(format!("dockerfile: unknown instruction: {word}")));
        }
        let obj = config.as_object_mut().expect("made an object above");
        match instruction.as_str() {
            "CMD" => {
                obj.insert("Cmd".into(), json!(command(rest, "CMD")?));
                cmd_set = true;
            }
            "ENTRYPOINT" => {
                obj.insert("Entrypoint".into(), json!(command(rest, "ENTRYPOINT")?));
                if !cmd_set {
                    obj.insert("Cmd".into(), Value::Null);
                }
            }
            "ENV" => {
                let pairs = key_values(rest, "ENV")?;
                let mut env = strings(obj, "Env");
                for (k, v) in pairs {
                    let prefix = format!("{k}=");
                    let entry = format!("{k}={v}");
                    match env.iter().position(|e| e.starts_with(&prefix)) {
                        Some(i) => env[i] = entry,
                        None => env.push(entry),
                    }
                }
                obj.insert("Env".into(), json!(env));
            }
            "LABEL" => {
                let pairs = key_values(rest, "LABEL")?;
                let labels = object_field(obj, "Labels");
                for (k, v) in pairs {
                    labels.insert(k, Value::String(v));
                }
            }
            "EXPOSE" => {
                let ports = words(rest);
                if ports.is_empty() {
                    return Err(bad("EXPOSE requires at least one argument"));
                }
                let mut parsed = Vec::new();
                for p in ports {
                    parsed.extend(expose(&p)?);
                }
                let exposed = object_field(obj, "ExposedPorts");
                for p in parsed {
                    exposed.insert(p, json!({}));
                }
            }
            "VOLUME" => {
                let vols = if rest.starts_with('[') {
                    json_array(rest).ok_or_else(|| bad("VOLUME: invalid JSON array"))?
                } else {
                    words(rest)
                };
                if vols.iter().all(|v| v.trim().is_empty()) {
                    return Err(bad("VOLUME requires at least one argument"));
                }
                let volumes = object_field(obj, "Volumes");
                for v in vols.into_iter().filter(|v| !v.trim().is_empty()) {
                    volumes.insert(v, json!({}));
                }
            }
            "USER" | "STOPSIGNAL" | "WORKDIR" if rest.is_empty() => {
                return Err(bad(format!("{instruction} requires exactly one argument")));
            }
            "USER" => {
                obj.insert("User".into(), json!(rest));
            }
            "STOPSIGNAL" => {
                obj.insert("StopSignal".into(), json!(rest));
            }
            "WORKDIR" => {
                let dir = if rest.starts_with('/') {
                    rest.to_string()
                } else {
                    let base = obj.get("WorkingDir").and_then(Value::as_str).unwrap_or("/");
                    format!("{}/{rest}", base.trim_end_matches('/'))
                };
                obj.insert("WorkingDir".into(), json!(dir));
            }
            "ONBUILD" => {
                if rest.is_empty() {
                    return Err(bad("ONBUILD requires at least one argument"));
                }
                let mut onbuild = strings(obj, "OnBuild");
                onbuild.push(rest.to_string());
                obj.insert("OnBuild".into(), json!(onbuild));
            }
            _ => unreachable!("checked against ALLOWED"),
        }
    }
    Ok(())
}

/// A JSON array of strings, if `s` is one.
fn json_array(s: &str) -> Option<Vec<String>> {
    serde_json::from_str::<Vec<String>>(s).ok()
}

/// Exec form (JSON array) or shell form (`/bin/sh -c …`).
fn command(rest: &str, what: &str) -> Result<Vec<String>, ImageError> {
    if rest.starts_with('[')
        && let Some(v) = json_array(rest)
    {
        return Ok(v);
    }
    if rest.is_empty() {
        return Err(bad(format!("{what} requires at least one argument")));
    }
    Ok(vec!["/bin/sh".into(), "-c".into(), rest.into()])
}

/// `obj[key]` as a list of strings (missing, null or not a list: empty).
fn strings(obj: &Map<String, Value>, key: &str) -> Vec<String> {
    obj.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// `obj[key]` as an object, made if missing or not an object.
fn object_field<'a>(obj: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = obj.entry(key.to_string()).or_insert_with(|| json!({}));
    if !slot.is_object() {
        *slot = json!({});
    }
    slot.as_object_mut().expect("made an object above")
}

/// Splits on whitespace, honouring double/single quotes and backslash escapes.
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => cur.push(c),
            (_, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_word = true;
            }
            (_, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

/// `k=v k2="v 2"` or the legacy `k v w` (one pair, the value the rest of the line).
fn key_values(rest: &str, what: &str) -> Result<Vec<(String, String)>, ImageError> {
    let first = rest.split_whitespace().next().unwrap_or("");
    if first.is_empty() {
        return Err(bad(format!("{what} requires at least one argument")));
    }
    if !first.contains('=') {
        let value = rest[first.len()..].trim();
        if value.is_empty() {
            return Err(bad(format!("{what} names can not be blank")));
        }
        let value = words(value).join(" ");
        return Ok(vec![(first.to_string(), value)]);
    }
    words(rest)
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(bad(format!("{what}: key=value pairs expected, got {w:?}"))),
        })
        .collect()
}

/// `80`, `80/udp`, `8000-8002/tcp` → `["80/tcp"]`, ….
pub(crate) fn expose(spec: &str) -> Result<Vec<String>, ImageError> {
    let (ports, proto) = spec.split_once('/').unwrap_or((spec, "tcp"));
    let proto = proto.to_ascii_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(bad(format!("invalid proto: {proto}")));
    }
    let parse = |p: &str| {
        p.parse::<u16>()
            .map_err(|_| bad(format!("invalid containerPort: {p}")))
    };
    let (lo, hi) = match ports.split_once('-') {
        Some((a, b)) => (parse(a)?, parse(b)?),
        None => {
            let p = parse(ports)?;
            (p, p)
        }
    };
    if hi < lo {
        return Err(bad(format!("invalid port range: {ports}")));
    }
    Ok((lo..=hi).map(|p| format!("{p}/{proto}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::diff::write_layer_tar;
    use crate::layer::snapshot::Driver;
    use crate::store::Store;
    use crate::store::digest::Digest;
    use std::path::PathBuf;

    fn changed(lines: &[&str]) -> Result<Value, ImageError> {
        let mut config = json!({"Env": ["PATH=/bin", "A=1"], "Cmd": ["sh"], "WorkingDir": "/app"});
        let lines: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
        apply_changes(&mut config, &lines)?;
        Ok(config)
    }

    #[test]
    fn apply_changes_instructions() {
        let c = changed(&[
            "CMD [\"echo\", \"hi\"]",
            "ENV A=2 B=\"two words\"",
            "env C some value",
            "EXPOSE 80 53/udp 8000-8001",
            "LABEL com.x=y \"with space\"=z",
            "USER nobody:nogroup",
            "WORKDIR sub",
            "VOLUME [\"/data\", \"/logs\"]",
            "VOLUME /more",
            "STOPSIGNAL SIGINT",
            "",
        ])
        .unwrap();
        assert_eq!(c["Cmd"], json!(["echo", "hi"]));
        assert_eq!(
            c["Env"],
            json!(["PATH=/bin", "A=2", "B=two words", "C=some value"])
        );
        assert_eq!(
            c["ExposedPorts"],
            json!({"80/tcp": {}, "53/udp": {}, "8000/tcp": {}, "8001/tcp": {}})
        );
        assert_eq!(c["Labels"], json!({"com.x": "y", "with space": "z"}));
        assert_eq!(c["User"], json!("nobody:nogroup"));
        assert_eq!(c["WorkingDir"], json!("/app/sub"));
        assert_eq!(c["Volumes"], json!({"/data": {}, "/logs": {}, "/more": {}}));
        assert_eq!(c["StopSignal"], json!("SIGINT"));
    }

    #[test]
    fn apply_changes_entrypoint_and_shell_form() {
        let c = changed(&["ENTRYPOINT /run.sh --flag"]).unwrap();
        assert_eq!(c["Entrypoint"], json!(["/bin/sh", "-c", "/run.sh --flag"]));
        assert_eq!(c["Cmd"], Value::Null, "ENTRYPOINT resets an inherited CMD");
        let c = changed(&["CMD echo hi", "ENTRYPOINT [\"/init\"]"]).unwrap();
        assert_eq!(c["Cmd"], json!(["/bin/sh", "-c", "echo hi"]));
        assert_eq!(c["Entrypoint"], json!(["/init"]));
        let mut null = Value::Null;
        apply_changes(&mut null, &["WORKDIR /w".to_string()]).unwrap();
        assert_eq!(null, json!({"WorkingDir": "/w"}));
    }

    #[test]
    fn apply_changes_errors() {
        let msg = |lines: &[&str]| changed(lines).unwrap_err().to_string();
        assert_eq!(msg(&["FOO bar"]), "dockerfile: unknown instruction: FOO");
        assert_eq!(msg(&["RUN true"]), "RUN is not a valid change command");
        assert!(msg(&["EXPOSE 80/xyz"]).contains("invalid proto"));
        assert!(msg(&["EXPOSE abc"]).contains("invalid containerPort"));
        assert!(msg(&["USER"]).contains("requires"));
        assert!(matches!(changed(&["CMD"]), Err(ImageError::BadInput(_))));
    }

    fn tar_of(files: &[(&str, &str)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, body) in files {
            let mut h = tar::Header::new_ustar();
            h.set_size(body.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, body.as_bytes()).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn lowers(images: &Images, image: &ImageRecord) -> Vec<PathBuf> {
        image
            .layers
            .iter()
            .map(|c| images.store.layers.diff(&Digest::parse(c).unwrap()))
            .collect()
    }

    /// import → run (overlay: write a file, delete one) → diff tar → commit → the new image
    /// stacked in a fresh container shows the change; an unchanged container commits an
    /// empty layer.
    #[tokio::test]
    async fn commit_end_to_end() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&tmp.path().join("root")).unwrap());
        let events = Arc::new(crate::events::EventBus::new("test".into()));
        let images = Arc::new(Images::new(store, events));
        let base_tar = tar_of(&[("etc/keep", "keep"), ("etc/gone", "gone")]);
        let base = images
            .import(std::io::Cursor::new(base_tar), Some("base"), None, None)
            .await
            .unwrap();
        let lowers0 = lowers(&images, &base);
        let c = tmp.path().join("containers/c1");
        Driver::Overlay.prepare(&c, &lowers0).unwrap();
        let rootfs = Driver::Overlay.mount(&c, &lowers0).unwrap();
        std::fs::write(rootfs.join("etc/new"), "new").unwrap();
        std::fs::remove_file(rootfs.join("etc/gone")).unwrap();
        Driver::Overlay.unmount(&c).unwrap();
        let mut tar = Vec::new();
        write_layer_tar(Driver::Overlay, &c, &lowers0, &mut tar).unwrap();

        let parent_config = images.config(&base).unwrap();
        let mut config = parent_config.clone();
        apply_changes(&mut config.config, &["CMD [\"/bin/true\"]".to_string()]).unwrap();
        let tags = vec!["docker.io/library/committed:latest".to_string()];
        let image = images
            .commit(CommitRequest {
                parent: &base,
                layer_tar: Box::new(std::io::Cursor::new(tar)),
                config,
                author: Some("me".into()),
                comment: Some("a change".into()),
                created_by: "/bin/sh -c touch".into(),
                tags: &tags,
                empty_layer_if_unchanged: false,
            })
            .await
            .unwrap();
        assert_eq!(image.parent.as_deref(), Some(base.id.as_str()));
        assert_eq!(image.layers.len(), 2);
        assert_eq!(&image.layers[0], &base.layers[0]);
        assert_eq!(images.resolve("committed").unwrap().id, image.id);
        let cfg = images.config(&image).unwrap();
        assert_eq!(cfg.rootfs.diff_ids.len(), 2);
        assert_eq!(cfg.history.len(), parent_config.history.len() + 1);
        let last = cfg.history.last().unwrap();
        assert_eq!(last.created_by.as_deref(), Some("/bin/sh -c touch"));
        assert_eq!(last.author.as_deref(), Some("me"));
        assert_eq!(last.comment.as_deref(), Some("a change"));
        assert_eq!(cfg.author.as_deref(), Some("me"));
        assert_eq!(cfg.config["Cmd"], json!(["/bin/true"]));
        let new_layer = images.store.meta.layer(&image.layers[1]).unwrap().unwrap();
        assert_eq!(
            new_layer.blob.unwrap().media_type,
            "application/vnd.oci.image.layer.v1.tar"
        );

        // The new image, in a new container.
        let lowers1 = lowers(&images, &image);
        let c2 = tmp.path().join("containers/c2");
        Driver::Overlay.prepare(&c2, &lowers1).unwrap();
        let r2 = Driver::Overlay.mount(&c2, &lowers1).unwrap();
        assert!(!r2.join("etc/gone").exists());
        assert_eq!(std::fs::read_to_string(r2.join("etc/new")).unwrap(), "new");
        assert_eq!(
            std::fs::read_to_string(r2.join("etc/keep")).unwrap(),
            "keep"
        );
        Driver::Overlay.remove(&c2).unwrap();

        // Nothing changed: still a layer (Docker's empty layer), still an image.
        let c3 = tmp.path().join("containers/c3");
        Driver::Overlay.prepare(&c3, &lowers1).unwrap();
        let mut empty = Vec::new();
        write_layer_tar(Driver::Overlay, &c3, &lowers1, &mut empty).unwrap();
        let image3 = images
            .commit(CommitRequest {
                parent: &image,
                layer_tar: Box::new(std::io::Cursor::new(empty)),
                config: images.config(&image).unwrap(),
                author: None,
                comment: None,
                created_by: "sh".into(),
                tags: &[],
                empty_layer_if_unchanged: false,
            })
            .await
            .unwrap();
        let cfg3 = images.config(&image3).unwrap();
        assert_eq!(
            cfg3.rootfs.diff_ids.last().unwrap(),
            "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
        );
        assert_eq!(cfg3.extra.get("comment"), None);
        Driver::Overlay.remove(&c3).unwrap();
        Driver::Overlay.remove(&c).unwrap();
    }
}
