//! Tests against the real Debian registry on 127.0.0.1 (see the following commits).
