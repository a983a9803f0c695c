//! Running containers: the spec the agent writes, the supervisor (`berth shim`) that
//! turns it into an isolated process, and the agent's side of the supervisor's socket.
//! Nothing here knows of HTTP or of Docker's API shapes.

pub mod bundle;
pub mod cgroups;
pub mod client;
pub mod process;
pub mod protocol;
pub mod shim;
pub mod spawner;
pub mod spec;
