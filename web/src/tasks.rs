//! Pulls, pushes and copies to other hosts started from the dashboard, kept at the app's level: they go on when the
//! user leaves the page that started them, and the header's task list shows each one with its
//! per-layer progress until it is cleared.

use crate::api::{self, ApiError};
use crate::progress::{PullLog, State};
use crate::watch::{self, Change};
use leptos::prelude::*;
use leptos::task::spawn_local;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Pull,
    Push,
    /// An image sent to another host (the target pulls it from this one).
    Copy,
}

impl Kind {
    /// `(noun, running, done)`: "Pull", "Pulling", "Pulled".
    pub fn words(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Kind::Pull => ("Pull", "Pulling", "Pulled"),
            Kind::Push => ("Push", "Pushing", "Pushed"),
            Kind::Copy => ("Copy", "Copying", "Copied"),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Task {
    pub id: u64,
    pub kind: Kind,
    pub log: PullLog,
}

/// The app's tasks, shared through context.
#[derive(Clone, Copy)]
pub struct Tasks {
    /// Oldest first.
    pub list: RwSignal<Vec<Task>>,
    next: StoredValue<u64>,
}

impl Default for Tasks {
    fn default() -> Self {
        Self::new()
    }
}

impl Tasks {
    pub fn new() -> Self {
        Tasks {
            list: RwSignal::new(Vec::new()),
            next: StoredValue::new(1),
        }
    }

    /// Starts pulling `name:tag` (a `sha256:` tag is a digest); returns the task's ID.
    pub fn pull(self, name: String, tag: String) -> u64 {
        let shown = if tag.starts_with("sha256:") {
            format!("{name}@{tag}")
        } else {
            format!("{name}:{tag}")
        };
        let id = self.add(Kind::Pull, shown);
        spawn_local(async move {
            let result = api::pull(&name, &tag, |line| self.apply(id, line)).await;
            self.finish(id, result);
        });
        id
    }

    /// Starts pushing `name:tag` of peer `remote` (`None`: this agent) to its registry;
    /// returns the task's ID.
    pub fn push(self, remote: Option<String>, name: String, tag: String) -> u64 {
        let id = self.add(Kind::Push, format!("{name}:{tag}"));
        spawn_local(async move {
            let on = remote.as_deref();
            let result = api::push(on, &name, &tag, |line| self.apply(id, line)).await;
            self.finish(id, result);
        });
        id
    }

    /// Starts copying image `id` (shown as `name`) of peer `remote` (`None`: this agent) to
    /// host `to`; returns the task's ID.
    pub fn copy(self, remote: Option<String>, id: String, name: String, to: String) -> u64 {
        let task = self.add(Kind::Copy, format!("{name} to {to}"));
        spawn_local(async move {
            let on = remote.as_deref();
            let result = api::copy_image(on, &id, &to, |line| self.apply(task, line)).await;
            self.finish(task, result);
        });
        task
    }

    /// The newest task of `kind`, for the page that starts such tasks.
    pub fn newest(self, kind: Kind) -> Option<Task> {
        self.list
            .with(|l| l.iter().rev().find(|t| t.kind == kind).cloned())
    }

    /// The same, outside any reactive view.
    pub fn newest_now(self, kind: Kind) -> Option<Task> {
        self.list
            .with_untracked(|l| l.iter().rev().find(|t| t.kind == kind).cloned())
    }

    pub fn running(self) -> usize {
        self.list
            .with(|l| l.iter().filter(|t| t.log.state == State::Running).count())
    }

    /// Drops the tasks that ended.
    pub fn clear_finished(self) {
        self.list
            .update(|l| l.retain(|t| t.log.state == State::Running));
        watch::notify(Change::Tasks);
    }

    /// Every task, oldest first.
    pub fn all(self) -> Vec<Task> {
        self.list.get_untracked()
    }

    /// `reference` is named with the host it is on when that is a peer: a task goes on on
    /// the host it started on, whichever host the pages show later.
    fn add(self, kind: Kind, reference: String) -> u64 {
        let reference = match api::remote() {
            Some(host) => format!("{host}: {reference}"),
            None => reference,
        };
        let id = self.next.get_value();
        self.next.set_value(id + 1);
        self.list.update(|l| {
            l.push(Task {
                id,
                kind,
                log: PullLog::new(reference),
            })
        });
        watch::notify(Change::Tasks);
        id
    }

    fn apply(self, id: u64, line: &[u8]) {
        self.list.update(|l| {
            if let Some(t) = l.iter_mut().find(|t| t.id == id) {
                t.log.apply(line);
            }
        });
        watch::notify(Change::Tasks);
    }

    fn finish(self, id: u64, result: Result<(), ApiError>) {
        let outcome = match result {
            Ok(()) => Ok(()),
            Err(e) => {
                crate::app::handle(&e);
                Err(e.to_string())
            }
        };
        self.list.update(|l| {
            if let Some(t) = l.iter_mut().find(|t| t.id == id) {
                t.log.finish(outcome);
            }
        });
        watch::notify(Change::Tasks);
    }
}
