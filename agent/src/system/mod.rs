//! Facts about the host the agent runs on: kernel, OS, memory, cgroups.

pub mod cgroups;
pub mod facts;
pub mod usage;
