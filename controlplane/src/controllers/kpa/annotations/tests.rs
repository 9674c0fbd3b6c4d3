//! Unit tests of the annotations: Knative's defaults, the Deployment winning over its
//! template, and Knative's wording for each bad value.

use super::*;

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn kpa(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut m = map(pairs);
    m.insert(CLASS.into(), KPA.into());
    m
}

fn messages(deployment: &BTreeMap<String, String>) -> Vec<String> {
    validate(&Annotations::new(Some(deployment), None))
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn defaults_are_knatives() {
    let m = kpa(&[]);
    let s = settings(&Annotations::new(Some(&m), None), &Config::default())
        .expect("as the test set up");
    assert_eq!(s.metric, Metric::Concurrency);
    assert!((s.target - 70.0).abs() < 1e-9, "100 × 70 %");
    assert_eq!(s.stable_window, Duration::from_secs(60));
    assert_eq!(s.panic_window, Duration::from_secs(6));
    assert!((s.panic_threshold - 2.0).abs() < 1e-9);
    assert_eq!((s.min_scale, s.max_scale, s.initial_scale), (0, 0, 1));
    assert_eq!(s.activation_scale, 1);
    assert_eq!(s.grace_period, Duration::from_secs(30));
}

#[test]
fn annotations_override_and_the_deployment_wins() {
    let deployment = kpa(&[(TARGET, "10"), (WINDOW, "6s")]);
    let template = map(&[
        (TARGET, "50"),
        (METRIC, "rps"),
        (TARGET_UTILIZATION, "100"),
        (MIN_SCALE, "2"),
        (PANIC_WINDOW_PERCENTAGE, "50"),
    ]);
    let a = Annotations::new(Some(&deployment), Some(&template));
    let s = settings(&a, &Config::default()).expect("as the test set up");
    assert_eq!(s.metric, Metric::Rps);
    assert!((s.target - 10.0).abs() < 1e-9);
    assert_eq!(s.stable_window, Duration::from_secs(6));
    assert_eq!(s.panic_window, Duration::from_secs(3));
    assert_eq!(s.min_scale, 2);
}

#[test]
fn opting_in_is_the_kpa_class_on_either() {
    let template = kpa(&[]);
    assert!(Annotations::new(None, Some(&template)).opted_in());
    let hpa = map(&[(CLASS, HPA)]);
    assert!(!Annotations::new(Some(&hpa), Some(&template)).opted_in());
    assert!(!Annotations::new(None, None).opted_in());
}

#[test]
fn bad_values_are_reported_in_knatives_words() {
    let cases: &[(&str, &str, &str)] = &[
        (
            MIN_SCALE,
            "-1",
            "expected 0 <= -1 <= 2147483647: metadata.annotations.autoscaling.knative.dev/min-scale",
        ),
        (
            MAX_SCALE,
            "many",
            "invalid value: many: metadata.annotations.autoscaling.knative.dev/max-scale",
        ),
        (
            WINDOW,
            "5s",
            "expected 6s <= 5s <= 1h0m0s: metadata.annotations.autoscaling.knative.dev/window",
        ),
        (
            WINDOW,
            "6500ms",
            "must be specified with at most second precision: metadata.annotations.autoscaling.knative.dev/window",
        ),
        (
            TARGET,
            "0",
            "target 0 should be at least 0.01: metadata.annotations.autoscaling.knative.dev/target",
        ),
        (
            TARGET,
            "-3",
            "target -3 should be at least 0.01: metadata.annotations.autoscaling.knative.dev/target",
        ),
        (
            PANIC_THRESHOLD_PERCENTAGE,
            "100",
            "expected 110 <= 100 <= 1000: metadata.annotations.autoscaling.knative.dev/panic-threshold-percentage",
        ),
        (
            METRIC,
            "cpu",
            "invalid value: cpu: metadata.annotations.autoscaling.knative.dev/metric",
        ),
        (
            SCALE_DOWN_DELAY,
            "-1s",
            "expected 0s <= -1s <= 1h0m0s: metadata.annotations.autoscaling.knative.dev/scale-down-delay",
        ),
        (
            RETENTION,
            "soon",
            "invalid value: soon: metadata.annotations.autoscaling.knative.dev/scale-to-zero-pod-retention-period",
        ),
        (
            INITIAL_SCALE,
            "-2",
            "invalid value: -2: metadata.annotations.autoscaling.knative.dev/initial-scale must be greater than 0",
        ),
        (
            ACTIVATION_SCALE,
            "1",
            "activation-scale=1 must be greater than 1: metadata.annotations.autoscaling.knative.dev/activation-scale",
        ),
    ];
    for (key, value, want) in cases {
        assert_eq!(
            messages(&kpa(&[(key, value)])),
            vec![want.to_string()],
            "{key}={value}"
        );
    }
}

#[test]
fn contradictions_are_refused_as_knative_does() {
    assert_eq!(
        messages(&kpa(&[(MIN_SCALE, "3"), (MAX_SCALE, "1")])),
        vec![
            "max-scale=1 is less than min-scale=3: metadata.annotations.autoscaling.knative.dev/max-scale, metadata.annotations.autoscaling.knative.dev/min-scale"
        ]
    );
    assert_eq!(
        messages(&kpa(&[(MIN_SCALE, "3"), (ACTIVATION_SCALE, "2")])),
        vec![
            "min-scale=3 is greater than activation-scale=2: metadata.annotations.autoscaling.knative.dev/activation-scale"
        ]
    );
    assert!(messages(&kpa(&[(MIN_SCALE, "3"), (MAX_SCALE, "0")])).is_empty());
}

#[test]
fn template_problems_name_the_template() {
    let template = map(&[(MIN_SCALE, "x")]);
    let deployment = kpa(&[]);
    let problems = validate(&Annotations::new(Some(&deployment), Some(&template)));
    assert_eq!(
        problems[0].field,
        "spec.template.metadata.annotations.autoscaling.knative.dev/min-scale"
    );
}

#[test]
fn without_the_class_nothing_is_checked() {
    let m = map(&[(MIN_SCALE, "-1")]);
    assert!(validate(&Annotations::new(Some(&m), None)).is_empty());
    let unknown = map(&[(CLASS, "foo.knative.dev")]);
    assert_eq!(
        validate(&Annotations::new(Some(&unknown), None))[0].message,
        "invalid value: foo.knative.dev"
    );
}

#[test]
fn zero_initial_scale_needs_the_cluster_to_allow_it() {
    let m = kpa(&[(INITIAL_SCALE, "0")]);
    let a = Annotations::new(Some(&m), None);
    assert!(validate(&a).is_empty());
    assert!(settings(&a, &Config::default()).is_err());
    let allowing = Config {
        allow_zero_initial_scale: true,
        ..Config::default()
    };
    assert_eq!(
        settings(&a, &allowing)
            .expect("as the test set up")
            .initial_scale,
        0
    );
}
