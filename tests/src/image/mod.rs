//! Test images built offline, byte for byte deterministic: the busybox image from Debian's
//! `/bin/busybox`, generated multi-layer images for benchmarks, and writers for an OCI layout,
//! a `docker save` tar and a registry push.

mod busybox;
mod generate;
mod push;
pub mod tar_builder;
mod write;

use std::io::Read;

use anyhow::{Context, Result};
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub use busybox::{busybox_layer, busybox_path};
pub use generate::{GenSpec, generated_layer};
pub use tar_builder::{EntryKind, LayerBuilder};

/// `created` of every config and history entry (fixed, for stable digests).
pub const FIXED_CREATED: &str = "2000-01-01T00:00:00Z";
/// The PATH every test image sets, as Docker's images do.
pub const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Which manifest schema an image is written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestFormat {
    /// OCI image manifest v1 (`application/vnd.oci.image.manifest.v1+json`).
    Oci,
    /// Docker image manifest v2 schema 2.
    DockerV2,
}

impl ManifestFormat {
    pub fn manifest_media_type(self) -> &'static str {
        match self {
            ManifestFormat::Oci => "application/vnd.oci.image.manifest.v1+json",
            ManifestFormat::DockerV2 => "application/vnd.docker.distribution.manifest.v2+json",
        }
    }

    pub fn config_media_type(self) -> &'static str {
        match self {
            ManifestFormat::Oci => "application/vnd.oci.image.config.v1+json",
            ManifestFormat::DockerV2 => "application/vnd.docker.container.image.v1+json",
        }
    }

    pub fn layer_media_type(self) -> &'static str {
        match self {
            ManifestFormat::Oci => "application/vnd.oci.image.layer.v1.tar+gzip",
            ManifestFormat::DockerV2 => "application/vnd.docker.image.rootfs.diff.tar.gzip",
        }
    }
}

/// `sha256:<hex>` of `data`.
pub fn sha256_digest(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// The hex part of a `sha256:<hex>` digest.
pub fn digest_hex(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap_or(digest)
}

/// Content with its digest and media type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    pub media_type: String,
    pub digest: String,
    pub data: Vec<u8>,
}

impl Blob {
    pub fn new(media_type: &str, data: Vec<u8>) -> Blob {
        Blob {
            media_type: media_type.to_owned(),
            digest: sha256_digest(&data),
            data,
        }
    }

    /// Its size in bytes.
    pub fn size(&self) -> u64 {
        self.data.len() as u64
    }

    /// An OCI descriptor `{mediaType, digest, size}`.
    pub fn descriptor(&self) -> Value {
        json!({ "mediaType": self.media_type, "digest": self.digest, "size": self.size() })
    }
}

/// One layer: the gzip blob and the digest of the uncompressed tar (the config's diff_id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    pub blob: Blob,
    pub diff_id: String,
    /// The history line that created it.
    pub created_by: String,
}

impl Layer {
    /// Compresses `tar` (gzip, no name, mtime 0: deterministic) into a layer.
    pub fn from_tar(tar: &[u8], level: Compression, created_by: &str) -> Result<Layer> {
        use std::io::Write;
        let mut gz = GzEncoder::new(Vec::with_capacity(tar.len() / 2), level);
        gz.write_all(tar).context("gzip of the layer")?;
        let compressed = gz.finish().context("gzip of the layer")?;
        Ok(Layer {
            // The media type is set by the image (it depends on the manifest format).
            blob: Blob::new(ManifestFormat::Oci.layer_media_type(), compressed),
            diff_id: sha256_digest(tar),
            created_by: created_by.to_owned(),
        })
    }

    /// The uncompressed tar, gunzipped from the blob.
    pub fn tar(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(self.blob.data.as_slice())
            .read_to_end(&mut out)
            .context("gunzip of the layer")?;
        Ok(out)
    }
}

/// The runnable part of an image config (`config` in the OCI image config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunConfig {
    pub cmd: Vec<String>,
    pub entrypoint: Vec<String>,
    pub env: Vec<String>,
    pub working_dir: String,
    pub user: String,
}

impl Default for RunConfig {
    fn default() -> RunConfig {
        RunConfig {
            cmd: vec!["sh".to_owned()],
            entrypoint: Vec::new(),
            env: vec![DEFAULT_PATH.to_owned()],
            working_dir: String::new(),
            user: String::new(),
        }
    }
}

impl RunConfig {
    fn to_json(&self) -> Value {
        let mut config = json!({ "Env": self.env, "Cmd": self.cmd });
        if !self.entrypoint.is_empty() {
            config["Entrypoint"] = json!(self.entrypoint);
        }
        if !self.working_dir.is_empty() {
            config["WorkingDir"] = json!(self.working_dir);
        }
        if !self.user.is_empty() {
            config["User"] = json!(self.user);
        }
        config
    }
}

/// An image: its layers, config blob and manifest blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestImage {
    pub format: ManifestFormat,
    pub run_config: RunConfig,
    pub layers: Vec<Layer>,
    pub config: Blob,
    pub manifest: Blob,
}

impl TestImage {
    /// The busybox image: one layer from Debian's `/bin/busybox` (`$BUSYBOX_BIN` overrides),
    /// `Cmd ["sh"]`, OCI manifest. Built once per process and then cloned.
    pub fn busybox() -> Result<TestImage> {
        static CACHE: std::sync::OnceLock<TestImage> = std::sync::OnceLock::new();
        if let Some(image) = CACHE.get() {
            return Ok(image.clone());
        }
        let tar = busybox_layer()?.to_tar()?;
        let layer = Layer::from_tar(
            &tar,
            Compression::default(),
            "berth-tests: busybox from Debian busybox-static",
        )?;
        let image = TestImage::from_layers(vec![layer], RunConfig::default(), ManifestFormat::Oci)?;
        Ok(CACHE.get_or_init(|| image).clone())
    }

    /// A generated image (see [`GenSpec`]), on top of `base`'s layers and config when given.
    pub fn generated(spec: &GenSpec, base: Option<&TestImage>) -> Result<TestImage> {
        let mut layers = base.map(|b| b.layers.clone()).unwrap_or_default();
        for index in 0..spec.layers {
            let tar = generated_layer(spec, index)?.to_tar()?;
            let created_by = format!(
                "berth-tests: generated layer {index} ({} files of {} bytes, seed {})",
                spec.files_per_layer, spec.file_size, spec.seed
            );
            layers.push(Layer::from_tar(&tar, Compression::fast(), &created_by)?);
        }
        let run_config = base.map(|b| b.run_config.clone()).unwrap_or_default();
        let format = base.map_or(ManifestFormat::Oci, |b| b.format);
        TestImage::from_layers(layers, run_config, format)
    }

    /// This image plus one more layer made from `layer` (e.g. a commit-like change).
    pub fn with_layer(&self, layer: &LayerBuilder, created_by: &str) -> Result<TestImage> {
        let mut layers = self.layers.clone();
        layers.push(Layer::from_tar(
            &layer.to_tar()?,
            Compression::fast(),
            created_by,
        )?);
        TestImage::from_layers(layers, self.run_config.clone(), self.format)
    }

    /// Assembles config and manifest for `layers`.
    pub fn from_layers(
        mut layers: Vec<Layer>,
        run_config: RunConfig,
        format: ManifestFormat,
    ) -> Result<TestImage> {
        for layer in &mut layers {
            layer.blob.media_type = format.layer_media_type().to_owned();
        }
        let config = json!({
            "architecture": "amd64",
            "os": "linux",
            "created": FIXED_CREATED,
            "config": run_config.to_json(),
            "rootfs": {
                "type": "layers",
                "diff_ids": layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>(),
            },
            "history": layers.iter().map(|l| json!({
                "created": FIXED_CREATED,
                "created_by": l.created_by,
            })).collect::<Vec<_>>(),
        });
        let config = Blob::new(format.config_media_type(), serde_json::to_vec(&config)?);
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": format.manifest_media_type(),
            "config": config.descriptor(),
            "layers": layers.iter().map(|l| l.blob.descriptor()).collect::<Vec<_>>(),
        });
        let manifest = Blob::new(format.manifest_media_type(), serde_json::to_vec(&manifest)?);
        Ok(TestImage {
            format,
            run_config,
            layers,
            config,
            manifest,
        })
    }

    /// The same image with its manifest in another schema (layers and config unchanged in
    /// content; media types follow the schema).
    pub fn in_format(&self, format: ManifestFormat) -> Result<TestImage> {
        TestImage::from_layers(self.layers.clone(), self.run_config.clone(), format)
    }

    /// The same image with another run config (e.g. a different `Cmd`).
    pub fn with_run_config(&self, run_config: RunConfig) -> Result<TestImage> {
        TestImage::from_layers(self.layers.clone(), run_config, self.format)
    }

    /// `sha256:…` of the manifest: the image's digest in a registry.
    pub fn manifest_digest(&self) -> &str {
        &self.manifest.digest
    }

    /// `sha256:…` of the config: the image ID Docker shows.
    pub fn image_id(&self) -> &str {
        &self.config.digest
    }

    /// Every blob: config first, then the layers.
    pub fn blobs(&self) -> impl Iterator<Item = &Blob> {
        std::iter::once(&self.config).chain(self.layers.iter().map(|l| &l.blob))
    }
}
