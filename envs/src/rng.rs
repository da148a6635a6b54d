//! Counter-based random streams: every draw is a pure function of a key (domain, seed,
//! customer, period, purpose, index), hashed with a strong 64-bit mixer, never a sum like
//! `seed + customer`. Results therefore do not depend on the order or the thread in which
//! customers are stepped, and two policies run with the same seed see the same uniforms
//! (common random numbers).
//!
//! Events are drawn by inverting one uniform (counts by inverse CDF, choices by cumulative
//! weights), so outcomes move monotonically with rates. Continuous traits that need more than
//! one uniform (Gamma, Beta) use [`KeyedRng`], a counter-based generator over the same hash.

use rand::RngCore;

/// The three disjoint seed domains of the evaluation protocol, plus one for agents' own use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum SeedDomain {
    /// Seeds that drive learning.
    Train,
    /// Seeds that choose hyperparameters, checkpoints and baseline thresholds.
    Validation,
    /// Seeds of the reported result, used once.
    Test,
}

impl SeedDomain {
    /// A fixed tag per domain, mixed into every seed derived in it.
    pub fn tag(self) -> u64 {
        match self {
            SeedDomain::Train => 0x7472_6169_6e00_0001,
            SeedDomain::Validation => 0x7661_6c69_6400_0002,
            SeedDomain::Test => 0x7465_7374_0000_0003,
        }
    }
}

/// What a draw is for; each purpose has its own stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Purpose {
    /// Purchase rate lambda.
    Lambda = 1,
    /// Dropout probability p.
    Dropout,
    /// Spend rate nu.
    SpendRate,
    /// Coupon response type.
    ResponseType,
    /// Persuadable elasticity.
    Elasticity,
    /// Category preferences.
    Preferences,
    /// Observable attributes.
    Attributes,
    /// Entry time (burn-in) or staggered start.
    Entry,
    /// Number of latent baseline events in a period.
    BaselineCount,
    /// Time of a latent event within the period.
    EventTime,
    /// Dropout coin after a latent event.
    DropoutCoin,
    /// Thinning coin of a latent event (fatigue, habituation).
    ThinCoin,
    /// Spend of a purchase.
    Spend,
    /// Category of a purchase.
    Category,
    /// Number of coupon-driven incremental purchases.
    CouponCount,
    /// Number of recommendation-driven incremental purchases.
    RecommendCount,
    /// Relevance of a recommendation.
    Relevance,
    /// Opt-out coin of a contact.
    OptOut,
    /// Win-back coin.
    Winback,
    /// Site visits.
    Visits,
    /// A randomised policy's choice.
    Policy,
    /// Warm-start posterior draw.
    Posterior,
    /// Contact coin of a continuous offer with a contact probability.
    ContactCoin,
    /// Random order of offers under a binding budget (`budget.rank: Random`).
    BudgetRank,
}

const M1: u64 = 0xbf58_476d_1ce4_e5b9;
const M2: u64 = 0x94d0_49bb_1331_11eb;
const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// The SplitMix64 / Stafford variant 13 finaliser: a bijective, well-avalanching mix.
#[inline(always)]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(M1);
    z = (z ^ (z >> 27)).wrapping_mul(M2);
    z ^ (z >> 31)
}

#[inline(always)]
fn absorb(h: u64, v: u64) -> u64 {
    mix64(h ^ v.wrapping_mul(GOLDEN).wrapping_add(0x632b_e59b_d9b4_e019))
}

/// The key of one customer's streams: hash of (domain, seed, customer). Compute it once per
/// customer and derive per-period draws from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomerKey(u64);

/// Absorbed into a key to derive its replicas ([`CustomerKey::replica`]).
const REPLICA_TAG: u64 = 0x5245_504c_4943_4121;

impl CustomerKey {
    /// Key of `customer` under `seed` in `domain`.
    #[inline]
    pub fn new(domain: SeedDomain, seed: u64, customer: u64) -> Self {
        CustomerKey(absorb(absorb(mix64(domain.tag()), seed), customer))
    }

    /// An independent key for replica `r` of the same customer (extra Monte-Carlo draws of
    /// its future from the same state); replica 0 is the key itself.
    pub fn replica(self, r: u64) -> Self {
        if r == 0 {
            self
        } else {
            CustomerKey(absorb(absorb(self.0, REPLICA_TAG), r))
        }
    }

    /// A uniform in (0, 1) for (period, purpose, index).
    #[inline(always)]
    pub fn uniform(self, period: u32, purpose: Purpose, index: u32) -> f64 {
        to_open01(self.bits(period, purpose, index))
    }

    /// 64 random bits for (period, purpose, index).
    #[inline(always)]
    pub fn bits(self, period: u32, purpose: Purpose, index: u32) -> u64 {
        self.stream(purpose).bits(period, index)
    }

    /// The customer's stream for `purpose`: its draws are this key's for that purpose, one
    /// hash cheaper each where the stream is kept across periods.
    #[inline(always)]
    pub fn stream(self, purpose: Purpose) -> PurposeKey {
        PurposeKey(absorb(self.0, purpose as u64))
    }

    /// A counter-based generator for draws that need several uniforms.
    #[inline]
    pub fn rng(self, period: u32, purpose: Purpose, index: u32) -> KeyedRng {
        KeyedRng {
            key: self.bits(period, purpose, index),
            counter: 0,
        }
    }
}

/// One customer's stream for one [`Purpose`] ([`CustomerKey::stream`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurposeKey(u64);

impl PurposeKey {
    /// A uniform in (0, 1) for (period, index): [`CustomerKey::uniform`] of this purpose.
    #[inline(always)]
    pub fn uniform(self, period: u32, index: u32) -> f64 {
        to_open01(self.bits(period, index))
    }

    /// 64 random bits for (period, index).
    #[inline(always)]
    pub fn bits(self, period: u32, index: u32) -> u64 {
        absorb(self.0, ((period as u64) << 32) | index as u64)
    }
}

/// Maps 64 random bits to a uniform in the open interval (0, 1).
#[inline(always)]
pub fn to_open01(bits: u64) -> f64 {
    ((bits >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
}

/// A counter-based generator: output i is mix(key, i). Cheap to create, owned, seeded.
#[derive(Debug, Clone)]
pub struct KeyedRng {
    key: u64,
    counter: u64,
}

impl KeyedRng {
    /// A generator for an arbitrary 64-bit key.
    pub fn from_key(key: u64) -> Self {
        KeyedRng {
            key: mix64(key),
            counter: 0,
        }
    }
    /// A uniform in (0, 1).
    #[inline]
    pub fn uniform(&mut self) -> f64 {
        to_open01(self.next_u64())
    }
}

impl RngCore for KeyedRng {
    #[inline]
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
    #[inline]
    fn next_u64(&mut self) -> u64 {
        self.counter = self.counter.wrapping_add(1);
        absorb(self.key, self.counter)
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(8) {
            let b = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&b[..chunk.len()]);
        }
    }
}

/// Margin below a lower bound of exp(-mean) under which [`poisson_inv`] answers 0 without
/// computing exp(-mean): the bound (1 - mean, or 1 - mean + mean^2 / 2 - mean^3 / 6 for a
/// mean of at most [`CUBIC_BOUND_MAX_MEAN`]; both below exp(-mean) for any mean > 0, Taylor's
/// remainder being positive) is computed in a few operations on values of at most 1, and eight
/// units of 2^-52 cover their rounding, that of this subtraction and of `exp` (under one unit),
/// so the shortcut answers 0 exactly when the CDF inversion would.
const ZERO_COUNT_MARGIN: f64 = 8.0 * f64::EPSILON;

/// Largest mean for which [`poisson_inv`] uses the cubic lower bound of exp(-mean) (its terms
/// then stay at most 1, so the rounding is covered by [`ZERO_COUNT_MARGIN`]).
const CUBIC_BOUND_MAX_MEAN: f64 = 1.0;

/// Poisson(`mean`) count by inverting the uniform `u` through the CDF (monotone in both).
#[inline]
pub fn poisson_inv(mean: f64, u: f64) -> u32 {
    if u <= zero_count_below(mean) {
        return 0;
    }
    poisson_inv_from(mean, (-mean).exp(), u)
}

/// A uniform at most this answers 0 from [`poisson_inv`] without its `exp` (+infinity for a
/// mean of at most 0, which always answers 0).
#[inline(always)]
fn zero_count_below(mean: f64) -> f64 {
    if mean <= 0.0 {
        return f64::INFINITY;
    }
    // Most draws of the small rates of a customer-period are 0: P(0) = exp(-mean), above
    // 1 - mean + mean^2 / 2 - mean^3 / 6 (site visits, about 0.35 to 1 per period while
    // alive, fall between that and 1 - mean).
    let bound = if mean <= CUBIC_BOUND_MAX_MEAN {
        1.0 - mean + mean * mean * (0.5 - mean * (1.0 / 6.0))
    } else {
        1.0 - mean
    };
    bound - ZERO_COUNT_MARGIN
}

/// [`poisson_inv`] past its shortcut, given `p0` = exp(-`mean`).
#[inline]
fn poisson_inv_from(mean: f64, p0: f64, u: f64) -> u32 {
    if p0 == 0.0 {
        // Mean beyond ~745: the normal approximation is exact enough and stays monotone.
        let z = normal_inv(u);
        return (mean + z * mean.sqrt()).round().max(0.0) as u32;
    }
    invert_from(mean, 0, p0, p0, u)
}

/// The inversion's loop from count `k`, whose probability is `p` and CDF `cdf`: the smallest
/// count whose CDF reaches `u` (or the count where the sum stops growing).
#[inline]
fn invert_from(mean: f64, mut k: u32, mut p: f64, mut cdf: f64, u: f64) -> u32 {
    while u > cdf {
        k += 1;
        p *= mean / k as f64;
        let next = cdf + p;
        if next == cdf {
            break; // the remaining tail is below double precision
        }
        cdf = next;
    }
    k
}

/// Counts a [`PoissonTable`] answers by comparisons alone (0 to this minus 1).
const POISSON_TABLE_LEN: usize = 4;

/// Poisson(`mean`) draws by [`poisson_inv`] with the first entries of its CDF computed once,
/// by the same operations as its loop: a draw below them is a few comparisons, with no `exp`
/// and no division, and every draw equals `poisson_inv(mean, u)`.
#[derive(Debug, Clone, Copy)]
pub struct PoissonTable {
    mean: f64,
    zero_below: f64,
    /// CDF at counts 0, 1, ... as `poisson_inv` sums it; +infinity past `len` entries.
    cdf: [f64; POISSON_TABLE_LEN],
    /// The probability term of entry `len - 1`, to carry the inversion on past the table.
    p_last: f64,
    /// Entries computed: 0 where exp(-mean) underflows.
    len: u32,
    /// The inversion's sum stopped growing at entry `len` (the tail is below double
    /// precision): every uniform past the table answers `len`.
    saturated: bool,
}

impl PoissonTable {
    /// The table of Poisson(`mean`).
    pub fn new(mean: f64) -> Self {
        let mut table = PoissonTable {
            mean,
            zero_below: zero_count_below(mean),
            cdf: [f64::INFINITY; POISSON_TABLE_LEN],
            p_last: 0.0,
            len: 0,
            saturated: false,
        };
        if mean <= 0.0 {
            return table;
        }
        let mut p = (-mean).exp();
        if p == 0.0 {
            return table;
        }
        let mut cdf = p;
        table.cdf[0] = cdf;
        table.len = 1;
        for k in 1..POISSON_TABLE_LEN {
            p *= mean / k as f64;
            let next = cdf + p;
            if next == cdf {
                table.saturated = true;
                break;
            }
            cdf = next;
            table.cdf[k] = cdf;
            table.len = k as u32 + 1;
        }
        table.p_last = p;
        table
    }

    /// The count for uniform `u`: `poisson_inv(mean, u)`.
    #[inline(always)]
    pub fn draw(&self, u: f64) -> u32 {
        if u <= self.zero_below {
            return 0;
        }
        self.draw_by_table(u)
    }

    /// [`Self::draw`] without its shortcut (the table answers 0 below its first entry too):
    /// no branch on `u` where the count is within the table.
    #[inline(always)]
    fn draw_by_table(&self, u: f64) -> u32 {
        let count: u32 = self.cdf.iter().map(|&c| (u > c) as u32).sum();
        if count < self.len || self.saturated {
            return count;
        }
        self.draw_past_table(u)
    }

    /// `poisson_inv`'s loop carried on from the table's last entry (`u` is above it).
    #[cold]
    fn draw_past_table(&self, u: f64) -> u32 {
        if self.len == 0 {
            return poisson_inv_from(self.mean, 0.0, u);
        }
        let last = self.len - 1;
        invert_from(self.mean, last, self.p_last, self.cdf[last as usize], u)
    }
}

/// Poisson draws of one mean over several periods (a customer's site visits through a block
/// of periods): each is [`poisson_inv`]'s, with its shortcut bound computed once and the
/// [`PoissonTable`] built at the first draw that needs it.
#[derive(Debug, Clone, Copy)]
pub struct PoissonDraws {
    mean: f64,
    zero_below: f64,
    table: Option<PoissonTable>,
}

impl PoissonDraws {
    /// Draws of Poisson(`mean`).
    #[inline(always)]
    pub fn new(mean: f64) -> Self {
        PoissonDraws {
            mean,
            zero_below: zero_count_below(mean),
            table: None,
        }
    }

    /// The count for uniform `u`: `poisson_inv(mean, u)`.
    #[inline(always)]
    pub fn draw(&mut self, u: f64) -> u32 {
        if let Some(table) = &self.table {
            return table.draw_by_table(u);
        }
        if u <= self.zero_below {
            return 0;
        }
        let table = self.table.insert(PoissonTable::new(self.mean));
        table.draw_by_table(u)
    }
}

/// Standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9).
pub fn normal_inv(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p = p.clamp(1e-300, 1.0 - 1e-16);
    let plow = 0.02425;
    if p < plow {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - plow {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    }
}

/// Index chosen by cumulative `weights` (need not sum to 1) with the uniform `u`.
#[inline]
pub fn choose(weights: &[f64], u: f64) -> usize {
    let total: f64 = weights.iter().sum();
    let mut target = u * total;
    for (i, w) in weights.iter().enumerate() {
        if target < *w {
            return i;
        }
        target -= w;
    }
    weights.iter().rposition(|w| *w > 0.0).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_by_every_component() {
        let base = CustomerKey::new(SeedDomain::Test, 1, 2);
        let u = base.uniform(3, Purpose::Spend, 0);
        assert_ne!(
            u,
            CustomerKey::new(SeedDomain::Train, 1, 2).uniform(3, Purpose::Spend, 0)
        );
        assert_ne!(
            u,
            CustomerKey::new(SeedDomain::Test, 2, 2).uniform(3, Purpose::Spend, 0)
        );
        assert_ne!(
            u,
            CustomerKey::new(SeedDomain::Test, 1, 3).uniform(3, Purpose::Spend, 0)
        );
        assert_ne!(u, base.uniform(4, Purpose::Spend, 0));
        assert_ne!(u, base.uniform(3, Purpose::Category, 0));
        assert_ne!(u, base.uniform(3, Purpose::Spend, 1));
        // seed + customer sums collide; keyed hashes do not.
        assert_ne!(
            CustomerKey::new(SeedDomain::Test, 1, 2).uniform(0, Purpose::Lambda, 0),
            CustomerKey::new(SeedDomain::Test, 2, 1).uniform(0, Purpose::Lambda, 0)
        );
    }

    #[test]
    fn uniforms_have_the_right_moments() {
        let k = CustomerKey::new(SeedDomain::Test, 42, 0);
        let n = 200_000;
        let (mut s, mut s2) = (0.0, 0.0);
        for i in 0..n {
            let u = k.uniform(i, Purpose::Spend, 0);
            assert!(u > 0.0 && u < 1.0);
            s += u;
            s2 += u * u;
        }
        let mean = s / n as f64;
        let var = s2 / n as f64 - mean * mean;
        // SE of the mean: sqrt(1/12/n) = 6.5e-4; allow 5 SE.
        assert!((mean - 0.5).abs() < 5.0 * 6.5e-4, "{mean}");
        assert!((var - 1.0 / 12.0).abs() < 2e-3, "{var}");
    }

    #[test]
    fn poisson_inversion_matches_pmf_and_is_monotone() {
        let mean = 1.7;
        let n = 100_000;
        let mut counts = [0u32; 12];
        let k = CustomerKey::new(SeedDomain::Test, 7, 7);
        for i in 0..n {
            let c = poisson_inv(mean, k.uniform(i, Purpose::BaselineCount, 0));
            counts[(c as usize).min(11)] += 1;
        }
        let mut pmf = (-mean).exp();
        for (j, c) in counts.iter().enumerate().take(8) {
            let expected = pmf * n as f64;
            let se = (expected * (1.0 - pmf)).sqrt();
            assert!(
                (*c as f64 - expected).abs() < 5.0 * se,
                "k={j}: {c} vs {expected}"
            );
            pmf *= mean / (j + 1) as f64;
        }
        assert!(poisson_inv(0.5, 0.9) <= poisson_inv(0.8, 0.9));
        assert!(poisson_inv(0.5, 0.3) <= poisson_inv(0.5, 0.9));
        assert_eq!(poisson_inv(0.0, 0.99), 0);
        let big = poisson_inv(1e4, 0.5);
        assert!((big as f64 - 1e4).abs() < 5.0);
    }

    #[test]
    fn kept_poisson_draws_are_poisson_inv() {
        let k = CustomerKey::new(SeedDomain::Test, 3, 9);
        let means = [
            -1.0, 0.0, 1e-300, 1e-9, 1e-3, 0.05, 0.35, 0.99, 1.0, 1.01, 3.7, 40.0, 700.0, 800.0,
        ];
        for mean in means {
            let table = PoissonTable::new(mean);
            let mut draws = PoissonDraws::new(mean);
            // Uniforms from the stream, and each table entry and its neighbours (where a
            // comparison could go the other way).
            let mut us: Vec<f64> = (0..20_000)
                .map(|t| k.uniform(t, Purpose::Visits, 0))
                .collect();
            for c in table.cdf.iter().filter(|c| c.is_finite()) {
                us.extend(
                    [c.next_down(), *c, c.next_up()]
                        .iter()
                        .filter(|u| **u < 1.0),
                );
            }
            us.extend([f64::EPSILON, 0.5, 1.0 - f64::EPSILON]);
            for u in us {
                let expected = poisson_inv(mean, u);
                assert_eq!(table.draw(u), expected, "mean {mean}, u {u}");
                assert_eq!(draws.draw(u), expected, "mean {mean}, u {u}");
            }
        }
    }

    #[test]
    fn choose_follows_weights() {
        assert_eq!(choose(&[1.0, 0.0, 3.0], 0.2), 0);
        assert_eq!(choose(&[1.0, 0.0, 3.0], 0.3), 2);
        assert_eq!(choose(&[0.0, 2.0], 0.99999), 1);
        assert!((normal_inv(0.975) - 1.959_964).abs() < 1e-5);
    }
}
