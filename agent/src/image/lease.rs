//! Leases: what an operation in flight (a pull, a load, an import) has stored but not yet
//! recorded in an image — blobs, layers — so that a concurrent `rmi` or prune does not
//! collect it in between.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct Leases {
    held: Mutex<HashMap<String, usize>>,
}

/// Names held until dropped.
pub struct Lease {
    leases: Arc<Leases>,
    names: Mutex<Vec<String>>,
}

impl Leases {
    pub fn take(self: &Arc<Self>) -> Lease {
        Lease {
            leases: self.clone(),
            names: Mutex::new(Vec::new()),
        }
    }

    /// Whether some operation in flight holds `name` (a digest or chain ID).
    pub fn holds(&self, name: &str) -> bool {
        self.held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(name)
    }
}

impl Lease {
    /// Adds `name` to what this lease protects.
    pub fn hold(&self, name: &str) {
        let mut held = self.leases.held.lock().unwrap_or_else(|p| p.into_inner());
        *held.entry(name.to_string()).or_default() += 1;
        self.names
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(name.to_string());
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut held = self.leases.held.lock().unwrap_or_else(|p| p.into_inner());
        for name in self
            .names
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            if let Some(count) = held.get_mut(&name) {
                *count -= 1;
                if *count == 0 {
                    held.remove(&name);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_until_every_lease_is_dropped() {
        let leases = Arc::new(Leases::default());
        let a = leases.take();
        let b = leases.take();
        a.hold("sha256:x");
        b.hold("sha256:x");
        assert!(leases.holds("sha256:x"));
        drop(a);
        assert!(leases.holds("sha256:x"));
        drop(b);
        assert!(!leases.holds("sha256:x"));
    }
}
