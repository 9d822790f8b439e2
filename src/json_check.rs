//! Whether a text is one JSON value, exactly as `serde_json` decides it,
//! without building anything.
//!
//! The grammar asks this of every line that looks like a JSON log line
//! (`{…}`) while a report is open: such a line is another writer's. Parsing
//! it with `serde_json` into `IgnoredAny` costs several times this scan, and
//! under the Fluent Bit module's interpreter it was the largest single cost
//! of a line read in full.
//!
//! The rules are `serde_json`'s (RFC 8259): whitespace is space, tab, CR and
//! LF; strings hold no byte below 0x20 and only the escapes `\" \\ \/ \b \f
//! \n \r \t \uXXXX` (a lone surrogate is accepted, as `serde_json` accepts
//! it when ignoring a value); numbers have no leading zero, a digit after
//! `.` and after the exponent; nesting has no depth limit.
//!
//! ```
//! use gopanic::json_check::is_json;
//!
//! assert!(is_json(r#"{"level":"info","n":[1,-2.5e3,true,null]}"#));
//! assert!(!is_json(r#"{"level":"info",}"#)); // trailing comma
//! assert!(!is_json(r#"{"n":01}"#)); // leading zero
//! ```

use crate::grammar::{load8, splat, zero_bytes};

/// Whether `text` is exactly one JSON value, with optional whitespace
/// around it. See the module docs.
pub fn is_json(text: &str) -> bool {
    let b = text.as_bytes();
    // Open containers, innermost last: `true` for an object. A loop over a
    // stack, not recursion: a line of a million `[` must not overflow.
    let mut stack: Vec<bool> = Vec::new();
    let mut at = Next::Value(0);
    loop {
        at = match at {
            Next::Value(i) => match value(b, i, &mut stack) {
                Some(next) => next,
                None => return false,
            },
            Next::After(i) => match after(b, i, &mut stack) {
                Some(Next::After(end)) => return end == b.len(),
                Some(next) => next,
                None => return false,
            },
        };
    }
}

/// Where reading goes on.
enum Next {
    /// A value starts here (after whitespace).
    Value(usize),
    /// A value (or an empty container's opening) ends here.
    After(usize),
}

/// Reads the value at `i`. A container is opened (pushed) and, when not
/// empty, read up to its first value: an object's first key and colon are
/// read here.
fn value(b: &[u8], i: usize, stack: &mut Vec<bool>) -> Option<Next> {
    let i = skip_ws(b, i);
    let end = match *b.get(i)? {
        c @ (b'{' | b'[') => {
            let object = c == b'{';
            stack.push(object);
            let j = skip_ws(b, i + 1);
            return Some(match b.get(j) {
                // Empty: `after` closes it.
                Some(b'}') if object => Next::After(j),
                Some(b']') if !object => Next::After(j),
                _ if object => Next::Value(key(b, j)?),
                _ => Next::Value(j),
            });
        }
        b'"' => string_end(b, i + 1)?,
        b't' => literal(b, i, b"true")?,
        b'f' => literal(b, i, b"false")?,
        b'n' => literal(b, i, b"null")?,
        b'-' | b'0'..=b'9' => number_end(b, i)?,
        _ => return None,
    };
    Some(Next::After(end))
}

/// After a value at `i`: closes the containers that end here, then either
/// the text ends (`After` the last byte read) or a comma leads to the next
/// value (an object's key and colon read).
fn after(b: &[u8], mut i: usize, stack: &mut Vec<bool>) -> Option<Next> {
    loop {
        i = skip_ws(b, i);
        let Some(&object) = stack.last() else {
            return Some(Next::After(i));
        };
        match b.get(i)? {
            b',' => {
                let j = skip_ws(b, i + 1);
                return Some(Next::Value(if object { key(b, j)? } else { j }));
            }
            b'}' if object => {}
            b']' if !object => {}
            _ => return None,
        }
        stack.pop();
        i += 1;
    }
}

/// An object member's key and colon at `i`; where its value starts.
fn key(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let i = skip_ws(b, string_end(b, i + 1)?);
    (b.get(i) == Some(&b':')).then_some(i + 1)
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

fn literal(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    let end = i + word.len();
    (b.get(i..end) == Some(word)).then_some(end)
}

/// The index after the closing quote of the string whose text starts at
/// `i`. Bytes that need no decision are skipped eight at a time: a JSON
/// log line is mostly string text, and a byte at a time was most of this
/// scan's cost.
fn string_end(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        // Natively only: in wasm this loop costs the JS package ~100 of
        // its budget's gzipped bytes, for little.
        while let Some(x) = load8(b, i).filter(|_| !cfg!(target_arch = "wasm32")) {
            // `"`, `\\` and control bytes; the first hit is exact.
            let controls = x.wrapping_sub(splat(0x20)) & !x & splat(0x80);
            let stops = zero_bytes(x ^ splat(b'"')) | zero_bytes(x ^ splat(b'\\')) | controls;
            if stops != 0 {
                i += (stops.trailing_zeros() / 8) as usize;
                break;
            }
            i += 8;
        }
        match *b.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => {
                i += match *b.get(i + 1)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => 2,
                    b'u' if b.get(i + 2..i + 6)?.iter().all(u8::is_ascii_hexdigit) => 6,
                    _ => return None,
                };
            }
            0..0x20 => return None,
            _ => i += 1,
        }
    }
}

fn digits_end(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    i
}

/// The index after the number at `i`.
fn number_end(b: &[u8], mut i: usize) -> Option<usize> {
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    i = match *b.get(i)? {
        // One leading zero, not followed by a digit.
        b'0' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => return None,
        b'0' => i + 1,
        b'1'..=b'9' => digits_end(b, i + 1),
        _ => return None,
    };
    if b.get(i) == Some(&b'.') {
        let end = digits_end(b, i + 1);
        if end == i + 1 {
            return None;
        }
        i = end;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let end = digits_end(b, i);
        if end == i {
            return None;
        }
        i = end;
    }
    Some(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn serde_says(text: &str) -> bool {
        serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
    }

    #[test]
    fn agrees_with_serde_json_on_edge_cases() {
        let deep = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
        let cases = [
            "{}",
            "[]",
            " { } ",
            "{\"a\":1}",
            "{\"a\":1,}",
            "{,}",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\" : [1 , 2 ] , \"b\" : {\"c\" : null } }",
            "{\"a\":1}{",
            "{\"a\":1} x",
            "{\"a\":1}\n",
            "[1,]",
            "[,1]",
            "[1 2]",
            "{\"a\":1 \"b\":2}",
            "{1:2}",
            "0",
            "-0",
            "01",
            "-01",
            "-",
            "1.",
            "1.5",
            ".5",
            "1e",
            "1e+",
            "1E-7",
            "1.5e10",
            "-1.5E+10",
            "1e5.5",
            "+1",
            "tru",
            "true",
            "truex",
            "nul",
            "null",
            "false",
            "\"a\\u00e9\"",
            "\"\\ud800\"",
            "\"\\u12\"",
            "\"\\uzzzz\"",
            "\"\\x\"",
            "\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"",
            "\"tab\there\"",
            "\"unterminated",
            "\"é ✓\"",
            "{\"a\":\"\\\"}\"}",
            "",
            " ",
            "\u{a0}{}",
            &deep,
            "[[[[[[]]]]]",
        ];
        for c in cases {
            assert_eq!(is_json(c), serde_says(c), "{c:?}");
        }
    }

    #[test]
    fn agrees_with_serde_json_on_real_log_lines() {
        let lines = [
            r#"{"level":"info","ts":"2027-01-15T08:00:00.010980292Z","msg":"request served","status":200,"bytes":1234,"latency_ms":12.5}"#,
            r#"{"time":"2026-11-27T05:20:58Z","level":"ERROR","msg":"db: \"conn\" refused","err":{"op":"dial","addr":"10.0.0.1:5432"},"tags":["a","b"]}"#,
            r#"{"level":"warn","caller":"server/h.go:88","msg":"slow","elapsed":1.5e-3,"ok":false,"extra":null}"#,
        ];
        for l in lines {
            assert!(is_json(l), "{l}");
            assert!(!is_json(&l[..l.len() - 1]), "{l}");
        }
    }

    proptest! {
        /// Random JSON-ish texts: built from the bytes that matter.
        #[test]
        fn agrees_with_serde_json(parts in proptest::collection::vec(
            prop_oneof![
                Just("{"), Just("}"), Just("["), Just("]"), Just(","), Just(":"),
                Just("\""), Just("\\"), Just("u"), Just("0"), Just("1"), Just("9"),
                Just("-"), Just("+"), Just("."), Just("e"), Just("E"), Just(" "),
                Just("\n"), Just("\t"), Just("a"), Just("true"), Just("null"),
                Just("false"), Just("\u{1}"), Just("é"), Just("\"k\":"), Just("\"v\""),
                // Runs of eight and more, which the string scan skips whole.
                Just("abcdefgh"), Just("\"0123456789 é abcdef\""), Just("\u{1f}"),
                Just("\u{7f}"),
            ],
            0..24,
        )) {
            let text: String = parts.concat();
            prop_assert_eq!(is_json(&text), serde_says(&text), "{:?}", text);
        }

        #[test]
        fn agrees_with_serde_json_on_any_text(text in any::<String>()) {
            prop_assert_eq!(is_json(&text), serde_says(&text));
        }
    }
}
