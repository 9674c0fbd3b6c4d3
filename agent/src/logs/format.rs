//! [`LogOptions`], and `LineFormatter`: turns CRI log entries into the text the kubelet
//! returns — each line's text and its newline, pieces of a partial line joined (with the
//! first piece's time), optionally prefixed by an RFC 3339 timestamp with nanoseconds, and
//! only lines written at or after `since`.

use bytes::{Bytes, BytesMut};
use skiff_runtime::{LogLine, LogStream};
use std::time::SystemTime;

/// What to read, as the kubelet's `containerLogs` query parameters say.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// After the lines written so far, keep sending new lines until the run ends.
    pub follow: bool,
    /// Read the previous run of the container instead of the current one.
    pub previous: bool,
    /// Only the last this many lines written so far (follow still sends every new line).
    pub tail_lines: Option<u64>,
    /// Only lines written at or after this time (from `sinceSeconds` or `sinceTime`).
    pub since: Option<SystemTime>,
    /// Prefix each line with its RFC 3339 timestamp (nanoseconds) and a space.
    pub timestamps: bool,
    /// Stop after this many bytes of output.
    pub limit_bytes: Option<u64>,
}

/// A line being assembled from partial entries.
struct Pending {
    time: SystemTime,
    text: BytesMut,
}

/// Formats log entries one at a time; partial entries are held until their line ends.
pub(crate) struct LineFormatter {
    timestamps: bool,
    since: Option<SystemTime>,
    /// Unfinished lines of stdout and stderr.
    pending: [Option<Pending>; 2],
}

impl LineFormatter {
    pub(crate) fn new(options: &LogOptions) -> Self {
        Self {
            timestamps: options.timestamps,
            since: options.since,
            pending: [None, None],
        }
    }

    /// The output for one entry: `None` while its line is unfinished or when it is older
    /// than `since`.
    pub(crate) fn push(&mut self, line: LogLine) -> Option<Bytes> {
        let slot = &mut self.pending[stream_index(line.stream)];
        if line.partial {
            match slot {
                Some(pending) => pending.text.extend_from_slice(&line.text),
                None => {
                    *slot = Some(Pending {
                        time: line.time,
                        text: BytesMut::from(&line.text[..]),
                    });
                }
            }
            return None;
        }
        let (time, text) = match slot.take() {
            Some(mut pending) => {
                pending.text.extend_from_slice(&line.text);
                (pending.time, pending.text.freeze())
            }
            None => (line.time, line.text),
        };
        self.render(time, &text, true)
    }

    /// The unfinished lines, oldest first and without a newline (the output ended there).
    pub(crate) fn finish(&mut self) -> Vec<Bytes> {
        let mut pending: Vec<Pending> = self.pending.iter_mut().filter_map(Option::take).collect();
        pending.sort_by_key(|p| p.time);
        pending
            .into_iter()
            .filter_map(|p| self.render(p.time, &p.text, false))
            .collect()
    }

    fn render(&self, time: SystemTime, text: &[u8], newline: bool) -> Option<Bytes> {
        if self.since.is_some_and(|since| time < since) {
            return None;
        }
        let mut out = BytesMut::with_capacity(text.len() + 40);
        if self.timestamps {
            out.extend_from_slice(rfc3339_nano(time).as_bytes());
            out.extend_from_slice(b" ");
        }
        out.extend_from_slice(text);
        if newline {
            out.extend_from_slice(b"\n");
        }
        Some(out.freeze())
    }
}

fn stream_index(stream: LogStream) -> usize {
    match stream {
        LogStream::Stdout => 0,
        LogStream::Stderr => 1,
    }
}

/// Go's `time.RFC3339Nano` in UTC, as the kubelet prints it: nanoseconds with trailing
/// zeros dropped (`2024-05-01T10:00:00.5Z`, `2024-05-01T10:00:00Z`).
pub fn rfc3339_nano(time: SystemTime) -> String {
    let full = humantime::format_rfc3339_nanos(time).to_string();
    match full.split_once('.') {
        Some((seconds, fraction)) => {
            let digits = fraction.trim_end_matches('Z').trim_end_matches('0');
            if digits.is_empty() {
                format!("{seconds}Z")
            } else {
                format!("{seconds}.{digits}Z")
            }
        }
        None => full,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn entry(secs: u64, stream: LogStream, partial: bool, text: &'static str) -> LogLine {
        LogLine {
            time: UNIX_EPOCH + Duration::from_secs(secs),
            stream,
            partial,
            text: Bytes::from_static(text.as_bytes()),
        }
    }

    #[test]
    fn timestamps_drop_trailing_zeros() {
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 500_000_000);
        assert_eq!(rfc3339_nano(t), "2023-11-14T22:13:20.5Z");
        assert_eq!(
            rfc3339_nano(UNIX_EPOCH + Duration::from_secs(1)),
            "1970-01-01T00:00:01Z"
        );
    }

    #[test]
    fn partial_entries_join_per_stream_with_the_first_time() {
        let mut f = LineFormatter::new(&LogOptions {
            timestamps: true,
            ..LogOptions::default()
        });
        assert_eq!(f.push(entry(1, LogStream::Stdout, true, "hel")), None);
        let err = f.push(entry(2, LogStream::Stderr, false, "oops"));
        assert_eq!(err.as_deref(), Some(&b"1970-01-01T00:00:02Z oops\n"[..]));
        let out = f.push(entry(3, LogStream::Stdout, false, "lo"));
        assert_eq!(out.as_deref(), Some(&b"1970-01-01T00:00:01Z hello\n"[..]));
        assert_eq!(f.push(entry(4, LogStream::Stdout, true, "cut")), None);
        assert_eq!(
            f.finish(),
            [Bytes::from_static(b"1970-01-01T00:00:04Z cut")]
        );
    }

    #[test]
    fn since_keeps_lines_at_or_after_it() {
        let mut f = LineFormatter::new(&LogOptions {
            since: Some(UNIX_EPOCH + Duration::from_secs(2)),
            ..LogOptions::default()
        });
        assert_eq!(f.push(entry(1, LogStream::Stdout, false, "old")), None);
        let kept = f.push(entry(2, LogStream::Stdout, false, "new"));
        assert_eq!(kept.as_deref(), Some(&b"new\n"[..]));
    }
}
