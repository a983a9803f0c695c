//! Container names: Docker's rules for given names, and generated ones.

use super::ContainerError;

/// Checks a name given with `--name` (a leading `/` is allowed, as the API sends it) and
/// returns it without the slash. Docker's rule: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn validate(name: &str) -> Result<String, ContainerError> {
    let name = name.strip_prefix('/').unwrap_or(name);
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if name.len() < 2 || !first_ok || !rest_ok || name.len() > 253 {
        return Err(ContainerError::BadInput(format!(
            "Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        )));
    }
    Ok(name.to_string())
}

const ADJECTIVES: &[&str] = &[
    "brave", "calm", "eager", "fond", "gentle", "happy", "jolly", "keen", "lucid", "merry",
    "nimble", "proud", "quiet", "sharp", "steady", "swift", "tender", "vivid", "wise", "zealous",
];
const NOUNS: &[&str] = &[
    "anchor", "beacon", "buoy", "cargo", "compass", "dock", "harbor", "hull", "keel", "lantern",
    "mast", "pier", "quay", "rudder", "sail", "skiff", "tide", "wharf", "yard", "zephyr",
];

/// A generated name such as `swift_harbor`, from random bytes; `attempt` > 0 adds a
/// number, as Docker does after a clash.
pub fn generate(random: [u8; 2], attempt: u32) -> String {
    let adjective = ADJECTIVES[random[0] as usize % ADJECTIVES.len()];
    let noun = NOUNS[random[1] as usize % NOUNS.len()];
    if attempt == 0 {
        format!("{adjective}_{noun}")
    } else {
        format!("{adjective}_{noun}{attempt}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_like_docker() {
        assert_eq!(validate("/web").unwrap(), "web");
        assert_eq!(validate("a.b-c_d1").unwrap(), "a.b-c_d1");
        for bad in ["", "a", "-x", "a b", "a/b", "é1", ".x"] {
            assert!(validate(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn generates_valid_names() {
        for r in [[0, 0], [255, 255], [7, 13]] {
            validate(&generate(r, 0)).unwrap();
            validate(&generate(r, 3)).unwrap();
        }
    }
}
