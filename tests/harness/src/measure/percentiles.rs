//! Percentiles of measured values, medians of rounds, and quantiles of a process's own
//! Prometheus histogram (what it observed itself, read from `/metrics`).

/// The value at percentile `p` (0–100, nearest rank) of `sorted`.
pub fn percentile<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// The median of `values` (the mean of the middle two of an even count); NaN if none.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// A Prometheus histogram as a process exposes it: cumulative counts by upper bound
/// (`le`), sum and count.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    /// (upper bound, observations at or below it), by bound; the last is `+Inf`.
    pub buckets: Vec<(f64, f64)>,
    /// The sum of the observations.
    pub sum: f64,
    /// How many observations.
    pub count: f64,
}

/// A quantile estimated from a [`Histogram`], with the bucket it lies in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantile {
    /// The estimate.
    pub value: f64,
    /// The bucket's lower bound (the previous bucket's `le`, 0 for the first).
    pub lower: f64,
    /// The bucket's upper bound (`le`).
    pub upper: f64,
}

impl Histogram {
    /// Histogram `name` (without `_bucket`) of a `/metrics` text exposition; `None` if
    /// it has no buckets or a line does not parse. Series with other labels than `le`
    /// are not told apart: the histogram must be a single series.
    pub fn parse(metrics: &str, name: &str) -> Option<Self> {
        let (bucket, sum, count) = (
            format!("{name}_bucket{{le=\""),
            format!("{name}_sum"),
            format!("{name}_count"),
        );
        let mut histogram = Self::default();
        for line in metrics.lines().filter(|l| l.starts_with(name)) {
            let (series, value) = line.rsplit_once(' ')?;
            let value: f64 = value.parse().ok()?;
            if let Some(rest) = series.strip_prefix(&bucket) {
                let bound = rest.trim_end_matches("\"}");
                let bound = if bound == "+Inf" {
                    f64::INFINITY
                } else {
                    bound.parse().ok()?
                };
                histogram.buckets.push((bound, value));
            } else if series == sum {
                histogram.sum = value;
            } else if series == count {
                histogram.count = value;
            }
        }
        histogram.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        (!histogram.buckets.is_empty()).then_some(histogram)
    }

    /// What was observed since `earlier` (a reading of the same histogram).
    pub fn minus(&self, earlier: &Self) -> Self {
        Self {
            buckets: self
                .buckets
                .iter()
                .map(|&(le, n)| {
                    let before = earlier
                        .buckets
                        .iter()
                        .find(|b| b.0 == le)
                        .map_or(0.0, |b| b.1);
                    (le, n - before)
                })
                .collect(),
            sum: self.sum - earlier.sum,
            count: self.count - earlier.count,
        }
    }

    /// The exact mean (`sum / count`); 0 without observations.
    pub fn mean(&self) -> f64 {
        if self.count > 0.0 {
            self.sum / self.count
        } else {
            0.0
        }
    }

    /// Quantile `q` (0–1) as Prometheus' `histogram_quantile` estimates it: linear
    /// interpolation within the bucket holding the rank (from 0 for the first bucket);
    /// in the `+Inf` bucket, the highest finite bound. NaN without observations.
    pub fn quantile(&self, q: f64) -> Quantile {
        let none = Quantile {
            value: f64::NAN,
            lower: f64::NAN,
            upper: f64::NAN,
        };
        let Some(&(_, total)) = self.buckets.last() else {
            return none;
        };
        if total <= 0.0 {
            return none;
        }
        let rank = q * total;
        let mut lower = (0.0, 0.0);
        for &(le, cumulative) in &self.buckets {
            if cumulative >= rank {
                if le.is_infinite() {
                    return Quantile {
                        value: lower.0,
                        lower: lower.0,
                        upper: le,
                    };
                }
                let within = cumulative - lower.1;
                let fraction = if within > 0.0 {
                    (rank - lower.1) / within
                } else {
                    1.0
                };
                return Quantile {
                    value: lower.0 + (le - lower.0) * fraction,
                    lower: lower.0,
                    upper: le,
                };
            }
            lower = (le, cumulative);
        }
        Quantile {
            value: lower.0,
            lower: lower.0,
            upper: f64::INFINITY,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&values, 50.0), Some(50));
        assert_eq!(percentile(&values, 99.0), Some(99));
        assert_eq!(percentile(&values, 100.0), Some(100));
        assert_eq!(percentile(&values, 0.0), Some(1));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile::<u32>(&[], 50.0), None);
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    const METRICS: &str = "\
# HELP lag_seconds Commit to ack.
# TYPE lag_seconds histogram
lag_seconds_bucket{le=\"0.005\"} 10
lag_seconds_bucket{le=\"0.01\"} 50
lag_seconds_bucket{le=\"0.025\"} 90
lag_seconds_bucket{le=\"+Inf\"} 100
lag_seconds_sum 1.5
lag_seconds_count 100
lag_seconds_other 3
";

    #[test]
    fn a_histogram_is_read_from_the_exposition() {
        let histogram = Histogram::parse(METRICS, "lag_seconds").unwrap();
        assert_eq!(
            histogram.buckets,
            [
                (0.005, 10.0),
                (0.01, 50.0),
                (0.025, 90.0),
                (f64::INFINITY, 100.0)
            ]
        );
        assert_eq!((histogram.sum, histogram.count), (1.5, 100.0));
        assert_eq!(histogram.mean(), 0.015);
        assert_eq!(Histogram::parse(METRICS, "missing_seconds"), None);
    }

    #[test]
    fn quantiles_interpolate_within_the_bucket_like_histogram_quantile() {
        let histogram = Histogram::parse(METRICS, "lag_seconds").unwrap();
        // Rank 5 of 10 in the first bucket: half way from 0 to 5 ms.
        let p5 = histogram.quantile(0.05);
        assert!((p5.value - 0.0025).abs() < 1e-12);
        assert_eq!((p5.lower, p5.upper), (0.0, 0.005));
        // Rank 70: 20 of the 40 between 10 and 25 ms.
        let p70 = histogram.quantile(0.70);
        assert!((p70.value - 0.0175).abs() < 1e-12);
        assert_eq!((p70.lower, p70.upper), (0.01, 0.025));
        // Rank 99 is in +Inf: the highest finite bound.
        let p99 = histogram.quantile(0.99);
        assert_eq!(
            (p99.value, p99.lower, p99.upper),
            (0.025, 0.025, f64::INFINITY)
        );
        assert!(Histogram::default().quantile(0.5).value.is_nan());
    }

    #[test]
    fn the_difference_of_two_readings_is_what_was_observed_between() {
        let before = Histogram {
            buckets: vec![(0.01, 5.0), (f64::INFINITY, 6.0)],
            sum: 0.1,
            count: 6.0,
        };
        let after = Histogram {
            buckets: vec![(0.01, 15.0), (f64::INFINITY, 20.0)],
            sum: 0.5,
            count: 20.0,
        };
        let delta = after.minus(&before);
        assert_eq!(delta.buckets, [(0.01, 10.0), (f64::INFINITY, 14.0)]);
        assert_eq!(delta.count, 14.0);
        assert!((delta.sum - 0.4).abs() < 1e-12);
    }
}
