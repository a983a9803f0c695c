//! JSON in and out without a typed reader or writer per shape, which keeps the wasm small:
//! every answer of the agent and Docker is read through [`Json`], every body is written with
//! [`string`] and [`list`].
//!
//! In the browser [`Json`] is the browser's own `JSON.parse` result, so the wasm carries no
//! JSON parser at all; on the host (unit tests) the same interface sits on `serde_json`, so the
//! readers built on it are tested there. Every reader is forgiving: a missing or mistyped
//! field reads as empty.

#[cfg(target_arch = "wasm32")]
mod backend {
    use js_sys::{Array, JSON, Object, Reflect};
    use wasm_bindgen::{JsCast, JsValue};

    #[derive(Clone, Debug)]
    pub struct Json(JsValue);

    impl Json {
        pub fn parse(text: &str) -> Option<Json> {
            JSON::parse(text).ok().map(Json)
        }

        pub(super) fn get(&self, key: &str) -> Json {
            if !self.0.is_object() {
                return Json(JsValue::UNDEFINED);
            }
            Json(Reflect::get(&self.0, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED))
        }

        pub fn is_empty(&self) -> bool {
            self.0.is_undefined() || self.0.is_null()
        }

        pub fn is_object(&self) -> bool {
            self.0.is_object() && !self.0.is_array()
        }

        pub(super) fn as_string(&self) -> Option<String> {
            self.0.as_string()
        }

        pub(super) fn as_f64(&self) -> Option<f64> {
            self.0.as_f64()
        }

        pub(super) fn as_bool(&self) -> Option<bool> {
            self.0.as_bool()
        }

        pub fn list(&self) -> Vec<Json> {
            match self.0.dyn_ref::<Array>() {
                Some(a) => a.iter().map(Json).collect(),
                None => Vec::new(),
            }
        }

        pub fn entries(&self) -> Vec<(String, Json)> {
            match self.0.dyn_ref::<Object>() {
                Some(o) if !self.0.is_array() => Object::entries(o)
                    .iter()
                    .filter_map(|pair| {
                        let pair: Array = pair.dyn_into().ok()?;
                        Some((pair.get(0).as_string()?, Json(pair.get(1))))
                    })
                    .collect(),
                _ => Vec::new(),
            }
        }

        pub fn text(&self) -> String {
            JSON::stringify(&self.0)
                .ok()
                .and_then(|s| s.as_string())
                .unwrap_or_default()
        }

        pub fn pretty(&self) -> String {
            JSON::stringify_with_replacer_and_space(
                &self.0,
                &JsValue::NULL,
                &JsValue::from_f64(2.0),
            )
            .ok()
            .and_then(|s| s.as_string())
            .unwrap_or_default()
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod backend {
    use serde_json::Value;

    #[derive(Clone, Debug)]
    pub struct Json(Value);

    impl Json {
        pub fn parse(text: &str) -> Option<Json> {
            serde_json::from_str(text).ok().map(Json)
        }

        pub(super) fn get(&self, key: &str) -> Json {
            Json(self.0.get(key).cloned().unwrap_or(Value::Null))
        }

        pub fn is_empty(&self) -> bool {
            self.0.is_null()
        }

        pub fn is_object(&self) -> bool {
            self.0.is_object()
        }

        pub(super) fn as_string(&self) -> Option<String> {
            self.0.as_str().map(str::to_string)
        }

        pub(super) fn as_f64(&self) -> Option<f64> {
            self.0.as_f64()
        }

        pub(super) fn as_bool(&self) -> Option<bool> {
            self.0.as_bool()
        }

        pub fn list(&self) -> Vec<Json> {
            match &self.0 {
                Value::Array(a) => a.iter().cloned().map(Json).collect(),
                _ => Vec::new(),
            }
        }

        pub fn entries(&self) -> Vec<(String, Json)> {
            match &self.0 {
                Value::Object(o) => o
                    .iter()
                    .map(|(k, v)| (k.clone(), Json(v.clone())))
                    .collect(),
                _ => Vec::new(),
            }
        }

        pub fn text(&self) -> String {
            self.0.to_string()
        }

        pub fn pretty(&self) -> String {
            serde_json::to_string_pretty(&self.0).unwrap_or_default()
        }
    }
}

/// A parsed JSON value (`parse`, `list`, `entries`, `text`, `pretty`, `is_object` and
/// `is_empty`, which is true for `null` and a missing field, come from the backend).
pub use backend::Json;

impl Json {
    /// The value at a dotted path (`"State.Status"`); empty when any step is missing.
    pub fn at(&self, path: &str) -> Json {
        let mut parts = path.split('.');
        let first = self.get(parts.next().unwrap_or_default());
        parts.fold(first, |value, key| value.get(key))
    }

    /// A string as is, a number or boolean as text, anything else "".
    pub fn str(&self) -> String {
        if let Some(s) = self.as_string() {
            s
        } else if let Some(n) = self.as_f64() {
            number(n)
        } else if let Some(b) = self.as_bool() {
            b.to_string()
        } else {
            String::new()
        }
    }

    /// The string at `path`, or `None` when it is missing, `null` or not a string.
    pub fn opt(&self, path: &str) -> Option<String> {
        self.at(path).as_string()
    }

    pub fn num(&self) -> f64 {
        self.as_f64().unwrap_or(0.0)
    }

    /// A whole number (negative and fractional values as 0 for an unsigned count).
    pub fn uint(&self) -> u64 {
        self.num().max(0.0) as u64
    }

    pub fn int(&self) -> i64 {
        self.num() as i64
    }

    pub fn bool(&self) -> bool {
        self.as_bool().unwrap_or(false)
    }

    /// The items of an array of strings, as text.
    pub fn strings(&self) -> Vec<String> {
        self.list().iter().map(Json::str).collect()
    }

    /// An object of strings (labels, options) as (key, value) pairs, sorted by key.
    pub fn string_map(&self) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = self
            .entries()
            .into_iter()
            .map(|(k, v)| (k, v.str()))
            .collect();
        pairs.sort();
        pairs
    }
}

/// A number as JSON writes it: whole numbers without a fraction. Fractions (rare in what is
/// shown) keep three decimals, which avoids core's shortest-float printing in the wasm.
pub fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        return (n as i64).to_string();
    }
    let thousandths = (n * 1000.0).round() as i64;
    let sign = if thousandths < 0 { "-" } else { "" };
    let t = thousandths.unsigned_abs();
    let mut out = format!("{sign}{}.{:03}", t / 1000, t % 1000);
    while out.ends_with('0') {
        out.pop();
    }
    out
}

/// `text` as a JSON string, quoted and escaped.
pub fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = std::fmt::Write::write_fmt(&mut out, format_args!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `["a","b"]`.
pub fn list(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|i| string(i)).collect();
    format!("[{}]", inner.join(","))
}

/// An object of string values: `{"a":"1","b":"2"}`.
pub fn object(pairs: &[(&str, &str)]) -> String {
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}:{}", string(k), string(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_paths_and_forgives_missing_fields() {
        let j = Json::parse(r#"{"State":{"Status":"running","Pid":12},"Names":["/a"],"N":null}"#)
            .unwrap();
        assert_eq!(j.at("State.Status").str(), "running");
        assert_eq!(j.at("State.Pid").str(), "12");
        assert_eq!(j.at("State.Pid").uint(), 12);
        assert_eq!(j.at("State.Nope.Deeper").str(), "");
        assert!(j.at("N").is_empty() && j.at("Missing").is_empty());
        assert_eq!(j.at("Names").strings(), ["/a"]);
        assert!(j.at("N").list().is_empty());
        assert_eq!(j.opt("State.Status").as_deref(), Some("running"));
        assert_eq!(j.opt("State.Pid"), None);
        assert!(Json::parse("{not json").is_none());
    }

    #[test]
    fn writes_strings_lists_objects_and_numbers() {
        assert_eq!(string("a\"b\\c\nd\u{1}"), r#""a\"b\\c\nd\u0001""#);
        assert_eq!(list(&["x".into(), "y z".into()]), r#"["x","y z"]"#);
        assert_eq!(object(&[("k", "v"), ("e", "")]), r#"{"k":"v","e":""}"#);
        assert_eq!(number(3.0), "3");
        assert_eq!(number(-2.5), "-2.5");
        assert_eq!(number(0.1234), "0.123");
    }
}
