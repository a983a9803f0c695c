//! Small helpers shared by several modules.

pub mod atomic_file;
pub mod clock;
pub mod random;
