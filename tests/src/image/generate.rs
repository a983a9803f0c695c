//! Generated layers for bigger images: N layers of M files of a given size, with seeded
//! pseudo-random content (incompressible, like real binaries, and the same on every run).

use anyhow::Result;

use super::LayerBuilder;

/// The shape of a generated image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenSpec {
    pub layers: usize,
    pub files_per_layer: usize,
    pub file_size: usize,
    pub seed: u64,
}

/// Layer `index` of `spec`: files `data/layer-<index>/file-<n>` of `spec.file_size` bytes.
pub fn generated_layer(spec: &GenSpec, index: usize) -> Result<LayerBuilder> {
    let mut rng = SplitMix64::new(spec.seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut layer = LayerBuilder::new();
    for n in 0..spec.files_per_layer {
        let mut data = vec![0u8; spec.file_size];
        rng.fill(&mut data);
        layer.file(&format!("data/layer-{index}/file-{n:05}"), 0o644, data);
    }
    Ok(layer)
}

/// SplitMix64: a tiny, well-mixed generator; plenty for filler bytes, no crate needed.
struct SplitMix64(u64);

impl SplitMix64 {
    fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let bytes = self.next().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes_other_layer_other_bytes() {
        let spec = GenSpec {
            layers: 2,
            files_per_layer: 3,
            file_size: 100,
            seed: 7,
        };
        let a = generated_layer(&spec, 0)
            .and_then(|l| l.to_tar())
            .expect("tar");
        let b = generated_layer(&spec, 0)
            .and_then(|l| l.to_tar())
            .expect("tar");
        let c = generated_layer(&spec, 1)
            .and_then(|l| l.to_tar())
            .expect("tar");
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
