//! Small helpers shared by several modules.

pub mod atomic_file;
pub mod channel_writer;
pub mod clock;
pub mod random;
