//! The Docker Engine API's image answers, as far as the dashboard reads them. Docker writes
//! `null` for many empty lists and maps, so every field reads `null` as its default.

use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

/// `null` (or a missing field) as `T::default()`.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// One entry of `GET /images/json` (Docker's `ImageSummary`).
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ImageSummary {
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub repo_tags: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub repo_digests: Vec<String>,
    /// Unix seconds.
    #[serde(default, deserialize_with = "nullable")]
    pub created: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub size: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub labels: BTreeMap<String, String>,
}

/// The runnable part of an image (`Config` in `GET /images/{id}/json`).
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct RunConfig {
    #[serde(default, deserialize_with = "nullable")]
    pub cmd: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub entrypoint: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub env: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub working_dir: String,
    #[serde(default, deserialize_with = "nullable")]
    pub user: String,
    #[serde(default, deserialize_with = "nullable")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "nullable")]
    pub exposed_ports: BTreeMap<String, serde::de::IgnoredAny>,
}

#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct RootFs {
    /// Diff IDs, bottom layer first.
    #[serde(default, deserialize_with = "nullable")]
    pub layers: Vec<String>,
}

/// `GET /images/{id}/json` (Docker's `ImageInspect`), the parts the detail page shows.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ImageInspect {
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub repo_tags: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub repo_digests: Vec<String>,
    /// RFC 3339.
    #[serde(default, deserialize_with = "nullable")]
    pub created: String,
    #[serde(default, deserialize_with = "nullable")]
    pub author: String,
    #[serde(default, deserialize_with = "nullable")]
    pub comment: String,
    #[serde(default, deserialize_with = "nullable")]
    pub architecture: String,
    #[serde(default, deserialize_with = "nullable")]
    pub variant: String,
    #[serde(default, deserialize_with = "nullable")]
    pub os: String,
    #[serde(default, deserialize_with = "nullable")]
    pub size: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub config: RunConfig,
    #[serde(rename = "RootFS", default, deserialize_with = "nullable")]
    pub root_fs: RootFs,
}

impl ImageInspect {
    /// `"linux/amd64"`, `"linux/arm64/v8"`.
    pub fn platform(&self) -> String {
        [&self.os, &self.architecture, &self.variant]
            .into_iter()
            .filter(|p| !p.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// One entry of `GET /images/{id}/history`, newest first.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct HistoryItem {
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
    /// Unix seconds.
    #[serde(default, deserialize_with = "nullable")]
    pub created: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub created_by: String,
    #[serde(default, deserialize_with = "nullable")]
    pub tags: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub size: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub comment: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_read_docker_nulls() {
        let list: Vec<ImageSummary> = serde_json::from_str(
            r#"[{"Id":"sha256:ab","ParentId":"","RepoTags":null,"RepoDigests":["b@sha256:cd"],
                "Created":946684800,"Size":4096,"SharedSize":-1,"Labels":null,"Containers":-1}]"#,
        )
        .unwrap();
        assert_eq!(list[0].id, "sha256:ab");
        assert!(list[0].repo_tags.is_empty());
        assert_eq!(list[0].repo_digests, ["b@sha256:cd"]);
        assert_eq!((list[0].created, list[0].size), (946_684_800, 4096));
        assert!(list[0].labels.is_empty());
    }

    #[test]
    fn inspect_reads_config_and_rootfs() {
        let i: ImageInspect = serde_json::from_str(
            r#"{"Id":"sha256:ab","RepoTags":["busybox:latest"],"Created":"2000-01-01T00:00:00Z",
                "Config":{"Cmd":["sh"],"Entrypoint":null,"Env":["PATH=/bin"],"WorkingDir":"",
                          "User":"","Labels":null,"ExposedPorts":{"80/tcp":{}}},
                "Architecture":"amd64","Variant":null,"Os":"linux","Size":10,
                "RootFS":{"Type":"layers","Layers":["sha256:11"]}}"#,
        )
        .unwrap();
        assert_eq!(i.config.cmd, ["sh"]);
        assert!(i.config.entrypoint.is_empty());
        assert_eq!(i.config.exposed_ports.len(), 1);
        assert_eq!(i.root_fs.layers, ["sha256:11"]);
        assert_eq!(i.platform(), "linux/amd64");
        let bare: ImageInspect = serde_json::from_str(r#"{"Id":"x","Config":null}"#).unwrap();
        assert_eq!(bare.platform(), "");
    }

    #[test]
    fn history_items_read_missing_ids() {
        let h: Vec<HistoryItem> = serde_json::from_str(
            r#"[{"Id":"sha256:ab","Created":946684800,"CreatedBy":"/bin/sh -c x","Tags":["a:b"],"Size":5,"Comment":""},
                {"Id":"<missing>","Created":0,"CreatedBy":"","Tags":null,"Size":0,"Comment":"c"}]"#,
        )
        .unwrap();
        assert_eq!(h[0].tags, ["a:b"]);
        assert!(h[1].tags.is_empty());
        assert_eq!(h[1].comment, "c");
    }
}
