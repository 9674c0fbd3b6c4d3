//! [`Timeline`]: when each pod of a burst was first seen created, bound to a node, Running
//! and Ready, from one watch (kube's watcher, which relists if the watch expires), and the
//! spread of each stage over the burst.

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::runtime::watcher::{self, Event, watcher};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The stages a pod goes through, in order.
pub const STAGES: [&str; 4] = ["created", "bound", "running", "ready"];

/// When each pod reached each stage (index into [`STAGES`]).
type Seen = HashMap<String, [Option<Instant>; 4]>;

/// A watch recording the pods' stages.
pub struct Timeline {
    seen: Arc<Mutex<Seen>>,
    task: tokio::task::JoinHandle<()>,
}

impl Timeline {
    /// Starts watching the pods `selector` picks; only pods created after `start` count.
    pub fn watch(pods: Api<Pod>, selector: &str) -> Self {
        let seen = Arc::new(Mutex::new(Seen::new()));
        let log = seen.clone();
        let config = watcher::Config::default().labels(selector);
        let task = tokio::spawn(async move {
            let mut events = watcher(pods, config).boxed();
            while let Some(event) = events.next().await {
                let (Ok(Event::Apply(pod)) | Ok(Event::InitApply(pod))) = event else {
                    continue;
                };
                let now = Instant::now();
                let name = pod.metadata.name.clone().unwrap_or_default();
                let status = pod.status.as_ref();
                let reached = [
                    true,
                    pod.spec
                        .as_ref()
                        .and_then(|s| s.node_name.as_ref())
                        .is_some(),
                    status.and_then(|s| s.phase.as_deref()) == Some("Running"),
                    status.and_then(|s| s.conditions.as_ref()).is_some_and(|c| {
                        c.iter().any(|c| c.type_ == "Ready" && c.status == "True")
                    }),
                ];
                let mut log = log.lock().expect("lock");
                let stages = log.entry(name).or_default();
                for (stage, reached) in stages.iter_mut().zip(reached) {
                    if reached && stage.is_none() {
                        *stage = Some(now);
                    }
                }
            }
        });
        Self { seen, task }
    }

    /// Waits (up to `limit`) until the watcher has seen `pods` pods Ready: its stream may
    /// trail what the Deployment's status already counts.
    pub async fn until_ready(&self, pods: usize, limit: std::time::Duration) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            let ready = {
                let seen = self.seen.lock().expect("lock");
                seen.values().filter(|stages| stages[3].is_some()).count()
            };
            if ready >= pods {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Per stage: when half, 99 % and all of `pods` had reached it, in ms after `start`,
    /// and at what rate (pods per second between the first and the last); one line each.
    pub fn report(self, start: Instant, pods: usize) -> Vec<String> {
        self.task.abort();
        let seen = self.seen.lock().expect("lock");
        let mut lines = Vec::new();
        for (i, stage) in STAGES.iter().enumerate() {
            let mut times: Vec<f64> = seen
                .values()
                .filter_map(|stages| stages[i])
                .map(|at| at.saturating_duration_since(start).as_secs_f64() * 1e3)
                .collect();
            times.sort_by(f64::total_cmp);
            if times.is_empty() {
                lines.push(format!("{stage:>8}: none seen"));
                continue;
            }
            let at = |share: f64| {
                let n = ((pods as f64 * share).ceil() as usize).clamp(1, times.len());
                times[n - 1]
            };
            let (first, last) = (times[0], times[times.len() - 1]);
            let rate = if last > first {
                format!("{:.0}/s", (times.len() - 1) as f64 / ((last - first) / 1e3))
            } else {
                "-".to_owned()
            };
            lines.push(format!(
                "{stage:>8}: {} of {pods}; 50% {:.0} ms, 99% {:.0} ms, all {:.0} ms; {rate}",
                times.len(),
                at(0.5),
                at(0.99),
                last
            ));
        }
        lines
    }
}
