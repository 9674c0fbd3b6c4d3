//! [`LogOutput`]: a WASI stdout/stderr that cuts the guest's bytes into lines and appends
//! them to a [`ContainerLog`]. Writes never block the guest: the log is bounded by
//! rotation, not by back-pressure.

use super::{ContainerLog, LogLine, LogStream, MAX_LINE};
use bytes::{Bytes, BytesMut};
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::SystemTime;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// One stream of a guest's output, feeding a log. Clones share the pending partial line.
#[derive(Clone)]
pub(crate) struct LogOutput {
    log: ContainerLog,
    stream: LogStream,
    pending: Arc<Mutex<BytesMut>>,
}

impl LogOutput {
    pub(crate) fn new(log: ContainerLog, stream: LogStream) -> Self {
        Self {
            log,
            stream,
            pending: Arc::default(),
        }
    }

    fn write_bytes(&self, bytes: &[u8]) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.extend_from_slice(bytes);
        let now = SystemTime::now();
        let mut lines = Vec::new();
        loop {
            if let Some(newline) = pending.iter().position(|&b| b == b'\n') {
                let mut text = pending.split_to(newline + 1);
                text.truncate(newline);
                // A long line arriving whole is still split at MAX_LINE.
                while text.len() > MAX_LINE {
                    lines.push(self.line(now, true, text.split_to(MAX_LINE).freeze()));
                }
                lines.push(self.line(now, false, text.freeze()));
            } else if pending.len() >= MAX_LINE {
                lines.push(self.line(now, true, pending.split_to(MAX_LINE).freeze()));
            } else {
                break;
            }
        }
        drop(pending);
        if !lines.is_empty() {
            self.log.append(lines);
        }
    }

    /// Writes out a trailing line that never got its newline.
    pub(crate) fn finish(&self) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if !pending.is_empty() {
            let text = pending.split().freeze();
            drop(pending);
            self.log.append([self.line(SystemTime::now(), true, text)]);
        }
    }

    fn line(&self, time: SystemTime, partial: bool, text: Bytes) -> LogLine {
        LogLine {
            time,
            stream: self.stream,
            partial,
            text,
        }
    }
}

impl IsTerminal for LogOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[async_trait::async_trait]
impl Pollable for LogOutput {
    async fn ready(&mut self) {}
}

impl OutputStream for LogOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.write_bytes(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

impl AsyncWrite for LogOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.write_bytes(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
