//! `GET /events`: Docker's event stream (one JSON object per line, flushed one by one),
//! with `since`, `until` and `filters`.

use super::error::{ApiError, ApiResult};
use super::query::{parse_filters, parse_time_nanos};
use super::state::AppState;
use crate::util::clock::now_nanos;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, StreamExt};
use serde::Deserialize;
use shared::event::Event;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

#[derive(Deserialize)]
pub struct EventsQuery {
    since: Option<String>,
    until: Option<String>,
    filters: Option<String>,
}

/// Filter keys Docker accepts on `/events`.
const KNOWN_FILTERS: &[&str] = &[
    "config",
    "container",
    "daemon",
    "event",
    "image",
    "label",
    "network",
    "node",
    "plugin",
    "scope",
    "secret",
    "service",
    "type",
    "volume",
];

pub async fn events(
    State(state): State<AppState>,
    Query(query): Query<EventsQuery>,
) -> ApiResult<Response> {
    let filter = EventFilter::parse(query.filters.as_deref())?;
    let since = query.since.as_deref().map(parse_time_nanos).transpose()?;
    let until = query.until.as_deref().map(parse_time_nanos).transpose()?;
    let bus = state.engine.events.clone();
    let (history, receiver) = bus.subscribe();
    let in_window = move |e: &Event| {
        since.is_none_or(|s| e.time_nano >= s) && until.is_none_or(|u| e.time_nano <= u)
    };
    // Docker's stream is this host's alone: peers' events (republished on the bus for the
    // dashboard) would confuse `docker events`, and a peer subscribed here must not get its
    // own events back.
    let local = bus.host().to_string();
    let filter = filter.only_host(local);
    // Docker replays the past only when asked with `since`.
    let past: Vec<Event> = match since {
        Some(_) => history
            .into_iter()
            .filter(|e| in_window(e) && filter.matches(e))
            .collect(),
        None => Vec::new(),
    };
    let deadline = until.map(|u| {
        let wait = u.saturating_sub(now_nanos()).max(0) as u64;
        Instant::now() + Duration::from_nanos(wait)
    });
    let live = stream::unfold(
        (receiver, deadline, filter),
        |(mut receiver, deadline, filter)| async move {
            loop {
                let next = match deadline {
                    Some(d) => match tokio::time::timeout_at(d, receiver.recv()).await {
                        Ok(r) => r,
                        Err(_) => return None,
                    },
                    None => receiver.recv().await,
                };
                match next {
                    Ok(event) if filter.matches(&event) => {
                        return Some((event, (receiver, deadline, filter)));
                    }
                    Ok(_) | Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return None,
                }
            }
        },
    );
    let lines = stream::iter(past)
        .chain(live)
        .map(|event| Ok::<_, Infallible>(Bytes::from(json_line(&event))));
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(lines),
    )
        .into_response())
}

fn json_line(event: &Event) -> Vec<u8> {
    let mut line = serde_json::to_vec(event).unwrap_or_default();
    line.push(b'\n');
    line
}

/// Docker's event filters: values of one key are alternatives, keys must all match.
pub struct EventFilter {
    filters: BTreeMap<String, Vec<String>>,
    host: Option<String>,
}

impl EventFilter {
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        let filters = parse_filters(raw)?;
        if let Some(bad) = filters
            .keys()
            .find(|k| !KNOWN_FILTERS.contains(&k.as_str()))
        {
            return Err(ApiError::bad_request(format!("invalid filter '{bad}'")));
        }
        Ok(EventFilter {
            filters,
            host: None,
        })
    }

    /// Also requires events to come from `host`.
    pub fn only_host(mut self, host: String) -> Self {
        self.host = Some(host);
        self
    }

    pub fn matches(&self, event: &Event) -> bool {
        if let Some(host) = &self.host
            && event.host.as_deref() != Some(host.as_str())
        {
            return false;
        }
        self.filters.iter().all(|(key, values)| {
            values.is_empty() || values.iter().any(|v| Self::matches_one(key, v, event))
        })
    }

    fn matches_one(key: &str, value: &str, e: &Event) -> bool {
        let attr = |name: &str| e.actor.attributes.get(name).map(String::as_str);
        let names_actor =
            || e.actor.id == value || e.actor.id.starts_with(value) || attr("name") == Some(value);
        match key {
            "type" => e.kind == value,
            "event" => e.action == value || e.action.starts_with(&format!("{value}:")),
            "scope" => e.scope == value,
            "label" => match value.split_once('=') {
                Some((k, v)) => attr(k) == Some(v),
                None => attr(value).is_some(),
            },
            "image" => (e.kind == "image" && names_actor()) || attr("image") == Some(value),
            kind => e.kind == kind && names_actor(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::event::Actor;

    fn event(kind: &str, action: &str, id: &str, attrs: &[(&str, &str)]) -> Event {
        Event::at(
            1,
            kind,
            action,
            Actor {
                id: id.into(),
                attributes: attrs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            },
        )
    }

    #[test]
    fn filters_like_docker() {
        let e = event(
            "container",
            "start",
            "abc123",
            &[("name", "web"), ("image", "busybox"), ("tier", "front")],
        );
        let f = |raw: &str| EventFilter::parse(Some(raw)).unwrap().matches(&e);
        assert!(f(r#"{"type":{"container":true}}"#));
        assert!(!f(r#"{"type":["image"]}"#));
        assert!(f(r#"{"container":["web"]}"#));
        assert!(f(r#"{"container":["abc"]}"#));
        assert!(!f(r#"{"container":["db"]}"#));
        assert!(f(r#"{"image":["busybox"],"event":["start","stop"]}"#));
        assert!(!f(r#"{"image":["busybox"],"event":["stop"]}"#));
        assert!(f(r#"{"label":["tier=front"]}"#));
        assert!(f(r#"{"label":["tier"]}"#));
        assert!(!f(r#"{"label":["tier=back"]}"#));
        assert!(EventFilter::parse(Some(r#"{"colour":["red"]}"#)).is_err());
    }
}
