//! Cases after Kubernetes' `replica_calculator_test.go` (one container per pod; requests
//! of one core unless said), with the clock explicit.

use super::*;

const TOLERANCE: f64 = 0.1;
const MINUTE: Duration = Duration::from_secs(60);

fn calculator() -> Calculator {
    Calculator {
        tolerance: TOLERANCE,
        cpu_initialization_period: 2 * MINUTE,
        initial_readiness_delay: Duration::from_secs(10),
    }
}

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000)
}

/// Ready pods started long ago (Kubernetes' tests: zero start and transition times).
fn pods(readiness: &[bool]) -> Vec<PodInfo> {
    readiness
        .iter()
        .enumerate()
        .map(|(i, ready)| PodInfo {
            name: format!("pod-{i}"),
            phase: "Running".into(),
            deleting: false,
            readiness: Some(Readiness {
                ready: *ready,
                since: SystemTime::UNIX_EPOCH,
            }),
            start_time: Some(SystemTime::UNIX_EPOCH),
        })
        .collect()
}

fn samples(levels: &[i64]) -> BTreeMap<String, Sample> {
    levels
        .iter()
        .enumerate()
        .map(|(i, milli)| {
            (
                format!("pod-{i}"),
                Sample {
                    milli: *milli,
                    timestamp: now(),
                    window: MINUTE,
                },
            )
        })
        .collect()
}

fn requests(milli: &[i64]) -> BTreeMap<String, i64> {
    milli
        .iter()
        .enumerate()
        .map(|(i, m)| (format!("pod-{i}"), *m))
        .collect()
}

fn cpu(
    current: i32,
    target: i32,
    pods: &[PodInfo],
    levels: &[i64],
) -> Result<ResourceProposal, CalcError> {
    let req = requests(&vec![1000; pods.len()]);
    calculator().resource_replicas(current, target, true, pods, &samples(levels), &req, now())
}

#[test]
fn scale_up() {
    let got = cpu(3, 30, &pods(&[true; 3]), &[300, 500, 700]).expect("proposal");
    assert_eq!(
        got,
        ResourceProposal {
            replicas: 5,
            utilization: 50,
            raw_average: 500
        }
    );
}

#[test]
fn scale_up_with_an_unready_pod_scales_less() {
    let got = cpu(3, 30, &pods(&[false, true, true]), &[300, 500, 700]).expect("proposal");
    assert_eq!(
        (got.replicas, got.utilization, got.raw_average),
        (4, 60, 600)
    );
}

#[test]
fn unready_pods_that_would_reverse_the_direction_keep_the_count() {
    let got = cpu(3, 30, &pods(&[true, false, false]), &[400, 500, 700]).expect("proposal");
    assert_eq!((got.replicas, got.utilization), (3, 40));
}

#[test]
fn a_warming_up_cpu_pod_counts_as_unready_on_a_scale_up() {
    let mut pods = pods(&[true; 3]);
    // Started 10 s ago, ready for 5 s: its one-minute sample mostly predates readiness.
    pods[0].start_time = Some(now() - Duration::from_secs(10));
    pods[0].readiness = Some(Readiness {
        ready: true,
        since: now() - Duration::from_secs(5),
    });
    let got = cpu(3, 30, &pods, &[300, 500, 700]).expect("proposal");
    assert_eq!((got.replicas, got.utilization), (4, 60));
}

#[test]
fn scale_down() {
    let got = cpu(5, 50, &pods(&[true; 5]), &[100, 300, 500, 250, 250]).expect("proposal");
    assert_eq!(
        (got.replicas, got.utilization, got.raw_average),
        (3, 28, 280)
    );
}

#[test]
fn scale_down_counts_only_ready_pods() {
    let got = cpu(
        5,
        50,
        &pods(&[true, true, true, false, false]),
        &[100, 300, 500, 250, 250],
    )
    .expect("proposal");
    assert_eq!((got.replicas, got.utilization), (2, 30));
}

#[test]
fn pods_being_deleted_are_ignored() {
    let mut all = pods(&[true; 7]);
    all[5].deleting = true;
    all[6].deleting = true;
    let got = cpu(5, 50, &all, &[100, 300, 500, 250, 250]).expect("proposal");
    assert_eq!(got.replicas, 3);
}

#[test]
fn within_tolerance_nothing_changes() {
    let req = requests(&[900, 1000, 1100]);
    let got = calculator()
        .resource_replicas(
            3,
            100,
            true,
            &pods(&[true; 3]),
            &samples(&[1010, 1030, 1020]),
            &req,
            now(),
        )
        .expect("proposal");
    assert_eq!((got.replicas, got.utilization), (3, 102));
}

#[test]
fn missing_metrics_count_as_full_on_a_scale_down() {
    // Two of four pods report 10 % and 30 %; the two silent ones count at 100 %, which
    // turns the scale-down into an increase: the count stays.
    let got = cpu(4, 50, &pods(&[true; 4]), &[100, 300]).expect("proposal");
    assert_eq!((got.replicas, got.utilization), (4, 20));
    // With a low enough usage the scale-down survives, smaller.
    let got = cpu(4, 90, &pods(&[true; 4]), &[10, 10]).expect("proposal");
    assert_eq!(got.replicas, 3);
}

#[test]
fn missing_metrics_count_as_zero_on_a_scale_up() {
    let got = cpu(4, 50, &pods(&[true; 4]), &[1000, 1000]).expect("proposal");
    // Ratio 2.0 over the two reporting pods; with two zeros it is 1.0: no change.
    assert_eq!(got.replicas, 4);
    let got = cpu(4, 30, &pods(&[true; 4]), &[900, 900]).expect("proposal");
    // 1800 / 4000 = 45 % → ratio 1.5 → ceil(1.5 × 4) = 6.
    assert_eq!(got.replicas, 6);
}

#[test]
fn no_pods_and_no_ready_metrics_are_errors() {
    assert_eq!(cpu(1, 50, &[], &[]), Err(CalcError::NoPods));
    let mut pending = pods(&[true]);
    pending[0].phase = "Pending".into();
    assert_eq!(cpu(1, 50, &pending, &[500]), Err(CalcError::NoReadyMetrics));
}

#[test]
fn pods_metric_scale_up_and_down() {
    let c = calculator();
    let got = c
        .plain_replicas(
            3,
            15_000,
            false,
            &pods(&[true; 3]),
            &samples(&[20_000, 10_000, 30_000]),
            now(),
        )
        .expect("proposal");
    assert_eq!(
        got,
        PlainProposal {
            replicas: 4,
            average: 20_000
        }
    );
    let got = c
        .plain_replicas(
            5,
            20_000,
            false,
            &pods(&[true; 5]),
            &samples(&[12_000; 5]),
            now(),
        )
        .expect("proposal");
    assert_eq!(got.replicas, 3);
}

#[test]
fn documented_example_doubles_at_twice_the_target() {
    // Kubernetes' docs: 200m current against 100m desired doubles the replicas.
    let got = calculator()
        .plain_replicas(1, 100, true, &pods(&[true]), &samples(&[200]), now())
        .expect("proposal");
    assert_eq!(got.replicas, 2);
}
