//! The image's container defaults (`config` of the image config: Env, Cmd, Entrypoint,
//! WorkingDir, User, Labels, …) as a build step changes them. Kept as Docker's JSON so
//! keys Berth does not interpret pass through from the base image untouched.

use serde_json::{Map, Value, json};

/// The default PATH Docker gives an image without one.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunConfig {
    map: Map<String, Value>,
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

impl RunConfig {
    /// From an image config's `config` value (anything but an object is empty), with
    /// Docker's stage start: a default PATH when there is none, stdin closed.
    pub fn from_image(value: &Value) -> Self {
        let mut config = RunConfig {
            map: value.as_object().cloned().unwrap_or_default(),
        };
        if !config.env().iter().any(|e| e.starts_with("PATH=")) {
            config.set_env("PATH", DEFAULT_PATH);
        }
        config.map.insert("OpenStdin".into(), json!(false));
        config.map.insert("StdinOnce".into(), json!(false));
        config
    }

    /// An image's run config as it was committed (no stage-start defaults).
    pub fn stored(value: &Value) -> Self {
        RunConfig {
            map: value.as_object().cloned().unwrap_or_default(),
        }
    }

    pub fn to_value(&self) -> Value {
        Value::Object(self.map.clone())
    }

    pub fn env(&self) -> Vec<String> {
        strings(self.map.get("Env"))
    }

    /// Sets `key=value`, replacing an entry with the same key in place.
    pub fn set_env(&mut self, key: &str, value: &str) {
        let mut env = self.env();
        let entry = format!("{key}={value}");
        match env
            .iter()
            .position(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == key)
        {
            Some(i) => env[i] = entry,
            None => env.push(entry),
        }
        self.map.insert("Env".into(), json!(env));
    }

    /// The value of an ENV variable.
    pub fn env_value(&self, key: &str) -> Option<String> {
        self.env().into_iter().find_map(|e| {
            e.split_once('=')
                .filter(|(k, _)| *k == key)
                .map(|(_, v)| v.to_string())
        })
    }

    pub fn string(&self, key: &str) -> String {
        self.map
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    }

    pub fn set(&mut self, key: &str, value: Value) {
        self.map.insert(key.into(), value);
    }

    pub fn list(&self, key: &str) -> Vec<String> {
        strings(self.map.get(key))
    }

    /// An object field (`Labels`, `ExposedPorts`, `Volumes`), made if missing.
    pub fn object(&mut self, key: &str) -> &mut Map<String, Value> {
        let slot = self.map.entry(key.to_string()).or_insert_with(|| json!({}));
        if !slot.is_object() {
            *slot = json!({});
        }
        slot.as_object_mut().expect("made an object above")
    }

    /// SHELL, or `/bin/sh -c`.
    pub fn shell(&self) -> Vec<String> {
        let shell = self.list("Shell");
        if shell.is_empty() {
            vec!["/bin/sh".into(), "-c".into()]
        } else {
            shell
        }
    }

    pub fn working_dir(&self) -> String {
        self.string("WorkingDir")
    }

    pub fn user(&self) -> String {
        self.string("User")
    }

    /// Takes the ONBUILD triggers out (a stage runs its base's triggers, and they do not
    /// pass on).
    pub fn take_onbuild(&mut self) -> Vec<String> {
        let triggers = self.list("OnBuild");
        self.map.insert("OnBuild".into(), Value::Null);
        triggers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_env() {
        let mut c = RunConfig::from_image(&json!({"Env": ["A=1"], "Cmd": ["sh"]}));
        assert_eq!(c.env(), vec!["A=1", &format!("PATH={DEFAULT_PATH}")]);
        c.set_env("A", "2");
        assert_eq!(c.env_value("A").as_deref(), Some("2"));
        assert_eq!(c.shell(), vec!["/bin/sh", "-c"]);
        c.set("Shell", json!(["/bin/bash", "-c"]));
        assert_eq!(c.shell(), vec!["/bin/bash", "-c"]);
        c.object("Labels").insert("k".into(), json!("v"));
        assert_eq!(c.to_value()["Labels"], json!({"k": "v"}));
        let keep = RunConfig::from_image(&json!({"Env": ["PATH=/x"]}));
        assert_eq!(keep.env(), vec!["PATH=/x"]);
        assert_eq!(RunConfig::from_image(&Value::Null).env().len(), 1);
    }

    #[test]
    fn onbuild_is_taken_once() {
        let mut c = RunConfig::from_image(&json!({"OnBuild": ["RUN a", "RUN b"]}));
        assert_eq!(c.take_onbuild(), vec!["RUN a", "RUN b"]);
        assert!(c.take_onbuild().is_empty());
    }
}
