//! One link per peer: its event stream followed and republished on the local bus (tagged
//! with the peer's name), its facts read every few seconds, and the state both tell kept in
//! [`Health`]. A dropped stream is reopened at once (continuing from the last event seen);
//! a peer that does not answer is retried with a growing pause, so it comes back by itself.

use super::client::{PeerClient, describe};
use super::health::Health;
use crate::events::EventBus;
use http_body_util::BodyExt;
use hyper::Method;
use hyper::body::Incoming;
use hyper::header::HeaderMap;
use shared::event::Event;
use shared::host::HostFacts;
use std::sync::Arc;
use std::time::Duration;

/// How often a connected peer's facts are read; a peer that stops answering is marked
/// unreachable after at most this plus [`PROBE_TIMEOUT`].
const FACTS_EVERY: Duration = Duration::from_millis(1500);
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Pauses between attempts to reach an unreachable peer: doubling, up to the last.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(4);
/// The longest event line taken from a peer; longer ones are dropped.
const MAX_EVENT_LINE: usize = 256 * 1024;

/// Runs until aborted (when the peer is removed or changed).
pub async fn run_link(client: PeerClient, health: Arc<Health>, bus: Arc<EventBus>) {
    let name = client.name().to_string();
    let mut last_nano: Option<i64> = None;
    let mut backoff = FIRST_BACKOFF;
    // After a stream ends, one immediate attempt before the peer counts as gone: a peer
    // that restarted quickly never shows as unreachable.
    let mut retry_at_once = false;
    loop {
        match connect(&client, last_nano).await {
            Ok((facts, stream)) => {
                health.up(&name, facts);
                backoff = FIRST_BACKOFF;
                match follow(&client, stream, &health, &bus, &mut last_nano).await {
                    Stopped::StreamEnded(why) => {
                        tracing::debug!("peer {name}: event stream ended: {why}");
                        retry_at_once = true;
                        continue;
                    }
                    // It stopped answering: no second wait before saying so.
                    Stopped::NoAnswer(why) => health.unreachable(&name, why),
                }
            }
            Err(error) if retry_at_once => {
                tracing::debug!("peer {name}: reconnecting failed: {error}");
                health.unreachable(&name, error);
            }
            Err(error) => health.unreachable(&name, error),
        }
        retry_at_once = false;
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Opens the event stream (from just after `last_nano`) and reads the peer's facts.
async fn connect(
    client: &PeerClient,
    last_nano: Option<i64>,
) -> Result<(HostFacts, Incoming), String> {
    let path = match last_nano {
        Some(n) => format!(
            "/events?since={}.{:09}",
            n.div_euclid(1_000_000_000),
            n.rem_euclid(1_000_000_000)
        ),
        None => "/events".to_string(),
    };
    let open = client.send(
        Method::GET,
        &path,
        HeaderMap::new(),
        axum::body::Body::empty(),
    );
    let response = tokio::time::timeout(PROBE_TIMEOUT, open)
        .await
        .map_err(|_| format!("no answer to GET /events within {PROBE_TIMEOUT:?}"))?
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        let status = response.status();
        let body = super::client::read_capped(response.into_body(), 64 * 1024)
            .await
            .unwrap_or_default();
        return Err(format!(
            "GET /events answered {status}: {}",
            super::client::error_message(&body)
        ));
    }
    let facts = client
        .get_json::<HostFacts>("/berth/v1/host", PROBE_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    Ok((facts, response.into_body()))
}

/// Why following a peer stopped.
enum Stopped {
    /// The event stream closed or broke (a restart, a dropped connection).
    StreamEnded(String),
    /// A facts probe got no answer: the peer hangs or is cut off.
    NoAnswer(String),
}

/// Republishes events until the stream ends or a facts probe fails.
async fn follow(
    client: &PeerClient,
    mut stream: Incoming,
    health: &Health,
    bus: &EventBus,
    last_nano: &mut Option<i64>,
) -> Stopped {
    let name = client.name();
    let mut lines = Lines::default();
    let mut ticker = tokio::time::interval(FACTS_EVERY);
    ticker.tick().await;
    loop {
        tokio::select! {
            frame = stream.frame() => match frame {
                Some(Ok(frame)) => {
                    let Ok(data) = frame.into_data() else { continue };
                    for line in lines.push(&data) {
                        republish(name, &line, bus, last_nano);
                    }
                }
                Some(Err(e)) => return Stopped::StreamEnded(describe(&e)),
                None => return Stopped::StreamEnded("the peer closed the stream".into()),
            },
            _ = ticker.tick() => {
                match client.get_json::<HostFacts>("/berth/v1/host", PROBE_TIMEOUT).await {
                    Ok(facts) => health.up(name, facts),
                    Err(e) => return Stopped::NoAnswer(e.to_string()),
                }
            }
        }
    }
}

fn republish(name: &str, line: &[u8], bus: &EventBus, last_nano: &mut Option<i64>) {
    let mut event: Event = match serde_json::from_slice(line) {
        Ok(e) => e,
        Err(e) => {
            tracing::debug!("peer {name}: unreadable event line: {e}");
            return;
        }
    };
    // A reopened stream starts at the last event seen: skip what was already passed on.
    if last_nano.is_some_and(|last| event.time_nano <= last) {
        return;
    }
    *last_nano = Some(event.time_nano);
    event.host = Some(name.to_string());
    bus.republish(event);
}

/// Splits a byte stream into lines, dropping any longer than [`MAX_EVENT_LINE`].
#[derive(Default)]
struct Lines {
    partial: Vec<u8>,
    overlong: bool,
}

impl Lines {
    fn push(&mut self, data: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for piece in data.split_inclusive(|b| *b == b'\n') {
            let complete = piece.ends_with(b"\n");
            let content = piece.strip_suffix(b"\n").unwrap_or(piece);
            if !self.overlong {
                if self.partial.len() + content.len() > MAX_EVENT_LINE {
                    self.overlong = true;
                    self.partial.clear();
                } else {
                    self.partial.extend_from_slice(content);
                }
            }
            if complete {
                if !self.overlong && !self.partial.is_empty() {
                    out.push(std::mem::take(&mut self.partial));
                }
                self.partial.clear();
                self.overlong = false;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_across_chunks_and_overlong_ones_dropped() {
        let mut lines = Lines::default();
        assert!(lines.push(b"{\"a\":").is_empty());
        assert_eq!(
            lines.push(b"1}\n{\"b\":2}\n"),
            vec![b"{\"a\":1}".to_vec(), b"{\"b\":2}".to_vec()]
        );
        let huge = vec![b'x'; MAX_EVENT_LINE + 1];
        assert!(lines.push(&huge).is_empty());
        assert!(
            lines.push(b"more\n").is_empty(),
            "the rest of an overlong line is dropped"
        );
        assert_eq!(lines.push(b"ok\n"), vec![b"ok".to_vec()]);
    }

    #[test]
    fn events_are_tagged_and_replays_skipped() {
        let bus = EventBus::new("a".into());
        let mut rx = bus.listen();
        let mut last = None;
        let line = br#"{"Type":"container","Action":"start","Actor":{"ID":"x","Attributes":{}},"scope":"local","time":1,"timeNano":1000000001,"Host":"somewhere"}"#;
        republish("b", line, &bus, &mut last);
        republish("b", line, &bus, &mut last);
        republish("b", b"not json", &bus, &mut last);
        let got = rx.try_recv().unwrap();
        assert_eq!(got.host.as_deref(), Some("b"));
        assert_ne!(got.host.as_deref(), Some(bus.host()));
        assert!(rx.try_recv().is_err(), "the replayed copy is skipped");
        assert_eq!(last, Some(1_000_000_001));
    }
}
