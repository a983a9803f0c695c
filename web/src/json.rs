//! Reading Docker's JSON answers through the browser's own `JSON.parse`, for views that only
//! show fields: no typed deserializer per answer shape, which keeps the wasm small. Every
//! reader is forgiving: a missing or mistyped field reads as empty.

use js_sys::{Array, JSON, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

#[derive(Clone, Debug)]
pub struct Json(JsValue);

impl Json {
    /// `None` when `text` is not JSON.
    pub fn parse(text: &str) -> Option<Json> {
        JSON::parse(text).ok().map(Json)
    }

    /// The value at a dotted path (`"State.Status"`); undefined when any step is missing.
    pub fn at(&self, path: &str) -> Json {
        let mut value = self.0.clone();
        for key in path.split('.') {
            if !value.is_object() {
                return Json(JsValue::UNDEFINED);
            }
            value = Reflect::get(&value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED);
        }
        Json(value)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_undefined() || self.0.is_null()
    }

    /// A string as is, a number or boolean as text, anything else "".
    pub fn str(&self) -> String {
        if let Some(s) = self.0.as_string() {
            s
        } else if let Some(n) = self.0.as_f64() {
            n.to_string()
        } else if let Some(b) = self.0.as_bool() {
            b.to_string()
        } else {
            String::new()
        }
    }

    pub fn num(&self) -> f64 {
        self.0.as_f64().unwrap_or(0.0)
    }

    pub fn bool(&self) -> bool {
        self.0.as_bool().unwrap_or(false)
    }

    /// The items of an array (none for anything else).
    pub fn list(&self) -> Vec<Json> {
        match self.0.dyn_ref::<Array>() {
            Some(a) => a.iter().map(Json).collect(),
            None => Vec::new(),
        }
    }

    /// The items of an array of strings, as text.
    pub fn strings(&self) -> Vec<String> {
        self.list().iter().map(Json::str).collect()
    }

    /// An object's keys and values, in its order (none for anything else).
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

    /// As compact JSON text (for a typed reader of one part).
    pub fn text(&self) -> String {
        JSON::stringify(&self.0)
            .ok()
            .and_then(|s| s.as_string())
            .unwrap_or_default()
    }

    /// Indented with two spaces, as `docker inspect` prints.
    pub fn pretty(&self) -> String {
        JSON::stringify_with_replacer_and_space(&self.0, &JsValue::NULL, &JsValue::from_f64(2.0))
            .ok()
            .and_then(|s| s.as_string())
            .unwrap_or_default()
    }
}
