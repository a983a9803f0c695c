//! Query-string conventions of the Docker API: booleans, filters and times.

use super::error::ApiError;
use axum::extract::Query;
use std::collections::{BTreeMap, HashMap};

/// A route's query string as name → value.
pub type Params = Query<HashMap<String, String>>;

/// One query parameter.
pub fn param<'a>(q: &'a HashMap<String, String>, key: &str) -> Option<&'a str> {
    q.get(key).map(String::as_str)
}

/// A terminal dimension (`h`, `w` of the resize routes); absent = 0.
pub fn dimension(q: &HashMap<String, String>, key: &str) -> Result<u16, ApiError> {
    param(q, key)
        .unwrap_or("0")
        .parse()
        .map_err(|_| ApiError::bad_request(format!("invalid {key}")))
}

/// Docker's `BoolValue`: false only for "", "0", "no", "false", "none" (any case).
pub fn parse_bool(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        !matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "" | "0" | "no" | "false" | "none"
        )
    })
}

/// Shell-style pattern match (`*`, `?`), as Docker's `reference` filter uses.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// `filters` as `{"k":{"v":true}}` (the CLI) or `{"k":["v"]}` (docker-py, compose).
pub fn parse_filters(raw: Option<&str>) -> Result<BTreeMap<String, Vec<String>>, ApiError> {
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
        return Ok(BTreeMap::new());
    };
    let value: serde_json::Value = serde_json::from_str(raw)
        .map_err(|e| ApiError::bad_request(format!("invalid filters {raw:?}: {e}")))?;
    let object = value
        .as_object()
        .ok_or_else(|| ApiError::bad_request("invalid filters: expected a JSON object"))?;
    let mut filters = BTreeMap::new();
    for (key, values) in object {
        let list: Vec<String> = match values {
            serde_json::Value::Array(items) => items
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<_>>()
                .ok_or_else(|| {
                    ApiError::bad_request(format!("invalid filter {key:?}: expected strings"))
                })?,
            serde_json::Value::Object(map) => map
                .iter()
                .filter(|(_, on)| on.as_bool().unwrap_or(false))
                .map(|(v, _)| v.clone())
                .collect(),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "invalid filter {key:?}: expected a list or a map"
                )));
            }
        };
        filters.insert(key.clone(), list);
    }
    Ok(filters)
}

/// A `since`/`until` time: unix seconds with an optional fraction (what the CLI sends),
/// or RFC 3339. Returns nanoseconds since the epoch.
pub fn parse_time_nanos(raw: &str) -> Result<i64, ApiError> {
    let raw = raw.trim();
    let bad = || ApiError::bad_request(format!("invalid time {raw:?}"));
    if let Some((secs, frac)) = raw.split_once('.') {
        let secs: i64 = secs.parse().map_err(|_| bad())?;
        let digits: String = frac.chars().take(9).collect();
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        let nanos: i64 = format!("{digits:0<9}").parse().map_err(|_| bad())?;
        return secs
            .checked_mul(1_000_000_000)
            .and_then(|s| s.checked_add(nanos))
            .ok_or_else(bad);
    }
    if let Ok(secs) = raw.parse::<i64>() {
        return secs.checked_mul(1_000_000_000).ok_or_else(bad);
    }
    let time = humantime::parse_rfc3339_weak(raw).map_err(|_| bad())?;
    let nanos = time
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| bad())?
        .as_nanos();
    i64::try_from(nanos).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_and_globs() {
        for t in ["1", "true", "True", "yes"] {
            assert!(parse_bool(Some(t)), "{t}");
        }
        for f in ["", "0", "no", "False", "NONE"] {
            assert!(!parse_bool(Some(f)), "{f}");
        }
        assert!(!parse_bool(None));
        assert!(glob_match("busy*", "busybox"));
        assert!(glob_match("*:v?", "app:v1"));
        assert!(!glob_match("busy", "busybox"));
    }

    #[test]
    fn both_filter_forms() {
        let a = parse_filters(Some(r#"{"type":{"container":true,"image":false}}"#)).unwrap();
        assert_eq!(a["type"], vec!["container"]);
        let b = parse_filters(Some(r#"{"label":["a=b","c"]}"#)).unwrap();
        assert_eq!(b["label"], vec!["a=b", "c"]);
        assert!(parse_filters(Some("[1]")).is_err());
        assert!(parse_filters(Some("{")).is_err());
        assert!(parse_filters(None).unwrap().is_empty());
    }

    #[test]
    fn times() {
        assert_eq!(parse_time_nanos("12").unwrap(), 12_000_000_000);
        assert_eq!(parse_time_nanos("12.5").unwrap(), 12_500_000_000);
        assert_eq!(
            parse_time_nanos("1700000000.000000001").unwrap(),
            1_700_000_000_000_000_001
        );
        assert_eq!(
            parse_time_nanos("1970-01-01T00:00:10Z").unwrap(),
            10_000_000_000
        );
        assert!(parse_time_nanos("soon").is_err());
        assert!(parse_time_nanos("1.x").is_err());
    }
}
