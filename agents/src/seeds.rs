//! Seeds for the three disjoint domains of DESIGN.md ("Seeds: train, validate, test"): every
//! seed a run uses is a hash of (domain, run seed, stream), never a sum such as `seed + i`, so
//! training, validation and test episodes never share an environment seed.

pub use clv_envs::SeedDomain;

/// Named streams within the training domain.
pub mod stream {
    /// libtorch's global generator (network initialisation).
    pub const TORCH: u64 = 1;
    /// Exploration (epsilon-greedy coins and random actions).
    pub const EXPLORE: u64 = 2;
    /// Replay sampling.
    pub const REPLAY: u64 = 3;
    /// Training environments; a resume adds its resume count so it never replays old episodes.
    pub const ENV: u64 = 1_000;
}

/// SplitMix64's finaliser: a bijective 64-bit mix.
pub fn mix64(mut z: u64) -> u64 {
    /// SplitMix64's increment (the golden ratio in 64-bit fixed point).
    const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;
    z = z.wrapping_add(GOLDEN);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of `stream` in `domain` for run seed `seed`.
pub fn derive_seed(domain: SeedDomain, seed: u64, stream: u64) -> u64 {
    mix64(mix64(mix64(domain.tag()) ^ seed) ^ stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_and_streams_differ() {
        let mut all = Vec::new();
        for d in [SeedDomain::Train, SeedDomain::Validation, SeedDomain::Test] {
            for seed in 0..20 {
                for s in 0..20 {
                    all.push(derive_seed(d, seed, s));
                }
            }
        }
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n);
    }
}
