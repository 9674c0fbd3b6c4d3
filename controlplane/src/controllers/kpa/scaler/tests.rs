//! The scaler against the examples of Knative's `pkg/autoscaler/scaling/autoscaler_test.go`,
//! with the same settings (rates 10, panic threshold 200 %, stable window 60 s) and
//! explicit time.

use super::*;
use crate::controllers::kpa::annotations::Metric;
use std::time::Duration;

const STABLE_WINDOW: Duration = Duration::from_secs(60);
const TICK: Duration = Duration::from_secs(2);

fn spec(target: f64) -> Settings {
    Settings {
        metric: Metric::Concurrency,
        target,
        stable_window: STABLE_WINDOW,
        panic_window: Duration::from_secs(6),
        panic_threshold: 2.0,
        max_scale_up_rate: 10.0,
        max_scale_down_rate: 10.0,
        min_scale: 0,
        max_scale: 0,
        initial_scale: 1,
        activation_scale: 1,
        enable_scale_to_zero: true,
        grace_period: Duration::from_secs(30),
        retention: Duration::ZERO,
        scale_down_delay: Duration::ZERO,
    }
}

fn seen(ready: u32, stable: f64, panic: f64) -> Observation {
    Observation {
        ready,
        stable,
        panic,
    }
}

/// Knative's test autoscaler: created while one pod is ready.
fn scaler(s: &Settings, now: Instant) -> Scaler {
    Scaler::new(s, 1, now)
}

#[test]
fn stable_mode_increase() {
    let (s, t) = (spec(10.0), Instant::now());
    let mut a = scaler(&s, t);
    assert_eq!(a.scale(&s, seen(1, 50.0, 10.0), t), 5);
    assert_eq!(a.scale(&s, seen(1, 100.0, 10.0), t), 10);
}

#[test]
fn unpanic_after_slow_increase() {
    let (s, start) = (spec(1.0), Instant::now());
    let mut a = scaler(&s, start);
    assert_eq!(a.scale(&s, seen(10, 11.0, 25.0), start), 25);
    assert_eq!(a.panic_since, Some(start));
    let half = start + STABLE_WINDOW / 2;
    assert_eq!(a.scale(&s, seen(40, 30.0, 41.0), half), 41);
    assert_eq!(a.panic_since, Some(start), "panic time does not move");
    let end = half + STABLE_WINDOW / 2 + TICK;
    assert_eq!(
        a.scale(&s, seen(55, 50.0, 56.0), end),
        50,
        "no longer in panic"
    );
    assert_eq!(a.mode(), Mode::Stable);
}

#[test]
fn extend_panic_window() {
    let (s, start) = (spec(1.0), Instant::now());
    let mut a = scaler(&s, start);
    assert_eq!(a.scale(&s, seen(10, 11.0, 25.0), start), 25);
    let half = start + STABLE_WINDOW / 2;
    assert_eq!(a.scale(&s, seen(40, 30.0, 80.0), half), 80);
    assert_eq!(a.panic_since, Some(half));
}

#[test]
fn stable_mode_decrease() {
    let (s, t) = (spec(10.0), Instant::now());
    let mut a = scaler(&s, t);
    assert_eq!(a.scale(&s, seen(8, 100.0, 100.0), t), 10);
    assert_eq!(a.scale(&s, seen(8, 50.0, 50.0), t), 5);
}

#[test]
fn no_traffic_scales_to_zero() {
    let (s, t) = (spec(10.0), Instant::now());
    let mut a = scaler(&s, t);
    assert_eq!(a.scale(&s, seen(1, 1.0, 0.0), t), 1);
    assert_eq!(a.scale(&s, seen(1, 0.0, 0.0), t), 0);
}

#[test]
fn activation_scale_is_a_floor_once_there_is_demand() {
    let t = Instant::now();
    let s = Settings {
        activation_scale: 2,
        ..spec(10.0)
    };
    let mut a = scaler(&s, t);
    assert_eq!(a.scale(&s, seen(1, 0.0, 0.0), t), 0);
    assert_eq!(a.scale(&s, seen(1, 1.0, 0.0), t), 2);
}

#[test]
fn panic_mode_tracks_exponential_growth() {
    let (s, t0) = (spec(1.0), Instant::now());
    let mut a = scaler(&s, t0);
    assert_eq!(a.scale(&s, seen(1, 6.0, 6.0), t0), 6);
    assert_eq!(a.scale(&s, seen(6, 36.0, 36.0), t0), 36);
    assert_eq!(a.panic_since, Some(t0));
    let t1 = t0 + Duration::from_secs(1);
    assert_eq!(a.scale(&s, seen(36, 216.0, 216.0), t1), 216);
    assert_eq!(a.scale(&s, seen(216, 1296.0, 1296.0), t1), 1296);
    let t2 = t1 + Duration::from_secs(1);
    assert_eq!(a.scale(&s, seen(1296, 1296.0, 1296.0), t2), 1296);
}

/// `TestAutoscalerScale`'s table.
#[test]
fn scale_table() {
    let t = Instant::now();
    let panicking = |s: &Settings| {
        let mut a = scaler(s, t);
        a.panic_since = Some(t - Duration::from_secs(5));
        a.max_panic_pods = 5;
        a
    };
    let s = spec(1.0);
    assert_eq!(
        panicking(&s).scale(&s, seen(5, 50.0, 30.0), t),
        50,
        "stable larger"
    );
    assert_eq!(
        panicking(&s).scale(&s, seen(5, 20.0, 30.0), t),
        30,
        "panic larger"
    );
    let s = spec(10.0);
    assert_eq!(
        scaler(&s, t).scale(&s, seen(1, 50.0, 50.0), t),
        5,
        "no change"
    );
    assert_eq!(
        scaler(&s, t).scale(&s, seen(5, 50.0, 50.0), t),
        5,
        "already scaled"
    );
    assert_eq!(
        scaler(&s, t).scale(&s, seen(1, 0.0, 0.0), t),
        0,
        "no data at zero"
    );
    let s = Settings {
        max_scale_up_rate: 1.1,
        ..spec(1.0)
    };
    assert_eq!(
        scaler(&s, t).scale(&s, seen(2, 3.0, 3.1), t),
        3,
        "small scale-up rate"
    );
    let s = Settings {
        max_scale_down_rate: 1.1,
        ..spec(10.0)
    };
    assert_eq!(
        scaler(&s, t).scale(&s, seen(100, 1.0, 1.0), t),
        90,
        "small scale-down rate"
    );
    let s = spec(10.0);
    assert_eq!(
        scaler(&s, t).scale(&s, seen(1, 50.0, 100.0), t),
        10,
        "panic doubles"
    );
}

#[test]
fn panic_then_unpanic_scale_down() {
    let (s, t) = (spec(10.0), Instant::now());
    let mut a = scaler(&s, t);
    assert_eq!(a.scale(&s, seen(1, 100.0, 100.0), t), 10);
    let panic = t;
    assert_eq!(a.scale(&s, seen(10, 100.0, 1000.0), panic), 100);
    let later = panic + Duration::from_secs(30);
    assert_eq!(
        a.scale(&s, seen(10, 1.0, 1.0), later),
        100,
        "no scale-down in panic"
    );
    let after = panic + Duration::from_secs(61);
    assert_eq!(
        a.scale(&s, seen(10, 1.0, 1.0), after),
        1,
        "after the stable window"
    );
}

#[test]
fn rate_limits_scale_up_and_down() {
    let (s, t) = (spec(10.0), Instant::now());
    let mut a = scaler(&s, t);
    assert_eq!(a.scale(&s, seen(1, 1000.0, 1001.0), t), 10, "×10 at most");
    assert_eq!(a.scale(&s, seen(10, 1000.0, 1001.0), t), 100, "×10 again");
    let mut a = scaler(&s, t);
    assert_eq!(a.scale(&s, seen(100, 1.0, 1.0), t), 10, "÷10 at most");
    assert_eq!(a.scale(&s, seen(10, 1.0, 1.0), t), 1, "÷10 again");
}

#[test]
fn no_ready_pod_counts_as_one() {
    let (s, t) = (spec(10.0), Instant::now());
    assert_eq!(scaler(&s, t).scale(&s, seen(0, 1000.0, 888.0), t), 10);
}

#[test]
fn starts_in_panic_above_one_pod() {
    let (s, t) = (spec(100.0), Instant::now());
    for ready in 0..2 {
        let a = Scaler::new(&s, ready, t);
        assert_eq!(a.mode(), Mode::Stable);
        assert_eq!(a.max_panic_pods, ready);
    }
    let a = Scaler::new(&s, 2, t);
    assert_eq!(a.mode(), Mode::Panic);
    assert_eq!(a.max_panic_pods, 2);
}

/// `TestAutoscalerScaleDownDelay`.
#[test]
fn scale_down_delay_holds_the_largest_recommendation() {
    let s = Settings {
        panic_threshold: 100.0,
        scale_down_delay: Duration::from_secs(300),
        ..spec(10.0)
    };
    let t0 = Instant::now();
    let minute = Duration::from_secs(60);
    let secs = Duration::from_secs;
    let mut a = Scaler::new(&s, 0, t0);
    assert_eq!(a.scale(&s, seen(0, 40.0, 40.0), t0 + secs(2)), 4);
    assert_eq!(a.scale(&s, seen(0, 0.0, 0.0), t0 + 5 * minute), 4);
    assert_eq!(a.scale(&s, seen(0, 0.0, 0.0), t0 + 5 * minute + secs(2)), 0);
    assert_eq!(a.scale(&s, seen(0, 40.0, 40.0), t0 + 9 * minute), 4);
    assert_eq!(a.scale(&s, seen(0, 30.0, 30.0), t0 + 10 * minute), 4);
    assert_eq!(a.scale(&s, seen(0, 0.0, 0.0), t0 + 11 * minute), 4);
    assert_eq!(a.scale(&s, seen(0, 0.0, 0.0), t0 + 14 * minute), 3);
    assert_eq!(a.scale(&s, seen(0, 0.0, 0.0), t0 + 15 * minute), 0);
}
