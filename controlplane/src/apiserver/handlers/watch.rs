//! Watch (`?watch=true`): a chunked stream of `{"type","object"}` JSON lines. Without a
//! `resourceVersion` (or with `0`) it starts with a synthetic `ADDED` per existing object;
//! with one it replays the changes after it (410 `Expired` when that history is gone).
//! Selectors apply to both old and new object, so an object leaving the selection is a
//! `DELETED`. `timeoutSeconds` ends the stream; bookmarks are sent when idle if asked for.

use crate::apiserver::codec::table;
use crate::apiserver::conversion;
use crate::apiserver::error::{ApiError, ApiResult};
use crate::apiserver::handlers::read;
use crate::apiserver::request::path::ResourcePath;
use crate::apiserver::request::query::Query;
use crate::apiserver::state::{ApiState, decode, store_error};
use crate::store::{Event, EventKind};
use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

/// Events buffered towards one client before the writer waits for it.
const CLIENT_BUFFER: usize = 256;

/// How long a watch with bookmarks enabled stays silent before sending one.
pub const BOOKMARK_INTERVAL: Duration = Duration::from_secs(30);

/// `GET ...?watch=true`.
pub async fn watch(
    state: &ApiState,
    path: ResourcePath,
    query: Query,
    accept: Option<String>,
) -> ApiResult<Response> {
    let prefix = match &path.name {
        Some(name) => path.kind.key(path.namespace.as_deref(), name),
        None => path.kind.key_prefix(path.namespace.as_deref()),
    };
    let mut initial = Vec::new();
    let from = match query.resource_version.as_deref() {
        None | Some("0") => {
            let mut all = query.clone();
            all.limit = 0;
            all.continue_token = None;
            let page = read::page(state, &path, &all).await?;
            initial = page
                .items
                .into_iter()
                .filter(|o| {
                    path.name
                        .as_deref()
                        .is_none_or(|n| skiff_model::meta::meta_str(o, "name") == Some(n))
                })
                .collect();
            page.revision
        }
        Some(rv) => rv
            .parse::<u64>()
            .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {rv:?}")))?,
    };
    let mut events = state
        .store
        .watch(&prefix, from)
        .await
        .map_err(store_error)?;

    let (tx, rx) = mpsc::channel::<Result<Bytes, std::convert::Infallible>>(CLIENT_BUFFER);
    let table_version = accept
        .as_deref()
        .filter(|a| table::wants_table(Some(a)))
        .map(table::table_version);
    let kind = path.kind;
    tokio::spawn(async move {
        let mut encoder = Encoder {
            kind,
            table_version,
            columns_sent: false,
        };
        for object in initial {
            if tx.send(Ok(encoder.line("ADDED", object))).await.is_err() {
                return;
            }
        }
        let deadline = query
            .timeout_seconds
            .map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
        loop {
            let next = async {
                if query.bookmarks {
                    tokio::time::timeout(BOOKMARK_INTERVAL, events.next())
                        .await
                        .ok()
                } else {
                    Some(events.next().await)
                }
            };
            let next = async {
                match deadline {
                    Some(deadline) => tokio::time::timeout_at(deadline, next).await.ok(),
                    None => Some(next.await),
                }
            };
            // A client that went away ends the watch at once, even on a quiet prefix.
            let next = tokio::select! {
                () = tx.closed() => return,
                next = next => match next {
                    Some(next) => next,
                    None => return,
                },
            };
            let line = match next {
                None => {
                    let bookmark = json!({"kind": kind.kind, "apiVersion": kind.api_version(),
                        "metadata": {"resourceVersion": events.revision().to_string()}});
                    Some(encoder.raw("BOOKMARK", bookmark))
                }
                Some(None) => return,
                Some(Some(Ok(event))) => {
                    translate(&query, kind, &event).map(|(t, o)| encoder.line(t, o))
                }
                Some(Some(Err(e))) => {
                    let error = match e {
                        crate::store::Error::WatcherLagged => ApiError::expired(
                            "the watch fell too far behind; list again and restart the watch",
                        ),
                        other => store_error(other),
                    };
                    let _ = tx.send(Ok(encoder.raw("ERROR", error.status()))).await;
                    return;
                }
            };
            if let Some(line) = line
                && tx.send(Ok(line)).await.is_err()
            {
                return;
            }
        }
    });
    Ok((
        [(CONTENT_TYPE, "application/json")],
        Body::from_stream(ReceiverStream::new(rx)),
    )
        .into_response())
}

/// The watch event type and object a store event becomes, if the client sees it at all.
fn translate(
    query: &Query,
    kind: &skiff_model::kinds::ResourceKind,
    event: &Event,
) -> Option<(&'static str, Value)> {
    let new = decode(&event.kv).ok()?.object;
    let old = event
        .prev
        .as_ref()
        .and_then(|kv| decode(kv).ok())
        .map(|s| s.object);
    let old_matches = old.as_ref().is_some_and(|o| query.matches(kind, o));
    let new_matches = query.matches(kind, &new);
    match event.kind {
        EventKind::Delete => old_matches.then_some(("DELETED", new)),
        EventKind::Put => match (old.is_some() && old_matches, new_matches) {
            (true, true) => Some(("MODIFIED", new)),
            (false, true) => Some(("ADDED", new)),
            (true, false) => Some(("DELETED", new)),
            (false, false) => None,
        },
    }
}

struct Encoder {
    kind: &'static skiff_model::kinds::ResourceKind,
    table_version: Option<&'static str>,
    columns_sent: bool,
}

impl Encoder {
    fn line(&mut self, kind: &str, object: Value) -> Bytes {
        let object = match self.table_version {
            Some(version) => {
                let rv = object
                    .pointer("/metadata/resourceVersion")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let t = table::table(
                    self.kind.kind,
                    [object],
                    &rv,
                    None,
                    !self.columns_sent,
                    version,
                );
                self.columns_sent = true;
                t
            }
            None => conversion::from_storage(self.kind, object),
        };
        self.raw(kind, object)
    }

    fn raw(&self, kind: &str, object: Value) -> Bytes {
        let mut line =
            serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
        line.push(b'\n');
        Bytes::from(line)
    }
}
