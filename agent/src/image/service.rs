//! The image service: what `docker images/inspect/history/tag/rmi/prune` do, on top
//! of the content store. Pull, push and the archive formats live in their own files.

use super::config::ImageConfig;
use super::error::ImageError;
use super::reference::Reference;
use crate::events::EventBus;
use crate::store::Store;
use crate::store::digest::Digest;
use crate::store::records::ImageRecord;
use crate::util::clock::now_secs;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

pub struct Images {
    pub(crate) store: Arc<Store>,
    pub(crate) events: Arc<EventBus>,
    /// Serialises changes to tags and image records (reads need no lock).
    pub(crate) write_lock: tokio::sync::Mutex<()>,
    /// One lock per layer being pulled, so concurrent pulls download it once.
    pub(crate) layer_locks: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// What operations in flight have stored but not yet recorded.
    pub(crate) leases: Arc<super::lease::Leases>,
    /// Which images containers use (image ID → container IDs); set by the container
    /// service. Such images are not deleted, and their layers are kept.
    in_use: std::sync::OnceLock<InUse>,
}

/// Image ID → the IDs of the containers made from it.
pub type InUse = Box<dyn Fn() -> HashMap<String, Vec<String>> + Send + Sync>;

/// One entry of a removal's answer, as Docker lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removed {
    Untagged(String),
    Deleted(String),
}

impl Images {
    pub fn new(store: Arc<Store>, events: Arc<EventBus>) -> Self {
        Images {
            store,
            events,
            write_lock: tokio::sync::Mutex::new(()),
            layer_locks: std::sync::Mutex::new(HashMap::new()),
            leases: Arc::default(),
            in_use: std::sync::OnceLock::new(),
        }
    }

    /// Lets the container service tell which images its containers use.
    pub fn set_in_use(&self, in_use: InUse) {
        let _ = self.in_use.set(in_use);
    }

    pub(super) fn used_images(&self) -> HashMap<String, Vec<String>> {
        self.in_use.get().map(|f| f()).unwrap_or_default()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The data root the store lives in.
    pub fn store_root(&self) -> &std::path::Path {
        &self.store.root
    }

    /// Finds an image the way Docker does: full or short ID, `name[:tag]`, `name@digest`.
    pub fn resolve(&self, input: &str) -> Result<ImageRecord, ImageError> {
        let meta = &self.store.meta;
        let not_found = || ImageError::NotFound(input.to_string());
        if let Ok(digest) = Digest::parse(input) {
            return meta.image(digest.as_str())?.ok_or_else(not_found);
        }
        if let Ok(reference) = Reference::parse(input) {
            if let Some(pinned) = reference.digested_name() {
                return meta
                    .images()?
                    .into_iter()
                    .find(|i| i.repo_digests.contains(&pinned))
                    .ok_or_else(not_found);
            }
            if let Some(tagged) = reference.tagged_name()
                && let Some(id) = meta.tag(&tagged)?
            {
                return meta.image(&id)?.ok_or_else(not_found);
            }
        }
        let is_hex = !input.is_empty()
            && input.len() <= 64
            && input
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if is_hex {
            let matches: Vec<ImageRecord> = meta
                .images()?
                .into_iter()
                .filter(|i| i.id["sha256:".len()..].starts_with(input))
                .collect();
            return match matches.len() {
                1 => Ok(matches.into_iter().next().ok_or_else(not_found)?),
                0 => Err(not_found()),
                _ => Err(ImageError::BadInput(format!(
                    "multiple images found with ID prefix {input}"
                ))),
            };
        }
        Err(not_found())
    }

    /// Full tag names per image ID.
    pub fn tags_by_image(&self) -> Result<HashMap<String, Vec<String>>, ImageError> {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (name, id) in self.store.meta.tags()? {
            map.entry(id).or_default().push(name);
        }
        for names in map.values_mut() {
            names.sort();
        }
        Ok(map)
    }

    pub fn config(&self, image: &ImageRecord) -> Result<ImageConfig, ImageError> {
        let digest = Digest::parse(&image.id).map_err(|e| ImageError::BadInput(e.to_string()))?;
        Ok(ImageConfig::parse(&self.store.blobs.read(&digest)?)?)
    }

    /// `docker tag SOURCE TARGET`.
    pub async fn tag(&self, source: &str, target: &Reference) -> Result<ImageRecord, ImageError> {
        let _guard = self.write_lock.lock().await;
        let image = self.resolve(source)?;
        let name = target.tagged_name().ok_or_else(|| {
            ImageError::BadInput("refusing to create a tag with a digest reference".into())
        })?;
        let now = now_secs();
        let mut updated = image.clone();
        updated.last_tag_time = now;
        self.store.meta.write(|w| {
            w.set_tag(&name, &image.id)?;
            w.put_image(&updated)
        })?;
        self.events.publish(
            "image",
            "tag",
            &image.id,
            BTreeMap::from([("name".to_string(), super::reference::familiar(&name))]),
        );
        Ok(updated)
    }

    /// `docker rmi`: untags, and deletes the image once no tag is left (or when asked
    /// by ID with `force`). Layers no other image uses are deleted with it.
    pub async fn remove(&self, input: &str, force: bool) -> Result<Vec<Removed>, ImageError> {
        let _guard = self.write_lock.lock().await;
        let image = self.resolve(input)?;
        let tags = self.tags_by_image()?.remove(&image.id).unwrap_or_default();
        let by_reference = Reference::parse(input)
            .ok()
            .and_then(|r| r.tagged_name())
            .filter(|name| tags.contains(name));
        let mut removed = Vec::new();
        let untag: Vec<String> = match &by_reference {
            Some(name) => vec![name.clone()],
            None if tags.len() > 1 && !force => {
                return Err(ImageError::Conflict(format!(
                    "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
                    short_id(&image.id)
                )));
            }
            None => tags.clone(),
        };
        // The image goes once its last tag does (or when named by ID) — unless a
        // container uses it: then it is refused, or with force only untagged.
        let users = self.used_images().remove(&image.id).unwrap_or_default();
        if untag.len() == tags.len() && !users.is_empty() && !force {
            let user = users.first().map(|c| short_id(c)).unwrap_or_default();
            return Err(ImageError::Conflict(match &by_reference {
                Some(name) => format!(
                    "conflict: unable to remove repository reference \"{}\" (must force) - container {user} is using its referenced image {}",
                    super::reference::familiar(name),
                    short_id(&image.id)
                ),
                None => format!(
                    "conflict: unable to delete {} (must be forced) - image is being used by stopped container {user}",
                    short_id(&image.id)
                ),
            }));
        }
        let delete_image = untag.len() == tags.len() && users.is_empty();
        self.store.meta.write(|w| {
            for name in &untag {
                w.remove_tag(name)?;
            }
            if delete_image {
                w.delete_image(&image.id)?;
            }
            Ok(())
        })?;
        for name in &untag {
            let short = super::reference::familiar(name);
            self.events.publish(
                "image",
                "untag",
                &image.id,
                BTreeMap::from([("name".to_string(), short.clone())]),
            );
            removed.push(Removed::Untagged(short));
        }
        if delete_image {
            self.events
                .publish("image", "delete", &image.id, BTreeMap::new());
            removed.push(Removed::Deleted(image.id.clone()));
            self.remove_unused_parents(image.parent.clone(), &mut removed)?;
            for layer in self.collect_garbage()? {
                removed.push(Removed::Deleted(layer));
            }
        }
        Ok(removed)
    }

    /// Image IDs that are the parent of another image (a build's intermediate images,
    /// a commit's base).
    pub fn parents(&self) -> Result<HashSet<String>, ImageError> {
        Ok(self
            .store
            .meta
            .images()?
            .into_iter()
            .filter_map(|i| i.parent)
            .collect())
    }

    /// After an image is deleted, its parents go too while they have no tag, no other
    /// child and no container (Docker's rmi without `--no-prune`: a build's intermediate
    /// images leave with the image built on them).
    fn remove_unused_parents(
        &self,
        mut parent: Option<String>,
        removed: &mut Vec<Removed>,
    ) -> Result<(), ImageError> {
        let in_use = self.used_images();
        while let Some(id) = parent.take() {
            let Some(image) = self.store.meta.image(&id)? else {
                return Ok(());
            };
            let tagged = self.tags_by_image()?.contains_key(&id);
            let has_child = self
                .store
                .meta
                .images()?
                .iter()
                .any(|i| i.parent.as_deref() == Some(id.as_str()));
            if tagged || has_child || !image.repo_digests.is_empty() || in_use.contains_key(&id) {
                return Ok(());
            }
            self.store.meta.write(|w| w.delete_image(&id))?;
            self.events.publish("image", "delete", &id, BTreeMap::new());
            removed.push(Removed::Deleted(id));
            parent = image.parent;
        }
        Ok(())
    }

    /// Deletes layers, layer blobs and config/manifest blobs that no image needs.
    /// Returns the chain IDs of the layers removed.
    pub fn collect_garbage(&self) -> Result<Vec<String>, ImageError> {
        let meta = &self.store.meta;
        let images = meta.images()?;
        let used_layers: HashSet<&String> = images.iter().flat_map(|i| &i.layers).collect();
        let mut keep_blobs: HashSet<String> = HashSet::new();
        for image in &images {
            keep_blobs.insert(image.id.clone());
            if let Some(m) = &image.manifest {
                keep_blobs.insert(m.digest.clone());
            }
        }
        let mut removed_layers = Vec::new();
        let layers = meta.layers()?;
        for layer in &layers {
            if used_layers.contains(&layer.chain_id) || self.leases.holds(&layer.chain_id) {
                if let Some(blob) = &layer.blob {
                    keep_blobs.insert(blob.digest.clone());
                }
                continue;
            }
            meta.write(|w| w.delete_layer(&layer.chain_id))?;
            if let Ok(chain) = Digest::parse(&layer.chain_id) {
                self.store.layers.remove(&chain)?;
            }
            removed_layers.push(layer.chain_id.clone());
        }
        for (digest, _) in self.store.blobs.list()? {
            if !keep_blobs.contains(digest.as_str()) && !self.leases.holds(digest.as_str()) {
                self.store.blobs.remove(&digest)?;
            }
        }
        Ok(removed_layers)
    }

    /// `docker image prune`: images without a tag, or (`all`) every image.
    pub async fn prune(&self, all: bool) -> Result<(Vec<Removed>, u64), ImageError> {
        let tags = self.tags_by_image()?;
        let in_use = self.used_images();
        // Only images nothing is built on (Docker's "heads"); their unused parents go with
        // them.
        let parents = self.parents()?;
        let candidates: Vec<ImageRecord> = self
            .store
            .meta
            .images()?
            .into_iter()
            .filter(|i| all || !tags.contains_key(&i.id))
            .filter(|i| !in_use.contains_key(&i.id) && !parents.contains(&i.id))
            .collect();
        let before = self.layers_size()?;
        let mut removed = Vec::new();
        for image in candidates {
            if self.store.meta.image(&image.id)?.is_none() {
                continue; // went with an image built on it
            }
            removed.extend(self.remove(&image.id, true).await?);
        }
        let reclaimed = before.saturating_sub(self.layers_size()?);
        Ok((removed, reclaimed))
    }

    /// Bytes of all extracted layers.
    pub fn layers_size(&self) -> Result<u64, ImageError> {
        Ok(self.store.meta.layers()?.iter().map(|l| l.size).sum())
    }
}

/// `0123456789ab` of `sha256:0123456789ab…`.
pub fn short_id(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}
