//! Rates and quantiles between two scrapes, as PromQL computes them.
//!
//! `increase`/`rate`: a counter that went down was reset (the member restarted), so the whole
//! current value is the increase, as Prometheus' counter-reset handling does. With only two
//! points there is nothing to extrapolate: the rate is the increase over the time between the
//! two scrapes.
//!
//! `histogram_quantile`: Prometheus' `bucketQuantile` (promql/quantile.go): the rank q·n, the
//! first bucket whose cumulative count reaches it, and linear interpolation inside that bucket;
//! a rank in the `+Inf` bucket gives the highest finite bound.

use super::text::Histogram;

/// How much a counter went up between two scrapes, counting a reset as a restart from zero.
pub fn increase(before: f64, after: f64) -> f64 {
    if after < before {
        after
    } else {
        after - before
    }
}

/// Per-second rate between two scrapes `seconds` apart; None when no time passed.
pub fn rate(before: f64, after: f64, seconds: f64) -> Option<f64> {
    (seconds > 0.0).then(|| increase(before, after) / seconds)
}

/// The histogram of the observations made between two scrapes: bucket by bucket, `after`
/// minus `before`. A reset (the count went down) means `after` holds only new observations.
pub fn delta(before: &Histogram, after: &Histogram) -> Histogram {
    if after.count < before.count {
        return after.clone();
    }
    let buckets = after
        .buckets
        .iter()
        .map(|&(le, n)| {
            let old = before
                .buckets
                .iter()
                .find(|(b, _)| *b == le)
                .map_or(0.0, |(_, c)| *c);
            (le, increase(old, n))
        })
        .collect();
    Histogram {
        buckets,
        count: increase(before.count, after.count),
        sum: increase(before.sum, after.sum),
    }
}

/// PromQL's `histogram_quantile(q, …)` over cumulative `(upper bound, count)` buckets. NaN
/// when there are no observations or no `+Inf` bucket, as in Prometheus.
pub fn histogram_quantile(q: f64, buckets: &[(f64, f64)]) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    let mut b: Vec<(f64, f64)> = buckets.to_vec();
    b.sort_by(|x, y| x.0.total_cmp(&y.0));
    b.dedup_by(|later, earlier| {
        // Prometheus' coalesceBuckets: equal bounds add up.
        if later.0 == earlier.0 {
            earlier.1 += later.1;
            true
        } else {
            false
        }
    });
    if b.last().is_none_or(|l| l.0 != f64::INFINITY) || b.len() < 2 {
        return f64::NAN;
    }
    // ensureMonotonic: a cumulative count never goes down (scrapes are not atomic).
    let mut max = f64::NEG_INFINITY;
    for x in &mut b {
        max = max.max(x.1);
        x.1 = max;
    }
    let observations = b[b.len() - 1].1;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    // sort.Search over every bucket but +Inf.
    let i = b[..b.len() - 1]
        .iter()
        .position(|x| x.1 >= rank)
        .unwrap_or(b.len() - 1);
    if i == b.len() - 1 {
        return b[b.len() - 2].0;
    }
    if i == 0 && b[0].0 <= 0.0 {
        return b[0].0;
    }
    let (mut start, end, mut count) = (0.0, b[i].0, b[i].1);
    if i > 0 {
        start = b[i - 1].0;
        count -= b[i - 1].1;
        rank -= b[i - 1].1;
    }
    start + (end - start) * (rank / count)
}

/// The q-quantile of what was observed between two scrapes; None when nothing was observed.
pub fn quantile_between(q: f64, before: Option<&Histogram>, after: &Histogram) -> Option<f64> {
    let d = match before {
        Some(b) => delta(b, after),
        None => after.clone(),
    };
    let v = histogram_quantile(q, &d.buckets);
    (!v.is_nan()).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    const INF: f64 = f64::INFINITY;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn increase_and_rate_count_a_reset_as_a_restart() {
        assert_eq!(increase(10.0, 25.0), 15.0);
        assert_eq!(increase(100.0, 7.0), 7.0);
        assert_eq!(rate(10.0, 25.0, 2.0), Some(7.5));
        assert_eq!(rate(100.0, 7.0, 2.0), Some(3.5));
        assert_eq!(rate(1.0, 2.0, 0.0), None);
    }

    #[test]
    fn quantile_interpolates_within_the_bucket() {
        // etcd's WAL fsync buckets (0.001 doubling), 100 observations: 50 ≤ 1 ms, 40 in
        // (1, 2] ms, 9 in (2, 4] ms, 1 in (4, 8] ms.
        let b = [
            (0.001, 50.0),
            (0.002, 90.0),
            (0.004, 99.0),
            (0.008, 100.0),
            (INF, 100.0),
        ];
        // p99: rank 99 → bucket (0.002, 0.004], 9 of 9 → 0.004.
        assert!(close(histogram_quantile(0.99, &b), 0.004));
        // p50: rank 50 → first bucket, from 0 to 0.001, 50/50 → 0.001.
        assert!(close(histogram_quantile(0.5, &b), 0.001));
        // p75: rank 75 → (0.001, 0.002], (75-50)/40 → 0.001 + 0.001·0.625 = 0.001625.
        assert!(close(histogram_quantile(0.75, &b), 0.001625));
        // p99.5: rank 99.5 → (0.004, 0.008], 0.5 of 1 → 0.006.
        assert!(close(histogram_quantile(0.995, &b), 0.006));
        // p25: rank 25 → first bucket, 25/50 of 0.001 = 0.0005.
        assert!(close(histogram_quantile(0.25, &b), 0.0005));
    }

    #[test]
    fn quantile_edge_cases_match_prometheus() {
        // Rank in the +Inf bucket: the highest finite bound.
        let b = [(0.1, 1.0), (0.2, 2.0), (INF, 10.0)];
        assert_eq!(histogram_quantile(0.99, &b), 0.2);
        // No observations, no +Inf bucket, one bucket only: NaN.
        assert!(histogram_quantile(0.99, &[(0.1, 0.0), (INF, 0.0)]).is_nan());
        assert!(histogram_quantile(0.5, &[(0.1, 1.0), (0.2, 2.0)]).is_nan());
        assert!(histogram_quantile(0.5, &[(INF, 2.0)]).is_nan());
        // q outside [0, 1].
        assert_eq!(histogram_quantile(-0.1, &b), f64::NEG_INFINITY);
        assert_eq!(histogram_quantile(1.1, &b), INF);
        // A non-monotonic scrape is made monotonic first: (0.2, 1) counts as 3.
        let b = [(0.1, 3.0), (0.2, 1.0), (0.4, 4.0), (INF, 4.0)];
        // rank 3.6 → bucket (0.2, 0.4], (3.6-3)/(4-3) → 0.2 + 0.2·0.6 = 0.32.
        assert!(close(histogram_quantile(0.9, &b), 0.32));
        // Unsorted input and a first bound ≤ 0.
        let b = [(INF, 4.0), (0.0, 2.0), (1.0, 4.0)];
        assert_eq!(histogram_quantile(0.25, &b), 0.0);
    }

    #[test]
    fn quantile_between_two_scrapes_uses_the_new_observations_only() {
        let before = Histogram {
            buckets: vec![
                (0.001, 1000.0),
                (0.002, 1000.0),
                (0.004, 1000.0),
                (INF, 1000.0),
            ],
            count: 1000.0,
            sum: 0.5,
        };
        // 10 new observations, all in (0.002, 0.004]: the p99 of the window is in that bucket
        // (rank 9.9 of 10 → 0.002 + 0.002·0.99 = 0.00398), though over all time p99 ≤ 1 ms.
        let after = Histogram {
            buckets: vec![
                (0.001, 1000.0),
                (0.002, 1000.0),
                (0.004, 1010.0),
                (INF, 1010.0),
            ],
            count: 1010.0,
            sum: 0.53,
        };
        let p99 = quantile_between(0.99, Some(&before), &after).unwrap();
        assert!(close(p99, 0.00398), "{p99}");
        // Over all time: rank 999.9 of 1000 in the first bucket → 0.001·0.9999.
        assert!(close(histogram_quantile(0.99, &after.buckets), 0.0009999));
        // Nothing observed in the window: no quantile.
        assert_eq!(quantile_between(0.99, Some(&after), &after), None);
        // A reset: the later scrape alone.
        let restarted = Histogram {
            buckets: vec![(0.001, 2.0), (0.002, 2.0), (0.004, 2.0), (INF, 2.0)],
            count: 2.0,
            sum: 0.001,
        };
        let d = delta(&after, &restarted);
        assert_eq!(d, restarted);
    }
}
