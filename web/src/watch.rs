//! What changed in the app's shared state — the socket's facts, hosts and events, the tasks,
//! the engine's images, containers and networks — and the parts of pages that watch it. One
//! list of plain callbacks instead of a reactive signal per value: a page redraws what it
//! shows of a change itself (see [`crate::dom`] for why that keeps the wasm small).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// The socket went live or is reconnecting.
    Socket,
    /// New facts of this host.
    Facts,
    /// The host list (this agent and its peers) or a peer's state.
    Hosts,
    /// A new event arrived (see `socket::with_events`).
    Events,
    /// The socket's error message came or went.
    Error,
    /// An image event of the shown host, or a reconnect (events may have been missed).
    Images,
    /// The same for containers.
    Containers,
    /// A network event, or a container that starts, dies or goes (addresses and published
    /// ports come and go with them); and a reconnect.
    Networks,
    /// A task (pull, push, copy) started, moved on or ended, or finished ones were cleared.
    Tasks,
}

type Watcher = Rc<dyn Fn(Change)>;

thread_local! {
    static WATCHERS: RefCell<Vec<(u64, Watcher)>> = const { RefCell::new(Vec::new()) };
    static NEXT: Cell<u64> = const { Cell::new(0) };
}

/// A watcher, removed when dropped (with the page or part that holds it).
pub struct Watch(u64);

impl Drop for Watch {
    fn drop(&mut self) {
        let id = self.0;
        let _ = WATCHERS.try_with(|w| w.borrow_mut().retain(|(i, _)| *i != id));
    }
}

/// Calls `f` on every change until the returned [`Watch`] is dropped.
#[must_use = "watching stops when the Watch is dropped"]
pub fn watch(f: impl Fn(Change) + 'static) -> Watch {
    let id = NEXT.with(|n| {
        let id = n.get();
        n.set(id + 1);
        id
    });
    WATCHERS.with(|w| w.borrow_mut().push((id, Rc::new(f))));
    Watch(id)
}

/// Tells every watcher. Callers change their state first and hold no borrow of it here: a
/// watcher may read it, start or stop watching, or drop a whole page.
pub fn notify(change: Change) {
    let list: Vec<Watcher> = WATCHERS.with(|w| w.borrow().iter().map(|(_, f)| f.clone()).collect());
    for f in list {
        f(change);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watchers_hear_changes_until_dropped() {
        let heard = Rc::new(RefCell::new(Vec::new()));
        let first = {
            let heard = heard.clone();
            watch(move |c| heard.borrow_mut().push((1, c)))
        };
        let second = {
            let heard = heard.clone();
            watch(move |c| heard.borrow_mut().push((2, c)))
        };
        notify(Change::Facts);
        drop(first);
        notify(Change::Tasks);
        drop(second);
        notify(Change::Hosts);
        assert_eq!(
            *heard.borrow(),
            [(1, Change::Facts), (2, Change::Facts), (2, Change::Tasks)]
        );
    }
}
