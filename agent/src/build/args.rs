//! Build arguments (`ARG`, `--build-arg`) with Docker's rules:
//! - ARGs before the first FROM ("meta args") are visible only to FROM lines, unless a
//!   stage re-declares them (`ARG NAME` then takes the meta value);
//! - a declared ARG's value is the `--build-arg` value if one was given, else its default;
//! - the proxy variables are predefined: usable without a declaration, passed to RUN, but
//!   left out of the image history and the cache key unless declared;
//! - an ENV of the same name hides an ARG;
//! - `--build-arg`s nothing declared are reported at the end.

use std::collections::{BTreeMap, BTreeSet};

/// Docker's predefined args.
pub const PREDEFINED: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// The build's arguments: what the client gave and what the meta ARGs hold.
#[derive(Debug, Clone, Default)]
pub struct BuildArgs {
    /// `--build-arg` values; `None` when the client named one without a value it could fill.
    given: BTreeMap<String, Option<String>>,
    meta: BTreeMap<String, Option<String>>,
    consumed: BTreeSet<String>,
}

impl BuildArgs {
    pub fn new(given: BTreeMap<String, Option<String>>) -> Self {
        BuildArgs {
            given,
            ..Default::default()
        }
    }

    fn given_value(&self, name: &str) -> Option<&String> {
        self.given.get(name).and_then(Option::as_ref)
    }

    /// A meta ARG (before the first FROM); `default` already expanded.
    pub fn declare_meta(&mut self, name: &str, default: Option<String>) {
        self.consumed.insert(name.to_string());
        let value = self.given_value(name).cloned().or(default);
        self.meta.insert(name.to_string(), value);
    }

    /// A variable lookup over the meta args (for FROM and meta ARG defaults).
    pub fn meta_value(&self, name: &str) -> Option<String> {
        self.meta.get(name).cloned().flatten()
    }

    /// `--build-arg`s that no ARG declared (predefined ones excepted), sorted.
    pub fn unconsumed(&self) -> Vec<String> {
        self.given
            .keys()
            .filter(|k| !self.consumed.contains(*k) && !PREDEFINED.contains(&k.as_str()))
            .cloned()
            .collect()
    }
}

/// The ARGs one stage declared, in order.
#[derive(Debug, Clone, Default)]
pub struct StageArgs {
    declared: Vec<(String, Option<String>)>,
}

fn env_has(env: &[String], name: &str) -> bool {
    env.iter()
        .any(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == name)
}

impl StageArgs {
    /// `ARG name[=default]` in a stage; `default` already expanded.
    pub fn declare(&mut self, build: &mut BuildArgs, name: &str, default: Option<String>) {
        build.consumed.insert(name.to_string());
        let value = build
            .given_value(name)
            .cloned()
            .or(default)
            .or_else(|| build.meta.get(name).cloned().flatten());
        self.declared.retain(|(n, _)| n != name);
        self.declared.push((name.to_string(), value));
    }

    /// `name=value` of every argument in effect that the environment `env` does not hide:
    /// the declared ones with a value, then the predefined ones the client gave.
    pub fn in_effect(&self, build: &BuildArgs, env: &[String]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .declared
            .iter()
            .filter_map(|(n, v)| v.clone().map(|v| (n.clone(), v)))
            .filter(|(n, _)| !env_has(env, n))
            .collect();
        for name in PREDEFINED {
            if self.declared.iter().any(|(n, _)| n == name) || env_has(env, name) {
                continue;
            }
            if let Some(v) = build.given_value(name) {
                out.push((name.to_string(), v.clone()));
            }
        }
        out
    }

    /// Docker's `|N k=v …` prefix of a RUN in the history and the cache key: the
    /// arguments in effect, sorted, without predefined ones the stage did not declare
    /// (their values must not bust the cache nor end up in the image).
    pub fn history_prefix(&self, build: &BuildArgs, env: &[String]) -> Vec<String> {
        let mut pairs: Vec<String> = self
            .in_effect(build, env)
            .into_iter()
            .filter(|(n, _)| {
                !PREDEFINED.contains(&n.as_str()) || self.declared.iter().any(|(d, _)| d == n)
            })
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        if pairs.is_empty() {
            return pairs;
        }
        pairs.sort();
        let mut prefix = vec![format!("|{}", pairs.len())];
        prefix.extend(pairs);
        prefix
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(pairs: &[(&str, Option<&str>)]) -> BuildArgs {
        BuildArgs::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
                .collect(),
        )
    }

    #[test]
    fn meta_args_reach_stages_only_when_redeclared() {
        let mut build = given(&[("VERSION", Some("2"))]);
        build.declare_meta("VERSION", Some("1".into()));
        build.declare_meta("BASE", Some("busybox".into()));
        assert_eq!(build.meta_value("VERSION").as_deref(), Some("2"));
        assert_eq!(build.meta_value("BASE").as_deref(), Some("busybox"));
        let mut stage = StageArgs::default();
        assert!(stage.in_effect(&build, &[]).is_empty());
        stage.declare(&mut build, "BASE", None);
        assert_eq!(
            stage.in_effect(&build, &[]),
            vec![("BASE".to_string(), "busybox".to_string())]
        );
    }

    #[test]
    fn given_beats_default_and_env_hides() {
        let mut build = given(&[("A", Some("given")), ("EMPTY", None)]);
        let mut stage = StageArgs::default();
        stage.declare(&mut build, "A", Some("default".into()));
        stage.declare(&mut build, "EMPTY", Some("d".into()));
        stage.declare(&mut build, "NOVALUE", None);
        assert_eq!(
            stage.in_effect(&build, &[]),
            vec![
                ("A".to_string(), "given".to_string()),
                ("EMPTY".to_string(), "d".to_string())
            ]
        );
        assert_eq!(
            stage.in_effect(&build, &["A=from-env".into()]),
            vec![("EMPTY".to_string(), "d".to_string())]
        );
    }

    #[test]
    fn predefined_args_stay_out_of_the_history() {
        let mut build = given(&[("http_proxy", Some("http://p:3128")), ("X", Some("1"))]);
        let mut stage = StageArgs::default();
        stage.declare(&mut build, "X", None);
        assert_eq!(stage.in_effect(&build, &[]).len(), 2);
        assert_eq!(stage.history_prefix(&build, &[]), vec!["|1", "X=1"]);
        stage.declare(&mut build, "http_proxy", None);
        assert_eq!(
            stage.history_prefix(&build, &[]),
            vec!["|2", "X=1", "http_proxy=http://p:3128"]
        );
        assert!(build.unconsumed().is_empty());
        let unused = given(&[("NOPE", Some("1")), ("HTTP_PROXY", Some("x"))]);
        assert_eq!(unused.unconsumed(), vec!["NOPE"]);
    }
}
