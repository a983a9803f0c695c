//! Chain IDs: the identity of a stack of layers, as the OCI image spec defines it.
//!
//! `ChainID(L0) = DiffID(L0)` and `ChainID(Ln) = "sha256:" + hex(sha256(ChainID(Ln-1) + " " +
//! DiffID(Ln)))`. A layer directory `layers/<chain-id>/diff` is named by it, so two images that
//! share the same bottom layers share those directories.

use sha2::{Digest, Sha256};

/// The chain ID of the layer stack `diff_ids` (bottom first). An empty stack has no layers and
/// so no chain ID: the empty string is returned.
pub fn chain_id(diff_ids: &[String]) -> String {
    let mut ids = diff_ids.iter();
    let Some(first) = ids.next() else {
        return String::new();
    };
    ids.fold(first.clone(), |chain, diff_id| {
        let mut hasher = Sha256::new();
        hasher.update(chain.as_bytes());
        hasher.update(b" ");
        hasher.update(diff_id.as_bytes());
        format!("sha256:{}", hex::encode(hasher.finalize()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";
    const B: &str = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";

    #[test]
    fn single_layer_is_its_diff_id() {
        assert_eq!(chain_id(&[A.to_string()]), A);
    }

    #[test]
    fn empty_stack_has_no_chain_id() {
        assert_eq!(chain_id(&[]), "");
    }

    #[test]
    fn two_layers_hash_parent_space_diff_id() {
        let expected = format!(
            "sha256:{}",
            hex::encode(Sha256::digest(format!("{A} {B}").as_bytes()))
        );
        assert_eq!(chain_id(&[A.to_string(), B.to_string()]), expected);
        // Order matters: the chain is a stack, not a set.
        assert_ne!(chain_id(&[B.to_string(), A.to_string()]), expected);
    }

    #[test]
    fn three_layers_chain_through_the_middle() {
        let c = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
        let two = chain_id(&[A.to_string(), B.to_string()]);
        let expected = format!(
            "sha256:{}",
            hex::encode(Sha256::digest(format!("{two} {c}").as_bytes()))
        );
        assert_eq!(
            chain_id(&[A.to_string(), B.to_string(), c.to_string()]),
            expected
        );
    }
}
