//! [`LogBody`]: the bytes of one log read. A task replays the snapshot of the lines
//! written so far (off the executor, since it reads files), then — when following — the
//! live lines until the run finishes, the server stops, or the reader goes away. The
//! snapshot and the follower are taken at one instant, so no line is lost or repeated
//! between the two.

use super::LogOptions;
use super::format::LineFormatter;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use futures::stream::BoxStream;
use skiff_runtime::log::{FollowError, LogFollower, LogSnapshot};
use std::collections::VecDeque;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

/// A log read's output: chunks of text, each a batch of whole lines (the last one may be
/// cut by `limitBytes`), ending with the read.
pub type LogBody = BoxStream<'static, Bytes>;

/// Replayed output is sent in chunks of about this size: large enough to amortize the
/// per-chunk cost, small enough to start answering at once. Live lines go out per batch.
const CHUNK_BYTES: usize = 32 * 1024;

/// Chunks queued for a slow reader before the replay waits (and a follower lags).
const QUEUED_CHUNKS: usize = 8;

/// Starts the task producing a read's output. Must run inside a Tokio runtime.
pub(crate) fn body(
    snapshot: LogSnapshot,
    follower: Option<LogFollower>,
    options: LogOptions,
    stopping: CancellationToken,
) -> LogBody {
    let (tx, rx) = mpsc::channel(QUEUED_CHUNKS);
    let sink = Sink {
        tx,
        remaining: options.limit_bytes,
        chunk: BytesMut::new(),
    };
    tokio::spawn(produce(snapshot, follower, options, sink, stopping));
    ReceiverStream::new(rx).boxed()
}

/// Where output goes: buffered into chunks, cut at the byte limit.
struct Sink {
    tx: mpsc::Sender<Bytes>,
    /// Bytes still allowed by `limitBytes`.
    remaining: Option<u64>,
    chunk: BytesMut,
}

impl Sink {
    /// Adds output; `false` once the byte limit is reached (nothing more is wanted).
    fn push(&mut self, bytes: &[u8]) -> bool {
        match &mut self.remaining {
            None => {
                self.chunk.extend_from_slice(bytes);
                true
            }
            Some(remaining) => {
                let take = bytes
                    .len()
                    .min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                self.chunk.extend_from_slice(&bytes[..take]);
                *remaining -= take as u64;
                *remaining > 0
            }
        }
    }

    fn full(&self) -> bool {
        self.chunk.len() >= CHUNK_BYTES
    }

    /// Sends the buffered output from a blocking thread; `false` if the reader is gone.
    fn blocking_flush(&mut self) -> bool {
        self.chunk.is_empty() || self.tx.blocking_send(self.chunk.split().freeze()).is_ok()
    }

    /// Sends the buffered output; `false` if the reader is gone.
    async fn flush(&mut self) -> bool {
        self.chunk.is_empty() || self.tx.send(self.chunk.split().freeze()).await.is_ok()
    }
}

async fn produce(
    snapshot: LogSnapshot,
    follower: Option<LogFollower>,
    options: LogOptions,
    sink: Sink,
    stopping: CancellationToken,
) {
    let formatter = LineFormatter::new(&options);
    let ends_after_replay = follower.is_none();
    let tail = options.tail_lines;
    let replayed = tokio::task::spawn_blocking(move || {
        let (mut formatter, mut sink) = (formatter, sink);
        let more = replay(snapshot, &mut formatter, tail, ends_after_replay, &mut sink);
        (formatter, sink, more)
    })
    .await;
    let (formatter, sink, more) = match replayed {
        Ok(done) => done,
        Err(e) => {
            tracing::error!(error = %e, "log replay task failed");
            return;
        }
    };
    if let (true, Some(follower)) = (more, follower) {
        follow(follower, formatter, sink, stopping).await;
    }
}

/// Sends the snapshot's lines (the last `tail` of them, if given); `false` if the output
/// is over (the reader left, the limit was reached, or reading failed).
fn replay(
    snapshot: LogSnapshot,
    formatter: &mut LineFormatter,
    tail: Option<u64>,
    ends_here: bool,
    sink: &mut Sink,
) -> bool {
    let keep = tail.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let mut kept: VecDeque<Bytes> = VecDeque::new();
    let mut more = true;
    let mut outputs = Vec::new();
    for line in snapshot {
        match line {
            Ok(line) => outputs.extend(formatter.push(line)),
            Err(e) => {
                tracing::warn!(error = %e, "reading a container log failed; output cut short");
                more = false;
                break;
            }
        }
        if !emit(&mut outputs, keep, &mut kept, sink) {
            return false;
        }
    }
    if ends_here && more {
        outputs.extend(formatter.finish());
        if !emit(&mut outputs, keep, &mut kept, sink) {
            return false;
        }
    }
    for output in kept {
        if !sink.push(&output) || (sink.full() && !sink.blocking_flush()) {
            sink.blocking_flush();
            return false;
        }
    }
    sink.blocking_flush() && more
}

/// Passes formatted lines on: into the tail window if there is one, else to the sink.
fn emit(
    outputs: &mut Vec<Bytes>,
    keep: Option<usize>,
    kept: &mut VecDeque<Bytes>,
    sink: &mut Sink,
) -> bool {
    for output in outputs.drain(..) {
        match keep {
            Some(0) => {}
            Some(keep) => {
                if kept.len() == keep {
                    kept.pop_front();
                }
                kept.push_back(output);
            }
            None => {
                if !sink.push(&output) {
                    sink.blocking_flush();
                    return false;
                }
                if sink.full() && !sink.blocking_flush() {
                    return false;
                }
            }
        }
    }
    true
}

/// Sends live lines, a batch per chunk, until the log closes, the server stops or the
/// reader leaves.
async fn follow(
    mut follower: LogFollower,
    mut formatter: LineFormatter,
    mut sink: Sink,
    stopping: CancellationToken,
) {
    loop {
        let received = tokio::select! {
            () = sink.tx.closed() => return,
            () = stopping.cancelled() => break,
            received = follower.recv() => received,
        };
        let mut next = match received {
            Ok(line) => Some(line),
            Err(FollowError::Lagged) => {
                tracing::warn!("log reader fell behind; lines skipped");
                continue;
            }
            Err(FollowError::Closed) => break,
        };
        while let Some(line) = next.take() {
            if let Some(output) = formatter.push(line)
                && !sink.push(&output)
            {
                sink.flush().await;
                return;
            }
            if sink.full() {
                break;
            }
            next = match follower.try_recv() {
                Ok(line) => line,
                Err(FollowError::Lagged) => {
                    tracing::warn!("log reader fell behind; lines skipped");
                    follower.try_recv().ok().flatten()
                }
                // Sent with the batch; `recv` then says so.
                Err(FollowError::Closed) => None,
            };
        }
        if !sink.flush().await {
            return;
        }
    }
    for output in formatter.finish() {
        if !sink.push(&output) {
            break;
        }
    }
    sink.flush().await;
}
