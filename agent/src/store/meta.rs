//! The metadata DB (`meta.db`, redb): images, tags and layers. Every change is one
//! transaction, so a killed agent leaves either the old state or the new.

use super::StoreError;
use super::records::{ImageRecord, LayerRecord};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;

const IMAGES: TableDefinition<&str, &[u8]> = TableDefinition::new("images");
/// Full reference (`docker.io/library/busybox:latest`) → image ID.
const TAGS: TableDefinition<&str, &str> = TableDefinition::new("tags");
const LAYERS: TableDefinition<&str, &[u8]> = TableDefinition::new("layers");
/// The build cache: a step's key (hex SHA-256 of its parent image and inputs) → the image
/// the step made.
const BUILD_CACHE: TableDefinition<&str, &str> = TableDefinition::new("build_cache");

pub struct MetaDb {
    db: Database,
}

fn db_err(e: impl Into<redb::Error>) -> StoreError {
    StoreError::Db(e.into().to_string())
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Db(format!("encode record: {e}")))
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Db(format!("corrupt record: {e}")))
}

/// Changes made inside one write transaction.
pub struct Writer<'t> {
    txn: &'t redb::WriteTransaction,
}

impl Writer<'_> {
    pub fn put_image(&self, image: &ImageRecord) -> Result<(), StoreError> {
        let mut table = self.txn.open_table(IMAGES).map_err(db_err)?;
        table
            .insert(image.id.as_str(), encode(image)?.as_slice())
            .map_err(db_err)?;
        Ok(())
    }

    pub fn delete_image(&self, id: &str) -> Result<(), StoreError> {
        let mut table = self.txn.open_table(IMAGES).map_err(db_err)?;
        table.remove(id).map_err(db_err)?;
        Ok(())
    }

    /// Points `name` at `id`; returns the image it pointed at before.
    pub fn set_tag(&self, name: &str, id: &str) -> Result<Option<String>, StoreError> {
        let mut table = self.txn.open_table(TAGS).map_err(db_err)?;
        let previous = table
            .insert(name, id)
            .map_err(db_err)?
            .map(|v| v.value().to_string());
        Ok(previous)
    }

    pub fn remove_tag(&self, name: &str) -> Result<Option<String>, StoreError> {
        let mut table = self.txn.open_table(TAGS).map_err(db_err)?;
        let removed = table
            .remove(name)
            .map_err(db_err)?
            .map(|v| v.value().to_string());
        Ok(removed)
    }

    pub fn put_layer(&self, layer: &LayerRecord) -> Result<(), StoreError> {
        let mut table = self.txn.open_table(LAYERS).map_err(db_err)?;
        table
            .insert(layer.chain_id.as_str(), encode(layer)?.as_slice())
            .map_err(db_err)?;
        Ok(())
    }

    pub fn delete_layer(&self, chain_id: &str) -> Result<(), StoreError> {
        let mut table = self.txn.open_table(LAYERS).map_err(db_err)?;
        table.remove(chain_id).map_err(db_err)?;
        Ok(())
    }

    pub fn put_build_cache(&self, key: &str, image_id: &str) -> Result<(), StoreError> {
        let mut table = self.txn.open_table(BUILD_CACHE).map_err(db_err)?;
        table.insert(key, image_id).map_err(db_err)?;
        Ok(())
    }

    pub fn delete_build_cache(&self, key: &str) -> Result<(), StoreError> {
        let mut table = self.txn.open_table(BUILD_CACHE).map_err(db_err)?;
        table.remove(key).map_err(db_err)?;
        Ok(())
    }
}

impl MetaDb {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = Database::create(path).map_err(db_err)?;
        let meta = MetaDb { db };
        // Create the tables so readers never meet a missing one.
        meta.write(|w| {
            w.txn.open_table(IMAGES).map_err(db_err)?;
            w.txn.open_table(TAGS).map_err(db_err)?;
            w.txn.open_table(LAYERS).map_err(db_err)?;
            w.txn.open_table(BUILD_CACHE).map_err(db_err)?;
            Ok(())
        })?;
        Ok(meta)
    }

    /// Runs `change` in one transaction: all of it is committed, or none.
    pub fn write<R>(
        &self,
        change: impl FnOnce(&Writer<'_>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let txn = self.db.begin_write().map_err(db_err)?;
        let result = change(&Writer { txn: &txn })?;
        txn.commit().map_err(db_err)?;
        Ok(result)
    }

    pub fn image(&self, id: &str) -> Result<Option<ImageRecord>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let table = txn.open_table(IMAGES).map_err(db_err)?;
        table
            .get(id)
            .map_err(db_err)?
            .map(|v| decode(v.value()))
            .transpose()
    }

    pub fn images(&self) -> Result<Vec<ImageRecord>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let table = txn.open_table(IMAGES).map_err(db_err)?;
        let mut out = Vec::new();
        for row in table.iter().map_err(db_err)? {
            let (_, v) = row.map_err(db_err)?;
            out.push(decode(v.value())?);
        }
        Ok(out)
    }

    pub fn tag(&self, name: &str) -> Result<Option<String>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let table = txn.open_table(TAGS).map_err(db_err)?;
        Ok(table
            .get(name)
            .map_err(db_err)?
            .map(|v| v.value().to_string()))
    }

    /// Every (reference, image ID) pair.
    pub fn tags(&self) -> Result<Vec<(String, String)>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let table = txn.open_table(TAGS).map_err(db_err)?;
        let mut out = Vec::new();
        for row in table.iter().map_err(db_err)? {
            let (k, v) = row.map_err(db_err)?;
            out.push((k.value().to_string(), v.value().to_string()));
        }
        Ok(out)
    }

    pub fn layer(&self, chain_id: &str) -> Result<Option<LayerRecord>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let table = txn.open_table(LAYERS).map_err(db_err)?;
        table
            .get(chain_id)
            .map_err(db_err)?
            .map(|v| decode(v.value()))
            .transpose()
    }

    pub fn layers(&self) -> Result<Vec<LayerRecord>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let table = txn.open_table(LAYERS).map_err(db_err)?;
        let mut out = Vec::new();
        for row in table.iter().map_err(db_err)? {
            let (_, v) = row.map_err(db_err)?;
            out.push(decode(v.value())?);
        }
        Ok(out)
    }

    /// The image a build step with this key made, if recorded.
    pub fn build_cache(&self, key: &str) -> Result<Option<String>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let table = txn.open_table(BUILD_CACHE).map_err(db_err)?;
        Ok(table
            .get(key)
            .map_err(db_err)?
            .map(|v| v.value().to_string()))
    }

    /// Every (step key, image ID) of the build cache.
    pub fn build_cache_entries(&self) -> Result<Vec<(String, String)>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let table = txn.open_table(BUILD_CACHE).map_err(db_err)?;
        let mut out = Vec::new();
        for row in table.iter().map_err(db_err)? {
            let (k, v) = row.map_err(db_err)?;
            out.push((k.value().to_string(), v.value().to_string()));
        }
        Ok(out)
    }
}
