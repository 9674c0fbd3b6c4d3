//! Following one node's stats stream: [`follow`] opens `GET {STREAM_PATH}?intervalMillis=…`
//! on the node's agent, takes in each NDJSON [`NodeReport`] line as it arrives, and when
//! the stream fails or ends opens it again after a backoff ([`BACKOFF_MIN`] doubling to
//! [`BACKOFF_MAX`], back to the minimum once a connection delivered a report), until it
//! is let go. A stream that stays silent for [`SILENCE`] counts as broken: a half-open
//! connection to a vanished host would otherwise hold it forever.
//!
//! Parts: [`follow`] (the loop), [`Error`] (why one connection ended).

use super::shared::Shared;
use bytes::{Buf, Bytes, BytesMut};
use http_body_util::{BodyExt, Empty};
use hyper::StatusCode;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use skiff_model::stats::{INTERVAL_PARAM, NodeReport, STREAM_PATH};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// First wait before reconnecting a failed stream; doubles with each failure in a row.
/// Short: an agent restarting is back within a second, and its node's figures are
/// missing until it is followed again.
pub const BACKOFF_MIN: Duration = Duration::from_millis(200);

/// Longest wait between attempts: a node that is down costs one connection attempt per
/// 5 s, and is followed again within 5 s of coming back.
pub const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// How long connecting and the agent's first answer may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long an open stream may go without a byte before it counts as broken: ten report
/// intervals at the default, and never less than two seconds.
pub fn silence(interval: Duration) -> Duration {
    (interval * 10).max(SILENCE)
}

/// The least [`silence`].
pub const SILENCE: Duration = Duration::from_secs(2);

/// The longest report line taken (a full report of 10,000 pods is about 2 MB).
pub const MAX_LINE: usize = 64 << 20;

/// Why one connection of a stream ended.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Connecting or sending the request failed.
    #[error("cannot reach the agent")]
    Connect(#[source] hyper_util::client::legacy::Error),
    /// No answer within [`CONNECT_TIMEOUT`].
    #[error("the agent did not answer within {CONNECT_TIMEOUT:?}")]
    ConnectTimeout,
    /// The agent answered with something other than 200.
    #[error("the agent answered {0}")]
    Status(StatusCode),
    /// Reading the stream failed.
    #[error("the stream broke")]
    Body(#[source] hyper::Error),
    /// Nothing arrived for too long.
    #[error("the stream was silent for {0:?}")]
    Silent(Duration),
    /// The stream ended.
    #[error("the agent ended the stream")]
    Ended,
    /// A line is not a report.
    #[error("a line of the stream is not a report")]
    Decode(#[source] serde_json::Error),
    /// A line longer than [`MAX_LINE`].
    #[error("a line of the stream is longer than {MAX_LINE} bytes")]
    TooLong,
    /// The report is about another node (the address belongs to another agent).
    #[error("the agent reports on node {0:?}")]
    WrongNode(String),
}

type AgentClient = Client<HttpConnector, Empty<Bytes>>;

fn client() -> &'static AgentClient {
    static CLIENT: OnceLock<AgentClient> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        connector.set_nodelay(true);
        Client::builder(TokioExecutor::new()).build(connector)
    })
}

/// Follows `node`'s stream at `address` (`host:port`), asking for a report every
/// `interval`, into `shared`, until `stop`.
pub async fn follow(
    shared: Arc<Shared>,
    node: String,
    address: String,
    interval: Duration,
    stop: CancellationToken,
) {
    let mut backoff = BACKOFF_MIN;
    loop {
        let mut delivered = false;
        let ended = tokio::select! {
            () = stop.cancelled() => return,
            ended = connection(&shared, &node, &address, interval, &stop, &mut delivered) => ended,
        };
        if delivered {
            backoff = BACKOFF_MIN;
        }
        tracing::debug!(node = %node, %address, error = %causes(&ended), retry_in = ?backoff, "stats stream ended");
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        if !delivered {
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }
}

/// One connection: reads reports until it fails. `delivered` is set once a report was
/// taken in.
async fn connection(
    shared: &Shared,
    node: &str,
    address: &str,
    interval: Duration,
    stop: &CancellationToken,
    delivered: &mut bool,
) -> Error {
    let millis = interval.as_millis().max(1);
    let uri = format!("http://{address}{STREAM_PATH}?{INTERVAL_PARAM}={millis}");
    let uri = match uri.parse() {
        Ok(uri) => uri,
        Err(_) => return Error::Status(StatusCode::BAD_REQUEST),
    };
    let response = match tokio::time::timeout(CONNECT_TIMEOUT, client().get(uri)).await {
        Err(_) => return Error::ConnectTimeout,
        Ok(Err(e)) => return Error::Connect(e),
        Ok(Ok(response)) => response,
    };
    if response.status() != StatusCode::OK {
        return Error::Status(response.status());
    }
    let mut body = response.into_body();
    let mut buffer = BytesMut::new();
    let silence = silence(interval);
    let mut fresh = true;
    // How much of the buffer is known to hold no line end.
    let mut scanned = 0;
    loop {
        let frame = match tokio::time::timeout(silence, body.frame()).await {
            Err(_) => return Error::Silent(silence),
            Ok(None) => return Error::Ended,
            Ok(Some(Err(e))) => return Error::Body(e),
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        buffer.extend_from_slice(&data);
        while let Some(end) = buffer[scanned..]
            .iter()
            .position(|b| *b == b'\n')
            .map(|at| at + scanned)
        {
            scanned = 0;
            let line = buffer.split_to(end);
            buffer.advance(1);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let report: NodeReport = match serde_json::from_slice(&line) {
                Ok(report) => report,
                Err(e) => return Error::Decode(e),
            };
            if report.node != node {
                return Error::WrongNode(report.node);
            }
            shared.ingest(report, fresh, Some(stop));
            fresh = false;
            *delivered = true;
        }
        scanned = buffer.len();
        if buffer.len() > MAX_LINE {
            return Error::TooLong;
        }
    }
}

/// An error and its sources, joined.
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
