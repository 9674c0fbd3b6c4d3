//! [`ContainerLog`]: a container's stdout and stderr as timestamped lines, bounded on disk
//! by rotation (or in memory when it has no directory), and followable live.
//!
//! Files use the CRI log format the kubelet writes, one line per entry:
//! `<RFC 3339 nanos> <stdout|stderr> <F|P> <text>` — `P` marks a partial line (a line
//! longer than [`MAX_LINE`] split in pieces, or output cut off without a newline).
//!
//! Parts: [`LogLine`] and its encoding here; the WASI output streams that feed a log in
//! [`stream`].

pub(crate) mod stream;

use bytes::Bytes;
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;
use tokio::sync::broadcast;

/// Longest line kept whole; longer lines are split into partial entries (the CRI limit).
pub const MAX_LINE: usize = 16 * 1024;

/// Size at which the current log file is rotated (the kubelet's `containerLogMaxSize`).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;

/// Files kept, the current one included (the kubelet's `containerLogMaxFiles`).
pub const DEFAULT_MAX_FILES: usize = 5;

/// Lines buffered for each live follower; a follower further behind skips ahead.
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
        out
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
    /// Directory for the log files; `None` keeps the log in memory.
    pub dir: Option<PathBuf>,
    /// Rotation size of one file (in memory: the bytes kept are `max_file_bytes *
    /// max_files`).
    pub max_file_bytes: u64,
    /// Files kept, the current one included.
    pub max_files: usize,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            dir: None,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            max_files: DEFAULT_MAX_FILES,
        }
    }
}

/// A container's log. Cheap to clone; every clone writes to and reads the same log.
#[derive(Clone)]
pub struct ContainerLog {
    inner: Arc<Mutex<Inner>>,
    live: broadcast::Sender<LogLine>,
}

struct Inner {
    config: LogConfig,
    store: Store,
}

enum Store {
    Memory {
        lines: VecDeque<LogLine>,
        bytes: u64,
    },
    Files {
        current: BufWriter<File>,
        written: u64,
    },
}

/// File name of the current log file in a log directory; rotated files add `.1`, `.2`...
pub const CURRENT_FILE: &str = "current.log";

impl ContainerLog {
    /// Opens a log. With a directory, creates it and appends to an existing current file.
    pub fn open(config: LogConfig) -> std::io::Result<Self> {
        let store = match &config.dir {
            None => Store::Memory {
                lines: VecDeque::new(),
                bytes: 0,
            },
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(dir.join(CURRENT_FILE))?;
                let written = file.metadata()?.len();
                Store::Files {
                    current: BufWriter::new(file),
                    written,
                }
            }
        };
        let (live, _) = broadcast::channel(FOLLOW_BUFFER);
        Ok(Self {
            inner: Arc::new(Mutex::new(Inner { config, store })),
            live,
        })
    }

    /// An in-memory log with default bounds.
    pub fn in_memory() -> Self {
        Self::open(LogConfig::default()).expect("an in-memory log does no I/O")
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves at worst a half-written line behind.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends lines, then flushes them to the file so other readers see them.
    pub fn append(&self, lines: impl IntoIterator<Item = LogLine>) {
        let mut inner = self.lock();
        for line in lines {
            if let Err(e) = inner.append(&line) {
                tracing::warn!(error = %e, "container log write failed; line dropped");
            }
            // No followers is not an error.
            let _ = self.live.send(line);
        }
        if let Store::Files { current, .. } = &mut inner.store
            && let Err(e) = current.flush()
        {
            tracing::warn!(error = %e, "container log flush failed");
        }
    }

    /// Every line still kept, oldest first.
    pub fn lines(&self) -> std::io::Result<Vec<LogLine>> {
        let inner = self.lock();
        match &inner.store {
            Store::Memory { lines, .. } => Ok(lines.iter().cloned().collect()),
            Store::Files { .. } => {
                let dir = inner.config.dir.clone().expect("a file store has a dir");
                let max_files = inner.config.max_files;
                drop(inner);
                read_dir_lines(&dir, max_files)
            }
        }
    }

    /// Lines written from now on. A follower that falls more than a buffer behind gets
    /// `RecvError::Lagged` and continues from the newest lines.
    pub fn follow(&self) -> broadcast::Receiver<LogLine> {
        self.live.subscribe()
    }
}

impl Inner {
    fn append(&mut self, line: &LogLine) -> std::io::Result<()> {
        let encoded = line.encode();
        let len = encoded.len() as u64;
        let budget = self.config.max_file_bytes.max(1);
        match &mut self.store {
            Store::Memory { lines, bytes } => {
                let total = budget * self.config.max_files.max(1) as u64;
                lines.push_back(line.clone());
                *bytes += len;
                while *bytes > total {
                    let Some(old) = lines.pop_front() else { break };
                    *bytes -= old.encode().len() as u64;
                }
            }
            Store::Files { current, written } => {
                if *written > 0 && *written + len > budget {
                    current.flush()?;
                    let dir = self.config.dir.as_deref().expect("a file store has a dir");
                    *current = BufWriter::new(rotate(dir, self.config.max_files)?);
                    *written = 0;
                }
                current.write_all(&encoded)?;
                *written += len;
            }
        }
        Ok(())
    }
}

fn rotated(dir: &Path, n: usize) -> PathBuf {
    if n == 0 {
        dir.join(CURRENT_FILE)
    } else {
        dir.join(format!("{CURRENT_FILE}.{n}"))
    }
}

/// Shifts `current.log.N` to `.N+1` (dropping the oldest) and starts a new current file.
fn rotate(dir: &Path, max_files: usize) -> std::io::Result<File> {
    let keep = max_files.max(1);
    let _ = std::fs::remove_file(rotated(dir, keep - 1));
    for n in (0..keep - 1).rev() {
        let from = rotated(dir, n);
        if from.exists() {
            std::fs::rename(&from, rotated(dir, n + 1))?;
        }
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(rotated(dir, 0))
}

/// Reads every kept file of a log directory, oldest first.
pub fn read_dir_lines(dir: &Path, max_files: usize) -> std::io::Result<Vec<LogLine>> {
    let mut lines = Vec::new();
    for n in (0..max_files.max(1)).rev() {
        let file = match File::open(rotated(dir, n)) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for raw in BufReader::new(file).split(b'\n') {
            if let Some(line) = LogLine::decode(&raw?) {
                lines.push(line);
            }
        }
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> LogLine {
        LogLine {
            time: SystemTime::now(),
            stream: LogStream::Stdout,
            partial: false,
            text: Bytes::copy_from_slice(text.as_bytes()),
        }
    }

    #[test]
    fn encode_decode_round_trip() {
        let original = LogLine {
            partial: true,
            stream: LogStream::Stderr,
            ..line("with spaces in it")
        };
        let encoded = original.encode();
        let decoded = LogLine::decode(&encoded[..encoded.len() - 1]).expect("decodes");
        assert_eq!(decoded, original);
    }

    #[test]
    fn files_rotate_and_stay_bounded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = ContainerLog::open(LogConfig {
            dir: Some(dir.path().to_path_buf()),
            max_file_bytes: 1024,
            max_files: 3,
        })
        .expect("open");
        log.append((0..1000).map(|i| line(&format!("line {i}"))));
        let total: u64 = std::fs::read_dir(dir.path())
            .expect("read dir")
            .map(|e| e.expect("entry").metadata().expect("meta").len())
            .sum();
        assert!(total <= 3 * 1024 + 100, "{total} bytes on disk");
        let lines = log.lines().expect("lines");
        assert_eq!(
            lines.last().map(|l| l.text.clone()),
            Some(Bytes::from("line 999"))
        );
        assert!(
            lines.len() < 1000 && lines.len() > 20,
            "{} lines kept",
            lines.len()
        );
        // Kept lines are contiguous and in order.
        let numbers: Vec<u32> = lines
            .iter()
            .map(|l| {
                std::str::from_utf8(&l.text).expect("utf8")[5..]
                    .parse()
                    .expect("n")
            })
            .collect();
        assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1));
    }

    #[test]
    fn memory_log_is_bounded() {
        let log = ContainerLog::open(LogConfig {
            dir: None,
            max_file_bytes: 512,
            max_files: 2,
        })
        .expect("open");
        log.append((0..500).map(|i| line(&format!("line {i}"))));
        let lines = log.lines().expect("lines");
        let bytes: usize = lines.iter().map(|l| l.encode().len()).sum();
        assert!(bytes <= 1024, "{bytes}");
        assert_eq!(
            lines.last().map(|l| l.text.clone()),
            Some(Bytes::from("line 499"))
        );
    }

    #[tokio::test]
    async fn followers_see_new_lines() {
        let log = ContainerLog::in_memory();
        let mut follower = log.follow();
        log.append([line("hello")]);
        let got = follower.recv().await.expect("a line");
        assert_eq!(got.text, Bytes::from("hello"));
    }
}
