//! A closed-loop HTTP/1.1 load generator for the benchmarks: `connections` keep-alive
//! connections, each sending `GET path` and waiting for the whole response before sending
//! the next, for a warm-up period and then a measured period. Latencies go into an
//! HdrHistogram (nanoseconds, three significant digits).
//!
//! A request counts when its response completes inside the measured period; throughput is
//! those requests over the period's length. Failed connections are counted as errors and
//! reopened; non-2xx answers are counted apart and not timed.

use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, header};
use hyper_util::rt::TokioIo;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// Keep-alive connections (and so requests in flight) when not told otherwise.
pub const DEFAULT_CONNECTIONS: usize = 32;
/// Load before measuring: fills instance pools, code caches and connection state.
pub const DEFAULT_WARMUP: Duration = Duration::from_secs(2);
/// Length of one measured run: long enough for a stable p99 at thousands of requests/s.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(10);
/// Pause before reopening a connection that failed, so a dead target is not spun on.
const RECONNECT_PAUSE: Duration = Duration::from_millis(10);
/// Largest latency recorded; slower requests are recorded as this.
const MAX_LATENCY_NS: u64 = 60_000_000_000;

/// How to load a target.
#[derive(Clone, Debug)]
pub struct Load {
    /// Connections, each with one request in flight at a time.
    pub connections: usize,
    /// Load applied, but not measured, before the measured period.
    pub warmup: Duration,
    /// The measured period.
    pub duration: Duration,
}

impl Default for Load {
    fn default() -> Self {
        Self {
            connections: DEFAULT_CONNECTIONS,
            warmup: DEFAULT_WARMUP,
            duration: DEFAULT_DURATION,
        }
    }
}

/// What a run measured.
#[derive(Clone, Debug)]
pub struct Report {
    /// 2xx responses completed in the measured period.
    pub requests: u64,
    /// Responses with another status in the measured period.
    pub non_success: u64,
    /// Those responses by status: how many, and the first one's body (for the reason).
    pub non_success_codes: BTreeMap<u16, (u64, String)>,
    /// Failed connections or requests (the connection is reopened).
    pub errors: u64,
    /// The measured period's length.
    pub elapsed: Duration,
    /// Latency of each counted request, in nanoseconds.
    pub latency: Histogram<u64>,
}

impl Default for Report {
    /// Nothing measured yet: a start for [`Report::merge`].
    fn default() -> Self {
        Self {
            requests: 0,
            non_success: 0,
            non_success_codes: BTreeMap::new(),
            errors: 0,
            elapsed: Duration::ZERO,
            latency: histogram(),
        }
    }
}

impl Report {
    /// Adds another run (or connection) to this one; periods add up.
    pub fn merge(&mut self, other: &Report) {
        self.requests += other.requests;
        self.non_success += other.non_success;
        for (code, (count, body)) in &other.non_success_codes {
            let entry = self
                .non_success_codes
                .entry(*code)
                .or_insert_with(|| (0, body.clone()));
            entry.0 += count;
        }
        self.errors += other.errors;
        self.elapsed += other.elapsed;
        self.latency
            .add(&other.latency)
            .expect("histograms made by histogram() have the same bounds");
    }

    /// Requests per second over the measured period.
    pub fn throughput(&self) -> f64 {
        if self.elapsed.is_zero() {
            return 0.0;
        }
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// The latency at quantile `q` (0.5 for the median).
    pub fn quantile(&self, q: f64) -> Duration {
        Duration::from_nanos(self.latency.value_at_quantile(q))
    }

    /// One line: requests/s, p50, p99 and any failures.
    pub fn summary(&self) -> String {
        let mut line = format!(
            "{:>9.0} req/s  p50 {:>9}  p99 {:>9}  ({} requests)",
            self.throughput(),
            micros(self.quantile(0.5)),
            micros(self.quantile(0.99)),
            self.requests
        );
        if self.non_success > 0 {
            line.push_str(&format!("  {} non-2xx", self.non_success));
        }
        if let Some(codes) = self.codes() {
            line.push_str(&format!(" ({codes})"));
        }
        if self.errors > 0 {
            line.push_str(&format!("  {} errors", self.errors));
        }
        line
    }

    /// The non-2xx answers by status, each with the first one's body, e.g. `503 × 3:
    /// "no ready endpoints..."`; `None` when there were none.
    pub fn codes(&self) -> Option<String> {
        let codes: Vec<String> = self
            .non_success_codes
            .iter()
            .map(|(code, (count, body))| format!("{code} × {count}: {:?}", body.trim_end()))
            .collect();
        (!codes.is_empty()).then(|| codes.join("; "))
    }
}

/// A duration as microseconds with a unit, e.g. `412 µs`.
pub fn micros(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_NS, 3)
        .expect("1 ns to 60 s at 3 significant digits is a valid histogram")
}

/// Loads `GET http://addr{path}` as `load` says and reports what the measured period saw.
pub async fn run(addr: SocketAddr, path: &str, load: &Load) -> Report {
    let start = Instant::now() + load.warmup;
    let end = start + load.duration;
    let workers: Vec<_> = (0..load.connections.max(1))
        .map(|_| {
            let path = path.to_string();
            tokio::spawn(async move { connection(addr, &path, start, end).await })
        })
        .collect();
    let mut report = Report::default();
    for worker in workers {
        let one = worker.await.expect("a load connection task panicked");
        report.merge(&one);
    }
    report.elapsed = load.duration;
    report
}

/// One connection's closed loop until `end`, counting what completes from `start` on.
async fn connection(addr: SocketAddr, path: &str, start: Instant, end: Instant) -> Report {
    let mut report = Report::default();
    let host = addr.to_string();
    let mut sender: Option<SendRequest<Empty<Bytes>>> = None;
    while Instant::now() < end {
        let mut open = match sender.take() {
            Some(open) => open,
            None => match connect(addr).await {
                Ok(open) => open,
                Err(_) => {
                    report.errors += u64::from(Instant::now() >= start);
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                    continue;
                }
            },
        };
        let request = Request::get(path)
            .header(header::HOST, &host)
            .body(Empty::new())
            .expect("a GET with a path and a Host header is a valid request");
        // The previous response was read to its end, but the connection may not have
        // taken that in yet; sending before it is ready fails.
        if open.ready().await.is_err() {
            report.errors += u64::from(Instant::now() >= start);
            continue;
        }
        let sent = Instant::now();
        let outcome = match open.send_request(request).await {
            Ok(response) => {
                let status = response.status();
                response
                    .into_body()
                    .collect()
                    .await
                    .map(|body| (status, body.to_bytes()))
            }
            Err(e) => Err(e),
        };
        let done = Instant::now();
        let counted = done >= start && done <= end;
        match outcome {
            Ok((status, body)) => {
                if counted {
                    if status.is_success() {
                        report.requests += 1;
                        let ns = u64::try_from((done - sent).as_nanos()).unwrap_or(u64::MAX);
                        report.latency.saturating_record(ns.max(1));
                    } else {
                        report.non_success += 1;
                        let code = report
                            .non_success_codes
                            .entry(status.as_u16())
                            .or_insert_with(|| (0, String::from_utf8_lossy(&body).into_owned()));
                        code.0 += 1;
                    }
                }
                sender = Some(open);
            }
            Err(_) => {
                report.errors += u64::from(counted);
                tokio::time::sleep(RECONNECT_PAUSE).await;
            }
        }
    }
    report
}

/// Opens a keep-alive HTTP/1.1 connection to `addr`.
async fn connect(addr: SocketAddr) -> std::io::Result<SendRequest<Empty<Bytes>>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(async move {
        // Ends when the sender is dropped or the peer closes; the sender sees the error.
        let _ = connection.await;
    });
    Ok(sender)
}

/// Sends one `GET http://addr{path}` on a fresh connection and returns its status and
/// body, or `None` when nothing answered.
pub async fn get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut sender = connect(addr).await.ok()?;
    sender.ready().await.ok()?;
    let request = Request::get(path)
        .header(header::HOST, addr.to_string())
        .body(Empty::<Bytes>::new())
        .ok()?;
    let response = sender.send_request(request).await.ok()?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.ok()?.to_bytes();
    Some((status, String::from_utf8_lossy(&body).into_owned()))
}
