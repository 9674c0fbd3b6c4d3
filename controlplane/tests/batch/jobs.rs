//! The Job controller: pods run to `completions`, `parallelism` at a time; failures up to
//! `backoffLimit`; `activeDeadlineSeconds`; `ttlSecondsAfterFinished`; suspension;
//! `Indexed` Jobs; a deleted pod's success is kept; a Job deleted without a policy
//! orphans its pods.

use crate::{Cluster, condition, eventually, found, has_condition, is_active, job};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ContainerStatus, Pod, PodStatus};
use skiff_controlplane::apiserver::handlers::delete::{self, DeleteOptions};
use skiff_controlplane::controllers::job::{COMPLETION_INDEX, TRACKING_FINALIZER};
use std::collections::BTreeSet;

const NS: &str = "default";

fn tracked(pod: &Pod) -> bool {
    pod.metadata
        .finalizers
        .iter()
        .flatten()
        .any(|f| f == TRACKING_FINALIZER)
}

#[tokio::test]
async fn ten_completions_three_at_a_time_complete_the_job() {
    let cluster = Cluster::start().await;
    let tracker = cluster.track(NS, "ten");
    cluster.create(&job(NS, "ten", 10, 3)).await;
    let mut finished = BTreeSet::new();
    while finished.len() < 10 {
        // Wait for the next pod to play, then run it to success.
        let next = eventually("a pod to run", || async {
            cluster
                .job_pods(NS, "ten")
                .into_iter()
                .find(|p| is_active(p) && !finished.contains(&p.metadata.uid))
        })
        .await;
        if finished.is_empty() {
            // Before anything finishes, the controller starts exactly `parallelism` pods.
            eventually("three pods", || async {
                (cluster.job_pods(NS, "ten").len() == 3).then_some(())
            })
            .await;
        }
        cluster.run_pod(&next).await;
        cluster.finish_pod(&next, 0).await;
        finished.insert(next.metadata.uid.clone());
    }
    let done = cluster.job_condition(NS, "ten", "Complete").await;
    let status = done.status.clone().expect("status");
    assert_eq!(status.succeeded, Some(10));
    assert_eq!(status.failed, None);
    assert_eq!(status.active, None);
    assert_eq!(status.ready, Some(0));
    assert!(status.start_time.is_some() && status.completion_time.is_some());
    assert!(has_condition(&done, "SuccessCriteriaMet"));
    let uncounted = status.uncounted_terminated_pods.expect("tracked");
    assert!(uncounted.succeeded.is_none() && uncounted.failed.is_none());
    assert!(
        tracker.max_active() <= 3,
        "{} pods active at once",
        tracker.max_active()
    );
    assert_eq!(tracker.max_active(), 3);
    assert_eq!(tracker.pods(), 10, "one pod per completion, no more");
    let pods = cluster.job_pods(NS, "ten");
    assert_eq!(pods.len(), 10);
    assert!(
        pods.iter().all(|p| !tracked(p)),
        "every pod released once counted"
    );
    let selector = done
        .spec
        .as_ref()
        .and_then(|s| s.selector.as_ref())
        .expect("selector");
    let uid = done.metadata.uid.clone().expect("uid");
    assert_eq!(
        selector
            .match_labels
            .as_ref()
            .and_then(|l| l.get("batch.kubernetes.io/controller-uid")),
        Some(&uid)
    );
    eventually("the events", || async {
        let created = cluster.events_of("ten", "SuccessfulCreate");
        let completed = cluster.events_of("ten", "Completed");
        (!created.is_empty() && !completed.is_empty()).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_failing_job_stops_at_its_backoff_limit() {
    let cluster = Cluster::start().await;
    let tracker = cluster.track(NS, "fails");
    let mut failing = job(NS, "fails", 1, 1);
    failing.spec.as_mut().expect("spec").backoff_limit = Some(2);
    cluster.create(&failing).await;
    let mut failed = BTreeSet::new();
    loop {
        let job = cluster.job(NS, "fails").await.expect("job");
        if has_condition(&job, "Failed") {
            break;
        }
        let next = cluster
            .job_pods(NS, "fails")
            .into_iter()
            .find(|p| is_active(p) && !failed.contains(&p.metadata.uid));
        if let Some(pod) = next {
            cluster.run_pod(&pod).await;
            cluster.finish_pod(&pod, 1).await;
            failed.insert(pod.metadata.uid.clone());
        }
        assert!(
            failed.len() <= 3,
            "a pod beyond the backoff limit was created"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let job = cluster.job_condition(NS, "fails", "Failed").await;
    let (reason, message) = condition(&job, "Failed").expect("failed");
    assert_eq!(reason, "BackoffLimitExceeded");
    assert_eq!(message, "Job has reached the specified backoff limit");
    assert!(has_condition(&job, "FailureTarget"));
    assert!(!has_condition(&job, "Complete"));
    let status = job.status.expect("status");
    assert_eq!(
        status.failed,
        Some(3),
        "backoffLimit 2: the third failure ends it"
    );
    assert_eq!(status.succeeded, None);
    assert_eq!(tracker.pods(), 3);
    eventually("the BackoffLimitExceeded event", || async {
        (!cluster
            .events_of("fails", "BackoffLimitExceeded")
            .is_empty())
        .then_some(())
    })
    .await;
}

#[tokio::test]
async fn restarts_in_place_count_against_the_backoff_limit() {
    let cluster = Cluster::start().await;
    let mut restarting = job(NS, "restarts", 1, 1);
    let spec = restarting.spec.as_mut().expect("spec");
    spec.backoff_limit = Some(2);
    spec.template
        .spec
        .as_mut()
        .expect("pod spec")
        .restart_policy = Some("OnFailure".into());
    cluster.create(&restarting).await;
    let pod = eventually("the pod", || async {
        cluster.job_pods(NS, "restarts").pop()
    })
    .await;
    cluster.run_pod(&pod).await;
    let (namespace, name) = (NS, pod.metadata.name.clone().expect("name"));
    cluster
        .client
        .update_status::<Pod>(Some(namespace), &name, |p| {
            p.status
                .get_or_insert_with(PodStatus::default)
                .container_statuses = Some(vec![ContainerStatus {
                name: "main".into(),
                restart_count: 2,
                ..ContainerStatus::default()
            }]);
            true
        })
        .await
        .expect("restarts");
    let job = cluster.job_condition(NS, "restarts", "Failed").await;
    assert_eq!(
        condition(&job, "Failed").expect("failed").0,
        "BackoffLimitExceeded"
    );
    let pod = found(cluster.client.get::<Pod>(Some(NS), &name).await);
    assert!(
        pod.is_none_or(|p| p.metadata.deletion_timestamp.is_some()),
        "the running pod is deleted"
    );
}

#[tokio::test]
async fn a_job_past_its_deadline_fails_and_its_pods_go() {
    let cluster = Cluster::start().await;
    let mut slow = job(NS, "slow", 4, 2);
    slow.spec.as_mut().expect("spec").active_deadline_seconds = Some(1);
    cluster.create(&slow).await;
    let pods = eventually("two pods", || async {
        let pods = cluster.job_pods(NS, "slow");
        (pods.len() == 2).then_some(pods)
    })
    .await;
    for pod in &pods {
        cluster.run_pod(pod).await;
    }
    let job = cluster.job_condition(NS, "slow", "Failed").await;
    let (reason, message) = condition(&job, "Failed").expect("failed");
    assert_eq!(reason, "DeadlineExceeded");
    assert_eq!(message, "Job was active longer than specified deadline");
    let status = job.status.expect("status");
    assert_eq!(status.active, None);
    assert_eq!(
        status.failed,
        Some(2),
        "the deleted running pods count as failed"
    );
    for pod in &pods {
        let now = found(
            cluster
                .client
                .get::<Pod>(Some(NS), pod.metadata.name.as_deref().expect("name"))
                .await,
        )
        .expect("a bound pod waits for its agent");
        assert!(now.metadata.deletion_timestamp.is_some(), "deleted");
        assert!(!tracked(&now), "released");
    }
    eventually("the DeadlineExceeded event", || async {
        (!cluster.events_of("slow", "DeadlineExceeded").is_empty()).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_finished_job_is_deleted_after_its_ttl_with_its_pods() {
    let cluster = Cluster::start().await;
    let mut short = job(NS, "short", 1, 1);
    short
        .spec
        .as_mut()
        .expect("spec")
        .ttl_seconds_after_finished = Some(1);
    cluster.create(&short).await;
    let pod = eventually("the pod", || async { cluster.job_pods(NS, "short").pop() }).await;
    cluster.run_pod(&pod).await;
    cluster.finish_pod(&pod, 0).await;
    cluster.job_condition(NS, "short", "Complete").await;
    eventually("the job deleted", || async {
        cluster.job(NS, "short").await.is_none().then_some(())
    })
    .await;
    let name = pod.metadata.name.clone().expect("name");
    eventually("its pod deleted", || async {
        found(cluster.client.get::<Pod>(Some(NS), &name).await)
            .is_none()
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_suspended_job_starts_nothing_until_resumed() {
    let cluster = Cluster::start().await;
    let mut paused = job(NS, "paused", 2, 2);
    paused.spec.as_mut().expect("spec").suspend = Some(true);
    cluster.create(&paused).await;
    let job = cluster.job_condition(NS, "paused", "Suspended").await;
    assert!(cluster.job_pods(NS, "paused").is_empty());
    assert!(
        job.status
            .as_ref()
            .and_then(|s| s.start_time.as_ref())
            .is_none()
    );
    cluster
        .client
        .update::<Job>(Some(NS), "paused", |j| {
            j.spec.as_mut().expect("spec").suspend = Some(false);
            true
        })
        .await
        .expect("resume");
    let pods = eventually("two pods", || async {
        let pods = cluster.job_pods(NS, "paused");
        (pods.len() == 2).then_some(pods)
    })
    .await;
    // Suspending again deletes the running pods without counting them as failures.
    cluster.run_pod(&pods[0]).await;
    cluster
        .client
        .update::<Job>(Some(NS), "paused", |j| {
            j.spec.as_mut().expect("spec").suspend = Some(true);
            true
        })
        .await
        .expect("suspend");
    let job = eventually("the pods deleted", || async {
        let job = cluster.job(NS, "paused").await?;
        let gone = cluster
            .job_pods(NS, "paused")
            .iter()
            .all(|p| p.metadata.deletion_timestamp.is_some());
        (gone && has_condition(&job, "Suspended")).then_some(job)
    })
    .await;
    let status = job.status.expect("status");
    assert_eq!(status.failed, None);
    assert_eq!(status.active, None);
}

#[tokio::test]
async fn an_indexed_job_runs_each_index_once() {
    let cluster = Cluster::start().await;
    let mut indexed = job(NS, "indexed", 3, 3);
    indexed.spec.as_mut().expect("spec").completion_mode = Some("Indexed".into());
    cluster.create(&indexed).await;
    let pods = eventually("three pods", || async {
        let pods = cluster.job_pods(NS, "indexed");
        (pods.len() == 3).then_some(pods)
    })
    .await;
    let mut indexes: Vec<String> = pods
        .iter()
        .map(|p| {
            let annotations = p.metadata.annotations.as_ref().expect("annotations");
            let env = &p.spec.as_ref().expect("spec").containers[0].env;
            assert!(
                env.iter()
                    .flatten()
                    .any(|e| e.name == "JOB_COMPLETION_INDEX"),
                "the index is in the environment"
            );
            annotations[COMPLETION_INDEX].clone()
        })
        .collect();
    indexes.sort();
    assert_eq!(indexes, ["0", "1", "2"]);
    for pod in &pods {
        cluster.run_pod(pod).await;
        cluster.finish_pod(pod, 0).await;
    }
    let job = cluster.job_condition(NS, "indexed", "Complete").await;
    let status = job.status.expect("status");
    assert_eq!(status.completed_indexes.as_deref(), Some("0-2"));
    assert_eq!(status.succeeded, Some(3));
}

#[tokio::test]
async fn a_success_is_kept_when_its_pod_is_deleted_at_once() {
    let cluster = Cluster::start().await;
    let tracker = cluster.track(NS, "keep");
    cluster.create(&job(NS, "keep", 2, 1)).await;
    for _ in 0..2 {
        let pod = eventually("a pod", || async {
            cluster
                .job_pods(NS, "keep")
                .into_iter()
                .find(|p| is_active(p))
        })
        .await;
        cluster.run_pod(&pod).await;
        cluster.finish_pod(&pod, 0).await;
        // A user (or the pod GC) deletes the finished pod straight away.
        cluster.confirm_deletion(&pod).await;
    }
    let job = cluster.job_condition(NS, "keep", "Complete").await;
    assert_eq!(job.status.expect("status").succeeded, Some(2));
    assert_eq!(tracker.pods(), 2, "no success was lost and redone");
    eventually("the pods gone once counted", || async {
        cluster.job_pods(NS, "keep").is_empty().then_some(())
    })
    .await;
}

#[tokio::test]
async fn deleting_a_job_without_a_policy_orphans_its_pods() {
    let cluster = Cluster::start().await;
    cluster.create(&job(NS, "left", 2, 2)).await;
    let pods = eventually("two pods", || async {
        let pods = cluster.job_pods(NS, "left");
        (pods.len() == 2).then_some(pods)
    })
    .await;
    // As `curl -X DELETE` would: batch/v1 Jobs orphan their pods by default.
    let path = skiff_controlplane::apiserver::request::path::ResourcePath {
        kind: skiff_model::kinds::find("batch", "v1", "jobs").expect("jobs"),
        namespace: Some(NS.into()),
        name: Some("left".into()),
        subresource: None,
    };
    delete::delete(
        &cluster.state,
        &path,
        &Default::default(),
        &DeleteOptions::default(),
    )
    .await
    .expect("delete");
    eventually("the job gone", || async {
        cluster.job(NS, "left").await.is_none().then_some(())
    })
    .await;
    for pod in &pods {
        let name = pod.metadata.name.clone().expect("name");
        let pod = eventually("the pod orphaned and released", || async {
            let pod =
                found(cluster.client.get::<Pod>(Some(NS), &name).await).expect("an orphan stays");
            (pod.metadata.owner_references.is_none() && !tracked(&pod)).then_some(pod)
        })
        .await;
        assert!(pod.metadata.deletion_timestamp.is_none());
    }
}
