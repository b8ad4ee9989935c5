//! Alert-flood protection: an anomalous ingest volume pauses automated response (never ingestion).
//!
//! Alerts accepted are counted per minute. The guard trips when the last minute's count is over
//! both `flood_min_per_minute` and `flood_factor` times the median of the previous hour's minutes
//! (so a steady high volume is not a flood, and a quiet system does not trip on a small burst).
//! In the first 15 minutes after start, with no baseline yet, only a minute over `flood_factor` times
//! `flood_min_per_minute` trips it.

use std::collections::VecDeque;
use std::sync::Mutex;

pub(crate) struct FloodGuard {
    min_per_minute: u64,
    factor: f64,
    /// (minute since the epoch, alerts accepted in it), oldest first, at most 61 entries.
    minutes: Mutex<VecDeque<(i64, u64)>>,
    first: Mutex<Option<i64>>,
}

/// Minutes of history before the relative test applies.
const WARMUP: i64 = 15;

impl FloodGuard {
    pub(crate) fn new(min_per_minute: u64, factor: f64) -> Self {
        Self {
            min_per_minute,
            factor,
            minutes: Mutex::new(VecDeque::new()),
            first: Mutex::new(None),
        }
    }

    /// Counts `n` alerts accepted at `minute`; returns why it is a flood, when it is one.
    pub(crate) fn record(&self, minute: i64, n: u64) -> Option<String> {
        if self.min_per_minute == 0 {
            return None;
        }
        let first = *self
            .first
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(minute);
        let mut m = self.minutes.lock().unwrap_or_else(|e| e.into_inner());
        match m.back_mut() {
            Some((t, c)) if *t == minute => *c += n,
            _ => m.push_back((minute, n)),
        }
        while m.front().is_some_and(|(t, _)| *t < minute - 60) {
            m.pop_front();
        }
        let now = m.back().map(|(_, c)| *c).unwrap_or(0);
        if now <= self.min_per_minute {
            return None;
        }
        if minute - first < WARMUP {
            let cap = self.factor * self.min_per_minute as f64;
            return (now as f64 > cap).then(|| {
                format!(
                    "alert flood: {now} alerts in the last minute, over {cap} with no baseline yet"
                )
            });
        }
        // The previous hour's minutes since start, quiet ones (absent) counted as zero.
        let mut past: Vec<u64> = ((minute - 60).max(first)..minute)
            .map(|t| {
                m.iter()
                    .find(|(x, _)| *x == t)
                    .map(|(_, c)| *c)
                    .unwrap_or(0)
            })
            .collect();
        past.sort_unstable();
        let median = past[past.len() / 2] as f64;
        if now as f64 > self.factor * median {
            Some(format!(
                "alert flood: {now} alerts in the last minute (median {median} per minute over the previous hour, \
                 threshold {}x and at least {})",
                self.factor, self.min_per_minute
            ))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_over_the_baseline_trips_a_steady_volume_does_not() {
        let g = FloodGuard::new(1000, 10.0);
        for t in 0..60 {
            assert!(g.record(t, 500).is_none(), "steady, under the floor");
        }
        assert!(g.record(60, 900).is_none(), "under the floor");
        let why = g.record(61, 6000).expect("12x the median");
        assert!(why.contains("6000 alerts"), "{why}");

        let steady = FloodGuard::new(1000, 10.0);
        for t in 0..120 {
            assert!(
                steady.record(t, 5000).is_none(),
                "a steady high volume is not a flood"
            );
        }
        let cold = FloodGuard::new(1000, 10.0);
        assert!(
            cold.record(0, 9000).is_none(),
            "no baseline: only the absolute cap"
        );
        assert!(cold.record(1, 20_000).is_some());
        let off = FloodGuard::new(0, 10.0);
        assert!(off.record(0, 1_000_000).is_none(), "disabled");
    }
}
