//! What a container changed: `docker diff` ([`changes`]) and the layer tar of a commit
//! ([`write_layer_tar`]).
#![allow(dead_code)] // used by the container service, which lands separately
