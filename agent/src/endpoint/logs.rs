//! `GET /containerLogs/{namespace}/{pod}/{container}`: a container's log as `text/plain`,
//! streamed (and, with `follow`, kept open for new lines), with the kubelet's query
//! parameters: `follow`, `previous`, `tailLines`, `sinceSeconds`, `sinceTime`,
//! `timestamps`, `limitBytes`.

use super::status::Status;
use crate::logs::{LogOptions, LogRegistry};
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use std::collections::HashMap;
use std::convert::Infallible;
use std::time::{Duration, SystemTime};

/// The handler.
pub async fn container_logs(
    State(logs): State<LogRegistry>,
    Path((namespace, pod, container)): Path<(String, String, String)>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    let params = match query {
        Ok(Query(params)) => params,
        Err(rejection) => return Status::bad_request(rejection.body_text()).into_response(),
    };
    let options = match parse_options(&params, SystemTime::now()) {
        Ok(options) => options,
        Err(message) => return Status::bad_request(message).into_response(),
    };
    match logs.read(&namespace, &pod, &container, options) {
        Ok(body) => (
            [(CONTENT_TYPE, "text/plain")],
            Body::from_stream(body.map(Ok::<_, Infallible>)),
        )
            .into_response(),
        Err(e) if e.is_not_found() => Status::not_found(e.to_string()).into_response(),
        Err(e) => Status::internal(&e).into_response(),
    }
}

/// Reads the kubelet's log parameters. Booleans follow Kubernetes' query conversion: `0`,
/// `f` and `false` (any case) are false, any other value true.
pub fn parse_options(
    params: &HashMap<String, String>,
    now: SystemTime,
) -> Result<LogOptions, String> {
    let flag = |name: &str| {
        params.get(name).is_some_and(|v| {
            !(v == "0" || v.eq_ignore_ascii_case("f") || v.eq_ignore_ascii_case("false"))
        })
    };
    let number = |name: &str, min: i64| -> Result<Option<u64>, String> {
        let Some(value) = params.get(name) else {
            return Ok(None);
        };
        let n: i64 = value
            .parse()
            .map_err(|_| format!("{name}: Invalid value: {value:?}: must be an integer"))?;
        if n < min {
            let bound = if min == 0 {
                "greater than or equal to 0"
            } else {
                "greater than 0"
            };
            return Err(format!("{name}: Invalid value: {n}: must be {bound}"));
        }
        Ok(Some(n.unsigned_abs()))
    };
    let since_seconds = number("sinceSeconds", 1)?;
    let since_time = params
        .get("sinceTime")
        .map(|value| {
            parse_rfc3339(value).ok_or_else(|| {
                format!("sinceTime: Invalid value: {value:?}: must be an RFC 3339 time")
            })
        })
        .transpose()?;
    let since = match (since_seconds, since_time) {
        (Some(_), Some(_)) => {
            return Err("at most one of sinceTime or sinceSeconds may be specified".to_string());
        }
        (Some(seconds), None) => Some(
            now.checked_sub(Duration::from_secs(seconds))
                .unwrap_or(SystemTime::UNIX_EPOCH),
        ),
        (None, time) => time,
    };
    Ok(LogOptions {
        follow: flag("follow"),
        previous: flag("previous"),
        tail_lines: number("tailLines", 0)?,
        since,
        timestamps: flag("timestamps"),
        limit_bytes: number("limitBytes", 1)?,
    })
}

/// Parses an RFC 3339 time with a `Z` or a `±hh:mm` offset.
pub fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    if let Some(utc) = text.strip_suffix(['Z', 'z']) {
        return humantime::parse_rfc3339_weak(utc).ok();
    }
    // `±hh:mm` is the last six characters; the local time before it is read as UTC and
    // then moved by the offset.
    let split = text.len().checked_sub(6)?;
    let (local, offset) = (text.get(..split)?, text.get(split..)?);
    let sign = match offset.as_bytes().first()? {
        b'+' => 1i64,
        b'-' => -1,
        _ => return None,
    };
    let hours: u64 = offset.get(1..3)?.parse().ok()?;
    let minutes: u64 = offset.get(4..6)?.parse().ok()?;
    if offset.as_bytes().get(3) != Some(&b':') {
        return None;
    }
    let local = humantime::parse_rfc3339_weak(local).ok()?;
    let shift = Duration::from_secs(hours * 3600 + minutes * 60);
    if sign > 0 {
        local.checked_sub(shift)
    } else {
        local.checked_add(shift)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_the_kubelet_parameters() {
        let now = UNIX_EPOCH + Duration::from_secs(1000);
        let options = parse_options(
            &params(&[
                ("follow", "true"),
                ("previous", "1"),
                ("timestamps", "false"),
                ("tailLines", "10"),
                ("sinceSeconds", "60"),
                ("limitBytes", "5"),
            ]),
            now,
        )
        .expect("valid");
        assert_eq!(
            options,
            LogOptions {
                follow: true,
                previous: true,
                tail_lines: Some(10),
                since: Some(UNIX_EPOCH + Duration::from_secs(940)),
                timestamps: false,
                limit_bytes: Some(5),
            }
        );
    }

    #[test]
    fn rejects_bad_values() {
        let now = SystemTime::now();
        for bad in [
            [("tailLines", "-1")],
            [("tailLines", "x")],
            [("sinceSeconds", "0")],
            [("limitBytes", "0")],
            [("sinceTime", "yesterday")],
        ] {
            assert!(parse_options(&params(&bad), now).is_err(), "{bad:?}");
        }
        let both = params(&[("sinceSeconds", "5"), ("sinceTime", "2024-01-01T00:00:00Z")]);
        assert!(parse_options(&both, now).is_err());
    }

    #[test]
    fn parses_rfc3339_with_offsets() {
        let utc = parse_rfc3339("2024-01-01T10:00:00Z").expect("utc");
        assert_eq!(parse_rfc3339("2024-01-01T12:00:00+02:00"), Some(utc));
        assert_eq!(parse_rfc3339("2024-01-01T09:30:00-00:30"), Some(utc));
        assert_eq!(
            parse_rfc3339("2024-01-01T10:00:00.25Z"),
            utc.checked_add(Duration::from_millis(250))
        );
    }
}
