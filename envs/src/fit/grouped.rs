//! Customers grouped by what the likelihoods read, so that a fit evaluates each distinct
//! history once instead of once per customer.
//!
//! The BG/NBD likelihood of a customer depends only on (x, t_x, T) (Fader, Hardie & Lee 2005,
//! eq. 6), and the BTYD literature fits it to customers grouped by those values, each group
//! weighted by its size. Here the terms that depend on x alone (the gamma and beta functions)
//! are evaluated once per distinct x, the logarithms of alpha + t once per distinct time, and
//! only the log-sum of the two exponentials once per distinct (x, t_x, T).
//!
//! The Gamma-Gamma likelihood of a repeater (x purchases of mean spend m) is
//! ln Γ(px + q) - ln Γ(px) - ln Γ(q) + q ln γ + (px - 1) ln m + px ln x - (px + q) ln(xm + γ):
//! every term but the last depends on m only through the sum of ln m over the customers with
//! the same x, so only ln(xm + γ) is evaluated once per distinct (x, m).
//!
//! Both give the sum of the per-customer log-likelihoods of [`crate::btyd::bgnbd`] and
//! [`crate::btyd::gamma_gamma`] up to rounding (the terms are added in another order).

use std::collections::HashMap;

use crate::btyd::{BgNbdParams, GammaGammaParams};

/// A sum with Neumaier's compensation: its rounding error stays near one unit in the last
/// place of the total, however many terms. Without it, the error of a plain sum of tens of
/// thousands of customers' terms (about 1e-9 nats for a total of 1e5) exceeds the optimiser's
/// stopping tolerance, and Nelder-Mead runs to its iteration limit chasing rounding noise.
#[derive(Debug, Clone, Copy, Default)]
struct CompensatedSum {
    sum: f64,
    compensation: f64,
}

impl CompensatedSum {
    fn add(&mut self, v: f64) {
        let t = self.sum + v;
        self.compensation += if self.sum.abs() >= v.abs() {
            (self.sum - t) + v
        } else {
            (v - t) + self.sum
        };
        self.sum = t;
    }

    fn total(self) -> f64 {
        self.sum + self.compensation
    }
}

/// Index of `value` in `values`, adding it when new; keyed by its bits, so equal times share
/// an entry.
fn intern(values: &mut Vec<f64>, index: &mut HashMap<u64, u32>, value: f64) -> u32 {
    *index.entry(value.to_bits()).or_insert_with(|| {
        values.push(value);
        (values.len() - 1) as u32
    })
}

/// Customers with repeat purchases who share (x, t_x, T): indices into
/// [`BgNbdGroups`]' tables and the group's size.
#[derive(Debug, Clone, Copy, PartialEq)]
struct RepeatGroup {
    /// Index of x in `xs`.
    x: u32,
    /// Index of t_x in `times`.
    t_x: u32,
    /// Index of T in `times`.
    big_t: u32,
    /// Customers in the group.
    count: f64,
}

/// BG/NBD sufficient statistics of a set of customers: their distinct (x, t_x, T) with counts.
#[derive(Debug, Clone, PartialEq)]
pub struct BgNbdGroups {
    /// Distinct repeat-purchase counts x (0 included when some customer has none).
    xs: Vec<f64>,
    /// Customers per entry of `xs`.
    x_counts: Vec<f64>,
    /// Distinct times (t_x and T values), periods.
    times: Vec<f64>,
    /// Customers without repeat purchases, by index of T in `times`: (T, count).
    no_repeat: Vec<(u32, f64)>,
    /// Customers with repeat purchases, one entry per distinct (x, t_x, T).
    repeat: Vec<RepeatGroup>,
    /// Customers in all.
    customers: usize,
}

impl BgNbdGroups {
    /// Groups customers given as parallel slices of x, t_x and T (periods).
    ///
    /// # Panics
    /// When the slices differ in length.
    pub fn new(x: &[f64], t_x: &[f64], big_t: &[f64]) -> Self {
        assert!(x.len() == t_x.len() && x.len() == big_t.len());
        let (mut xs, mut x_index) = (vec![], HashMap::new());
        let (mut times, mut time_index) = (vec![], HashMap::new());
        let mut x_counts: Vec<f64> = vec![];
        let mut no_repeat: HashMap<u32, f64> = HashMap::new();
        let mut repeat: HashMap<(u32, u32, u32), f64> = HashMap::new();
        for ((&x, &t_x), &big_t) in x.iter().zip(t_x).zip(big_t) {
            let xi = intern(&mut xs, &mut x_index, x);
            if xi as usize == x_counts.len() {
                x_counts.push(0.0);
            }
            x_counts[xi as usize] += 1.0;
            let ti = intern(&mut times, &mut time_index, big_t);
            if x <= 0.0 {
                *no_repeat.entry(ti).or_insert(0.0) += 1.0;
            } else {
                let txi = intern(&mut times, &mut time_index, t_x);
                *repeat.entry((xi, txi, ti)).or_insert(0.0) += 1.0;
            }
        }
        // A fixed order (hash maps iterate in a random one), so that sums are reproducible.
        let mut no_repeat: Vec<(u32, f64)> = no_repeat.into_iter().collect();
        no_repeat.sort_unstable_by_key(|g| g.0);
        let mut repeat: Vec<RepeatGroup> = repeat
            .into_iter()
            .map(|((x, t_x, big_t), count)| RepeatGroup {
                x,
                t_x,
                big_t,
                count,
            })
            .collect();
        repeat.sort_unstable_by_key(|g| (g.x, g.t_x, g.big_t));
        BgNbdGroups {
            xs,
            x_counts,
            times,
            no_repeat,
            repeat,
            customers: x.len(),
        }
    }

    /// Customers grouped.
    pub fn customers(&self) -> usize {
        self.customers
    }

    /// Distinct (x, t_x, T) among them.
    pub fn groups(&self) -> usize {
        self.no_repeat.len() + self.repeat.len()
    }

    /// Sum over the customers of [`crate::btyd::bgnbd::log_likelihood`], in nats.
    pub fn log_likelihood(&self, p: &BgNbdParams) -> f64 {
        let BgNbdParams { r, alpha, a, b } = *p;
        // Per distinct x: the gamma and beta terms (a1 + a2 of eq. 6 without r ln alpha, which
        // is added once for everyone) and ln a - ln(b + x - 1).
        let (ln_gamma_r, ln_gamma_b) = (ln_gamma(r), ln_gamma(b));
        let ln_gamma_ab = ln_gamma(a + b);
        let mut total = CompensatedSum::default();
        total.add(self.customers as f64 * r * alpha.ln());
        let mut ln_odds_x = Vec::with_capacity(self.xs.len());
        for (&x, &n) in self.xs.iter().zip(&self.x_counts) {
            let a12 = ln_gamma(r + x) - ln_gamma_r + ln_gamma_ab + ln_gamma(b + x)
                - ln_gamma_b
                - ln_gamma(a + b + x);
            total.add(n * a12);
            ln_odds_x.push(if x > 0.0 {
                a.ln() - (b + x - 1.0).ln()
            } else {
                0.0
            });
        }
        let ln_times: Vec<f64> = self.times.iter().map(|&t| (alpha + t).ln()).collect();
        for &(t, n) in &self.no_repeat {
            total.add(-n * r * ln_times[t as usize]);
        }
        for g in &self.repeat {
            let rx = r + self.xs[g.x as usize];
            let a3 = -rx * ln_times[g.big_t as usize];
            let a4 = ln_odds_x[g.x as usize] - rx * ln_times[g.t_x as usize];
            let m = a3.max(a4);
            total.add(g.count * (m + ((a3 - m).exp() + (a4 - m).exp()).ln()));
        }
        total.total()
    }
}

/// Gamma-Gamma sufficient statistics of the repeaters: per distinct x, the count and the sum
/// of ln(mean spend); and each distinct (x, mean spend) with its count.
#[derive(Debug, Clone, PartialEq)]
pub struct SpendGroups {
    /// Distinct x (all > 0).
    xs: Vec<f64>,
    /// Customers per entry of `xs`.
    x_counts: Vec<f64>,
    /// Sum of ln(mean spend) per entry of `xs`.
    sum_ln_spend: Vec<f64>,
    /// Distinct (index of x, total spend x m) with counts.
    totals: Vec<(u32, f64, f64)>,
    /// Customers in all.
    customers: usize,
}

impl SpendGroups {
    /// Groups customers with x > 0 (the others carry no spend information and are skipped,
    /// as [`crate::btyd::gamma_gamma::total_log_likelihood`] does) given as parallel slices of x and mean
    /// spend (dollars).
    ///
    /// # Panics
    /// When the slices differ in length.
    pub fn new(x: &[f64], mean_spend: &[f64]) -> Self {
        assert_eq!(x.len(), mean_spend.len());
        let (mut xs, mut x_index) = (vec![], HashMap::new());
        let (mut x_counts, mut sum_ln_spend): (Vec<f64>, Vec<f64>) = (vec![], vec![]);
        let mut totals: HashMap<(u32, u64), f64> = HashMap::new();
        let mut customers = 0;
        for (&x, &m) in x.iter().zip(mean_spend) {
            if x <= 0.0 {
                continue;
            }
            customers += 1;
            let xi = intern(&mut xs, &mut x_index, x);
            if xi as usize == x_counts.len() {
                x_counts.push(0.0);
                sum_ln_spend.push(0.0);
            }
            x_counts[xi as usize] += 1.0;
            sum_ln_spend[xi as usize] += m.ln();
            *totals.entry((xi, (x * m).to_bits())).or_insert(0.0) += 1.0;
        }
        let mut totals: Vec<(u32, f64, f64)> = totals
            .into_iter()
            .map(|((xi, bits), n)| (xi, f64::from_bits(bits), n))
            .collect();
        totals.sort_unstable_by(|a, b| (a.0, a.1).partial_cmp(&(b.0, b.1)).expect("not NaN"));
        SpendGroups {
            xs,
            x_counts,
            sum_ln_spend,
            totals,
            customers,
        }
    }

    /// Customers grouped (those with x > 0).
    pub fn customers(&self) -> usize {
        self.customers
    }

    /// Sum over the customers of [`crate::btyd::gamma_gamma::log_likelihood`], in nats.
    pub fn log_likelihood(&self, g: &GammaGammaParams) -> f64 {
        let GammaGammaParams { p, q, gamma } = *g;
        let (ln_gamma_q, ln_g) = (ln_gamma(q), gamma.ln());
        let mut total = CompensatedSum::default();
        for ((&x, &n), &sum_ln_m) in self.xs.iter().zip(&self.x_counts).zip(&self.sum_ln_spend) {
            let px = p * x;
            total.add(n * (ln_gamma(px + q) - ln_gamma(px) - ln_gamma_q + q * ln_g + px * x.ln()));
            total.add((px - 1.0) * sum_ln_m);
        }
        for &(xi, z, n) in &self.totals {
            total.add(-n * (p * self.xs[xi as usize] + q) * (z + gamma).ln());
        }
        total.total()
    }
}

/// ln Γ as the per-customer likelihoods use it.
fn ln_gamma(x: f64) -> f64 {
    statrs::function::gamma::ln_gamma(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::btyd::{bgnbd, gamma_gamma};

    /// A small set of histories with repeats among them: (x, t_x, T).
    fn histories() -> Vec<(f64, f64, f64)> {
        let mut h = vec![];
        for i in 0..200 {
            let x = f64::from(i % 5);
            let big_t = 30.0 + f64::from(i % 7);
            let t_x = if x > 0.0 {
                big_t * f64::from(i % 3 + 1) / 4.0
            } else {
                0.0
            };
            h.push((x, t_x, big_t));
        }
        h
    }

    #[test]
    fn grouped_bgnbd_matches_the_per_customer_sum() {
        let h = histories();
        let x: Vec<f64> = h.iter().map(|v| v.0).collect();
        let t_x: Vec<f64> = h.iter().map(|v| v.1).collect();
        let big_t: Vec<f64> = h.iter().map(|v| v.2).collect();
        let groups = BgNbdGroups::new(&x, &t_x, &big_t);
        assert_eq!(groups.customers(), 200);
        assert!(groups.groups() < 200);
        for p in [
            BgNbdParams::default(),
            BgNbdParams {
                r: 2.0,
                alpha: 0.3,
                a: 1.5,
                b: 0.2,
            },
        ] {
            let want = bgnbd::total_log_likelihood(&p, &x, &t_x, &big_t).unwrap();
            let got = groups.log_likelihood(&p);
            assert!((got - want).abs() <= 1e-12 * want.abs(), "{got} vs {want}");
        }
    }

    #[test]
    fn grouped_gamma_gamma_matches_the_per_customer_sum() {
        let h = histories();
        let x: Vec<f64> = h.iter().map(|v| v.0).collect();
        let m: Vec<f64> = (0..h.len()).map(|i| 5.0 + (i % 11) as f64 * 3.25).collect();
        let groups = SpendGroups::new(&x, &m);
        assert_eq!(groups.customers(), x.iter().filter(|&&x| x > 0.0).count());
        for g in [
            GammaGammaParams::default(),
            GammaGammaParams {
                p: 0.7,
                q: 12.0,
                gamma: 300.0,
            },
        ] {
            let want = gamma_gamma::total_log_likelihood(&g, &x, &m).unwrap();
            let got = groups.log_likelihood(&g);
            assert!((got - want).abs() <= 1e-12 * want.abs(), "{got} vs {want}");
        }
    }
}
