//! Just enough JSON for the filter's hot path, without recursion.
//!
//! Fluent Bit hands the module one record as a JSON object. The filter only
//! needs a few top-level members (`log`, `stream`, `time`, markers), so
//! instead of building a `serde_json::Value` for every record (recursive,
//! allocation-heavy and deep on the interpreter's stack) it validates the
//! whole text with an explicit stack kept on the heap and remembers where
//! each top-level member's key and value lie. Records are rebuilt by
//! splicing those spans, so fields the filter does not touch (Kubernetes
//! metadata, anything nested) are passed on byte for byte.

use std::ops::Range;

/// A top-level member: byte ranges of its key (inside the quotes, still
/// escaped) and of its value (the whole JSON value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The key's bytes inside its quotes, still escaped.
    pub key: Range<usize>,
    /// The whole value's bytes.
    pub value: Range<usize>,
}

/// The top-level members of a JSON object, or `None` when `text` is not
/// one strictly valid JSON object (surrounding whitespace allowed).
/// Nesting depth is limited only by memory: the container stack is a heap
/// `Vec`, never the call stack.
pub fn object_members(text: &[u8]) -> Option<Vec<Member>> {
    let mut p = Parser { b: text, i: 0 };
    p.ws();
    if p.peek() != Some(b'{') {
        return None;
    }
    p.i += 1;
    let mut members = Vec::new();
    p.ws();
    if p.peek() == Some(b'}') {
        p.i += 1;
    } else {
        loop {
            p.ws();
            let key = p.string()?;
            p.ws();
            p.expect(b':')?;
            p.ws();
            let start = p.i;
            p.value()?;
            members.push(Member {
                key: key.start + 1..key.end - 1,
                value: start..p.i,
            });
            p.ws();
            match p.next()? {
                b',' => {}
                b'}' => break,
                _ => return None,
            }
        }
    }
    p.ws();
    (p.i == text.len()).then_some(members)
}

pub(crate) struct Parser<'a> {
    pub(crate) b: &'a [u8],
    pub(crate) i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    fn expect(&mut self, c: u8) -> Option<()> {
        (self.next()? == c).then_some(())
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// Skips plain string bytes eight at a time (no `"`, `\\` or control
    /// byte among them) and stops on the first special byte: under an
    /// interpreter a byte-at-a-time loop is the filter's main cost.
    #[inline(always)]
    fn skip_plain(&mut self) {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        // The lowest set bit of each mask marks the first byte that is
        // zero (`x ^ c`: equal to `c`) or below 0x20; higher bits may be
        // false positives, so only the lowest is used.
        let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
        while let Some(chunk) = self.b.get(self.i..self.i + 8) {
            let Ok(bytes) = <[u8; 8]>::try_from(chunk) else {
                return;
            };
            let x = u64::from_le_bytes(bytes);
            let special = zero(x ^ (ONES * u64::from(b'"')))
                | zero(x ^ (ONES * u64::from(b'\\')))
                | (x.wrapping_sub(ONES * 0x20) & !x & HIGH);
            if special != 0 {
                self.i += (special.trailing_zeros() / 8) as usize;
                return;
            }
            self.i += 8;
        }
    }

    /// A string, quotes included; returns its range.
    pub(crate) fn string(&mut self) -> Option<Range<usize>> {
        let start = self.i;
        self.expect(b'"')?;
        loop {
            self.skip_plain();
            match self.next()? {
                b'"' => return Some(start..self.i),
                b'\\' => match self.next()? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                    b'u' => {
                        for _ in 0..4 {
                            if !self.next()?.is_ascii_hexdigit() {
                                return None;
                            }
                        }
                    }
                    _ => return None,
                },
                c if c < 0x20 => return None,
                _ => {}
            }
        }
    }

    fn number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        let digits = |p: &mut Self| {
            let s = p.i;
            while p.peek().is_some_and(|c| c.is_ascii_digit()) {
                p.i += 1;
            }
            (p.i > s).then_some(())
        };
        if self.peek() == Some(b'0') {
            // No leading zeros.
            self.i += 1;
        } else {
            digits(self)?;
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            digits(self)?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            digits(self)?;
        }
        Some(())
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.i.checked_add(word.len())?;
        (self.b.get(self.i..end)? == word).then(|| self.i = end)
    }

    /// Any JSON value, nested containers tracked on a heap stack.
    pub(crate) fn value(&mut self) -> Option<()> {
        // `true` for an object (members need keys), `false` for an array.
        let mut stack: Vec<bool> = Vec::new();
        loop {
            // A value.
            self.ws();
            match self.peek()? {
                b'{' | b'[' => {
                    let object = self.next()? == b'{';
                    self.ws();
                    let close = if object { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.i += 1;
                    } else {
                        stack.push(object);
                        if object {
                            self.string()?;
                            self.ws();
                            self.expect(b':')?;
                        }
                        continue;
                    }
                }
                b'"' => {
                    self.string()?;
                }
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                _ => self.number()?,
            }
            // After a value: close containers, or go on to the next member.
            loop {
                let Some(&object) = stack.last() else {
                    return Some(());
                };
                self.ws();
                match self.next()? {
                    b',' => {
                        if object {
                            self.ws();
                            self.string()?;
                            self.ws();
                            self.expect(b':')?;
                        }
                        break;
                    }
                    b'}' if object => {
                        stack.pop();
                    }
                    b']' if !object => {
                        stack.pop();
                    }
                    _ => return None,
                }
            }
        }
    }
}

/// The text of a JSON string value (`raw` with its quotes). `\uXXXX`
/// escapes are decoded, surrogate pairs joined, lone surrogates and invalid
/// UTF-8 replaced by U+FFFD. `None` when `raw` is not a string.
pub fn decode_string(raw: &[u8]) -> Option<String> {
    let inner = raw.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    if !inner.contains(&b'\\') {
        // `from_utf8` first: its ASCII fast path is several times cheaper,
        // interpreted, than the lossy decoder's chunk iterator.
        return Some(match std::str::from_utf8(inner) {
            Ok(t) => t.to_owned(),
            Err(_) => String::from_utf8_lossy(inner).into_owned(),
        });
    }
    let mut out: Vec<u8> = Vec::with_capacity(inner.len());
    let mut it = inner.iter().copied();
    let mut utf8 = [0u8; 4];
    while let Some(c) = it.next() {
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let e = it.next()?;
        let ch = match e {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = hex4(&mut it)?;
                if (0xD800..0xDC00).contains(&hi) {
                    // A high surrogate: a low one must follow as `\uXXXX`.
                    let mut look = it.clone();
                    let lo = match (look.next(), look.next()) {
                        (Some(b'\\'), Some(b'u')) => hex4(&mut look),
                        _ => None,
                    };
                    match lo {
                        Some(lo) if (0xDC00..0xE000).contains(&lo) => {
                            it = look;
                            let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                            char::from_u32(cp).unwrap_or('\u{FFFD}')
                        }
                        _ => '\u{FFFD}',
                    }
                } else {
                    char::from_u32(hi).unwrap_or('\u{FFFD}')
                }
            }
            _ => return None,
        };
        out.extend_from_slice(ch.encode_utf8(&mut utf8).as_bytes());
    }
    Some(match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

fn hex4(it: &mut impl Iterator<Item = u8>) -> Option<u32> {
    let mut v = 0u32;
    for _ in 0..4 {
        let d = char::from(it.next()?).to_digit(16)?;
        v = v * 16 + d;
    }
    Some(v)
}

/// Appends `s` as a JSON string (quotes included).
pub fn write_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &c in s.as_bytes() {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            c if c < 0x20 => {
                out.extend_from_slice(b"\\u00");
                for nibble in [c >> 4, c & 0xf] {
                    out.push(HEX.get(usize::from(nibble)).copied().unwrap_or(b'0'));
                }
            }
            c => out.push(c),
        }
    }
    out.push(b'"');
}

/// The members of a record, for finding and splicing.
pub struct Record<'a> {
    /// The record's JSON.
    pub text: &'a [u8],
    /// Its top-level members, in order.
    pub members: Vec<Member>,
}

impl<'a> Record<'a> {
    /// Reads the top-level members of a JSON object; `None` for anything else or invalid JSON.
    pub fn parse(text: &'a [u8]) -> Option<Self> {
        Some(Record {
            text,
            members: object_members(text)?,
        })
    }

    fn key(&self, m: &Member) -> &'a [u8] {
        self.text.get(m.key.clone()).unwrap_or_default()
    }

    /// The raw value of the first member named `key`: the member the fast
    /// path reads, so that both readings agree on a record with duplicate
    /// keys.
    pub fn get(&self, key: &str) -> Option<&'a [u8]> {
        self.members
            .iter()
            .find(|m| self.key(m) == key.as_bytes())
            .and_then(|m| self.text.get(m.value.clone()))
    }

    /// The decoded text of member `key` when it is a string.
    pub fn get_str(&self, key: &str) -> Option<String> {
        decode_string(self.get(key)?)
    }

    /// Whether member `key` is the literal `true`.
    pub fn is_true(&self, key: &str) -> bool {
        self.get(key) == Some(b"true")
    }

    /// Writes `{`, every member whose key is not in `skip`, then leaves the
    /// object open: the caller appends its own members with [`Self::close`]
    /// semantics (a leading comma when something precedes).
    pub fn write_open(&self, out: &mut Vec<u8>, skip: &[&str]) {
        self.write_open_renamed(out, skip, None);
    }

    /// [`Self::write_open`], with the member named `rename.0` written under
    /// the name `rename.1`.
    pub fn write_open_renamed(
        &self,
        out: &mut Vec<u8>,
        skip: &[&str],
        rename: Option<(&str, &str)>,
    ) {
        out.push(b'{');
        let mut first = true;
        for m in &self.members {
            let key = self.key(m);
            if skip.iter().any(|s| s.as_bytes() == key) {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            out.push(b'"');
            match rename {
                Some((from, to)) if from.as_bytes() == key => out.extend_from_slice(to.as_bytes()),
                _ => out.extend_from_slice(key),
            }
            out.extend_from_slice(b"\":");
            out.extend_from_slice(self.text.get(m.value.clone()).unwrap_or(b"null"));
        }
    }
}

/// Appends a member to an object being written by [`Record::write_open`]:
/// `"key":` with a comma when the object already has members; the caller
/// writes the value.
pub fn write_key(out: &mut Vec<u8>, key: &str) {
    if out.last().is_some_and(|&c| c != b'{') {
        out.push(b',');
    }
    write_string(out, key);
    out.push(b':');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> Option<Vec<String>> {
        let r = Record::parse(text.as_bytes())?;
        Some(
            r.members
                .iter()
                .map(|m| String::from_utf8_lossy(&text.as_bytes()[m.key.clone()]).into_owned())
                .collect(),
        )
    }

    #[test]
    fn finds_top_level_members_of_valid_objects_only() {
        assert_eq!(
            keys(r#" {"a":1,"b":{"log":[1,{"x":"}"}]},"log":"x\"y"} "#).unwrap(),
            ["a", "b", "log"]
        );
        assert_eq!(keys("{}").unwrap(), Vec::<String>::new());
        for bad in [
            "",
            "[]",
            "{",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1,}",
            "{\"a\":[1,]}",
            "{\"a\":tru}",
            "{\"a\":\"\\x\"}",
            "{\"a\":1} x",
            "{\"a\":{\"b\":1]}",
            "{\"a\":\"\u{1}\"}",
            "{\"a\":-}",
            "{\"a\":1.}",
            "\"s\"",
        ] {
            assert!(keys(bad).is_none(), "{bad:?}");
        }
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(keys(&deep).unwrap(), ["a"]);
    }

    #[test]
    fn agrees_with_serde_json_on_what_is_an_object() {
        for text in [
            r#"{"a":1e5,"b":-0.5E-3,"c":[true,false,null],"d":"\u00e9\ud83d\ude00"}"#,
            r#"{"a":01}"#,
            r#"{"a":1,"a":2}"#,
            r#"{"a" : { } , "b" : [ ] }"#,
        ] {
            let ours = object_members(text.as_bytes()).is_some();
            let theirs =
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text).is_ok();
            assert_eq!(ours, theirs, "{text}");
        }
    }

    #[test]
    fn decodes_escapes_and_unicode() {
        let s = |raw: &str| decode_string(raw.as_bytes());
        assert_eq!(s(r#""a\tb\n\"\\\/""#).unwrap(), "a\tb\n\"\\/");
        assert_eq!(s(r#""caf\u00e9 \ud83d\ude00""#).unwrap(), "café 😀");
        assert_eq!(s(r#""\ud83d x""#).unwrap(), "\u{FFFD} x");
        assert_eq!(s(r#""\ude00""#).unwrap(), "\u{FFFD}");
        assert_eq!(s("\"caf\u{e9}\"").unwrap(), "café");
        assert_eq!(decode_string(b"\"\xff\"").unwrap(), "\u{FFFD}");
        assert!(s("1").is_none());
    }

    #[test]
    fn writes_strings_serde_can_read() {
        for t in ["plain", "tab\there", "q\"b\\", "\u{1}\u{1f}", "é😀"] {
            let mut out = Vec::new();
            write_string(&mut out, t);
            assert_eq!(serde_json::from_slice::<String>(&out).unwrap(), t);
        }
    }

    #[test]
    fn splices_members() {
        let r = Record::parse(br#"{"a":1,"log":"x","b":{"c":2}}"#).unwrap();
        let mut out = Vec::new();
        r.write_open(&mut out, &["log"]);
        write_key(&mut out, "z");
        out.extend_from_slice(b"true}");
        assert_eq!(out, br#"{"a":1,"b":{"c":2},"z":true}"#);
        let r = Record::parse(b"{}").unwrap();
        out.clear();
        r.write_open(&mut out, &[]);
        write_key(&mut out, "z");
        out.extend_from_slice(b"1}");
        assert_eq!(out, br#"{"z":1}"#);
        assert_eq!(r.get("z"), None);
    }
}
