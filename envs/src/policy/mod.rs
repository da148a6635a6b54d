//! Policies: what acts on a batch of customers each period. A policy sees an [`ObsBatch`],
//! which exposes the firm records (and feature vectors built from them) but not the hidden
//! traits; only the in-crate `oracle-myopic` baseline reads those.

mod baselines;
mod spec;

pub use baselines::{Baseline, BaselineKind};
pub use spec::{
    AGENT_KINDS, PolicySpec, canonical, parse_baseline, reads_hidden_traits, tuning_grid,
};

use rayon::prelude::*;

use crate::customer::{Customer, Dynamics, Record, Traits};
use crate::observation::FeatureSpec;
use crate::offer::Offer;
use crate::rng::Purpose;
use crate::scenario::Scenario;
use crate::trail::Trail;

/// Whether a learning policy explores or acts greedily. Baselines ignore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Training: exploration on.
    Explore,
    /// Evaluation: the greedy policy.
    Greedy,
}

/// A policy over the offer space of a scenario.
pub trait Policy: Send {
    /// The policy's spec string, e.g. `cadence:coupon10:4`.
    fn name(&self) -> String;
    /// Chooses one offer per customer of `batch`, writing `out[i]` for customer `i`.
    fn act(&mut self, batch: &ObsBatch<'_>, mode: Mode, out: &mut [Offer]);
    /// How much serving customer `i` its offer `offers[i]` (from the last `act` on the same
    /// batch) is worth, written to `out[i]`, higher first: the order in which offers are kept
    /// when a budget binds ([`crate::scenario::BudgetConfig`]). Only offers that cost the
    /// budget something are ranked. Units are the policy's own; the default ranks every
    /// offer alike (then the lower customer index goes first).
    fn priorities(&mut self, batch: &ObsBatch<'_>, offers: &[Offer], out: &mut [f64]) {
        let _ = (batch, offers);
        out.fill(0.0);
    }
    /// The policy as a per-customer rule, where each customer's offer depends only on that
    /// customer (its record, its own random streams, the scenario) and `act` is exactly that
    /// rule applied to every customer: the simulator may then choose each offer inside its
    /// step pass instead of in a separate pass over the population (the same offers, one pass
    /// less over memory). `None` (the default) for every other policy.
    fn per_customer(&self) -> Option<&dyn PerCustomer> {
        None
    }
    /// Whether the policy reads observation vectors ([`ObsBatch::features_into`]), which need
    /// the customers' [`Trail`]s: true for learners. A population that only policies answering
    /// false act on may be built without trails ([`crate::TrailMode::Drop`]).
    fn reads_observations(&self) -> bool {
        false
    }
}

/// A policy whose offer for customer `i` of a batch depends on that customer only (see
/// [`Policy::per_customer`]).
pub trait PerCustomer: Sync {
    /// The offer for customer `i` of `batch`.
    fn offer(&self, batch: &ObsBatch<'_>, i: usize) -> Offer;
    /// The offer every customer gets every period, for a rule that reads nothing (`none`):
    /// the caller then need not ask for each customer.
    fn constant_offer(&self) -> Option<Offer> {
        None
    }
    /// The offers for every customer of `batch` (a chunk of the population), in order, on the
    /// calling thread: `out[i]` for customer `i`.
    fn offers(&self, batch: &ObsBatch<'_>, out: &mut [Offer]) {
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.offer(batch, i);
        }
    }
}

/// Customers rows the policy acts on in one call of a learning policy's batched forward pass.
pub const ACT_CHUNK: usize = 4096;

/// What a policy may see of a batch of customers in one period.
pub struct ObsBatch<'a> {
    pub(crate) customers: &'a [Customer],
    /// The customers' trails, one per customer; `None` in a population built without them.
    pub(crate) trails: Option<&'a [Trail]>,
    pub(crate) dynamics: &'a Dynamics,
    pub(crate) features: &'a FeatureSpec,
    /// Which customers are present (not yet entered during a burn-in are skipped); `None` =
    /// all.
    pub(crate) present: Option<&'a [bool]>,
}

impl<'a> ObsBatch<'a> {
    /// Number of customers.
    pub fn len(&self) -> usize {
        self.customers.len()
    }
    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.customers.is_empty()
    }
    /// The firm's record of customer `i`.
    pub fn record(&self, i: usize) -> &Record {
        &self.customers[i].record
    }
    /// Whether customer `i` takes part this period.
    pub fn present(&self, i: usize) -> bool {
        self.present.is_none_or(|p| p[i])
    }
    /// Periods left in customer `i`'s scored window, including this one.
    pub fn periods_remaining(&self, i: usize) -> u32 {
        self.dynamics
            .scenario
            .horizon
            .saturating_sub(self.customers[i].record.window_age as u32)
    }
    /// The scenario.
    pub fn scenario(&self) -> &Scenario {
        &self.dynamics.scenario
    }
    /// The observation layout.
    pub fn feature_spec(&self) -> &FeatureSpec {
        self.features
    }
    /// Length of one observation vector.
    pub fn obs_dim(&self) -> usize {
        self.features.dim()
    }
    /// Writes the observations of customers `range` into `out`, row-major
    /// `[range.len(), obs_dim]`, in parallel.
    pub fn features_into(&self, range: std::ops::Range<usize>, out: &mut [f32]) {
        self.features_with(self.features, range, out)
    }
    /// As [`ObsBatch::features_into`] with the layout `spec` (a learner's own feature set),
    /// `[range.len(), spec.dim()]`.
    pub fn features_with(
        &self,
        spec: &FeatureSpec,
        range: std::ops::Range<usize>,
        out: &mut [f32],
    ) {
        let dim = spec.dim();
        let trails = self.trails.expect(
            "observations read the customers' trails: a population built with TrailMode::Drop \
             serves only policies that read no observation",
        );
        let custs = &self.customers[range.clone()];
        out[..custs.len() * dim]
            .par_chunks_mut(dim * 256)
            .zip(custs.par_chunks(256))
            .zip(trails[range].par_chunks(256))
            .for_each(|((rows, cs), ts)| {
                for ((row, c), t) in rows.chunks_mut(dim).zip(cs).zip(ts) {
                    let remaining = self
                        .dynamics
                        .scenario
                        .horizon
                        .saturating_sub(c.record.window_age as u32);
                    spec.write(&c.record, t, remaining, row);
                }
            });
    }
    /// Catalogue offer `code` resolved for customer `i`.
    pub fn catalogue_offer(&self, i: usize, code: usize) -> Offer {
        Offer::from_spec(
            &self.dynamics.scenario.offers[code],
            code as u8,
            &self.customers[i].record,
        )
    }
    /// A uniform in (0, 1) from customer `i`'s policy stream (for randomised policies and
    /// exploration), distinct per period and `index`.
    pub fn uniform(&self, i: usize, index: u32) -> f64 {
        let c = &self.customers[i];
        c.key.uniform(c.clock, Purpose::Policy, index)
    }
    /// Hidden traits: for `oracle-myopic` only.
    pub(crate) fn hidden(&self, i: usize) -> (&Traits, &crate::customer::State) {
        (&self.customers[i].traits, &self.customers[i].state)
    }
}

/// Applies a per-customer rule to every customer in parallel (deterministic: each output
/// depends only on its own customer).
pub(crate) fn act_each<F>(out: &mut [Offer], rule: F)
where
    F: Fn(usize) -> Offer + Sync,
{
    const CHUNK: usize = 2048;
    out.par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(ci, chunk)| {
            for (j, o) in chunk.iter_mut().enumerate() {
                *o = rule(ci * CHUNK + j);
            }
        });
}
