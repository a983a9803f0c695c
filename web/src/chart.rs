//! The Stats tab's charts without the DOM: the samples kept (the last five minutes), rates
//! from the agent's cumulative counters, and SVG polyline points. Pure, so it is unit-tested
//! on the host.

use shared::live::StatsSample;
use std::collections::VecDeque;

/// Samples kept: five minutes at one a second.
pub const KEPT: usize = 300;
/// The charts' drawing box (SVG user units).
pub const WIDTH: f64 = 300.0;
pub const HEIGHT: f64 = 60.0;

/// Appends `sample`, forgetting what is older than [`KEPT`] samples, and everything when the
/// counters went back (the container restarted: a new series).
pub fn push(samples: &mut VecDeque<StatsSample>, sample: StatsSample) {
    if samples
        .back()
        .is_some_and(|last| sample.net_rx < last.net_rx || sample.block_read < last.block_read)
    {
        samples.clear();
    }
    samples.push_back(sample);
    while samples.len() > KEPT {
        samples.pop_front();
    }
}

/// Per-second rates of a cumulative counter, one per pair of samples.
pub fn rates(samples: &VecDeque<StatsSample>, counter: impl Fn(&StatsSample) -> u64) -> Vec<f64> {
    samples
        .iter()
        .zip(samples.iter().skip(1))
        .map(|(a, b)| {
            let secs = b.time_ms.saturating_sub(a.time_ms) as f64 / 1000.0;
            if secs <= 0.0 {
                0.0
            } else {
                counter(b).saturating_sub(counter(a)) as f64 / secs
            }
        })
        .collect()
}

/// A top for the chart's scale: at least `floor`, and above every value.
pub fn scale(values: &[&[f64]], floor: f64) -> f64 {
    values
        .iter()
        .flat_map(|v| v.iter())
        .fold(floor, |top, v| top.max(*v))
}

/// `values` as polyline points, the newest at the right edge, one slot per sample of a full
/// [`KEPT`]-sample window, `top` at the top of the box.
pub fn points(values: &[f64], top: f64) -> String {
    let step = WIDTH / (KEPT - 1) as f64;
    let start = KEPT.saturating_sub(values.len());
    let top = if top > 0.0 { top } else { 1.0 };
    // One sample is a short level line (a single point draws nothing).
    let single = [values.first().copied().unwrap_or(0.0); 2];
    let (values, start) = if values.len() == 1 {
        (&single[..], KEPT - 2)
    } else {
        (values, start)
    };
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let x = (start + i) as f64 * step;
            let y = HEIGHT - (v / top).clamp(0.0, 1.0) * HEIGHT;
            format!(
                "{},{}",
                crate::format::fixed(x, 1),
                crate::format::fixed(y, 1)
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64, rx: u64) -> StatsSample {
        StatsSample {
            time_ms: ms,
            net_rx: rx,
            ..Default::default()
        }
    }

    #[test]
    fn keeps_five_minutes_and_restarts_series() {
        let mut s = VecDeque::new();
        for i in 0..400 {
            push(&mut s, at(i * 1000, i));
        }
        assert_eq!(s.len(), KEPT);
        assert_eq!(s.front().unwrap().net_rx, 100);
        push(&mut s, at(500_000, 0));
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn rates_per_second() {
        let s: VecDeque<_> = [at(0, 0), at(2000, 1000), at(3000, 1500), at(3000, 2000)].into();
        assert_eq!(rates(&s, |x| x.net_rx), [500.0, 500.0, 0.0]);
        assert!(rates(&VecDeque::new(), |x| x.net_rx).is_empty());
    }

    #[test]
    fn points_fill_from_the_right() {
        assert_eq!(
            points(&[0.0, 50.0, 100.0], 100.0),
            "298.0,60.0 299.0,30.0 300.0,0.0"
        );
        assert_eq!(points(&[5.0], 0.0), "299.0,0.0 300.0,0.0");
        assert_eq!(points(&[], 1.0), "");
        assert_eq!(scale(&[&[1.0, 7.0], &[3.0]], 5.0), 7.0);
        assert_eq!(scale(&[&[]], 5.0), 5.0);
    }
}
