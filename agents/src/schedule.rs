//! The exploration schedule: epsilon falls linearly, then stays at its floor.

use serde::{Deserialize, Serialize};

/// A linear schedule from `start` at step 0 to `end` at step `duration`, flat afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LinearSchedule {
    /// Value at step 0.
    pub start: f64,
    /// Value from step `duration` on.
    pub end: f64,
    /// Steps (environment transitions) over which the value moves from `start` to `end`.
    pub duration: u64,
}

impl LinearSchedule {
    /// The schedule's value at `step` (environment transitions collected so far).
    pub fn value_at(&self, step: u64) -> f64 {
        if self.duration == 0 || step >= self.duration {
            return self.end;
        }
        let frac = step as f64 / self.duration as f64;
        self.start + (self.end - self.start) * frac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_then_flat() {
        let s = LinearSchedule {
            start: 1.0,
            end: 0.05,
            duration: 1000,
        };
        assert_eq!(s.value_at(0), 1.0);
        assert!((s.value_at(500) - 0.525).abs() < 1e-12);
        assert_eq!(s.value_at(1000), 0.05);
        assert_eq!(s.value_at(1_000_000), 0.05);
        let instant = LinearSchedule { duration: 0, ..s };
        assert_eq!(instant.value_at(0), 0.05);
    }
}
