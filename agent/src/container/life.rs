//! A container's lifecycle as waiters see it: a `watch` channel that changes on every
//! start, exit and removal, so `wait`, `logs -f` and attach never poll the record.

use tokio::sync::watch;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Life {
    pub running: bool,
    /// How many times the main process has exited since the agent started watching.
    pub exits: u64,
    pub exit_code: i32,
    /// Why the last start or run failed, if it did.
    pub error: Option<String>,
    pub removed: bool,
}

/// What `POST /containers/{id}/wait?condition=` waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitCondition {
    /// Returns at once when it is not running.
    NotRunning,
    /// The next exit after the request.
    NextExit,
    /// Until the container is removed.
    Removed,
}

impl WaitCondition {
    pub fn parse(value: Option<&str>) -> Option<Self> {
        match value.unwrap_or("") {
            "" | "not-running" => Some(WaitCondition::NotRunning),
            "next-exit" => Some(WaitCondition::NextExit),
            "removed" => Some(WaitCondition::Removed),
            _ => None,
        }
    }
}

/// Waits on `life` for `condition`; returns the exit code and error of the last exit.
pub async fn wait_for(
    mut life: watch::Receiver<Life>,
    condition: WaitCondition,
) -> (i32, Option<String>) {
    let start_exits = life.borrow().exits;
    loop {
        {
            let now = life.borrow_and_update();
            let done = match condition {
                WaitCondition::NotRunning => !now.running,
                WaitCondition::NextExit => now.exits > start_exits || now.removed,
                WaitCondition::Removed => now.removed,
            };
            if done {
                return (now.exit_code, now.error.clone());
            }
        }
        if life.changed().await.is_err() {
            let now = life.borrow();
            return (now.exit_code, now.error.clone());
        }
    }
}
