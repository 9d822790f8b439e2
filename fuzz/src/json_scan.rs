//! The `json_scan` fuzz check: the Fluent Bit module's JSON reading
//! (`gopanic_fluent_bit::json`) and its fast path (`quick`) over arbitrary
//! bytes, against serde_json and against the module's own full reading.
//!
//! Checked: no panic; `object_members` accepts exactly what serde_json
//! accepts as one JSON object (where serde_json can tell: it stops at 128
//! levels of nesting), and finds the members serde_json finds, in order,
//! keys and values alike; `decode_string` decodes every string as
//! serde_json does; `write_string` writes strings serde_json reads back;
//! `locate_log` and `glance` name the member a full reading takes, and a
//! "cannot open a report" from them holds for the decoded text.

use std::fmt;

use gopanic::grammar::may_start_report;
use gopanic_fluent_bit::json::{Record, decode_string, object_members, write_string};
use gopanic_fluent_bit::quick::{DOCKER_CHUNK, glance, locate_log};
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

/// Runs every check on one input; panics on a violation.
pub fn check(data: &[u8]) {
    check_object(data);
    check_strings(data);
    let rec = Record::parse(data);
    for markers in [false, true] {
        for all_lines in [false, true] {
            check_locate_log(data, rec.as_ref(), markers, all_lines);
        }
    }
    check_glance(data, rec.as_ref());
}

/// A JSON object's members in order, duplicates kept.
struct Members(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Members, A::Error> {
                let mut v = Vec::new();
                while let Some(kv) = m.next_entry::<String, Value>()? {
                    v.push(kv);
                }
                Ok(Members(v))
            }
        }
        d.deserialize_map(V)
    }
}

/// Whether serde_json gave up for depth rather than for the grammar.
fn too_deep(e: &serde_json::Error) -> bool {
    e.to_string().contains("recursion limit")
}

fn show(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    s.chars().take(400).collect()
}

fn slice(data: &[u8], r: std::ops::Range<usize>) -> &[u8] {
    data.get(r.clone())
        .unwrap_or_else(|| panic!("range {r:?} outside {} bytes", data.len()))
}

fn check_object(data: &[u8]) {
    let ours = object_members(data);
    let is_object = data.trim_ascii_start().first() == Some(&b'{');
    // The grammar alone: strings are not decoded (lone surrogates and
    // invalid UTF-8 are the decoders' business, not the grammar's).
    match serde_json::from_slice::<IgnoredAny>(data) {
        Ok(_) => assert_eq!(
            ours.is_some(),
            is_object,
            "serde_json reads a JSON value, object_members disagrees: {}",
            show(data)
        ),
        Err(e) if too_deep(&e) => {}
        Err(e) => assert!(
            ours.is_none(),
            "object_members accepts what serde_json rejects ({e}): {}",
            show(data)
        ),
    }
    let Some(members) = ours else { return };
    for m in &members {
        let key = slice(data, m.key.start.saturating_sub(1)..m.key.end + 1);
        let value = slice(data, m.value.clone());
        assert!(
            key.first() == Some(&b'"') && key.last() == Some(&b'"'),
            "key range {:?} not a string",
            m.key
        );
        assert!(
            !value.first().is_some_and(u8::is_ascii_whitespace)
                && !value.last().is_some_and(u8::is_ascii_whitespace),
            "value range {:?} has whitespace around",
            m.value
        );
        if let Err(e) = serde_json::from_slice::<IgnoredAny>(value)
            && !too_deep(&e)
        {
            panic!("member value is no JSON value ({e}): {}", show(value));
        }
    }
    // Where serde_json decodes every member, the same members in order.
    let Ok(Members(theirs)) = serde_json::from_slice::<Members>(data) else {
        return;
    };
    assert_eq!(members.len(), theirs.len(), "members of {}", show(data));
    for (m, (key, value)) in members.iter().zip(&theirs) {
        let raw_key = slice(data, m.key.start - 1..m.key.end + 1);
        assert_eq!(decode_string(raw_key).as_ref(), Some(key), "key");
        let raw_value = slice(data, m.value.clone());
        let ours: Value = serde_json::from_slice(raw_value)
            .unwrap_or_else(|e| panic!("member value alone unreadable ({e}): {}", show(raw_value)));
        assert_eq!(&ours, value, "value of {key:?}");
        if let Value::String(s) = value {
            assert_eq!(decode_string(raw_value).as_ref(), Some(s), "string value");
        }
    }
}

fn check_strings(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut out = Vec::new();
    write_string(&mut out, &text);
    let back: String = serde_json::from_slice(&out)
        .unwrap_or_else(|e| panic!("write_string wrote unreadable JSON ({e}): {}", show(&out)));
    assert_eq!(back, text, "write_string round trip");
    assert_eq!(
        decode_string(&out).as_deref(),
        Some(&*text),
        "decode_string"
    );
    // The input as a string's content: where serde_json reads it, the same.
    let mut quoted = Vec::with_capacity(data.len() + 2);
    quoted.push(b'"');
    quoted.extend_from_slice(data);
    quoted.push(b'"');
    let ours = decode_string(&quoted);
    if let Ok(theirs) = serde_json::from_slice::<String>(&quoted) {
        assert_eq!(ours, Some(theirs), "decode_string of {}", show(&quoted));
    }
}

/// The first top-level member whose raw key is `name` (as `Record::get`).
fn first<'r>(
    rec: &'r Record<'_>,
    name: &str,
) -> Option<(usize, &'r gopanic_fluent_bit::json::Member)> {
    rec.members
        .iter()
        .enumerate()
        .find(|(_, m)| rec.text.get(m.key.clone()) == Some(name.as_bytes()))
}

/// The text's lines as the grammar reads them.
fn opens(text: &str, all_lines: bool) -> Option<&str> {
    text.split('\n')
        .take(if all_lines { usize::MAX } else { 1 })
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .find(|l| may_start_report(l))
}

fn check_locate_log(data: &[u8], rec: Option<&Record<'_>>, markers: bool, all_lines: bool) {
    let Some((range, may_open)) = locate_log(data, markers, all_lines) else {
        return;
    };
    let raw = slice(data, range.clone());
    assert_eq!(raw.first(), Some(&b'"'), "locate_log: not a string");
    let Some(rec) = rec else { return };
    let (at, log) = first(rec, "log").unwrap_or_else(|| {
        panic!(
            "locate_log found a log the full reading lacks: {}",
            show(data)
        )
    });
    assert_eq!(
        log.value, range,
        "locate_log: another member than the full reading's"
    );
    if markers {
        for (i, m) in rec.members.iter().enumerate() {
            let key = slice(data, m.key.clone());
            assert!(
                !(i < at && key.starts_with(b"gopanic_")) && key != b"gopanic_tick",
                "locate_log with markers passed a marked record: {}",
                show(data)
            );
        }
    }
    if !may_open {
        let text = decode_string(raw).unwrap_or_default();
        assert_eq!(
            opens(&text, all_lines),
            None,
            "locate_log: may not open, yet a line may start a report: {}",
            show(data)
        );
    }
}

fn check_glance(data: &[u8], rec: Option<&Record<'_>>) {
    let Some(g) = glance(data, DOCKER_CHUNK) else {
        return;
    };
    assert_eq!(
        data.get(g.key_at..g.key_at + 5),
        Some(&b"\"log\""[..]),
        "glance: key_at"
    );
    let Some(rec) = rec else { return };
    let (_, log) = first(rec, "log")
        .unwrap_or_else(|| panic!("glance found a log the full reading lacks: {}", show(data)));
    assert_eq!(
        log.key.start,
        g.key_at + 1,
        "glance: another log member: {}",
        show(data)
    );
    let raw = slice(data, log.value.clone());
    assert_eq!(raw.first(), Some(&b'"'), "glance: log not a string");
    if let Some(stream) = &g.stream {
        // The full reading keys the line by the first `stream` member.
        let full = first(rec, "stream").map(|(_, m)| m.value.clone());
        assert_eq!(
            full.as_ref(),
            Some(stream),
            "glance: another stream than the full reading's: {}",
            show(data)
        );
    }
    if !g.may_open {
        let text = decode_string(raw).unwrap_or_default();
        // As the filter reads a docker line: without its newline.
        let line = match text.strip_suffix('\n') {
            Some(l) => l.strip_suffix('\r').unwrap_or(l),
            None => &text,
        };
        assert!(
            !may_start_report(line),
            "glance: may not open, yet the line may start a report: {}",
            show(data)
        );
    }
}
