//! The stats stream ([`STREAM_PATH`](skiff_model::stats::STREAM_PATH)): a report of the
//! node every interval — the first at once — as newline-separated JSON, until the agent
//! shuts down or the receiver goes away. [`interval`] reads the interval a request asks
//! for; [`reports`] is the body. Each stream keeps its own [`ReportBuilder`], so any number
//! of receivers each get a full first report and then the changes since their last one.

use super::node::NodeStats;
use super::report::ReportBuilder;
use bytes::Bytes;
use futures::Stream;
use skiff_model::stats::INTERVAL_PARAM;
use std::convert::Infallible;
use std::time::Duration;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

/// Interval when the request names none: sub-second, as the request autoscaler needs.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(500);

/// Shortest interval served: below it a report at thousands of pods would cost more
/// than the resolution is worth.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// Longest interval served: a receiver must still notice a dead stream quickly.
pub const MAX_INTERVAL: Duration = Duration::from_secs(60);

/// Why the interval a request asks for cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{INTERVAL_PARAM} must be a whole number of milliseconds, not {0:?}")]
pub struct BadInterval(pub String);

/// The interval asked for in `query` (the request's query string), clamped to
/// [`MIN_INTERVAL`]..=[`MAX_INTERVAL`]; [`DEFAULT_INTERVAL`] when it names none.
pub fn interval(query: Option<&str>) -> Result<Duration, BadInterval> {
    let asked = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(name, _)| *name == INTERVAL_PARAM)
        .map(|(_, value)| value);
    let Some(value) = asked else {
        return Ok(DEFAULT_INTERVAL);
    };
    let millis: u64 = value.parse().map_err(|_| BadInterval(value.to_string()))?;
    Ok(Duration::from_millis(millis).clamp(MIN_INTERVAL, MAX_INTERVAL))
}

/// The stream's body: one JSON report per line every `every`, ending when `shutdown` is
/// cancelled (or when the body is dropped, as it is when the receiver goes away).
pub fn reports(
    stats: NodeStats,
    every: Duration,
    shutdown: CancellationToken,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let builder = ReportBuilder::new(stats.node.clone());
    let state = (stats, builder, ticks, shutdown);
    futures::stream::unfold(
        state,
        |(stats, mut builder, mut ticks, shutdown)| async move {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => return None,
                _ = ticks.tick() => {}
            }
            let report = stats.report(&mut builder);
            let mut line = match serde_json::to_vec(&report) {
                Ok(line) => line,
                Err(e) => {
                    // Plain data always encodes; were it not to, end the stream visibly.
                    tracing::error!(error = %e, "cannot encode a node report");
                    return None;
                }
            };
            line.push(b'\n');
            Some((Ok(Bytes::from(line)), (stats, builder, ticks, shutdown)))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_is_read_clamped_and_defaulted() {
        assert_eq!(interval(None).expect("ok"), DEFAULT_INTERVAL);
        assert_eq!(interval(Some("")).expect("ok"), DEFAULT_INTERVAL);
        assert_eq!(
            interval(Some("watch=1&intervalMillis=250")).expect("ok"),
            Duration::from_millis(250)
        );
        assert_eq!(
            interval(Some("intervalMillis=1")).expect("ok"),
            MIN_INTERVAL
        );
        assert_eq!(
            interval(Some("intervalMillis=99999999")).expect("ok"),
            MAX_INTERVAL
        );
        let bad = interval(Some("intervalMillis=fast")).expect_err("refused");
        assert!(bad.to_string().contains("\"fast\""), "{bad}");
        assert!(interval(Some("intervalMillis=-5")).is_err());
    }
}
