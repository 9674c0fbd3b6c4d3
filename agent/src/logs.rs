//! [`LogRegistry`]: where the agent keeps its containers' logs, and how it reads them back
//! the way the kubelet answers `containerLogs` requests.
//!
//! Layout on disk, the kubelet's `/var/log/pods` (so log shippers configured for it read
//! it as is): `<root>/<namespace>_<name>_<uid>/<container>/<restart>.log`, rotated files
//! beside it (`<restart>.log.1`, ...). Each container keeps its two newest runs: the
//! current one and the previous one (`kubectl logs --previous`). A run's directories and
//! file are created with its first line: a pod that never writes costs no inode.
//!
//! Parts: the registry, [`PodLogKey`] and [`LogError`] here; [`LogOptions`] and the
//! kubelet's output format (partial lines joined, optional timestamps) in [`format`](mod@format); the
//! byte stream a read returns — the lines on disk, then the live ones — in [`stream`].

pub mod format;
pub mod stream;

pub use format::LogOptions;
pub use stream::LogBody;

use skiff_runtime::log::{DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_FILES, read_files, rotated};
use skiff_runtime::{ContainerLog, LogConfig};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio_util::sync::CancellationToken;

/// Identifies a pod's logs: its namespace, name and uid (the uid tells apart pods that
/// reuse a name).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PodLogKey {
    /// The pod's namespace.
    pub namespace: String,
    /// The pod's name.
    pub name: String,
    /// The pod's `metadata.uid`.
    pub uid: String,
}

impl PodLogKey {
    /// The pod's directory name: `<namespace>_<name>_<uid>`. Kubernetes names and uids
    /// never contain `_`, so the name parses back unambiguously.
    fn dir_name(&self) -> String {
        format!("{}_{}_{}", self.namespace, self.name, self.uid)
    }

    fn parse(dir_name: &str) -> Option<Self> {
        let mut parts = dir_name.split('_');
        let key = Self {
            namespace: parts.next()?.to_string(),
            name: parts.next()?.to_string(),
            uid: parts.next()?.to_string(),
        };
        (parts.next().is_none() && key.is_valid()).then_some(key)
    }

    fn is_valid(&self) -> bool {
        [&self.namespace, &self.name, &self.uid]
            .iter()
            .all(|part| is_path_safe(part) && !part.contains('_'))
    }
}

impl fmt::Display for PodLogKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// Why logs could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// No pod of that name has logs on this node.
    #[error("pod \"{pod}\" cannot be found - no logs available")]
    PodNotFound {
        /// The pod's name.
        pod: String,
    },
    /// The pod has no run of that container.
    #[error("container \"{container}\" in pod \"{pod}\" is not available")]
    ContainerNotFound {
        /// The pod's name.
        pod: String,
        /// The container's name.
        container: String,
    },
    /// `previous` was asked for, but the container has run only once.
    #[error("previous terminated container \"{container}\" in pod \"{pod}\" not found")]
    PreviousNotFound {
        /// The pod's name.
        pod: String,
        /// The container's name.
        container: String,
    },
    /// Reading the log files failed.
    #[error("reading the container log failed")]
    Io(#[from] std::io::Error),
}

impl LogError {
    /// Whether the logs asked for do not exist (HTTP 404), as opposed to a failure.
    pub fn is_not_found(&self) -> bool {
        !matches!(self, LogError::Io(_))
    }
}

/// The node's container logs on disk (see the module docs). Cheap to clone; clones share
/// the same registry.
#[derive(Clone)]
pub struct LogRegistry {
    shared: Arc<Shared>,
}

struct Shared {
    root: PathBuf,
    /// Rotation of each run's log.
    max_file_bytes: u64,
    max_files: usize,
    state: Mutex<State>,
    /// Cancelled when the agent's server shuts down: every follow stream ends.
    stopping: CancellationToken,
}

#[derive(Default)]
struct State {
    /// Pods with logs, by uid, each with the order it was first seen in (newest largest).
    pods: HashMap<String, (PodLogKey, u64)>,
    next_order: u64,
    /// The current run of each running container, by (uid, container).
    running: HashMap<(String, String), Run>,
    /// The runs (restart numbers) this agent started per (uid, container), the two newest:
    /// a run that has written nothing has no directory yet (logs are created on the first
    /// line), so the disk alone does not know it.
    started: HashMap<(String, String), Vec<u32>>,
}

struct Run {
    restart: u32,
    log: ContainerLog,
}

impl LogRegistry {
    /// A registry over `root` (created if missing) with the kubelet's default rotation
    /// (10 MiB files, 5 of them per run). Pods already on disk are indexed, oldest first.
    pub fn new(root: PathBuf) -> std::io::Result<Self> {
        Self::with_rotation(root, DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_FILES)
    }

    /// A registry whose runs rotate their log at `max_file_bytes`, keeping `max_files`
    /// files (the current one included).
    pub fn with_rotation(
        root: PathBuf,
        max_file_bytes: u64,
        max_files: usize,
    ) -> std::io::Result<Self> {
        std::fs::create_dir_all(&root)?;
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&root)? {
            let entry = entry?;
            let Some(key) = entry.file_name().to_str().and_then(PodLogKey::parse) else {
                continue;
            };
            let modified = entry.metadata().and_then(|m| m.modified()).ok();
            found.push((modified, key));
        }
        found.sort_by_key(|(modified, _)| *modified);
        let mut state = State::default();
        for (_, key) in found {
            state.add_pod(&key);
        }
        Ok(Self {
            shared: Arc::new(Shared {
                root,
                max_file_bytes,
                max_files,
                state: Mutex::new(state),
                stopping: CancellationToken::new(),
            }),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every section under this lock leaves the maps consistent before it can panic.
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn container_dir(&self, pod: &PodLogKey, container: &str) -> PathBuf {
        self.shared.root.join(pod.dir_name()).join(container)
    }

    /// Opens the log of a new run (restart number `restart`) of a container; it becomes
    /// the current run and the run before it the previous one. Older runs are deleted,
    /// and a run of this container still open is finished.
    pub fn start(
        &self,
        pod: &PodLogKey,
        container: &str,
        restart: u32,
    ) -> std::io::Result<ContainerLog> {
        if !pod.is_valid() || !is_path_safe(container) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("pod {pod} or container {container:?} cannot name a log directory"),
            ));
        }
        let dir = self.container_dir(pod, container);
        let mut state = self.state();
        state.add_pod(pod);
        let key = (pod.uid.clone(), container.to_string());
        if let Some(old) = state.running.remove(&key) {
            old.log.close();
        }
        let on_disk = runs(&dir)?;
        let previous = on_disk
            .iter()
            .chain(state.started.get(&key).into_iter().flatten())
            .copied()
            .filter(|&r| r < restart)
            .max();
        for stale in on_disk
            .into_iter()
            .filter(|&r| r != restart && Some(r) != previous)
        {
            remove_run(&dir, stale, self.shared.max_files)?;
        }
        state
            .started
            .insert(key.clone(), previous.into_iter().chain([restart]).collect());
        let log = ContainerLog::open(LogConfig {
            file: Some(run_file(&dir, restart)),
            max_file_bytes: self.shared.max_file_bytes,
            max_files: self.shared.max_files,
        })?;
        state.running.insert(
            key,
            Run {
                restart,
                log: log.clone(),
            },
        );
        Ok(log)
    }

    /// The current run of a container ended: live followers get what is left and then
    /// their stream ends.
    pub fn finish(&self, pod: &PodLogKey, container: &str) {
        let run = self
            .state()
            .running
            .remove(&(pod.uid.clone(), container.to_string()));
        if let Some(run) = run {
            run.log.close();
        }
    }

    /// Deletes a pod's logs (the pod is gone); its followers' streams end.
    pub fn remove_pod(&self, uid: &str) {
        let key = {
            let mut state = self.state();
            let running: Vec<_> = state
                .running
                .keys()
                .filter(|(u, _)| u == uid)
                .cloned()
                .collect();
            for key in running {
                if let Some(run) = state.running.remove(&key) {
                    run.log.close();
                }
            }
            state.started.retain(|(u, _), _| u != uid);
            state.pods.remove(uid).map(|(key, _)| key)
        };
        let Some(key) = key.or_else(|| self.find_on_disk(uid)) else {
            return;
        };
        let dir = self.shared.root.join(key.dir_name());
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => tracing::debug!(pod = %key, uid, "pod logs removed"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(pod = %key, uid, error = %e, "removing pod logs failed"),
        }
    }

    /// Pods that have logs on disk (e.g. left from before an agent restart), so the agent
    /// can remove those of pods that no longer exist.
    pub fn pods_on_disk(&self) -> Vec<PodLogKey> {
        let entries = match std::fs::read_dir(&self.shared.root) {
            Ok(entries) => entries,
            Err(e) => {
                tracing::warn!(root = %self.shared.root.display(), error = %e, "listing pod logs failed");
                return Vec::new();
            }
        };
        entries
            .filter_map(|entry| entry.ok()?.file_name().to_str().and_then(PodLogKey::parse))
            .collect()
    }

    fn find_on_disk(&self, uid: &str) -> Option<PodLogKey> {
        self.pods_on_disk().into_iter().find(|key| key.uid == uid)
    }

    /// The newest run number on disk for a container (restart count continuity after an
    /// agent restart).
    pub fn last_run(&self, uid: &str, container: &str) -> Option<u32> {
        let known = self.state().pods.get(uid).map(|(key, _)| key.clone());
        let pod = known.or_else(|| self.find_on_disk(uid))?;
        runs(&self.container_dir(&pod, container))
            .ok()?
            .into_iter()
            .max()
    }

    /// Reads a container's log per `options`, as the bytes kubectl expects (see
    /// [`format`](mod@format)). The pod is the newest one of that name with logs here. The output is
    /// produced by a task, so this must be called inside a Tokio runtime.
    pub fn read(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        options: LogOptions,
    ) -> Result<LogBody, LogError> {
        let container_missing = || LogError::ContainerNotFound {
            pod: pod.to_string(),
            container: container.to_string(),
        };
        let state = self.state();
        let Some(key) = state
            .pods
            .values()
            .filter(|(key, _)| key.namespace == namespace && key.name == pod)
            .max_by_key(|(_, order)| *order)
            .map(|(key, _)| key.clone())
        else {
            return Err(LogError::PodNotFound {
                pod: pod.to_string(),
            });
        };
        if !is_path_safe(container) {
            return Err(container_missing());
        }
        let dir = self.container_dir(&key, container);
        let mut runs = runs(&dir)?;
        if let Some(started) = state.started.get(&(key.uid.clone(), container.to_string())) {
            runs.extend(started);
            runs.sort_unstable();
            runs.dedup();
        }
        let run = if options.previous {
            runs.iter().rev().nth(1).ok_or(LogError::PreviousNotFound {
                pod: pod.to_string(),
                container: container.to_string(),
            })?
        } else {
            runs.last().ok_or_else(container_missing)?
        };
        let live = state
            .running
            .get(&(key.uid.clone(), container.to_string()))
            .filter(|live| live.restart == *run && !options.previous)
            .map(|live| live.log.clone());
        drop(state);
        let (snapshot, follower) = match live {
            Some(log) if options.follow => {
                let (snapshot, follower) = log.snapshot_and_follow()?;
                (snapshot, Some(follower))
            }
            Some(log) => (log.snapshot()?, None),
            None => (
                read_files(&run_file(&dir, *run), self.shared.max_files)?,
                None,
            ),
        };
        Ok(stream::body(
            snapshot,
            follower,
            options,
            self.shared.stopping.clone(),
        ))
    }

    /// Ends every follow stream, now and later (the server is shutting down).
    pub(crate) fn stop_following(&self) {
        self.shared.stopping.cancel();
    }
}

impl State {
    fn add_pod(&mut self, key: &PodLogKey) {
        if !self.pods.contains_key(&key.uid) {
            self.pods
                .insert(key.uid.clone(), (key.clone(), self.next_order));
            self.next_order += 1;
        }
    }
}

/// The current log file of run `restart` of a container: `<restart>.log`.
fn run_file(container_dir: &Path, restart: u32) -> PathBuf {
    container_dir.join(format!("{restart}.log"))
}

/// Deletes a run's log files, the rotated ones included.
fn remove_run(container_dir: &Path, restart: u32, max_files: usize) -> std::io::Result<()> {
    let current = run_file(container_dir, restart);
    for n in 0..max_files.max(1) {
        match std::fs::remove_file(rotated(&current, n)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// The run numbers in a container's log directory (its `<restart>.log` files), ascending.
fn runs(container_dir: &Path) -> std::io::Result<Vec<u32>> {
    let entries = match std::fs::read_dir(container_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut runs = Vec::new();
    for entry in entries {
        let name = entry?.file_name();
        if let Some(run) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".log"))
            .and_then(|n| n.parse().ok())
        {
            runs.push(run);
        }
    }
    runs.sort_unstable();
    Ok(runs)
}

/// Whether a name can be one path component under the log root: not empty, not `.` or
/// `..`, no separator.
fn is_path_safe(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}
