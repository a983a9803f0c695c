//! Small helpers shared by several modules.

pub mod atomic_file;
pub mod channel_writer;
pub mod chunk_reader;
pub mod clock;
pub mod fingerprint;
pub mod random;
