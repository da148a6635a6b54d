//! What the firm keeps of a customer only for learners' observations: the decayed contact and
//! discount traces and the evidence counts ([`Evidence`]). Rules read none of it, so a
//! population that only rules act on does not keep it (48 bytes per customer less, and a step
//! that skips its updates); one that a learner may read keeps it beside its customers, and
//! steps it exactly as before.

use crate::customer::PeriodOutcome;
use crate::evidence::Evidence;
use crate::offer::Offer;

/// Half-lives of the decayed contact and discount traces, weeks.
pub const TRACE_HALF_LIVES_WEEKS: [f64; 3] = [2.0, 8.0, 26.0];

/// One customer's trail: what a learner's observation reads beyond the [`crate::Record`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Trail {
    /// Contacts, decayed at [`TRACE_HALF_LIVES_WEEKS`].
    pub contact_traces: [f32; 3],
    /// Redeemed discount depths, decayed at [`TRACE_HALF_LIVES_WEEKS`].
    pub discount_traces: [f32; 3],
    /// Offers received and answered, purchases in contacted vs uncontacted periods.
    pub evidence: Evidence,
}

/// Whether a population keeps its customers' trails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrailMode {
    /// Kept: any policy may act, learners included (the default).
    Keep,
    /// Not kept: only policies that read no observation (baselines, oracles) may act.
    Drop,
}

impl TrailMode {
    /// [`TrailMode::Keep`] if any of the policies reads observations, else [`TrailMode::Drop`].
    pub fn for_policies<'a>(
        mut reads_observations: impl Iterator<Item = &'a dyn crate::Policy>,
    ) -> TrailMode {
        if reads_observations.any(|p| p.reads_observations()) {
            TrailMode::Keep
        } else {
            TrailMode::Drop
        }
    }
}

/// Where a step writes a customer's trail: its [`Trail`], or nowhere (`()`, in a population
/// that keeps none). The step is compiled once for each, so a population without trails pays
/// nothing for them.
pub(crate) trait TrailSink: Sized {
    /// Whether the trail is kept (the step then notes what the evidence needs).
    const KEPT: bool;
    /// The trails of a run of customers, for a policy's view (`None` where none is kept).
    fn view(trails: &[Self]) -> Option<&[Trail]>;
    /// The period's decay: each trace times `decay[i]`.
    fn decay(&mut self, decay: &[f32; 3]);
    /// A delivered contact: each contact trace grows by 1.
    fn contact(&mut self);
    /// A redeemed coupon of depth `depth` (share of list price): each discount trace grows by it.
    fn redeem(&mut self, depth: f32);
    /// The period's evidence: the `offer` sent, what happened, and whether a purchase fell in
    /// the recommended category.
    fn period(&mut self, offer: &Offer, out: &PeriodOutcome, bought_recommended: bool);
}

impl TrailSink for () {
    const KEPT: bool = false;
    fn view(_: &[()]) -> Option<&[Trail]> {
        None
    }
    #[inline(always)]
    fn decay(&mut self, _: &[f32; 3]) {}
    #[inline(always)]
    fn contact(&mut self) {}
    #[inline(always)]
    fn redeem(&mut self, _: f32) {}
    #[inline(always)]
    fn period(&mut self, _: &Offer, _: &PeriodOutcome, _: bool) {}
}

impl TrailSink for Trail {
    const KEPT: bool = true;
    fn view(trails: &[Trail]) -> Option<&[Trail]> {
        Some(trails)
    }
    #[inline]
    fn decay(&mut self, decay: &[f32; 3]) {
        for ((contact, discount), d) in self
            .contact_traces
            .iter_mut()
            .zip(self.discount_traces.iter_mut())
            .zip(decay)
        {
            *contact *= d;
            *discount *= d;
        }
    }
    #[inline]
    fn contact(&mut self) {
        for trace in self.contact_traces.iter_mut() {
            *trace += 1.0;
        }
    }
    #[inline]
    fn redeem(&mut self, depth: f32) {
        for trace in self.discount_traces.iter_mut() {
            *trace += depth;
        }
    }
    #[inline]
    fn period(&mut self, offer: &Offer, out: &PeriodOutcome, bought_recommended: bool) {
        self.evidence.add_period(offer, out, bought_recommended);
    }
}
