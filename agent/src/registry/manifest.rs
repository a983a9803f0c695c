//! Manifests and indexes (OCI image-spec v1 and Docker v2 schema 2), parsed strictly:
//! registry content is hostile input.
//!
//! - The media type comes from the `Content-Type`, and a `mediaType` in the body must agree
//!   with it; a document with both `manifests` and `config`/`layers` is refused, so one digest
//!   cannot mean an image to one reader and an index to another (CVE-2021-41190).
//! - Every digest must be `sha256:<64 hex>`; sizes are unsigned.
//! - Schema 1, artifacts (unknown config types), unknown layer types, and foreign or
//!   non-distributable layers (those with `urls`) are refused with a clear message.

use std::fmt;

use serde::Deserialize;

use super::RegistryError;
use super::digest::{check_digest, shorten};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";

/// Media types asked for in `Accept` when fetching a manifest, best first.
pub const ACCEPTED_MANIFEST_TYPES: [&str; 4] = [
    OCI_INDEX,
    DOCKER_MANIFEST_LIST,
    OCI_MANIFEST,
    DOCKER_MANIFEST,
];

/// Manifests, indexes and configs larger than this are refused (real ones are a few KiB;
/// CVE-2023-25153 was an unbounded read of one).
pub const MAX_MANIFEST_SIZE: usize = 4 * 1024 * 1024;
/// More layers than this is not an image anyone built (overlayfs stops far below).
const MAX_LAYERS: usize = 1000;
/// More entries than this is not a real index.
const MAX_INDEX_ENTRIES: usize = 10_000;

pub(crate) const SCHEMA1_MESSAGE: &str = "Docker image manifest schema 1 manifests are deprecated and not supported; \
     re-push the image with a current client";

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerCompression {
    Gzip,
    Zstd,
    None,
}

/// A content descriptor: what a blob is, its digest and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
}

/// A layer of an image manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerDescriptor {
    pub descriptor: Descriptor,
    pub compression: LayerCompression,
}

/// An image manifest: its config and its layers, base first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageManifest {
    /// [`OCI_MANIFEST`] or [`DOCKER_MANIFEST`].
    pub media_type: String,
    pub config: Descriptor,
    pub layers: Vec<LayerDescriptor>,
}

/// The platform of an index entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
    pub os_version: Option<String>,
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

/// One manifest of an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub descriptor: Descriptor,
    pub platform: Option<Platform>,
}

/// A parsed manifest document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParsedManifest {
    Image(ImageManifest),
    /// The manifests of an index (OCI image index or Docker manifest list).
    Index(Vec<IndexEntry>),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDocument {
    schema_version: Option<i64>,
    media_type: Option<String>,
    config: Option<RawDescriptor>,
    layers: Option<Vec<RawDescriptor>>,
    manifests: Option<Vec<RawDescriptor>>,
    /// Only in schema 1; its presence identifies one.
    fs_layers: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDescriptor {
    media_type: Option<String>,
    digest: Option<String>,
    size: Option<u64>,
    urls: Option<Vec<String>>,
    platform: Option<RawPlatform>,
}

#[derive(Deserialize)]
struct RawPlatform {
    os: Option<String>,
    architecture: Option<String>,
    variant: Option<String>,
    #[serde(rename = "os.version")]
    os_version: Option<String>,
}

/// `application/vnd…+json; charset=utf-8` → `application/vnd…+json`.
pub fn normalize_media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// A media type that says nothing about the document (so the body's `mediaType` decides).
fn is_generic(media_type: &str) -> bool {
    matches!(
        media_type,
        "" | "application/json" | "application/octet-stream" | "text/plain" | "binary/octet-stream"
    )
}

fn is_schema1(media_type: &str) -> bool {
    media_type == DOCKER_SCHEMA1 || media_type == DOCKER_SCHEMA1_SIGNED
}

fn is_image_manifest(media_type: &str) -> bool {
    media_type == OCI_MANIFEST || media_type == DOCKER_MANIFEST
}

fn is_index(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST
}

/// Checks a manifest media type as announced by a registry: schema 1 and non-manifest types
/// are refused; generic types (`application/json`, none) pass, for the body to decide.
pub(crate) fn check_manifest_media_type(media_type: &str) -> Result<(), RegistryError> {
    if is_schema1(media_type) {
        Err(RegistryError::Unsupported(SCHEMA1_MESSAGE.to_owned()))
    } else if is_image_manifest(media_type) || is_index(media_type) || is_generic(media_type) {
        Ok(())
    } else {
        Err(RegistryError::Unsupported(format!(
            "manifest media type {:?} is not supported (expected an OCI or Docker v2 image \
             manifest or index)",
            shorten(media_type)
        )))
    }
}

/// Refuses a schema 1 manifest, by its media type or its `schemaVersion`. Fetching checks this
/// before digests: distribution computes a signed schema 1 manifest's digest over the JWS
/// payload with the signatures stripped, so its `Docker-Content-Digest` never matches the
/// bytes served, and the clear "not supported" must win over a confusing mismatch.
pub(crate) fn refuse_schema1(media_type: &str, bytes: &[u8]) -> Result<(), RegistryError> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(rename = "schemaVersion")]
        schema_version: Option<serde_json::Value>,
    }
    let by_body = || {
        serde_json::from_slice::<Probe>(bytes)
            .is_ok_and(|p| p.schema_version == Some(serde_json::Value::from(1)))
    };
    if is_schema1(media_type) || by_body() {
        Err(RegistryError::Unsupported(SCHEMA1_MESSAGE.to_owned()))
    } else {
        Ok(())
    }
}

/// The media type a fetched document really has: the `Content-Type`, or when that is generic,
/// the body's `mediaType`, or when both are silent, what its shape says. Refuses schema 1,
/// disagreement between the two, and documents that are both image and index.
pub(crate) fn effective_media_type(
    media_type: &str,
    bytes: &[u8],
) -> Result<String, RegistryError> {
    classify(media_type, bytes).map(|(_, effective)| effective)
}

/// Parses a manifest or index whose `Content-Type` (or descriptor media type) is `media_type`.
pub fn parse_manifest(media_type: &str, bytes: &[u8]) -> Result<ParsedManifest, RegistryError> {
    let (doc, effective) = classify(media_type, bytes)?;
    if is_index(&effective) {
        let manifests = doc.manifests.ok_or_else(|| {
            RegistryError::InvalidManifest(format!("{effective} without `manifests`"))
        })?;
        parse_index(manifests).map(ParsedManifest::Index)
    } else {
        if doc.manifests.is_some() {
            return Err(RegistryError::InvalidManifest(format!(
                "{effective} has `manifests` (an index's field)"
            )));
        }
        let config = doc.config.ok_or_else(|| {
            RegistryError::InvalidManifest(format!("{effective} without `config`"))
        })?;
        let layers = doc.layers.ok_or_else(|| {
            RegistryError::InvalidManifest(format!("{effective} without `layers`"))
        })?;
        parse_image(effective, config, layers).map(ParsedManifest::Image)
    }
}

/// The document and its effective media type (see [`effective_media_type`]).
fn classify(media_type: &str, bytes: &[u8]) -> Result<(RawDocument, String), RegistryError> {
    if bytes.len() > MAX_MANIFEST_SIZE {
        return Err(RegistryError::InvalidManifest(format!(
            "manifest is {} bytes, more than the {MAX_MANIFEST_SIZE} allowed",
            bytes.len()
        )));
    }
    let announced = normalize_media_type(media_type);
    check_manifest_media_type(&announced)?;
    let doc: RawDocument = serde_json::from_slice(bytes)
        .map_err(|e| RegistryError::InvalidManifest(format!("not a JSON manifest: {e}")))?;
    if doc.schema_version == Some(1) || doc.fs_layers.is_some() {
        return Err(RegistryError::Unsupported(SCHEMA1_MESSAGE.to_owned()));
    }
    match doc.schema_version {
        Some(2) => {}
        Some(other) => {
            return Err(RegistryError::InvalidManifest(format!(
                "schemaVersion {other} is not supported (expected 2)"
            )));
        }
        None => {
            return Err(RegistryError::InvalidManifest(
                "schemaVersion is missing".to_owned(),
            ));
        }
    }
    let body_type = doc.media_type.as_deref().map(normalize_media_type);
    if let Some(body_type) = &body_type {
        check_manifest_media_type(body_type)?;
    }
    let has_manifests = doc.manifests.is_some();
    let has_image_parts = doc.config.is_some() || doc.layers.is_some();
    if has_manifests && has_image_parts {
        return Err(RegistryError::InvalidManifest(
            "document has both `manifests` and `config`/`layers`: it could be read as an index \
             or as an image, so it is refused"
                .to_owned(),
        ));
    }
    let effective = match (&body_type, is_generic(&announced)) {
        (Some(body), false) if !is_generic(body) && *body != announced => {
            return Err(RegistryError::InvalidManifest(format!(
                "mediaType in the body ({}) disagrees with the Content-Type ({})",
                shorten(body),
                shorten(&announced)
            )));
        }
        (_, false) => announced,
        (Some(body), true) if !is_generic(body) => body.clone(),
        // Neither says: OCI allows an absent mediaType, so go by the shape.
        _ if has_manifests => OCI_INDEX.to_owned(),
        _ => OCI_MANIFEST.to_owned(),
    };
    Ok((doc, effective))
}

fn parse_image(
    media_type: String,
    config: RawDescriptor,
    layers: Vec<RawDescriptor>,
) -> Result<ImageManifest, RegistryError> {
    let config = descriptor(config, "config")?;
    if config.media_type != OCI_CONFIG && config.media_type != DOCKER_CONFIG {
        return Err(RegistryError::Unsupported(format!(
            "not a container image: its config has media type {:?} (an OCI artifact?)",
            shorten(&config.media_type)
        )));
    }
    if layers.len() > MAX_LAYERS {
        return Err(RegistryError::InvalidManifest(format!(
            "{} layers is more than the {MAX_LAYERS} allowed",
            layers.len()
        )));
    }
    let layers = layers
        .into_iter()
        .enumerate()
        .map(|(i, raw)| {
            let what = format!("layer {i}");
            if raw.urls.as_ref().is_some_and(|u| !u.is_empty()) {
                return Err(RegistryError::Unsupported(format!(
                    "{what} is a foreign layer (it has `urls`: it must be fetched from \
                     elsewhere than the registry); foreign layers are not supported"
                )));
            }
            let descriptor = descriptor(raw, &what)?;
            let compression = layer_compression(&descriptor.media_type, &what)?;
            Ok(LayerDescriptor {
                descriptor,
                compression,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ImageManifest {
        media_type,
        config,
        layers,
    })
}

/// The compression of a layer media type, or a clear error for types we do not unpack.
fn layer_compression(media_type: &str, what: &str) -> Result<LayerCompression, RegistryError> {
    match media_type {
        "application/vnd.oci.image.layer.v1.tar+gzip"
        | "application/vnd.docker.image.rootfs.diff.tar.gzip" => Ok(LayerCompression::Gzip),
        "application/vnd.oci.image.layer.v1.tar+zstd" => Ok(LayerCompression::Zstd),
        "application/vnd.oci.image.layer.v1.tar"
        | "application/vnd.docker.image.rootfs.diff.tar" => Ok(LayerCompression::None),
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
        | "application/vnd.oci.image.layer.nondistributable.v1.tar"
        | "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
        | "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd" => {
            Err(RegistryError::Unsupported(format!(
                "{what} is a foreign/non-distributable layer ({media_type}), used by Windows \
                 base images; not supported"
            )))
        }
        other => Err(RegistryError::Unsupported(format!(
            "{what} has media type {:?}, which is not a layer type Berth can unpack \
             (OCI or Docker tar, gzip or zstd)",
            shorten(other)
        ))),
    }
}

fn parse_index(manifests: Vec<RawDescriptor>) -> Result<Vec<IndexEntry>, RegistryError> {
    if manifests.len() > MAX_INDEX_ENTRIES {
        return Err(RegistryError::InvalidManifest(format!(
            "index has {} entries, more than the {MAX_INDEX_ENTRIES} allowed",
            manifests.len()
        )));
    }
    manifests
        .into_iter()
        .enumerate()
        .map(|(i, mut raw)| {
            let platform = raw.platform.take().map(|p| Platform {
                os: p.os.unwrap_or_default(),
                architecture: p.architecture.unwrap_or_default(),
                variant: p.variant.filter(|v| !v.is_empty()),
                os_version: p.os_version.filter(|v| !v.is_empty()),
            });
            Ok(IndexEntry {
                descriptor: descriptor(raw, &format!("index entry {i}"))?,
                platform,
            })
        })
        .collect()
}

fn descriptor(raw: RawDescriptor, what: &str) -> Result<Descriptor, RegistryError> {
    let media_type = raw
        .media_type
        .ok_or_else(|| RegistryError::InvalidManifest(format!("{what} has no mediaType")))?;
    let digest = raw
        .digest
        .ok_or_else(|| RegistryError::InvalidManifest(format!("{what} has no digest")))?;
    check_digest(&digest, |m| {
        RegistryError::InvalidManifest(format!("{what}: {m}"))
    })?;
    let size = raw
        .size
        .ok_or_else(|| RegistryError::InvalidManifest(format!("{what} has no size")))?;
    Ok(Descriptor {
        media_type,
        digest,
        size,
    })
}

/// Go's names for architectures (`GOARCH`), from the names `uname` and others use.
fn normalize_arch(arch: &str) -> &str {
    match arch {
        "x86_64" | "x86-64" => "amd64",
        "aarch64" => "arm64",
        "i386" | "i686" => "386",
        "armhf" | "armel" => "arm",
        other => other,
    }
}

/// The variant an architecture has when none is written (`arm64` is `v8`).
fn default_variant(arch: &str) -> Option<&'static str> {
    match arch {
        "arm64" => Some("v8"),
        _ => None,
    }
}

/// Picks the image manifest for `os`/`arch`[/`variant`] from an index. An exact variant match
/// is preferred; an `arm` host also runs lower variants (v7 runs v6 and v5); with no variant
/// asked for, an entry without a variant (or with the architecture's default one) is preferred.
/// Entries that are not image manifests (nested indexes, attestations for `unknown/unknown`)
/// are never picked. The error lists the platforms the index has.
pub fn pick_platform<'a>(
    index: &'a [IndexEntry],
    os: &str,
    arch: &str,
    variant: Option<&str>,
) -> Result<&'a IndexEntry, RegistryError> {
    let arch = normalize_arch(arch);
    let wanted_variant = variant.filter(|v| !v.is_empty()).or(default_variant(arch));
    let candidates: Vec<(&IndexEntry, Option<&str>)> = index
        .iter()
        .filter(|e| is_image_manifest(&e.descriptor.media_type))
        .filter_map(|e| {
            let p = e.platform.as_ref()?;
            (p.os == os && normalize_arch(&p.architecture) == arch)
                .then(|| (e, p.variant.as_deref().or(default_variant(arch))))
        })
        .collect();
    let by_variant = |v: Option<&str>| candidates.iter().find(|(_, cv)| *cv == v).map(|(e, _)| *e);
    let found = match wanted_variant {
        Some(wanted) => by_variant(Some(wanted)).or_else(|| {
            // arm: a v7 host runs v6 and v5 images, best first.
            if arch != "arm" {
                return None;
            }
            let level = arm_level(wanted)?;
            (5..level)
                .rev()
                .find_map(|l| by_variant(Some(&format!("v{l}"))))
        }),
        None => by_variant(None).or_else(|| candidates.first().map(|(e, _)| *e)),
    };
    found.ok_or_else(|| {
        let mut available: Vec<String> = index
            .iter()
            .filter(|e| is_image_manifest(&e.descriptor.media_type))
            .filter_map(|e| e.platform.as_ref())
            .filter(|p| p.os != "unknown")
            .map(Platform::to_string)
            .collect();
        available.dedup();
        let wanted = match variant.filter(|v| !v.is_empty()) {
            Some(v) => format!("{os}/{arch}/{v}"),
            None => format!("{os}/{arch}"),
        };
        let available = if available.is_empty() {
            "none".to_owned()
        } else {
            available.join(", ")
        };
        RegistryError::NotFound(format!(
            "no image for platform {wanted} in the index; it has: {available}"
        ))
    })
}

/// 7 for `v7`, for arm variants.
fn arm_level(variant: &str) -> Option<u32> {
    variant
        .strip_prefix('v')?
        .parse()
        .ok()
        .filter(|l| (5..=8).contains(l))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::registry::digest::sha256_digest;

    fn d(n: u8) -> String {
        sha256_digest(&[n])
    }

    fn image(media_type: Option<&str>, layer_type: &str) -> Value {
        let mut doc = json!({
            "schemaVersion": 2,
            "config": {"mediaType": OCI_CONFIG, "digest": d(0), "size": 10},
            "layers": [{"mediaType": layer_type, "digest": d(1), "size": 20}],
        });
        if let Some(mt) = media_type {
            doc["mediaType"] = json!(mt);
        }
        doc
    }

    fn parse(media_type: &str, doc: &Value) -> Result<ParsedManifest, RegistryError> {
        parse_manifest(media_type, &serde_json::to_vec(doc).expect("json"))
    }

    #[test]
    fn oci_and_docker_images_with_each_compression() {
        for (layer_type, compression) in [
            (
                "application/vnd.oci.image.layer.v1.tar+gzip",
                LayerCompression::Gzip,
            ),
            (
                "application/vnd.oci.image.layer.v1.tar+zstd",
                LayerCompression::Zstd,
            ),
            (
                "application/vnd.oci.image.layer.v1.tar",
                LayerCompression::None,
            ),
            (
                "application/vnd.docker.image.rootfs.diff.tar.gzip",
                LayerCompression::Gzip,
            ),
        ] {
            let ParsedManifest::Image(m) =
                parse(OCI_MANIFEST, &image(Some(OCI_MANIFEST), layer_type)).expect(layer_type)
            else {
                panic!("not an image")
            };
            assert_eq!(m.media_type, OCI_MANIFEST);
            assert_eq!(m.config.digest, d(0));
            assert_eq!(m.layers[0].compression, compression);
            assert_eq!(m.layers[0].descriptor.size, 20);
        }
        let mut docker = image(
            Some(DOCKER_MANIFEST),
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
        );
        docker["config"]["mediaType"] = json!(DOCKER_CONFIG);
        let parsed = parse(&format!("{DOCKER_MANIFEST}; charset=utf-8"), &docker).expect("docker");
        assert!(matches!(parsed, ParsedManifest::Image(m) if m.media_type == DOCKER_MANIFEST));
    }

    #[test]
    fn media_type_from_body_when_content_type_is_generic_or_absent() {
        let doc = image(
            Some(OCI_MANIFEST),
            "application/vnd.oci.image.layer.v1.tar+gzip",
        );
        assert!(matches!(
            parse("application/json", &doc),
            Ok(ParsedManifest::Image(_))
        ));
        // OCI allows no mediaType at all: the shape decides.
        let doc = image(None, "application/vnd.oci.image.layer.v1.tar+gzip");
        assert!(matches!(parse("", &doc), Ok(ParsedManifest::Image(_))));
        // Content-Type known, body silent: fine.
        assert!(matches!(
            parse(OCI_MANIFEST, &doc),
            Ok(ParsedManifest::Image(_))
        ));
    }

    #[test]
    fn body_media_type_must_agree_with_content_type() {
        let doc = image(
            Some(DOCKER_MANIFEST),
            "application/vnd.oci.image.layer.v1.tar+gzip",
        );
        let err = parse(OCI_MANIFEST, &doc).expect_err("disagreement");
        assert!(matches!(err, RegistryError::InvalidManifest(_)), "{err:?}");
        assert!(err.to_string().contains("disagrees"), "{err}");
        let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []});
        assert!(matches!(
            parse(OCI_MANIFEST, &index),
            Err(RegistryError::InvalidManifest(_))
        ));
    }

    #[test]
    fn ambiguous_manifest_and_index_is_refused() {
        let mut doc = image(
            Some(OCI_MANIFEST),
            "application/vnd.oci.image.layer.v1.tar+gzip",
        );
        doc["manifests"] = json!([{"mediaType": OCI_MANIFEST, "digest": d(5), "size": 1}]);
        for ct in [OCI_MANIFEST, OCI_INDEX, ""] {
            let err = parse(ct, &doc).expect_err(ct);
            assert!(
                matches!(&err, RegistryError::InvalidManifest(m) if m.contains("both")),
                "{ct}: {err:?}"
            );
        }
        // An index media type over a document with only image fields.
        let doc = image(None, "application/vnd.oci.image.layer.v1.tar+gzip");
        assert!(matches!(
            parse(OCI_INDEX, &doc),
            Err(RegistryError::InvalidManifest(_))
        ));
    }

    #[test]
    fn schema1_is_refused_clearly_by_type_or_by_body() {
        let body = json!({"schemaVersion": 1, "name": "x", "tag": "latest", "fsLayers": [], "history": []});
        for ct in [
            DOCKER_SCHEMA1,
            DOCKER_SCHEMA1_SIGNED,
            "application/json",
            "",
        ] {
            let err = parse(ct, &body).expect_err(ct);
            assert!(matches!(err, RegistryError::Unsupported(_)), "{err:?}");
            assert!(err.to_string().contains("schema 1 manifests are deprecated and not supported; re-push the image with a current client"), "{err}");
        }
    }

    #[test]
    fn malformed_digests_sizes_and_fields() {
        let mut doc = image(
            Some(OCI_MANIFEST),
            "application/vnd.oci.image.layer.v1.tar+gzip",
        );
        doc["layers"][0]["digest"] = json!("sha256:1234");
        assert!(matches!(
            parse(OCI_MANIFEST, &doc),
            Err(RegistryError::InvalidManifest(_))
        ));
        doc["layers"][0]["digest"] = json!(format!("sha256:{}", "A".repeat(64)));
        assert!(matches!(
            parse(OCI_MANIFEST, &doc),
            Err(RegistryError::InvalidManifest(_))
        ));
        doc["layers"][0]["digest"] = json!(format!("sha512:{}", "a".repeat(128)));
        assert!(matches!(
            parse(OCI_MANIFEST, &doc),
            Err(RegistryError::Unsupported(_))
        ));
        let mut doc = image(
            Some(OCI_MANIFEST),
            "application/vnd.oci.image.layer.v1.tar+gzip",
        );
        doc["layers"][0]["size"] = json!(-1);
        assert!(matches!(
            parse(OCI_MANIFEST, &doc),
            Err(RegistryError::InvalidManifest(_))
        ));
        let mut doc = image(
            Some(OCI_MANIFEST),
            "application/vnd.oci.image.layer.v1.tar+gzip",
        );
        doc["schemaVersion"] = json!(3);
        assert!(matches!(
            parse(OCI_MANIFEST, &doc),
            Err(RegistryError::InvalidManifest(_))
        ));
        assert!(matches!(
            parse_manifest(OCI_MANIFEST, b"{not json"),
            Err(RegistryError::InvalidManifest(_))
        ));
        let big = vec![b' '; MAX_MANIFEST_SIZE + 1];
        assert!(matches!(
            parse_manifest(OCI_MANIFEST, &big),
            Err(RegistryError::InvalidManifest(_))
        ));
    }

    #[test]
    fn unknown_foreign_and_artifact_types_are_unsupported() {
        let doc = image(Some(OCI_MANIFEST), "application/vnd.example.weird");
        let err = parse(OCI_MANIFEST, &doc).expect_err("unknown layer");
        assert!(
            matches!(&err, RegistryError::Unsupported(m) if m.contains("layer 0")),
            "{err:?}"
        );
        let doc = image(
            Some(OCI_MANIFEST),
            "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        );
        assert!(
            matches!(parse(OCI_MANIFEST, &doc), Err(RegistryError::Unsupported(m)) if m.contains("foreign"))
        );
        let mut doc = image(
            Some(OCI_MANIFEST),
            "application/vnd.oci.image.layer.v1.tar+gzip",
        );
        doc["layers"][0]["urls"] = json!(["https://example.invalid/layer"]);
        assert!(
            matches!(parse(OCI_MANIFEST, &doc), Err(RegistryError::Unsupported(m)) if m.contains("urls"))
        );
        let mut doc = image(
            Some(OCI_MANIFEST),
            "application/vnd.oci.image.layer.v1.tar+gzip",
        );
        doc["config"]["mediaType"] = json!("application/vnd.cncf.helm.config.v1+json");
        assert!(
            matches!(parse(OCI_MANIFEST, &doc), Err(RegistryError::Unsupported(m)) if m.contains("artifact"))
        );
        assert!(matches!(
            parse("application/vnd.oci.artifact.manifest.v1+json", &doc),
            Err(RegistryError::Unsupported(_))
        ));
    }

    fn entry(n: u8, media_type: &str, platform: Option<(&str, &str, Option<&str>)>) -> Value {
        let mut e = json!({"mediaType": media_type, "digest": d(n), "size": 100 + u64::from(n)});
        if let Some((os, arch, variant)) = platform {
            e["platform"] = json!({"os": os, "architecture": arch});
            if let Some(v) = variant {
                e["platform"]["variant"] = json!(v);
            }
        }
        e
    }

    fn index(entries: Vec<Value>) -> Vec<IndexEntry> {
        let doc = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries});
        match parse(OCI_INDEX, &doc).expect("index") {
            ParsedManifest::Index(entries) => entries,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pick_platform_exact_variants_and_fallbacks() {
        let idx = index(vec![
            entry(1, OCI_MANIFEST, Some(("unknown", "unknown", None))),
            entry(2, OCI_MANIFEST, Some(("linux", "amd64", None))),
            entry(3, OCI_MANIFEST, Some(("linux", "arm64", Some("v8")))),
            entry(4, OCI_MANIFEST, Some(("linux", "arm", Some("v6")))),
            entry(5, OCI_INDEX, Some(("linux", "s390x", None))),
            entry(6, OCI_MANIFEST, None),
        ]);
        let pick =
            |os, arch, v| pick_platform(&idx, os, arch, v).map(|e| e.descriptor.digest.clone());
        assert_eq!(pick("linux", "amd64", None).expect("amd64"), d(2));
        assert_eq!(pick("linux", "x86_64", None).expect("x86_64"), d(2));
        assert_eq!(pick("linux", "arm64", None).expect("arm64"), d(3));
        assert_eq!(pick("linux", "aarch64", Some("v8")).expect("v8"), d(3));
        assert_eq!(pick("linux", "arm", Some("v7")).expect("v7 runs v6"), d(4));
        assert!(
            pick("linux", "arm", Some("v5")).is_err(),
            "v5 cannot run v6"
        );
        let err = pick("linux", "s390x", None).expect_err("nested index is not an image");
        assert!(matches!(err, RegistryError::NotFound(_)));
        assert_eq!(
            err.to_string(),
            "no image for platform linux/s390x in the index; it has: linux/amd64, linux/arm64/v8, linux/arm/v6"
        );
        let err = pick("windows", "amd64", None).expect_err("no windows");
        assert!(err.to_string().contains("windows/amd64"), "{err}");
    }

    #[test]
    fn pick_platform_prefers_no_variant_when_none_asked() {
        let idx = index(vec![
            entry(1, DOCKER_MANIFEST, Some(("linux", "arm", Some("v7")))),
            entry(2, DOCKER_MANIFEST, Some(("linux", "arm", None))),
        ]);
        assert_eq!(
            pick_platform(&idx, "linux", "arm", None)
                .expect("arm")
                .descriptor
                .digest,
            d(2)
        );
        let only_v7 = &idx[..1];
        assert_eq!(
            pick_platform(only_v7, "linux", "arm", None)
                .expect("arm")
                .descriptor
                .digest,
            d(1)
        );
    }

    #[test]
    fn index_entries_are_checked() {
        let doc = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [{"mediaType": OCI_MANIFEST, "digest": "sha256:nope", "size": 1}]});
        assert!(matches!(
            parse(OCI_INDEX, &doc),
            Err(RegistryError::InvalidManifest(_))
        ));
        let doc = json!({"schemaVersion": 2, "mediaType": DOCKER_MANIFEST_LIST, "manifests": [entry(1, DOCKER_MANIFEST, Some(("linux", "amd64", None)))]});
        assert!(
            matches!(parse(DOCKER_MANIFEST_LIST, &doc), Ok(ParsedManifest::Index(e)) if e.len() == 1)
        );
    }
}
