//! The vectorised population: every customer stepped each period, rayon over fixed chunks of
//! customers, reductions over those chunks in index order (identical results for any number
//! of threads). Builds the start of the scored window (cohort, burn-in or warm start), and
//! evaluates a policy over it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;

use crate::btyd::{CustomerHistory, bgnbd, gamma_gamma, sample_posterior};
use crate::budget::Allocator;
use crate::customer::{Customer, Dynamics, NO_OFFER, PeriodOutcome, Record, State};
use crate::error::{EnvError, Result};
use crate::metrics::{Dollars, EvalResult, PeriodRow, Totals};
use crate::observation::FeatureSpec;
use crate::offer::Offer;
use crate::policy::{Mode, ObsBatch, PerCustomer, Policy, parse_baseline};
use crate::rng::{CustomerKey, Purpose, SeedDomain};
use crate::scenario::{MAX_CUSTOMERS, Scenario, Start, check_memory, histories_path};
use crate::trail::{Trail, TrailMode, TrailSink};

/// Customers per parallel work item. Fixed, so reductions never depend on the thread count.
pub const CHUNK: usize = 2048;

/// Periods a chunk of customers is stepped in a row under a per-customer rule without a
/// budget (each customer's offer then depends on that customer only): each customer steps
/// them one after the other, its state and its `StepCache` at hand, so the
/// population's memory is passed over once per this many periods and the cache is built once
/// per customer for them. Results do not depend on it (every sum is still added in period
/// order, then chunk order); progress is reported once per block, and each chunk holds one
/// `PeriodPart` per period of the block ([`block_bytes_per_customer`]).
pub const PERIOD_BLOCK: u32 = 64;

/// A population of customers at the start of (or during) the scored window.
#[derive(Clone)]
pub struct Population {
    pub(crate) dynamics: Dynamics,
    pub(crate) features: FeatureSpec,
    pub(crate) customers: Vec<Customer>,
    /// Each customer's trail (learners' observations read it); empty where the population
    /// keeps none ([`TrailMode::Drop`]).
    pub(crate) trails: Vec<Trail>,
    trail_mode: TrailMode,
    /// Value segment of each customer (0 high, 1 mid, 2 low), from the start record.
    pub(crate) segment: Vec<u8>,
    seed: u64,
}

impl Population {
    /// Builds `customers` customers of `scenario` from `seed` in `domain`, and runs the start
    /// of the scored window (a burn-in is simulated here). `base_dir` resolves relative paths
    /// of the scenario (warm-start histories). Keeps the customers' trails, so any policy may
    /// act ([`Population::build`] with [`TrailMode::Drop`] for rules only).
    pub fn new(
        scenario: &Scenario,
        domain: SeedDomain,
        seed: u64,
        customers: u64,
        base_dir: &Path,
    ) -> Result<Population> {
        Self::build(scenario, domain, seed, customers, base_dir, TrailMode::Keep)
    }

    /// [`Population::new`], keeping the customers' trails or not (`trail_mode`): a population
    /// without them is smaller and faster to step, and serves only policies that read no
    /// observation. The customers, their records and every result are the same either way.
    pub fn build(
        scenario: &Scenario,
        domain: SeedDomain,
        seed: u64,
        customers: u64,
        base_dir: &Path,
        trail_mode: TrailMode,
    ) -> Result<Population> {
        scenario.validate()?;
        if customers == 0 || customers > MAX_CUSTOMERS {
            return Err(crate::error::invalid(
                "customers",
                format!("must be in 1..={MAX_CUSTOMERS}, got {customers}"),
            ));
        }
        check_memory(customers, 1, trail_mode)?;
        let dynamics = Dynamics::new(scenario);
        let features = FeatureSpec::new(scenario);
        let n = customers as usize;
        let mut pop = Population {
            features,
            customers: Vec::new(),
            trails: match trail_mode {
                TrailMode::Keep => vec![Trail::default(); n],
                TrailMode::Drop => Vec::new(),
            },
            trail_mode,
            segment: vec![2; n],
            seed,
            dynamics,
        };
        match &scenario.start {
            Start::Cohort => {
                pop.customers = (0..n)
                    .into_par_iter()
                    .with_min_len(CHUNK)
                    .map(|i| {
                        pop.dynamics
                            .new_customer(CustomerKey::new(domain, seed, i as u64))
                    })
                    .collect();
            }
            Start::BurnIn { periods, policy } => {
                pop.customers = (0..n)
                    .into_par_iter()
                    .with_min_len(CHUNK)
                    .map(|i| {
                        pop.dynamics
                            .new_customer(CustomerKey::new(domain, seed, i as u64))
                    })
                    .collect();
                let mut burn_policy = parse_baseline(policy, scenario)?;
                pop.burn_in(*periods, &mut burn_policy);
            }
            Start::WarmStart { histories } => {
                let hs = read_histories(&histories_path(histories, base_dir)?)?;
                pop.customers = (0..n)
                    .into_par_iter()
                    .with_min_len(CHUNK)
                    .map(|i| {
                        warm_customer(
                            &pop.dynamics,
                            CustomerKey::new(domain, seed, i as u64),
                            &hs[i % hs.len()],
                        )
                    })
                    .collect();
            }
        }
        for c in &mut pop.customers {
            c.record.window_age = 0;
        }
        pop.assign_segments();
        Ok(pop)
    }

    /// Number of customers.
    pub fn len(&self) -> usize {
        self.customers.len()
    }

    /// Whether the population is empty.
    pub fn is_empty(&self) -> bool {
        self.customers.is_empty()
    }

    /// The scenario.
    pub fn scenario(&self) -> &Scenario {
        &self.dynamics.scenario
    }

    /// The seed the population was built from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The observation layout.
    pub fn feature_spec(&self) -> &FeatureSpec {
        &self.features
    }

    /// The firm record of customer `i`.
    pub fn record(&self, i: usize) -> &Record {
        &self.customers[i].record
    }

    /// Value segment of each customer (0 high, 1 mid, 2 low).
    pub fn segments(&self) -> &[u8] {
        &self.segment
    }

    /// Whether the customers' trails are kept.
    pub fn trail_mode(&self) -> TrailMode {
        self.trail_mode
    }

    /// The trail of customer `i` (`None` where the population keeps none).
    pub fn trail(&self, i: usize) -> Option<&Trail> {
        self.trails.get(i)
    }

    /// A view of the whole population for a policy.
    pub fn batch(&self) -> ObsBatch<'_> {
        ObsBatch {
            customers: &self.customers,
            trails: self.trails_view(),
            dynamics: &self.dynamics,
            features: &self.features,
            present: None,
        }
    }

    fn trails_view(&self) -> Option<&[Trail]> {
        match self.trail_mode {
            TrailMode::Keep => Some(&self.trails),
            TrailMode::Drop => None,
        }
    }

    /// Bytes of simulation state per customer: the customer, plus its trail where kept.
    pub fn state_bytes_per_customer(trail_mode: TrailMode) -> usize {
        std::mem::size_of::<Customer>()
            + match trail_mode {
                TrailMode::Keep => std::mem::size_of::<Trail>(),
                TrailMode::Drop => 0,
            }
    }

    /// Simulates `periods` periods of history with staggered entry: customer i enters at a
    /// uniform period of the burn-in and is then stepped under `policy`.
    fn burn_in(&mut self, periods: u32, policy: &mut dyn Policy) {
        let entry = |c: &Customer| {
            ((c.key.uniform(0, Purpose::Entry, 0) * periods as f64) as u32).min(periods - 1)
        };
        if let Some(rule) = policy.per_customer() {
            // Each customer's periods depend on it only: it steps them in a row.
            let run = BurnInRun {
                dynamics: &self.dynamics,
                features: &self.features,
                rule,
                periods,
                entry: &entry,
            };
            match self.trail_mode {
                TrailMode::Keep => run.step(&mut self.customers, &mut self.trails),
                TrailMode::Drop => {
                    let mut no_trails = vec![(); self.customers.len()];
                    run.step(&mut self.customers, &mut no_trails)
                }
            }
            return;
        }
        let entry: Vec<u32> = self.customers.iter().map(entry).collect();
        let mut offers = vec![Offer::default(); self.customers.len()];
        let mut present = vec![false; self.customers.len()];
        for w in 0..periods {
            for (p, e) in present.iter_mut().zip(&entry) {
                *p = *e < w;
            }
            let batch = ObsBatch {
                customers: &self.customers,
                trails: self.trails_view(),
                dynamics: &self.dynamics,
                features: &self.features,
                present: Some(&present),
            };
            policy.act(&batch, Mode::Greedy, &mut offers);
            match self.trail_mode {
                TrailMode::Keep => step_present(
                    &self.dynamics,
                    &mut self.customers,
                    &mut self.trails,
                    &offers,
                    &present,
                ),
                TrailMode::Drop => step_present(
                    &self.dynamics,
                    &mut self.customers,
                    &mut vec![(); present.len()],
                    &offers,
                    &present,
                ),
            }
        }
    }

    /// Ranks customers by the BG/NBD x Gamma-Gamma expected margin over the segment window,
    /// from their records now (pre-treatment), and assigns high / mid / low.
    fn assign_segments(&mut self) {
        let s = &self.dynamics.scenario;
        let w = s.period_weeks;
        let window = s.segments.window_periods as f64 * w;
        // Customers sharing a record's (x, t_x, T) share their BG/NBD term (a cohort start
        // shares one; a burn-in a few per entry period): each chunk computes it once per
        // distinct triple, the same value either way.
        let values: Vec<f64> = self
            .customers
            .par_chunks(CHUNK)
            .flat_map_iter(|cs| {
                let mut purchases = std::collections::HashMap::new();
                cs.iter()
                    .map(|c| {
                        let r = &c.record;
                        let key = (
                            r.repeat_purchases,
                            r.last_purchase.to_bits(),
                            r.age.to_bits(),
                        );
                        let p = *purchases
                            .entry(key)
                            .or_insert_with(|| classical_purchases(s, r, window));
                        p * classical_spend(s, r) * s.economics.gross_margin
                    })
                    .collect::<Vec<f64>>()
            })
            .collect();
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by(|a, b| values[*b].total_cmp(&values[*a]).then(a.cmp(b)));
        let n = order.len() as f64;
        let high = (s.segments.high_share * n).round() as usize;
        let mid = (s.segments.mid_share * n).round() as usize;
        for (rank, i) in order.into_iter().enumerate() {
            self.segment[i] = if rank < high {
                0
            } else if rank < high + mid {
                1
            } else {
                2
            };
        }
    }

    /// Runs `policy` (greedy) over the scored window of H periods from the current state, and
    /// measures everything [`EvalResult`] holds. `progress` is called after each period.
    pub fn evaluate(&mut self, policy: &mut dyn Policy, progress: &dyn Fn(u32)) -> EvalResult {
        assert!(
            self.trail_mode == TrailMode::Keep || !policy.reads_observations(),
            "{} reads observations, which need the customers' trails: build its population with \
             TrailMode::Keep",
            policy.name()
        );
        let started = Instant::now();
        let s = self.dynamics.scenario.clone();
        let h = s.horizon;
        let short = s.short_horizon.min(h);
        let delta = s.discount_factor();
        let n_offers = s.offers.len();
        let n = self.customers.len();
        let mut clv = vec![0f64; n];
        let mut clv_short = vec![0f64; n];
        let mut marketing = vec![0f64; n];
        // The offers of a period, allocated only for a policy that acts in a separate pass.
        let mut offers: Vec<Offer> = Vec::new();
        let mut by_segment: [Totals; 3] = std::array::from_fn(|_| Totals::new(n_offers));
        let mut series = Vec::with_capacity(h as usize);
        let mut discount = 1.0;
        let mut allocator = Allocator::new(&s, n);
        // A per-customer rule chooses each offer inside the step pass (one pass less over
        // the population), and then each chunk steps `PERIOD_BLOCK` periods in a row; a
        // budget needs every offer of a period first.
        let fused = allocator.is_none() && policy.per_customer().is_some();
        let block = if fused { PERIOD_BLOCK } else { 1 };
        let mut t = 0;
        while t < h {
            let len = block.min(h - t);
            // delta^(t+1): rewards of window period t+1.
            let discounts: Vec<f64> = (0..len)
                .map(|_| {
                    discount *= delta;
                    discount
                })
                .collect();
            if !fused {
                offers.resize(n, Offer::nothing(NO_OFFER));
                policy.act(&self.batch(), Mode::Greedy, &mut offers);
            }
            let allocation = allocator
                .as_mut()
                .map(|a| a.apply(t, &self.batch(), policy, &mut offers));
            let rule = if fused { policy.per_customer() } else { None };
            let pass = PeriodPass {
                dynamics: &self.dynamics,
                features: &self.features,
                segment: &self.segment,
                offers: &offers,
                rule,
                discounts: &discounts,
                first_period: t,
                short,
                n_offers,
            };
            let sums = Sums {
                clv: &mut clv,
                clv_short: &mut clv_short,
                marketing: &mut marketing,
            };
            let parts = match self.trail_mode {
                TrailMode::Keep => pass.run(&mut self.customers, &mut self.trails, sums),
                TrailMode::Drop => pass.run(&mut self.customers, &mut vec![(); n], sums),
            };
            for k in 0..len as usize {
                let mut row = PeriodRow {
                    offers: vec![0; n_offers + 1],
                    ..PeriodRow::default()
                };
                for chunk in &parts {
                    let part = &chunk.periods[k];
                    for (a, d) in by_segment.iter_mut().zip(&part.dollars) {
                        a.merge_dollars(d);
                    }
                    row.reward += part.reward;
                    row.marketing += part.marketing;
                    row.purchases += part.purchases;
                    row.contacts += part.contacts;
                    row.alive += part.alive;
                    let offers = &chunk.offers[k * (n_offers + 1)..(k + 1) * (n_offers + 1)];
                    for (a, b) in row.offers.iter_mut().zip(offers) {
                        *a += b;
                    }
                }
                if let (Some(a), Some(alloc)) = (&allocator, &allocation) {
                    row.committed = alloc.committed;
                    row.budget = a.budget();
                    row.capped = alloc.capped;
                    row.cut = alloc.cut;
                }
                series.push(row);
                progress(t + k as u32 + 1);
            }
            for chunk in &parts {
                for (a, e) in by_segment.iter_mut().zip(&chunk.events) {
                    a.merge_events(e);
                }
            }
            t += len;
        }
        // Counts at the end of the window by segment: [customers, active, opted out].
        let ends = self
            .customers
            .par_chunks(CHUNK)
            .zip(self.segment.par_chunks(CHUNK))
            .map(|(cs, segs)| {
                let mut ends = [[0u64; 3]; 3];
                for (c, seg) in cs.iter().zip(segs) {
                    let e = &mut ends[*seg as usize];
                    e[0] += 1;
                    e[1] += c.state.alive as u64;
                    e[2] += c.record.opted_out as u64;
                }
                ends
            })
            .reduce(
                || [[0u64; 3]; 3],
                |mut a, b| {
                    for (x, y) in a.iter_mut().flatten().zip(b.iter().flatten()) {
                        *x += y;
                    }
                    a
                },
            );
        for (t, [customers, active, opted_out]) in by_segment.iter_mut().zip(ends) {
            t.customers += customers;
            t.active_end += active;
            t.opted_out_end += opted_out;
        }
        EvalResult {
            policy: policy.name(),
            seeds: vec![self.seed],
            horizon: h,
            short_horizon: short,
            clv,
            clv_short,
            marketing,
            segment: self.segment.clone(),
            by_segment,
            series,
            elapsed_seconds: started.elapsed().as_secs_f64(),
        }
    }
}

/// A burn-in under a per-customer rule: each customer steps the periods after its entry in a
/// row (the rule's offer each period depends on it only, so this is the period-by-period
/// burn-in's result).
struct BurnInRun<'a> {
    dynamics: &'a Dynamics,
    features: &'a FeatureSpec,
    rule: &'a dyn PerCustomer,
    /// Burn-in periods.
    periods: u32,
    /// The period after which a customer enters (steps from the next one on).
    entry: &'a (dyn Fn(&Customer) -> u32 + Sync),
}

impl BurnInRun<'_> {
    /// Steps every customer (with its trail where kept: `trails` of `()` otherwise).
    fn step<T: TrailSink + Send>(&self, customers: &mut [Customer], trails: &mut [T]) {
        customers
            .par_chunks_mut(CHUNK)
            .zip(trails.par_chunks_mut(CHUNK))
            .for_each(|(cs, ts)| {
                for (c, t) in cs.iter_mut().zip(ts.iter_mut()) {
                    let mut cache = self.dynamics.step_cache(c);
                    let mut out = PeriodOutcome::default();
                    for _ in (self.entry)(c) + 1..self.periods {
                        let one = ObsBatch {
                            customers: std::slice::from_ref(c),
                            trails: T::view(std::slice::from_ref(t)),
                            dynamics: self.dynamics,
                            features: self.features,
                            present: None,
                        };
                        let offer = self.rule.offer(&one, 0);
                        self.dynamics.step_with(c, t, &offer, &mut cache, &mut out);
                    }
                }
            });
    }
}

/// Steps the customers that are `present` under their `offers` (a burn-in period), with their
/// trails where kept (`trails` of `()` otherwise).
fn step_present<T: TrailSink + Send>(
    dynamics: &Dynamics,
    customers: &mut [Customer],
    trails: &mut [T],
    offers: &[Offer],
    present: &[bool],
) {
    customers
        .par_chunks_mut(CHUNK)
        .zip(trails.par_chunks_mut(CHUNK))
        .zip(offers.par_chunks(CHUNK))
        .zip(present.par_chunks(CHUNK))
        .for_each(|(((cs, ts), os), ps)| {
            for (((c, t), o), p) in cs.iter_mut().zip(ts.iter_mut()).zip(os).zip(ps) {
                if *p {
                    dynamics.step_with(
                        c,
                        t,
                        o,
                        &mut dynamics.step_cache(c),
                        &mut PeriodOutcome::default(),
                    );
                }
            }
        });
}

/// What one block of scored periods of [`Population::evaluate`] reads.
struct PeriodPass<'a> {
    dynamics: &'a Dynamics,
    features: &'a FeatureSpec,
    segment: &'a [u8],
    /// The period's offers, from a separate act pass (unused where `rule` is set).
    offers: &'a [Offer],
    /// A per-customer rule choosing each chunk's offers inside the pass, period by period.
    rule: Option<&'a dyn PerCustomer>,
    /// The discount of each period's rewards (delta^(t+1) for window period t+1); one entry
    /// per period of the block (a single one without `rule`).
    discounts: &'a [f64],
    /// The window period of the block's first period.
    first_period: u32,
    /// The short horizon, periods.
    short: u32,
    n_offers: usize,
}

/// The per-customer sums [`Population::evaluate`] keeps, discounted dollars.
struct Sums<'a> {
    clv: &'a mut [f64],
    clv_short: &'a mut [f64],
    marketing: &'a mut [f64],
}

/// What one chunk's customers add to one period of a block, merged by
/// [`Population::evaluate`] in period order, then chunk order (the order of every dollar sum).
#[derive(Debug, Clone, Copy, Default)]
struct PeriodPart {
    /// Dollars by segment.
    dollars: [Dollars; 3],
    /// The period's rewards, dollars.
    reward: f64,
    /// The period's marketing spend (discounts given plus contact costs), dollars.
    marketing: f64,
    /// Purchases.
    purchases: u64,
    /// Contacts.
    contacts: u64,
    /// Customers alive at the end of the period.
    alive: u64,
}

/// Bytes per customer of the parts a pass over a block of [`PERIOD_BLOCK`] periods holds
/// (one `PeriodPart` per chunk and period; rounded up, contacts by code aside).
pub fn block_bytes_per_customer() -> usize {
    (PERIOD_BLOCK as usize * std::mem::size_of::<PeriodPart>()).div_ceil(CHUNK)
}

/// What one chunk's customers add over a block of periods.
struct ChunkBlock {
    /// One part per period of the block.
    periods: Vec<PeriodPart>,
    /// Contacts by catalogue code of each period (`n_offers + 1` entries per period, the last
    /// for continuous or non-catalogue offers).
    offers: Vec<u64>,
    /// Counts and offers by segment over the block (integers: only their sum over the window
    /// is reported; their dollars stay 0).
    events: [Totals; 3],
}

impl PeriodPass<'_> {
    /// Steps every customer through the block's periods, chunk by chunk (with its trail where
    /// kept: `trails` of `()` otherwise), adding to `sums` in period order; returns what each
    /// chunk adds to each period of the block, in chunk order.
    ///
    /// Under a rule, each customer of a chunk steps the block's periods in a row (its offer
    /// each period depends on it only) while its state is at hand; each period's parts still
    /// receive the chunk's customers in index order and each customer's sums its periods in
    /// order, so every sum is the one stepping the chunk period by period would give.
    fn run<T: TrailSink + Send + Sync>(
        &self,
        customers: &mut [Customer],
        trails: &mut [T],
        sums: Sums<'_>,
    ) -> Vec<ChunkBlock> {
        let n_codes = self.n_offers + 1;
        customers
            .par_chunks_mut(CHUNK)
            .zip(trails.par_chunks_mut(CHUNK))
            .zip(sums.clv.par_chunks_mut(CHUNK))
            .zip(sums.clv_short.par_chunks_mut(CHUNK))
            .zip(sums.marketing.par_chunks_mut(CHUNK))
            .enumerate()
            .map(|(ci, ((((cs, ts), cl), cls), mk))| {
                let len = self.discounts.len();
                let mut block = ChunkBlock {
                    periods: vec![PeriodPart::default(); len],
                    offers: vec![0; len * n_codes],
                    events: std::array::from_fn(|_| Totals::new(self.n_offers)),
                };
                let segments = &self.segment[ci * CHUNK..ci * CHUNK + cs.len()];
                let customer_sums = cl.iter_mut().zip(cls.iter_mut()).zip(mk.iter_mut());
                match self.rule {
                    Some(rule) => {
                        let constant = rule.constant_offer();
                        for (((c, t), &seg), ((cl, cls), mk)) in cs
                            .iter_mut()
                            .zip(ts.iter_mut())
                            .zip(segments)
                            .zip(customer_sums)
                        {
                            let mut sum = CustomerSums {
                                clv: *cl,
                                clv_short: *cls,
                                marketing: *mk,
                            };
                            let mut cache = self.dynamics.step_cache(c);
                            let mut out = PeriodOutcome::default();
                            let events = &mut block.events[seg as usize];
                            for (k, ((&discount, part), offers)) in self
                                .discounts
                                .iter()
                                .zip(block.periods.iter_mut())
                                .zip(block.offers.chunks_exact_mut(n_codes))
                                .enumerate()
                            {
                                let offer = match constant {
                                    Some(o) => o,
                                    None => {
                                        let one = ObsBatch {
                                            customers: std::slice::from_ref(c),
                                            trails: T::view(std::slice::from_ref(t)),
                                            dynamics: self.dynamics,
                                            features: self.features,
                                            present: None,
                                        };
                                        rule.offer(&one, 0)
                                    }
                                };
                                self.dynamics.step_with(c, t, &offer, &mut cache, &mut out);
                                let in_short = self.first_period + (k as u32) < self.short;
                                sum.tally(&out, discount, in_short, seg, part, offers);
                                events.add_events(&out);
                            }
                            (*cl, *cls, *mk) = (sum.clv, sum.clv_short, sum.marketing);
                        }
                    }
                    None => {
                        let offers = &self.offers[ci * CHUNK..ci * CHUNK + cs.len()];
                        let part = &mut block.periods[0];
                        let discount = self.discounts[0];
                        let in_short = self.first_period < self.short;
                        for ((((c, t), &seg), offer), ((cl, cls), mk)) in cs
                            .iter_mut()
                            .zip(ts.iter_mut())
                            .zip(segments)
                            .zip(offers)
                            .zip(customer_sums)
                        {
                            let mut cache = self.dynamics.step_cache(c);
                            let mut out = PeriodOutcome::default();
                            self.dynamics.step_with(c, t, offer, &mut cache, &mut out);
                            let mut sum = CustomerSums {
                                clv: *cl,
                                clv_short: *cls,
                                marketing: *mk,
                            };
                            sum.tally(&out, discount, in_short, seg, part, &mut block.offers);
                            block.events[seg as usize].add_events(&out);
                            (*cl, *cls, *mk) = (sum.clv, sum.clv_short, sum.marketing);
                        }
                    }
                }
                block
            })
            .collect()
    }
}

/// One customer's running sums of [`Population::evaluate`], discounted dollars.
struct CustomerSums {
    clv: f64,
    clv_short: f64,
    marketing: f64,
}

impl CustomerSums {
    /// Adds a period's outcome `out` of a customer of segment `seg` to these sums (rewards
    /// discounted by `discount`; to the short-horizon sum if `in_short`), to the chunk's
    /// `part` of the period and to the period's contacts by code `offers` (not to its counts
    /// by segment: the caller adds them).
    #[inline(always)]
    fn tally(
        &mut self,
        out: &PeriodOutcome,
        discount: f64,
        in_short: bool,
        seg: u8,
        part: &mut PeriodPart,
        offers: &mut [u64],
    ) {
        // A zero reward (most customer-periods) would add +0 to sums that start at +0: skip
        // it.
        if out.reward != 0.0 {
            self.clv += discount * out.reward;
            if in_short {
                self.clv_short += discount * out.reward;
            }
            part.reward += out.reward;
        }
        let spent = out.discount + out.contact_cost;
        if spent != 0.0 {
            self.marketing += discount * spent;
            part.marketing += spent;
        }
        part.dollars[seg as usize].add(out);
        part.purchases += out.purchases as u64;
        part.contacts += out.contacts as u64;
        part.alive += out.alive_end as u64;
        if let Some(code) = out.offer_code {
            let last = offers.len() - 1;
            offers[(code as usize).min(last)] += 1;
        }
    }
}

/// The classical (marketing-blind) predictor of a customer's value over `window_weeks`: BG/NBD
/// conditional expected purchases x Gamma-Gamma conditional spend x gross margin, dollars.
pub fn classical_value(s: &Scenario, r: &Record, window_weeks: f64) -> f64 {
    classical_purchases(s, r, window_weeks) * classical_spend(s, r) * s.economics.gross_margin
}

/// BG/NBD conditional expected purchases over `window_weeks` of a customer with record `r`
/// (depends on its (x, t_x, T) only).
fn classical_purchases(s: &Scenario, r: &Record, window_weeks: f64) -> f64 {
    let w = s.period_weeks;
    bgnbd::conditional_expected_purchases(
        &s.population.bgnbd,
        window_weeks,
        r.repeat_purchases as f64,
        r.last_purchase as f64 * w,
        r.age as f64 * w,
    )
}

/// Gamma-Gamma conditional expected spend per purchase of a customer with record `r`, dollars.
fn classical_spend(s: &Scenario, r: &Record) -> f64 {
    gamma_gamma::conditional_expected_spend(
        &s.population.spend,
        r.repeat_purchases as f64,
        r.mean_repeat_spend() as f64,
    )
}

/// Reads warm-start histories: a CSV with header `customer,x,t_x,T,repeat_spend_total`
/// (weeks, dollars).
pub fn read_histories(path: &Path) -> Result<Vec<CustomerHistory>> {
    let bad = |message: String| EnvError::Histories {
        path: PathBuf::from(path),
        message,
    };
    let text = crate::files::read_text(path, crate::files::MAX_CSV_BYTES)?;
    let mut lines = text.lines().enumerate();
    let header: Vec<&str> = lines
        .next()
        .ok_or_else(|| bad("empty file".into()))?
        .1
        .split(',')
        .map(str::trim)
        .collect();
    let col = |name: &str| {
        header.iter().position(|h| *h == name).ok_or_else(|| {
            bad(format!(
                "missing column {name:?} (header: {})",
                crate::files::excerpt(&header.join(","))
            ))
        })
    };
    let (cx, ctx, ct, cs) = (
        col("x")?,
        col("t_x")?,
        col("T")?,
        col("repeat_spend_total")?,
    );
    let mut out = vec![];
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        let num = |c: usize, name: &str| -> Result<f64> {
            f.get(c)
                .and_then(|v| v.parse::<f64>().ok())
                .ok_or_else(|| bad(format!("line {}: {name} is not a number", i + 1)))
        };
        let h = CustomerHistory {
            x: num(cx, "x")?,
            t_x: num(ctx, "t_x")?,
            big_t: num(ct, "T")?,
            repeat_spend_total: num(cs, "repeat_spend_total")?,
        };
        h.validate()
            .map_err(|e| bad(format!("line {}: {e}", i + 1)))?;
        out.push(h);
    }
    if out.is_empty() {
        return Err(bad("no histories".into()));
    }
    Ok(out)
}

/// A customer starting from a real history, hidden traits from the BG/NBD posterior.
pub(crate) fn warm_customer(d: &Dynamics, key: CustomerKey, h: &CustomerHistory) -> Customer {
    let s = &d.scenario;
    let mut c = d.new_customer(key);
    let post = sample_posterior(
        h,
        &s.population.bgnbd,
        &s.population.spend,
        &mut key.rng(0, Purpose::Posterior, 0),
    );
    c.traits.lambda = (post.lambda * s.period_weeks) as f32;
    c.traits.p_drop = post.p as f32;
    c.traits.nu = post.nu.max(1e-9) as f32;
    c.state = State {
        alive: post.alive,
        ..State::default()
    };
    let w = s.period_weeks as f32;
    let first = c.record.total_spend;
    c.record.age = h.big_t as f32 / w;
    c.record.last_purchase = h.t_x as f32 / w;
    c.record.repeat_purchases = h.x.round() as u32;
    c.record.repeat_spend = h.repeat_spend_total as f32;
    c.record.total_spend = first + h.repeat_spend_total as f32;
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(start: Start) -> Scenario {
        Scenario {
            horizon: 26,
            start,
            ..Scenario::default()
        }
    }

    #[test]
    fn same_seed_same_result_any_thread_count() {
        let s = small(Start::BurnIn {
            periods: 10,
            policy: "cadence:coupon10:4".into(),
        });
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut pop =
                    Population::new(&s, SeedDomain::Test, 5, 5000, Path::new(".")).unwrap();
                let mut p = parse_baseline("churn-risk:0.5:coupon20:4", &s).unwrap();
                pop.evaluate(&mut p, &|_| {})
            })
        };
        let a = run(1);
        let b = run(3);
        assert_eq!(a.clv, b.clv);
        assert_eq!(a.by_segment, b.by_segment);
        assert_eq!(a.series, b.series);
        assert!(a.totals().contacts > 0);
    }

    /// `spec` evaluated on 3,000 test customers of seed 7 of `s`, on `threads` threads.
    fn evaluate_on(s: &Scenario, spec: &str, threads: usize) -> EvalResult {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut pop = Population::new(s, SeedDomain::Test, 7, 3000, Path::new(".")).unwrap();
            let mut p = parse_baseline(spec, s).unwrap();
            pop.evaluate(&mut p, &|_| {})
        })
    }

    fn budgeted(per_period: Option<f64>, cap_contacts: Option<u32>) -> Scenario {
        let mut s = small(Start::BurnIn {
            periods: 20,
            policy: "none".into(),
        });
        s.population.customers = 3000;
        s.budget.per_period = per_period;
        s.budget.cap_contacts = cap_contacts;
        s
    }

    #[test]
    fn a_binding_budget_is_never_exceeded_and_is_thread_invariant() {
        let s = budgeted(Some(40.0), None);
        for spec in ["churn-risk:0.6:coupon20:2", "cadence:coupon10:2", "random"] {
            let a = evaluate_on(&s, spec, 1);
            let b = evaluate_on(&s, spec, 3);
            assert_eq!(a.clv, b.clv, "{spec}");
            assert_eq!(a.series, b.series, "{spec}");
            let mut binding = 0;
            for (t, row) in a.series.iter().enumerate() {
                assert_eq!(row.budget, Some(40.0));
                assert!(
                    row.committed <= 40.0 + 1e-9,
                    "{spec} period {}: committed {} > budget 40",
                    t + 1,
                    row.committed
                );
                binding += usize::from(row.cut > 0);
            }
            assert!(binding > 0, "{spec}: the budget of $40 never bound");
        }
    }

    #[test]
    fn a_budget_that_never_binds_changes_nothing() {
        let free = small(Start::BurnIn {
            periods: 20,
            policy: "none".into(),
        });
        let loose = budgeted(Some(1e12), None);
        let a = evaluate_on(&free, "cadence:coupon10:2", 2);
        let b = evaluate_on(&loose, "cadence:coupon10:2", 2);
        assert_eq!(a.clv, b.clv);
        assert!(b.series.iter().all(|r| r.cut == 0 && r.committed > 0.0));
    }

    #[test]
    fn the_contact_cap_holds_in_every_block() {
        // `fixed:recommend` contacts every reachable customer every period; with a cap of 1
        // per 4 periods a block holds at most one contact per customer, and exactly one for
        // those reachable at the block's first period.
        let s = budgeted(None, Some(1));
        let r = evaluate_on(&s, "fixed:recommend", 2);
        let n = r.customers() as u64;
        for (b, block) in r.series.chunks(4).enumerate() {
            let contacts: u64 = block.iter().map(|row| row.contacts).sum();
            assert!(
                contacts <= n,
                "block {b}: {contacts} contacts for {n} customers"
            );
            assert!(
                block[0].contacts > n / 2,
                "block {b}: {}",
                block[0].contacts
            );
            assert!(block[1..].iter().all(|row| row.contacts == 0), "block {b}");
            assert!(block[1..].iter().all(|row| row.capped > 0), "block {b}");
        }
    }

    /// One of each baseline, with parameters that make them act.
    const RULES: [&str; 8] = [
        "none",
        "random",
        "fixed:coupon20",
        "cadence:coupon10:2",
        "rfm-winback:4:recommend",
        "churn-risk:0.6:coupon20:2",
        "recommend-last:3",
        "oracle-myopic",
    ];

    /// The small scenario after a 20-period burn-in under a coupon cadence (varied records).
    fn after_coupon_burn_in() -> Scenario {
        small(Start::BurnIn {
            periods: 20,
            policy: "cadence:coupon10:4".into(),
        })
    }

    /// The baseline `spec`, its per-customer form hidden behind `random-rank:` if `hidden`
    /// (without a budget it acts as the rule, through the population's separate passes).
    fn rule(spec: &str, s: &Scenario, hidden: bool) -> Box<dyn Policy> {
        let p = parse_baseline(spec, s).unwrap();
        assert!(p.per_customer().is_some(), "{spec}");
        if hidden {
            let p = crate::budget::RandomRank::new(Box::new(p));
            assert!(p.per_customer().is_none());
            Box::new(p)
        } else {
            Box::new(p)
        }
    }

    #[test]
    fn a_burn_in_by_customer_is_the_burn_in_period_by_period() {
        // `random-rank:` hides the rule's per-customer form, so the burn-in steps the
        // population period by period: every customer and trail must come out the same.
        let s = small(Start::Cohort);
        for spec in RULES {
            let run = |hidden: bool| {
                let mut pop =
                    Population::new(&s, SeedDomain::Test, 2, 3000, Path::new(".")).unwrap();
                pop.burn_in(30, rule(spec, &s, hidden).as_mut());
                pop
            };
            let (by_customer, by_period) = (run(false), run(true));
            for (i, (a, b)) in by_customer
                .customers
                .iter()
                .zip(&by_period.customers)
                .enumerate()
            {
                assert_eq!(a.clock, b.clock, "{spec}: customer {i}");
                assert_eq!(a.state, b.state, "{spec}: customer {i}");
                assert_eq!(a.record, b.record, "{spec}: customer {i}");
            }
            assert_eq!(by_customer.trails, by_period.trails, "{spec}");
            assert!(
                by_customer.customers.iter().any(|c| c.clock > 0),
                "{spec}: nobody stepped"
            );
        }
    }

    #[test]
    fn a_rule_chosen_inside_the_step_pass_acts_as_its_separate_pass() {
        // `random-rank:` hides the rule's per-customer form (without a budget it acts as the
        // rule), so the population takes the separate act pass: the results must not differ.
        let s = after_coupon_burn_in();
        for spec in RULES {
            let run = |hidden: bool| {
                let mut pop =
                    Population::new(&s, SeedDomain::Test, 2, 3000, Path::new(".")).unwrap();
                pop.evaluate(rule(spec, &s, hidden).as_mut(), &|_| {})
            };
            let (fused, separate) = (run(false), run(true));
            assert_eq!(fused.clv, separate.clv, "{spec}");
            assert_eq!(fused.series, separate.series, "{spec}");
            assert_eq!(fused.marketing, separate.marketing, "{spec}");
        }
    }

    #[test]
    fn a_population_without_trails_gives_the_same_results_to_rules() {
        // Rules read no trail: dropping the trails changes no draw and no result.
        let s = after_coupon_burn_in();
        for spec in RULES {
            let run = |mode: TrailMode| {
                let mut pop =
                    Population::build(&s, SeedDomain::Test, 4, 3000, Path::new("."), mode).unwrap();
                let mut p = parse_baseline(spec, &s).unwrap();
                assert!(!p.reads_observations());
                let r = pop.evaluate(&mut p, &|_| {});
                (r, pop)
            };
            let (kept, with) = run(TrailMode::Keep);
            let (dropped, without) = run(TrailMode::Drop);
            assert_eq!(kept.clv, dropped.clv, "{spec}");
            assert_eq!(kept.marketing, dropped.marketing, "{spec}");
            assert_eq!(kept.series, dropped.series, "{spec}");
            assert_eq!(kept.by_segment, dropped.by_segment, "{spec}");
            assert!(without.trail(0).is_none() && with.trail(0).is_some());
            for i in 0..with.len() {
                assert_eq!(with.record(i), without.record(i), "{spec}: record {i}");
            }
        }
        assert!(
            Population::state_bytes_per_customer(TrailMode::Drop) <= 128,
            "a population of rules holds at most 128 bytes per customer"
        );
    }

    #[test]
    fn kept_trails_follow_the_contacts_and_the_evidence() {
        let s = small(Start::Cohort);
        let mut pop = Population::new(&s, SeedDomain::Test, 6, 2000, Path::new(".")).unwrap();
        let mut p = parse_baseline("fixed:coupon20", &s).unwrap();
        let r = pop.evaluate(&mut p, &|_| {});
        let contacts: u64 = (0..pop.len())
            .map(|i| pop.trail(i).unwrap().evidence.contacted_periods as u64)
            .sum();
        assert_eq!(contacts, r.totals().contacts);
        let redeemed: u64 = (0..pop.len())
            .map(|i| pop.trail(i).unwrap().evidence.coupons_redeemed[1] as u64)
            .sum();
        assert!(redeemed > 0 && redeemed <= r.totals().redeemed);
        // Every reachable customer was contacted in the last period: its 2-week contact
        // trace holds that contact (1) plus the decayed earlier ones.
        let reachable = (0..pop.len()).find(|i| !pop.record(*i).opted_out).unwrap();
        assert!(pop.trail(reachable).unwrap().contact_traces[0] > 1.0);
    }

    /// A policy that reads observations (as a learner does).
    struct ReadsObservations;

    impl Policy for ReadsObservations {
        fn name(&self) -> String {
            "reads-observations".into()
        }
        fn act(&mut self, batch: &ObsBatch<'_>, _: Mode, out: &mut [Offer]) {
            let mut obs = vec![0f32; batch.len() * batch.obs_dim()];
            batch.features_into(0..batch.len(), &mut obs);
            out.fill(Offer::nothing(NO_OFFER));
        }
        fn reads_observations(&self) -> bool {
            true
        }
    }

    #[test]
    fn a_policy_reading_observations_acts_on_a_population_with_trails() {
        let s = small(Start::Cohort);
        let mut pop = Population::new(&s, SeedDomain::Test, 6, 500, Path::new(".")).unwrap();
        let r = pop.evaluate(&mut ReadsObservations, &|_| {});
        assert_eq!(r.clv.len(), 500);
    }

    #[test]
    #[should_panic(expected = "reads observations")]
    fn a_policy_reading_observations_is_refused_a_population_without_trails() {
        let s = small(Start::Cohort);
        let mut pop = Population::build(
            &s,
            SeedDomain::Test,
            6,
            500,
            Path::new("."),
            TrailMode::Drop,
        )
        .unwrap();
        pop.evaluate(&mut ReadsObservations, &|_| {});
    }

    #[test]
    fn segments_follow_the_configured_shares() {
        let s = small(Start::BurnIn {
            periods: 26,
            policy: "none".into(),
        });
        let pop = Population::new(&s, SeedDomain::Test, 1, 1000, Path::new(".")).unwrap();
        let high = pop.segments().iter().filter(|s| **s == 0).count();
        let mid = pop.segments().iter().filter(|s| **s == 1).count();
        assert_eq!((high, mid), (200, 300));
    }
}
