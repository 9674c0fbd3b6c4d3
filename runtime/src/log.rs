//! [`ContainerLog`]: a container's stdout and stderr as timestamped lines, bounded on disk
//! by rotation (or in memory when it has no directory), and followable live.
//!
//! Files use the CRI log format the kubelet writes, one line per entry:
//! `<RFC 3339 nanos> <stdout|stderr> <F|P> <text>` — `P` marks a partial line (a line
//! longer than [`MAX_LINE`] split in pieces, or output cut off without a newline).
//!
//! A node holds thousands of idle logs, so an idle one costs a few hundred bytes and a
//! file descriptor: the followers' wake-up channel exists only while someone follows, and
//! each [`ContainerLog::append`] batch goes to the file in one unbuffered write.
//!
//! Parts: [`LogLine`] and its encoding, and the writer, here; live followers in
//! [`follow`]; reading what a log holds at one instant in [`snapshot`]; the WASI output
//! streams that feed a log in `stream`.

pub mod follow;
pub mod snapshot;
pub(crate) mod stream;

pub use follow::{FollowError, LogFollower};
pub use snapshot::{LogSnapshot, read_file_lines, read_files};

use bytes::Bytes;
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;
use tokio::sync::{broadcast, watch};

/// Longest line kept whole; longer lines are split into partial entries (the CRI limit).
pub const MAX_LINE: usize = 16 * 1024;

/// Size at which the current log file is rotated (the kubelet's `containerLogMaxSize`).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;

/// Files kept, the current one included (the kubelet's `containerLogMaxFiles`).
pub const DEFAULT_MAX_FILES: usize = 5;

/// Lines buffered for each live follower of a memory log; a follower further behind skips
/// ahead. The channel (about 100 bytes a slot) exists only while the log has followers.
const FOLLOW_BUFFER: usize = 1024;

/// Which output stream a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LogStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

impl LogStream {
    fn as_str(self) -> &'static str {
        match self {
            LogStream::Stdout => "stdout",
            LogStream::Stderr => "stderr",
        }
    }
}

/// One log entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// When the line was written.
    pub time: SystemTime,
    /// Where it was written.
    pub stream: LogStream,
    /// Whether this is only part of a line (see the module docs).
    pub partial: bool,
    /// The text, without the newline.
    pub text: Bytes,
}

impl LogLine {
    /// The CRI encoding, newline included.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.text.len() + 48);
        self.encode_into(&mut out);
        out
    }

    /// Appends the CRI encoding, newline included, to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(
            humantime::format_rfc3339_nanos(self.time)
                .to_string()
                .as_bytes(),
        );
        out.push(b' ');
        out.extend_from_slice(self.stream.as_str().as_bytes());
        out.extend_from_slice(if self.partial { b" P " } else { b" F " });
        out.extend_from_slice(&self.text);
        out.push(b'\n');
    }

    /// Parses one CRI-encoded line (without its newline).
    pub fn decode(line: &[u8]) -> Option<Self> {
        let mut parts = line.splitn(4, |&b| b == b' ');
        let time = std::str::from_utf8(parts.next()?).ok()?;
        let time = humantime::parse_rfc3339(time).ok()?;
        let stream = match parts.next()? {
            b"stdout" => LogStream::Stdout,
            b"stderr" => LogStream::Stderr,
            _ => return None,
        };
        let partial = match parts.next()? {
            b"P" => true,
            b"F" => false,
            _ => return None,
        };
        let text = Bytes::copy_from_slice(parts.next().unwrap_or_default());
        Some(Self {
            time,
            stream,
            partial,
            text,
        })
    }
}

/// Where and how much a [`ContainerLog`] keeps.
#[derive(Clone, Debug)]
pub struct LogConfig {
    /// The current log file; rotated files are beside it with `.1`, `.2`... added. Its
    /// directory is created with the first line. `None` keeps the log in memory.
    pub file: Option<PathBuf>,
    /// Rotation size of one file (in memory: the bytes kept are `max_file_bytes *
    /// max_files`).
    pub max_file_bytes: u64,
    /// Files kept, the current one included.
    pub max_files: usize,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            file: None,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            max_files: DEFAULT_MAX_FILES,
        }
    }
}

/// A container's log. Cheap to clone; every clone writes to and reads the same log.
#[derive(Clone)]
pub struct ContainerLog {
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    config: LogConfig,
    store: Store,
    /// Set by [`ContainerLog::close`]: followers end and no new one waits.
    closed: bool,
}

/// Where the lines are, and how followers learn of new ones. Each followers' channel is
/// created by the first follower and dropped once none is left.
enum Store {
    Memory {
        lines: VecDeque<LogLine>,
        bytes: u64,
        /// New lines, to followers.
        live: Option<broadcast::Sender<LogLine>>,
    },
    Files {
        /// The current file in append mode; `None` once closed (reopened by a later
        /// append).
        current: Option<File>,
        /// Bytes in the current file.
        written: u64,
        /// Rotations since the log was opened: the current file's generation.
        generation: u64,
        /// Wakes followers after each append (they read the files).
        changed: Option<watch::Sender<()>>,
    },
}

impl ContainerLog {
    /// Opens a log. With a file, appends to it if it exists; else it (and its directory)
    /// is created when the first line is written (or a follower comes).
    pub fn open(config: LogConfig) -> std::io::Result<Self> {
        let store = match &config.file {
            None => Store::Memory {
                lines: VecDeque::new(),
                bytes: 0,
                live: None,
            },
            Some(path) => {
                // Created with the first line (`write_to`), not here: starting a container
                // that never writes touches no directory.
                let current = match OpenOptions::new().append(true).open(path) {
                    Ok(file) => Some(file),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(e) => return Err(e),
                };
                let written = match &current {
                    Some(file) => file.metadata()?.len(),
                    None => 0,
                };
                Store::Files {
                    current,
                    written,
                    generation: 0,
                    changed: None,
                }
            }
        };
        Ok(Self {
            inner: Arc::new(Mutex::new(Inner {
                config,
                store,
                closed: false,
            })),
        })
    }

    /// An in-memory log with default bounds.
    pub fn in_memory() -> Self {
        Self::open(LogConfig::default()).expect("an in-memory log does no I/O")
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }

    /// Appends lines: writes them to the file in one write (so other readers see them) and
    /// passes them to live followers.
    pub fn append(&self, lines: impl IntoIterator<Item = LogLine>) {
        let lines: Vec<LogLine> = lines.into_iter().collect();
        if lines.is_empty() {
            return;
        }
        let mut inner = self.lock();
        if let Err(e) = inner.write(&lines) {
            tracing::warn!(error = %e, lines = lines.len(), "container log write failed; lines dropped");
        }
        inner.release_followers(0);
        match &inner.store {
            Store::Memory {
                live: Some(live), ..
            } => {
                for line in lines {
                    // Every follower gone in the meantime is not an error.
                    let _ = live.send(line);
                }
            }
            Store::Files {
                changed: Some(changed),
                ..
            } => {
                let _ = changed.send(());
            }
            _ => {}
        }
    }

    /// Every line still kept, oldest first.
    pub fn lines(&self) -> std::io::Result<Vec<LogLine>> {
        self.snapshot()?.collect()
    }

    /// The lines kept now, read lazily (the files are opened here, read as the snapshot
    /// is iterated; rotation meanwhile does not disturb it).
    pub fn snapshot(&self) -> std::io::Result<LogSnapshot> {
        self.lock().snapshot()
    }

    /// Lines written from now on. Once the log is [closed](Self::close), the follower
    /// gets the lines still unread, then `FollowError::Closed`. A follower that falls too
    /// far behind (more than a buffer for a memory log; more than the kept files for a
    /// file log) gets `FollowError::Lagged` and continues with the oldest line kept. If
    /// the current file cannot be opened the follower ends at once (logged).
    pub fn follow(&self) -> LogFollower {
        let mut inner = self.lock();
        LogFollower::subscribe(&mut inner, Arc::downgrade(&self.inner)).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "opening a log to follow failed");
            LogFollower::ended()
        })
    }

    /// The lines kept now and a follower of every later line, taken at one instant: each
    /// line is in exactly one of the two.
    pub fn snapshot_and_follow(&self) -> std::io::Result<(LogSnapshot, LogFollower)> {
        let mut inner = self.lock();
        let snapshot = inner.snapshot()?;
        let follower = LogFollower::subscribe(&mut inner, Arc::downgrade(&self.inner))?;
        Ok((snapshot, follower))
    }

    /// Marks the writer side finished (the run ended): followers receive the lines still
    /// unread and then end, later followers end at once, and the file is closed. Lines
    /// appended after this are still stored but nobody follows them.
    pub fn close(&self) {
        let mut inner = self.lock();
        inner.closed = true;
        match &mut inner.store {
            Store::Memory { live, .. } => *live = None,
            Store::Files {
                current, changed, ..
            } => {
                *current = None;
                *changed = None;
            }
        }
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }
}

/// Locks a log's state. A panic while holding the lock leaves at worst a half-written
/// line behind, so a poisoned lock is used as is.
fn lock(inner: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    inner.lock().unwrap_or_else(|p| p.into_inner())
}

impl Inner {
    /// Drops the followers' channel if no follower but the `leaving` ones is left.
    fn release_followers(&mut self, leaving: usize) {
        match &mut self.store {
            Store::Memory { live, .. } => {
                if live.as_ref().is_some_and(|l| l.receiver_count() <= leaving) {
                    *live = None;
                }
            }
            Store::Files { changed, .. } => {
                if changed
                    .as_ref()
                    .is_some_and(|c| c.receiver_count() <= leaving)
                {
                    *changed = None;
                }
            }
        }
    }

    fn snapshot(&self) -> std::io::Result<LogSnapshot> {
        match &self.store {
            Store::Memory { lines, .. } => Ok(LogSnapshot::memory(lines.iter().cloned().collect())),
            Store::Files { written, .. } => {
                LogSnapshot::files(self.file(), self.config.max_files, Some(*written))
            }
        }
    }

    fn file(&self) -> &Path {
        self.config
            .file
            .as_deref()
            .expect("a file store is only made for a log with a file")
    }

    fn write(&mut self, lines: &[LogLine]) -> std::io::Result<()> {
        let budget = self.config.max_file_bytes.max(1);
        let max_files = self.config.max_files;
        match &mut self.store {
            Store::Memory {
                lines: kept, bytes, ..
            } => {
                let total = budget * max_files.max(1) as u64;
                for line in lines {
                    kept.push_back(line.clone());
                    *bytes += encoded_len(line);
                }
                while *bytes > total {
                    let Some(old) = kept.pop_front() else { break };
                    *bytes -= encoded_len(&old);
                }
                Ok(())
            }
            Store::Files {
                current,
                written,
                generation,
                ..
            } => {
                let path = self
                    .config
                    .file
                    .as_deref()
                    .expect("a file store is only made for a log with a file");
                let mut batch = Vec::new();
                for line in lines {
                    let start = batch.len();
                    line.encode_into(&mut batch);
                    let len = (batch.len() - start) as u64;
                    let pending = start as u64;
                    if *written + pending > 0 && *written + pending + len > budget {
                        // This line starts a new file: write what precedes it, rotate.
                        let line_bytes = batch.split_off(start);
                        write_to(current, path, &batch)?;
                        *current = Some(rotate(path, max_files)?);
                        *generation += 1;
                        *written = 0;
                        batch = line_bytes;
                    }
                }
                write_to(current, path, &batch)?;
                *written += batch.len() as u64;
                Ok(())
            }
        }
    }
}

/// The length of a line's CRI encoding.
fn encoded_len(line: &LogLine) -> u64 {
    // `<30-byte timestamp> <stdout|stderr> <F|P> <text>\n`
    (30 + 1 + 6 + 3 + line.text.len() + 1) as u64
}

/// Writes `bytes` to the current file in one call, reopening it if the log was closed.
fn write_to(current: &mut Option<File>, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    let file = match current {
        Some(file) => file,
        None => current.insert(create_current(path)?),
    };
    file.write_all(bytes)
}

/// Opens a log's current file for appending, creating it and its directory when missing.
pub(crate) fn create_current(path: &Path) -> std::io::Result<File> {
    match open_append(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            open_append(path)
        }
        opened => opened,
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// The path of file `n` of the log whose current file is `path`: 0 is the current file,
/// `n` is `path` with `.n` added.
pub fn rotated(path: &Path, n: usize) -> PathBuf {
    if n == 0 {
        path.to_path_buf()
    } else {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }
}

/// Shifts `FILE.N` to `FILE.N+1` (dropping the oldest) and starts a new current file.
fn rotate(path: &Path, max_files: usize) -> std::io::Result<File> {
    let keep = max_files.max(1);
    let _ = std::fs::remove_file(rotated(path, keep - 1));
    for n in (0..keep - 1).rev() {
        let from = rotated(path, n);
        if from.exists() {
            std::fs::rename(&from, rotated(path, n + 1))?;
        }
    }
    create_current(path)
}

#[cfg(test)]
mod tests;
