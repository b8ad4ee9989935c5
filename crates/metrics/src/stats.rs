//! Means, medians and p90 of a set of values (durations in seconds, or shares).

use serde::Serialize;

/// Summary of durations in seconds (or of any non-negative values), with a target when one applies.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Durations {
    pub count: u64,
    pub mean_secs: Option<f64>,
    pub median_secs: Option<f64>,
    pub p90_secs: Option<f64>,
    /// The mean must stay below this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_secs: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub met: Option<bool>,
}

impl Durations {
    pub fn of(values: impl Iterator<Item = f64>, target: Option<f64>) -> Self {
        let mut v: Vec<f64> = values.filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let mean = (n > 0).then(|| v.iter().sum::<f64>() / n as f64);
        Self {
            count: n as u64,
            mean_secs: mean,
            median_secs: quantile(&v, 0.5),
            p90_secs: quantile(&v, 0.9),
            target_secs: target,
            met: target.and_then(|t| mean.map(|m| m < t)),
        }
    }
}

/// Nearest-rank quantile of sorted values.
pub(crate) fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let d = Durations::of([5.0, 1.0, 3.0, 2.0, 4.0].into_iter(), Some(3.5));
        assert_eq!(d.count, 5);
        assert_eq!(d.mean_secs, Some(3.0));
        assert_eq!(d.median_secs, Some(3.0));
        assert_eq!(d.p90_secs, Some(5.0));
        assert_eq!(d.met, Some(true));
        let e = Durations::of(std::iter::empty(), Some(1.0));
        assert_eq!((e.count, e.mean_secs, e.met), (0, None, None));
    }
}
