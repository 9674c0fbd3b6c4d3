//! Cases after Kubernetes' `horizontal_test.go` (`TestNormalizeDesiredReplicas*`,
//! `TestScalingWithRules`) and the examples of its HPA documentation, with the clock
//! explicit.

use super::*;

const SECOND: Duration = Duration::from_secs(1);

fn pods(value: i32, seconds: u64) -> Policy {
    Policy {
        kind: PolicyKind::Pods,
        value,
        period: Duration::from_secs(seconds),
    }
}

fn percent(value: i32, seconds: u64) -> Policy {
    Policy {
        kind: PolicyKind::Percent,
        value,
        period: Duration::from_secs(seconds),
    }
}

fn rules(window: u64, select: Select, policies: Vec<Policy>) -> Rules {
    Rules {
        stabilization_window: Duration::from_secs(window),
        select,
        policies,
    }
}

fn defaults(down_window: u64) -> Behavior {
    Behavior {
        scale_up: Rules::default_scale_up(),
        scale_down: Rules::default_scale_down(Duration::from_secs(down_window)),
    }
}

#[test]
fn default_scale_up_is_the_larger_of_four_pods_and_double() {
    let now = Instant::now();
    let mut history = History::default();
    let got = normalize_with_behavior(&mut history, &defaults(300), 1, 10, 1, 20, now);
    assert_eq!(got.replicas, 5);
    assert_eq!(got.limited, (true, UP_LIMIT.0, UP_LIMIT.1));
    let got = normalize_with_behavior(&mut History::default(), &defaults(300), 10, 50, 1, 100, now);
    assert_eq!(got.replicas, 20);
    // maxReplicas is the tighter bound.
    let got = normalize_with_behavior(&mut History::default(), &defaults(300), 10, 50, 1, 12, now);
    assert_eq!(got.replicas, 12);
    assert_eq!(got.limited.1, "TooManyReplicas");
}

#[test]
fn scale_up_events_use_up_the_period() {
    let start = Instant::now();
    let behavior = defaults(300);
    let mut history = History::default();
    // 2 → 6 (4 pods) now; 5 s later the period still starts at 2: at most max(2+4, 2×2).
    history.record_scale(&behavior, 2, 6, start);
    let got = normalize_with_behavior(&mut history, &behavior, 6, 20, 1, 50, start + 5 * SECOND);
    assert_eq!(got.replicas, 6);
    assert_eq!(got.limited.1, "ScaleUpLimit");
    // Once the 15 s period has passed, a new step of max(+4, ×2) is allowed.
    let got = normalize_with_behavior(&mut history, &behavior, 6, 20, 1, 50, start + 16 * SECOND);
    assert_eq!(got.replicas, 12);
}

#[test]
fn scale_down_is_stabilized_over_the_window() {
    let start = Instant::now();
    let behavior = defaults(300);
    let mut history = History::default();
    history.record_initial(5, start);
    // Metrics ask for 2 a minute later: the highest recommendation of the last 300 s (5)
    // holds.
    let got = normalize_with_behavior(&mut history, &behavior, 5, 2, 1, 10, start + 60 * SECOND);
    assert_eq!(got.replicas, 5);
    assert_eq!(got.able, DOWN_STABILIZED);
    // After the window the lower recommendations win.
    let got = normalize_with_behavior(&mut history, &behavior, 5, 2, 1, 10, start + 400 * SECOND);
    assert_eq!(got.replicas, 2);
    assert_eq!(got.able, READY);
}

#[test]
fn scale_up_stabilization_takes_the_lowest_recent_recommendation() {
    let start = Instant::now();
    let behavior = Behavior {
        scale_up: rules(60, Select::Max, vec![percent(100, 15)]),
        scale_down: Rules::default_scale_down(Duration::ZERO),
    };
    let mut history = History::default();
    history.record_initial(3, start);
    let got = normalize_with_behavior(&mut history, &behavior, 3, 6, 1, 10, start + 10 * SECOND);
    assert_eq!(got.replicas, 3);
    assert_eq!(got.able, UP_STABILIZED);
}

#[test]
fn pods_policy_limits_scale_down_per_period() {
    let start = Instant::now();
    let behavior = Behavior {
        scale_up: Rules::default_scale_up(),
        scale_down: rules(0, Select::Max, vec![pods(1, 60)]),
    };
    let mut history = History::default();
    let got = normalize_with_behavior(&mut history, &behavior, 5, 2, 1, 10, start);
    assert_eq!(got.replicas, 4);
    assert_eq!(got.limited, (true, DOWN_LIMIT.0, DOWN_LIMIT.1));
    history.record_scale(&behavior, 5, 4, start);
    // 30 s later the period began at 5: nothing more may go.
    let got = normalize_with_behavior(&mut history, &behavior, 4, 2, 1, 10, start + 30 * SECOND);
    assert_eq!(got.replicas, 4);
    let got = normalize_with_behavior(&mut history, &behavior, 4, 2, 1, 10, start + 61 * SECOND);
    assert_eq!(got.replicas, 3);
}

#[test]
fn select_policy_min_and_disabled() {
    let now = Instant::now();
    // Documentation example: 4 pods or 10 % per minute; with Max the larger change wins.
    let both = vec![pods(4, 60), percent(10, 60)];
    let behavior = |select| Behavior {
        scale_up: Rules::default_scale_up(),
        scale_down: rules(0, select, both.clone()),
    };
    let got = normalize_with_behavior(
        &mut History::default(),
        &behavior(Select::Max),
        80,
        1,
        1,
        100,
        now,
    );
    assert_eq!(got.replicas, 72); // 10 % of 80 is 8 pods, more than 4
    let got = normalize_with_behavior(
        &mut History::default(),
        &behavior(Select::Min),
        80,
        1,
        1,
        100,
        now,
    );
    assert_eq!(got.replicas, 76);
    let got = normalize_with_behavior(
        &mut History::default(),
        &behavior(Select::Disabled),
        80,
        1,
        1,
        100,
        now,
    );
    assert_eq!(got.replicas, 80);
}

#[test]
fn percent_scale_down_rounds_towards_more_pods() {
    let now = Instant::now();
    let behavior = Behavior {
        scale_up: Rules::default_scale_up(),
        scale_down: rules(0, Select::Max, vec![percent(50, 15)]),
    };
    let got = normalize_with_behavior(&mut History::default(), &behavior, 5, 1, 1, 10, now);
    assert_eq!(got.replicas, 2); // int(5 × 0.5)
}

#[test]
fn min_replicas_bounds_a_scale_down() {
    let now = Instant::now();
    let got = normalize_with_behavior(&mut History::default(), &defaults(0), 5, 1, 3, 10, now);
    assert_eq!(got.replicas, 3);
    assert_eq!(got.limited.1, "TooFewReplicas");
}

#[test]
fn without_behavior_the_older_rules_apply() {
    let start = Instant::now();
    let window = 300 * SECOND;
    let mut history = History::default();
    history.record_initial(4, start);
    // Scale-up: at most max(2 × 4, 4) = 8.
    let got = normalize(&mut history, window, 4, 20, 1, 30, start + SECOND);
    assert_eq!(got.replicas, 8);
    assert_eq!(got.limited, (true, UP_LIMIT.0, UP_LIMIT.1));
    // Scale-down within the window keeps the highest recent recommendation (20, capped).
    let got = normalize(&mut history, window, 8, 2, 1, 30, start + 2 * SECOND);
    assert_eq!(got.replicas, 16);
    assert_eq!(got.able, DOWN_STABILIZED);
    let got = normalize(&mut history, window, 8, 2, 1, 30, start + 400 * SECOND);
    assert_eq!(got.replicas, 2);
}
