//! [`LogSnapshot`]: the lines a log held at one instant, read lazily, oldest first — from
//! memory, or from files opened at that instant (so rotation afterwards does not move
//! them, and the current file is read only up to its length then).

use super::{LogLine, rotated};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Take};
use std::path::Path;

/// An iterator over a log's lines as they were when the snapshot was taken. Reading the
/// files blocks: iterate it off the async executor (e.g. in `spawn_blocking`).
pub struct LogSnapshot {
    source: Source,
}

enum Source {
    Memory(std::vec::IntoIter<LogLine>),
    Files {
        /// Files still to read, oldest first, each limited to its length at the snapshot.
        files: VecDeque<Take<File>>,
        reading: Option<BufReader<Take<File>>>,
        buffer: Vec<u8>,
    },
}

impl LogSnapshot {
    pub(super) fn memory(lines: Vec<LogLine>) -> Self {
        Self {
            source: Source::Memory(lines.into_iter()),
        }
    }

    /// Opens the kept files of the log whose current file is `path`; the current file is
    /// read up to `current_len` bytes if given, else to its end.
    pub(super) fn files(
        path: &Path,
        max_files: usize,
        current_len: Option<u64>,
    ) -> std::io::Result<Self> {
        let mut files = VecDeque::new();
        for n in (0..max_files.max(1)).rev() {
            let file = match File::open(rotated(path, n)) {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            let limit = match current_len {
                Some(len) if n == 0 => len,
                _ => u64::MAX,
            };
            files.push_back(file.take(limit));
        }
        Ok(Self {
            source: Source::Files {
                files,
                reading: None,
                buffer: Vec::new(),
            },
        })
    }
}

impl Iterator for LogSnapshot {
    type Item = std::io::Result<LogLine>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.source {
            Source::Memory(lines) => lines.next().map(Ok),
            Source::Files {
                files,
                reading,
                buffer,
            } => loop {
                let reader = match reading {
                    Some(reader) => reader,
                    None => reading.insert(BufReader::new(files.pop_front()?)),
                };
                buffer.clear();
                match reader.read_until(b'\n', buffer) {
                    Err(e) => {
                        *reading = None;
                        files.clear();
                        return Some(Err(e));
                    }
                    // The end of this file; a trailing piece without its newline is a
                    // write still in progress, not a line.
                    Ok(_) if buffer.last() != Some(&b'\n') => *reading = None,
                    Ok(_) => {
                        if let Some(line) = LogLine::decode(&buffer[..buffer.len() - 1]) {
                            return Some(Ok(line));
                        }
                    }
                }
            },
        }
    }
}

/// Opens every kept file of the log whose current file is `path` (`max_files` of them at
/// most, the current one included) to read, oldest first.
pub fn read_files(path: &Path, max_files: usize) -> std::io::Result<LogSnapshot> {
    LogSnapshot::files(path, max_files, None)
}

/// Reads every kept file of the log whose current file is `path`, oldest first.
pub fn read_file_lines(path: &Path, max_files: usize) -> std::io::Result<Vec<LogLine>> {
    read_files(path, max_files)?.collect()
}
