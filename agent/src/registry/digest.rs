//! Content digests: only `sha256:<64 lowercase hex>` is accepted (the algorithm every
//! registry and image uses; others are refused rather than left unverified).

use sha2::{Digest as _, Sha256};

use super::RegistryError;

/// Checks that `digest` is `sha256:<64 lowercase hex>`. Other algorithms are
/// [`RegistryError::Unsupported`]; anything else malformed is `invalid(message)`.
pub(crate) fn check_digest(
    digest: &str,
    invalid: impl FnOnce(String) -> RegistryError,
) -> Result<(), RegistryError> {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return Err(invalid(format!(
            "malformed digest {:?}: expected sha256:<64 hex digits>",
            shorten(digest)
        )));
    };
    if algorithm != "sha256" {
        let algorithm_ok = !algorithm.is_empty()
            && algorithm
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b));
        if algorithm_ok {
            return Err(RegistryError::Unsupported(format!(
                "digest algorithm {:?} is not supported (only sha256)",
                shorten(algorithm)
            )));
        }
        return Err(invalid(format!("malformed digest {:?}", shorten(digest))));
    }
    if hex.len() != 64
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(invalid(format!(
            "malformed digest {:?}: expected sha256:<64 lowercase hex digits>",
            shorten(digest)
        )));
    }
    Ok(())
}

/// True when `reference` looks like a digest (has an algorithm prefix) rather than a tag.
pub(crate) fn is_digest(reference: &str) -> bool {
    reference.contains(':')
}

/// `sha256:<hex>` of `data`.
pub fn sha256_digest(data: &[u8]) -> String {
    format_digest(Sha256::digest(data).as_slice())
}

/// `sha256:<hex>` of a finished hash.
pub(crate) fn format_digest(hash: &[u8]) -> String {
    format!("sha256:{}", hex::encode(hash))
}

/// At most 80 characters of untrusted text, for error messages.
pub(crate) fn shorten(text: &str) -> String {
    const MAX: usize = 80;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(d: &str) -> Result<(), RegistryError> {
        check_digest(d, RegistryError::InvalidInput)
    }

    #[test]
    fn only_well_formed_sha256_passes() {
        let good = sha256_digest(b"x");
        assert!(check(&good).is_ok());
        assert!(matches!(
            check(&good.to_uppercase().replace("SHA256", "sha256")),
            Err(RegistryError::InvalidInput(_))
        ));
        assert!(matches!(
            check("sha256:abc"),
            Err(RegistryError::InvalidInput(_))
        ));
        assert!(matches!(
            check("latest"),
            Err(RegistryError::InvalidInput(_))
        ));
        assert!(matches!(
            check(&format!("sha256:{}/../x", "a".repeat(64))),
            Err(RegistryError::InvalidInput(_))
        ));
        assert!(matches!(
            check(&format!("sha512:{}", "a".repeat(128))),
            Err(RegistryError::Unsupported(_))
        ));
        assert!(matches!(
            check("SHA256:x"),
            Err(RegistryError::InvalidInput(_))
        ));
    }
}
