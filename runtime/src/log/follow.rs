//! [`LogFollower`]: one live reader of a [`ContainerLog`](super::ContainerLog).
//!
//! A file log is followed from its files, as the kubelet does: the follower reads on from
//! where it started, is woken by each append, and moves to the next file when the log
//! rotates — so a slow follower loses nothing unless files rotate away before it reads
//! them. A memory log is followed through a bounded channel: a follower more than a buffer
//! behind skips ahead. Either way the log keeps its wake-up channel only while some
//! follower exists: the last one to go drops it.

use super::{Inner, LogLine, Store, create_current, lock, rotated};
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::{Mutex, Weak};
use tokio::sync::{broadcast, watch};

/// Why a follower got no line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FollowError {
    /// The follower fell so far behind that lines were dropped before it read them; it
    /// continues with the oldest line still kept.
    #[error("the log follower fell behind; lines were skipped")]
    Lagged,
    /// The log was closed (or dropped) and every line before that was received.
    #[error("the log is closed")]
    Closed,
}

/// Receives the lines appended to a log after it was made; see
/// [`ContainerLog::follow`](super::ContainerLog::follow).
pub struct LogFollower {
    source: Source,
    log: Weak<Mutex<Inner>>,
}

enum Source {
    /// A memory log's lines.
    Lines(broadcast::Receiver<LogLine>),
    /// A file log, read from its files.
    Files(FileFollower),
    /// Nothing more will come.
    Ended,
}

/// Where a follower of a file log is.
struct FileFollower {
    /// Wakes the follower after appends; `None` once the log closed.
    changed: Option<watch::Receiver<()>>,
    /// The log's current file.
    path: PathBuf,
    max_files: usize,
    /// The rotation generation of the file being read (see `Store::Files`).
    generation: u64,
    reader: BufReader<File>,
    /// A line read so far (a write may be seen half done).
    line: Vec<u8>,
    /// The log has rotated past this file: once read to its end, move on.
    complete: bool,
}

impl LogFollower {
    /// Subscribes to `inner`, whose lock the caller holds: the follower gets exactly the
    /// lines appended after this call.
    pub(super) fn subscribe(inner: &mut Inner, log: Weak<Mutex<Inner>>) -> std::io::Result<Self> {
        let closed = inner.closed;
        let source = match &mut inner.store {
            _ if closed => Source::Ended,
            Store::Memory { live, .. } => Source::Lines(match live {
                Some(live) => live.subscribe(),
                None => live
                    .insert(broadcast::channel(super::FOLLOW_BUFFER).0)
                    .subscribe(),
            }),
            Store::Files {
                written,
                generation,
                changed,
                ..
            } => {
                let path = inner
                    .config
                    .file
                    .clone()
                    .expect("a file store is only made for a log with a file");
                // A log nothing was written to yet has no file: make it, to follow it.
                let mut file = match File::open(&path) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        drop(create_current(&path)?);
                        File::open(&path)?
                    }
                    opened => opened?,
                };
                file.seek(SeekFrom::Start(*written))?;
                let changed = match changed {
                    Some(sender) => sender.subscribe(),
                    None => changed.insert(watch::channel(()).0).subscribe(),
                };
                Source::Files(FileFollower {
                    changed: Some(changed),
                    path,
                    max_files: inner.config.max_files.max(1),
                    generation: *generation,
                    reader: BufReader::new(file),
                    line: Vec::new(),
                    complete: false,
                })
            }
        };
        Ok(Self { source, log })
    }

    /// A follower that ends at once.
    pub(super) fn ended() -> Self {
        Self {
            source: Source::Ended,
            log: Weak::new(),
        }
    }

    /// The next line, waiting for it. A file log's follower reads its files here: small
    /// reads, normally from the page cache.
    pub async fn recv(&mut self) -> Result<LogLine, FollowError> {
        loop {
            match &mut self.source {
                Source::Ended => return Err(FollowError::Closed),
                Source::Lines(receiver) => {
                    return receiver.recv().await.map_err(|e| match e {
                        broadcast::error::RecvError::Lagged(_) => FollowError::Lagged,
                        broadcast::error::RecvError::Closed => FollowError::Closed,
                    });
                }
                Source::Files(follower) => {
                    // Mark appends so far seen before reading, so none is missed after.
                    if let Some(changed) = &mut follower.changed {
                        changed.borrow_and_update();
                    }
                    if let Some(line) = follower.next(&self.log)? {
                        return Ok(line);
                    }
                    match &mut follower.changed {
                        Some(changed) => {
                            if changed.changed().await.is_err() {
                                // Closed: read what is left, then end.
                                follower.changed = None;
                            }
                        }
                        None => return Err(FollowError::Closed),
                    }
                }
            }
        }
    }

    /// The next line if one is there now: `Ok(None)` if not yet; errors as
    /// [`recv`](Self::recv).
    pub fn try_recv(&mut self) -> Result<Option<LogLine>, FollowError> {
        match &mut self.source {
            Source::Ended => Err(FollowError::Closed),
            Source::Lines(receiver) => match receiver.try_recv() {
                Ok(line) => Ok(Some(line)),
                Err(broadcast::error::TryRecvError::Empty) => Ok(None),
                Err(broadcast::error::TryRecvError::Lagged(_)) => Err(FollowError::Lagged),
                Err(broadcast::error::TryRecvError::Closed) => Err(FollowError::Closed),
            },
            Source::Files(follower) => match follower.next(&self.log)? {
                Some(line) => Ok(Some(line)),
                None if follower.changed.is_none() => Err(FollowError::Closed),
                None => Ok(None),
            },
        }
    }
}

impl FileFollower {
    /// The next whole line written so far, following rotation.
    fn next(&mut self, log: &Weak<Mutex<Inner>>) -> Result<Option<LogLine>, FollowError> {
        loop {
            match self.reader.read_until(b'\n', &mut self.line) {
                Err(e) => {
                    tracing::warn!(error = %e, "reading a followed log failed; following ends");
                    return Err(FollowError::Closed);
                }
                Ok(_) if self.line.last() == Some(&b'\n') => {
                    let line = LogLine::decode(&self.line[..self.line.len() - 1]);
                    self.line.clear();
                    match line {
                        Some(line) => return Ok(Some(line)),
                        None => continue,
                    }
                }
                // The end of what is written to this file.
                Ok(_) => {}
            }
            let Some(log) = log.upgrade() else {
                return Ok(None);
            };
            let inner = lock(&log);
            let Store::Files { generation, .. } = &inner.store else {
                return Ok(None);
            };
            let current = *generation;
            if current == self.generation {
                return Ok(None);
            }
            if !self.complete {
                // Rotated: writes to this file may have landed after the read above, and
                // none will land now. Read it to its end, then move on.
                self.complete = true;
                continue;
            }
            // Move to the file written after this one, or the oldest kept if it rotated
            // away meanwhile.
            let wanted = current - self.generation - 1;
            let (age, lagged) = match usize::try_from(wanted) {
                Ok(age) if age < self.max_files => (age, false),
                _ => (self.max_files - 1, true),
            };
            let file = match File::open(rotated(&self.path, age)) {
                Ok(file) => file,
                Err(e) => {
                    tracing::warn!(error = %e, "opening a rotated log failed; following ends");
                    return Err(FollowError::Closed);
                }
            };
            drop(inner);
            self.generation = current - age as u64;
            self.reader = BufReader::new(file);
            self.line.clear();
            self.complete = false;
            if lagged {
                return Err(FollowError::Lagged);
            }
        }
    }
}

impl Drop for LogFollower {
    fn drop(&mut self) {
        if let Some(log) = self.log.upgrade() {
            // This follower's receiver still counts until the end of `drop`.
            lock(&log).release_followers(1);
        }
    }
}

impl std::fmt::Debug for LogFollower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = match &self.source {
            Source::Lines(_) => "lines",
            Source::Files(_) => "files",
            Source::Ended => "ended",
        };
        f.debug_struct("LogFollower")
            .field("source", &source)
            .finish()
    }
}
