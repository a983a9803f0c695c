//! Every running container's CPU and memory, sampled every [`EVERY`] while someone watches
//! (the dashboard's `usage` topic): one sampler per agent however many browsers listen, and
//! none when nobody does. Three small cgroup files per container per round.

use super::service::Containers;
use shared::live::Usage;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How often a round of samples goes out.
pub const EVERY: Duration = Duration::from_secs(2);
/// The first round comes this soon after the first listener (CPU use needs two readings).
const FIRST_AFTER: Duration = Duration::from_millis(500);

pub type UsageFeed = watch::Receiver<Arc<Vec<Usage>>>;

/// The running sampler's channel, while there is one.
#[derive(Default)]
pub struct UsageHub {
    sender: Mutex<Option<watch::Sender<Arc<Vec<Usage>>>>>,
}

impl UsageHub {
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<watch::Sender<Arc<Vec<Usage>>>>> {
        self.sender.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// CPU percent (100 = one CPU) between two readings of a cgroup's CPU time.
pub fn cpu_percent(cpu_ns_delta: u64, wall: Duration) -> f32 {
    let wall = wall.as_nanos();
    if wall == 0 {
        return 0.0;
    }
    (cpu_ns_delta as f64 / wall as f64 * 100.0) as f32
}

impl Containers {
    /// A receiver of the rounds of samples, starting the sampler if none runs. The value
    /// is empty until the first round.
    pub fn usage_feed(self: &Arc<Self>) -> UsageFeed {
        let mut slot = self.usage.slot();
        if let Some(sender) = slot.as_ref() {
            return sender.subscribe();
        }
        let (sender, receiver) = watch::channel(Arc::new(Vec::new()));
        *slot = Some(sender.clone());
        let service = self.clone();
        tokio::spawn(async move { service.sample_usage(sender).await });
        receiver
    }

    async fn sample_usage(&self, sender: watch::Sender<Arc<Vec<Usage>>>) {
        let mut previous: HashMap<String, (u64, Instant)> = HashMap::new();
        previous.extend(
            self.read_usage()
                .into_iter()
                .map(|(id, cpu, _, at)| (id, (cpu, at))),
        );
        tokio::time::sleep(FIRST_AFTER).await;
        loop {
            {
                // Under the hub's lock, so a new listener either finds this sampler or
                // starts the next one.
                let mut slot = self.usage.slot();
                if sender.receiver_count() == 0 {
                    *slot = None;
                    return;
                }
            }
            let mut round = Vec::new();
            let mut seen = HashMap::new();
            for (id, cpu_ns, mem, at) in self.read_usage() {
                let cpu = previous.get(&id).map_or(0.0, |(before, then)| {
                    cpu_percent(cpu_ns.saturating_sub(*before), at.duration_since(*then))
                });
                round.push(Usage {
                    id: id.chars().take(12).collect(),
                    cpu,
                    mem,
                });
                seen.insert(id, (cpu_ns, at));
            }
            previous = seen;
            round.sort_by(|a, b| a.id.cmp(&b.id));
            sender.send_replace(Arc::new(round));
            tokio::time::sleep(EVERY).await;
        }
    }

    /// (ID, CPU ns, memory bytes, when) of every container with a cgroup.
    fn read_usage(&self) -> Vec<(String, u64, u64, Instant)> {
        self.live_ids()
            .into_iter()
            .filter_map(|id| {
                let cgroup = self.cgroups().open(&id)?;
                let (cpu, mem) = cgroup.usage();
                Some((id, cpu, mem, Instant::now()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_percent_is_per_cpu() {
        assert_eq!(cpu_percent(1_000_000_000, Duration::from_secs(2)), 50.0);
        assert_eq!(cpu_percent(4_000_000_000, Duration::from_secs(2)), 200.0);
        assert_eq!(cpu_percent(5, Duration::ZERO), 0.0);
    }
}
