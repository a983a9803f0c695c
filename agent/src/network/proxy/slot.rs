//! The host socket of a running forward, closable synchronously from outside its task.
//!
//! Aborting a tokio task does not drop its future on the spot (the runtime does that when
//! it next gets to the task), so a socket owned by the task could outlive
//! `Forwarding::close`. Instead the socket lives here: tasks reach it only inside
//! [`Slot::with`], never across an `.await`, so [`Slot::close`] drops the last handle and
//! the port is free when it returns.

use std::sync::{Mutex, PoisonError};

pub struct Slot<T> {
    socket: Mutex<Option<T>>,
}

/// What `Forwarding` keeps of the slot: only the means to close it.
pub trait Closable: Send + Sync {
    fn close(&self);
}

impl<T> Slot<T> {
    pub fn new(socket: T) -> Slot<T> {
        Slot {
            socket: Mutex::new(Some(socket)),
        }
    }

    /// Runs `f` on the socket, or returns `None` once the slot is closed. `f` must not
    /// block: the lock is held while it runs.
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> Option<R> {
        let guard = self.socket.lock().unwrap_or_else(PoisonError::into_inner);
        guard.as_ref().map(f)
    }
}

impl<T: Send> Closable for Slot<T> {
    fn close(&self) {
        let socket = self
            .socket
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(socket);
    }
}
