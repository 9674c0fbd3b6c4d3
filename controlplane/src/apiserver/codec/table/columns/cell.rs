//! One column of a kubectl table ([`Column`]) and the cell readers every kind's columns
//! share: text and numbers at a JSON pointer, `<none>` for empty cells, counts, ratios,
//! container fields, and ages as Kubernetes' short durations ([`short_duration`]).

use serde_json::{Value, json};
use std::time::{Duration, SystemTime};

/// One column: its header, type, priority (1 = only with `-o wide`) and cell.
pub(crate) struct Column {
    pub(crate) name: &'static str,
    pub(crate) kind: &'static str,
    pub(crate) priority: u8,
    pub(crate) cell: fn(&Value) -> Value,
}

pub(super) fn name(o: &Value) -> Value {
    text(o, "/metadata/name")
}

pub(super) fn text(o: &Value, pointer: &str) -> Value {
    json!(text_str(o, pointer))
}

pub(super) fn text_str<'a>(o: &'a Value, pointer: &str) -> &'a str {
    o.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

pub(super) fn or_none(v: Value) -> Value {
    if v.as_str().is_none_or(str::is_empty) {
        json!("<none>")
    } else {
        v
    }
}

pub(super) fn int(o: &Value, pointer: &str) -> Value {
    json!(o.pointer(pointer).and_then(Value::as_i64).unwrap_or(0))
}

pub(super) fn ratio(o: &Value, have: &str, want: &str) -> Value {
    let have = o.pointer(have).and_then(Value::as_i64).unwrap_or(0);
    let want = o.pointer(want).and_then(Value::as_i64).unwrap_or(0);
    json!(format!("{have}/{want}"))
}

pub(super) fn count(o: &Value, pointers: &[&str]) -> Value {
    let n: usize = pointers
        .iter()
        .filter_map(|p| o.pointer(p).and_then(Value::as_object).map(|m| m.len()))
        .sum();
    json!(n)
}

pub(super) fn containers(o: &Value, field: &str) -> Value {
    let list: Vec<&str> = o
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get(field).and_then(Value::as_str))
        .collect();
    json!(list.join(","))
}

pub(super) fn age(o: &Value) -> Value {
    since(o, "/metadata/creationTimestamp")
}

pub(super) fn since(o: &Value, pointer: &str) -> Value {
    let Some(time) = o
        .pointer(pointer)
        .and_then(Value::as_str)
        .and_then(|t| humantime::parse_rfc3339_weak(t).ok())
    else {
        return json!("<unknown>");
    };
    let elapsed = SystemTime::now().duration_since(time).unwrap_or_default();
    json!(short_duration(elapsed))
}

/// Kubernetes' `HumanDuration` style: `45s`, `5m10s`, `3h`, `2d4h`.
pub fn short_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..120 => format!("{s}s"),
        120..600 => format!("{}m{}s", s / 60, s % 60),
        600..10_800 => format!("{}m", s / 60),
        10_800..172_800 => format!("{}h", s / 3600),
        172_800..691_200 => format!("{}d{}h", s / 86_400, (s % 86_400) / 3600),
        _ => format!("{}d", s / 86_400),
    }
}
