//! The WebSocket topics about containers: a container's log (`logs`), its usage every second
//! (`stats`), and every running container's CPU and memory (`usage`). Each subscription is a
//! task that pushes `ServerMessage`s into its socket's queue until it is aborted
//! (unsubscribe, socket closed) or its container is removed.

use crate::container::Containers;
use crate::container::logs::Follower;
use crate::container::service::Container;
use crate::container::stats::live_sample;
use shared::live::LogLine;
use shared::ws::ServerMessage;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Lines a `logs` subscription starts with.
pub const LOG_BACKLOG: usize = 1000;
/// How often a running container's log is checked for new lines.
const LOG_POLL: Duration = Duration::from_millis(50);
/// Lines per message after the backlog.
const LOG_BATCH: usize = 500;
/// How often a `stats` subscription gets a sample.
const STATS_EVERY: Duration = Duration::from_secs(1);
/// The first sample's CPU use is measured over this long.
const STATS_FIRST: Duration = Duration::from_millis(200);

pub type Outbox = mpsc::Sender<ServerMessage>;

/// Follows `container`'s log: the last [`LOG_BACKLOG`] lines at once (an empty message when
/// there are none, so the page knows), then new lines as they are written, across restarts,
/// until the container is removed or the subscription ends.
pub async fn logs(
    containers: Arc<Containers>,
    container: Arc<Container>,
    name: String,
    out: Outbox,
) {
    let mut life = container.life();
    let mut follower = Follower::new(containers.log_path(&container));
    let send = |lines: Vec<LogLine>| {
        out.send(ServerMessage::Logs {
            container: name.clone(),
            lines,
        })
    };
    let mut keep = LOG_BACKLOG;
    let mut first = true;
    loop {
        // Read the state before the file: lines written just before an exit are then
        // still read before waiting for the next change.
        let (running, removed) = {
            let now = life.borrow_and_update();
            (now.running, now.removed)
        };
        let lines = match follower.read_new(keep).await {
            Ok(lines) => lines,
            Err(e) => {
                let message = format!("reading the log of {name}: {e}");
                let _ = out.send(ServerMessage::Error { message }).await;
                return;
            }
        };
        keep = LOG_BATCH;
        let got = !lines.is_empty();
        if (got || first) && send(lines).await.is_err() {
            return;
        }
        first = false;
        if got {
            continue;
        }
        if removed {
            return;
        }
        if running {
            tokio::select! {
                _ = tokio::time::sleep(LOG_POLL) => {}
                changed = life.changed() => if changed.is_err() { return },
            }
        } else if life.changed().await.is_err() {
            return;
        }
    }
}

/// A sample of `container`'s usage about every second while it runs.
pub async fn stats(
    containers: Arc<Containers>,
    container: Arc<Container>,
    name: String,
    out: Outbox,
) {
    let mut life = container.life();
    loop {
        let (running, removed) = {
            let now = life.borrow_and_update();
            (now.running, now.removed)
        };
        if removed {
            return;
        }
        if !running {
            if life.changed().await.is_err() {
                return;
            }
            continue;
        }
        let Ok(mut previous) = containers.sample(&container) else {
            return;
        };
        let mut wait = STATS_FIRST;
        while life.borrow().running {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = life.changed() => break,
            }
            wait = STATS_EVERY;
            let Ok(now) = containers.sample(&container) else {
                break;
            };
            let pid = container.snapshot().state.pid;
            let sample = live_sample(pid, &now, Some(&previous));
            let message = ServerMessage::Stats {
                container: name.clone(),
                sample,
            };
            if out.send(message).await.is_err() {
                return;
            }
            previous = now;
        }
    }
}

/// Every round of the agent's usage sampler.
pub async fn usage(containers: Arc<Containers>, out: Outbox) {
    let mut feed = containers.usage_feed();
    while feed.changed().await.is_ok() {
        let round = feed.borrow_and_update().clone();
        let message = ServerMessage::Usage {
            containers: round.as_ref().clone(),
        };
        if out.send(message).await.is_err() {
            return;
        }
    }
}
