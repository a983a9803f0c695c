//! The build cache (DESIGN §7): a step is reused when its parent image, its instruction
//! text (arguments resolved) and — for COPY/ADD — the digest of the copied files' contents
//! and metadata are what they were. The index (step key → image ID) lives in `meta.db`,
//! so it survives restarts; an entry whose image is gone is dropped when met.
//!
//! Looking a step up reads one key and one image record: no container runs and no file
//! is copied, which is what keeps a fully cached rebuild fast.

use super::error::BuildError;
use crate::image::Images;
use crate::store::records::ImageRecord;
use sha2::{Digest, Sha256};

/// Bumped when the meaning of a key changes, so old entries stop matching.
const VERSION: &str = "berth-build-cache-v1";

/// The key of a step: its parent image and everything else the step's result depends on.
pub fn key(parent_id: &str, step: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [VERSION, parent_id, step] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// The image a step with this key made before, if it is still there.
pub fn lookup(images: &Images, key: &str) -> Result<Option<ImageRecord>, BuildError> {
    let meta = &images.store().meta;
    let Some(id) = meta.build_cache(key)? else {
        return Ok(None);
    };
    match meta.image(&id)? {
        Some(image) => Ok(Some(image)),
        None => {
            meta.write(|w| w.delete_build_cache(key))?;
            Ok(None)
        }
    }
}

pub fn record(images: &Images, key: &str, image_id: &str) -> Result<(), BuildError> {
    images
        .store()
        .meta
        .write(|w| w.put_build_cache(key, image_id))?;
    Ok(())
}

/// `POST /build/prune`: forgets every entry; returns the keys dropped. The images stay
/// (they are the parents of the images built on them; `rmi` and `image prune` remove
/// them with those).
pub fn prune(images: &Images) -> Result<Vec<String>, BuildError> {
    let meta = &images.store().meta;
    let entries = meta.build_cache_entries()?;
    meta.write(|w| {
        for (key, _) in &entries {
            w.delete_build_cache(key)?;
        }
        Ok(())
    })?;
    Ok(entries.into_iter().map(|(k, _)| k).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_separate_their_parts() {
        assert_ne!(key("ab", "c"), key("a", "bc"));
        assert_eq!(key("p", "RUN x"), key("p", "RUN x"));
        assert_ne!(key("p", "RUN x"), key("q", "RUN x"));
        assert_eq!(key("p", "s").len(), 64);
    }
}
