//! JSON helpers of the record writer: the report's text written from its
//! lines without joining them first, and sizes without writing.

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::reassembler::Line;

/// The longest prefix of `s` whose JSON string (quotes aside) takes at
/// most `max` bytes, and that length: what a record bound counts, since
/// JSON writes a control character as six bytes (`\u0001`) and `"`, `\`
/// and `\b \f \n \r \t` as two. Without `json`, bytes as they are (one
/// function for both: the wasm builds' size). Cut on a character
/// boundary; an escape's source is one ASCII byte, so none is split.
/// `usize::MAX` measures.
pub fn json_cut(s: &str, max: usize, json: bool) -> (&str, usize) {
    // The last character start seen, and the length before it.
    let (mut n, mut start, mut before) = (0, 0, 0);
    for (i, &b) in s.as_bytes().iter().enumerate() {
        if b & 0xc0 != 0x80 {
            (start, before) = (i, n);
        }
        n += if !json {
            1
        } else if b < 0x20 {
            // \b \t \n \f \r (bits 8-10, 12, 13) take two, others six.
            if 0x3700 >> b & 1 == 1 { 2 } else { 6 }
        } else {
            1 + usize::from(b == b'"' || b == b'\\')
        };
        if n > max {
            return (s.get(..start).unwrap_or_default(), before);
        }
    }
    (s, n)
}

/// A report's lines, written as one JSON string joined with `\n`: escaped
/// straight from the lines, never copied into a joined `String`.
#[derive(Debug)]
pub struct Text<'a, L>(pub &'a [L]);

impl<L> Clone for Text<'_, L> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<L> Copy for Text<'_, L> {}

impl<L: Line> std::fmt::Display for Text<'_, L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, l) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            f.write_str(l.text())?;
        }
        Ok(())
    }
}

impl<L: Line> Serialize for Text<'_, L> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Counts bytes written.
/// The length of `v`'s JSON. Only records over their byte bound measure
/// their parts, so this writes into a scratch buffer rather than a counting
/// writer: one more serializer type would add its own copy of every
/// `Serialize` impl to the wasm builds.
pub(super) fn json_len<T: Serialize + ?Sized>(v: &T) -> usize {
    let mut buf = Vec::new();
    // Writing to a Vec cannot fail; on the impossible error the count stays short.
    let _ = serde_json::to_writer(&mut buf, v);
    buf.len()
}

/// The JSON object in `bytes` (which serde_json wrote), read back as a map.
/// Read as `&str`: serde_json's reader for slices would be a second copy of
/// its whole deserializer in the wasm builds.
pub(super) fn object_of(bytes: &[u8]) -> Option<Map<String, Value>> {
    serde_json::from_str(std::str::from_utf8(bytes).ok()?).ok()
}

/// The bytes `,"name":value` takes in an object, `name` needing no escape.
pub(super) fn member_len<T: Serialize + ?Sized>(name: &str, v: &T) -> usize {
    name.len() + 4 + json_len(v)
}

/// Appends `s`, the bytes of text, as a JSON string (quotes included),
/// escaped exactly as serde_json escapes it.
pub(super) fn write_str(buf: &mut Vec<u8>, s: &[u8]) {
    buf.push(b'"');
    write_str_contents(buf, s);
    buf.push(b'"');
}

/// Appends `s` escaped for the inside of a JSON string: `"` and `\` with a
/// backslash, `\b \t \n \f \r` short, other control characters `\u00XX`.
/// Bytes are taken 8 at a time: a word with nothing to escape (log text is
/// mostly such words) is copied whole.
/// Takes bytes, which are a `&str`'s (or a [`ShortText`]'s, whose bytes
/// are read without checking them again).
///
/// [`ShortText`]: crate::container::ShortText
pub(super) fn write_str_contents(buf: &mut Vec<u8>, bytes: &[u8]) {
    buf.reserve(bytes.len() + 2);
    let mut words = bytes.chunks_exact(8);
    for word in words.by_ref() {
        let w = word.try_into().map_or(0, u64::from_le_bytes);
        if needs_escape(w) == 0 {
            buf.extend_from_slice(&w.to_le_bytes());
        } else {
            write_word(buf, w, 8);
        }
    }
    let n = words.remainder().len();
    if n > 0 {
        write_word(buf, last_word(bytes, n), n);
    }
}

/// The last `n` (1 to 7) bytes of `bytes` as the low bytes of a word, the
/// rest zero: read as the last whole word when there is one, so that no
/// copy call is made for a line's last bytes.
fn last_word(bytes: &[u8], n: usize) -> u64 {
    match bytes.len().checked_sub(8).and_then(|at| bytes.get(at..)) {
        Some(word) => word.try_into().map_or(0, u64::from_le_bytes) >> (8 * (8 - n)),
        None => bytes.iter().rev().fold(0, |w, &b| w << 8 | u64::from(b)),
    }
}

/// Writes the first `n` bytes of `w` (lowest first), escaped: each run
/// before an escape is copied as a whole word cut back to length, so no
/// copy call is made per run. The word's escapes are flagged once, exactly;
/// the wasm builds, for their size, search for each escape again
/// ([`write_word_by_search`]).
fn write_word(buf: &mut Vec<u8>, w: u64, n: usize) {
    if cfg!(target_arch = "wasm32") {
        return write_word_by_search(buf, w, n);
    }
    let mut flags = escapes(w);
    let mut from = 0;
    while flags != 0 {
        let k = (flags.trailing_zeros() / 8) as usize;
        if k >= n {
            // Bytes past `n` are zeros, flagged as control characters.
            break;
        }
        // `from <= k < 8`: the shifts stay in range.
        let len = buf.len();
        buf.extend_from_slice(&(w >> (8 * from)).to_le_bytes());
        buf.truncate(len + k - from);
        match (w >> (8 * k)) as u8 {
            // Most escapes in log text: JSON lines quote their strings.
            b'"' => buf.extend_from_slice(b"\\\""),
            c => escape(buf, c),
        }
        from = k + 1;
        flags &= flags - 1;
    }
    // At `from == 8` the shift wraps to 0: bytes written, then cut off.
    let len = buf.len();
    buf.extend_from_slice(&w.wrapping_shr(8 * from as u32).to_le_bytes());
    buf.truncate(len + n.saturating_sub(from));
}

/// [`write_word`] by a search for the lowest flagged byte after each
/// escape (the lowest is exact: a borrow only flags bytes above a true
/// hit). The wasm builds' way and the tests' reference.
fn write_word_by_search(buf: &mut Vec<u8>, mut w: u64, mut n: usize) {
    while n > 0 {
        // Bytes past `n` are zeros and flag at or after `n`.
        let k = (needs_escape(w).trailing_zeros() / 8) as usize;
        let len = buf.len();
        buf.extend_from_slice(&w.to_le_bytes());
        if k >= n {
            buf.truncate(len + n);
            return;
        }
        buf.truncate(len + k);
        escape(buf, w.to_le_bytes().get(k).copied().unwrap_or(0));
        n -= k + 1;
        w = w.checked_shr(8 * (k as u32 + 1)).unwrap_or(0);
    }
}

/// The high bit of each byte of `w` that is below 0x20, `"` or `\`, and
/// maybe of bytes above such a byte: the cheap test of a word, which most
/// words pass.
fn needs_escape(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    (w.wrapping_sub(ONES * 0x20) & !w & HIGH) | zero(w ^ (ONES * 0x22)) | zero(w ^ (ONES * 0x5c))
}

/// The high bit of exactly each byte of `w` that is below 0x20, `"` or
/// `\`: per byte, `((x & 0x7f) + 0x7f) | x` has its high bit set iff `x`
/// is not zero, and no byte carries into the next.
fn escapes(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = ONES * 0x7f;
    let nonzero = |x: u64| ((x & LOW7) + LOW7) | x;
    !(nonzero(w & (ONES * 0xe0)) & nonzero(w ^ (ONES * 0x22)) & nonzero(w ^ (ONES * 0x5c))) & !LOW7
}

/// The escape of `"`, `\\` or a control character.
fn escape(buf: &mut Vec<u8>, c: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match c {
        b'"' => buf.extend_from_slice(b"\\\""),
        b'\\' => buf.extend_from_slice(b"\\\\"),
        b'\n' => buf.extend_from_slice(b"\\n"),
        b'\t' => buf.extend_from_slice(b"\\t"),
        b'\r' => buf.extend_from_slice(b"\\r"),
        0x08 => buf.extend_from_slice(b"\\b"),
        0x0c => buf.extend_from_slice(b"\\f"),
        _ => {
            buf.extend_from_slice(b"\\u00");
            for nibble in [c >> 4, c & 0xf] {
                buf.push(HEX.get(usize::from(nibble)).copied().unwrap_or(b'0'));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_cut_counts_escapes_as_serde_json_writes_them() {
        let mut all: String = (0u8..0x80).map(char::from).collect();
        all.push_str("é\u{2028}\"\\x");
        for s in ["", "plain", "tab\there\u{1}\"q\"\\", &all] {
            let full = serde_json::to_string(s).unwrap().len() - 2;
            assert_eq!(json_cut(s, usize::MAX, true), (s, full), "{s:?}");
            for max in 0..=full {
                let (cut, n) = json_cut(s, max, true);
                assert!(s.starts_with(cut) && n <= max, "{s:?} {max}");
                assert_eq!(n, serde_json::to_string(cut).unwrap().len() - 2);
                // Nothing more would have fitted.
                let next = s[cut.len()..].chars().next().map_or(usize::MAX, |c| {
                    serde_json::to_string(&c.to_string()).unwrap().len() - 2
                });
                assert!(n.saturating_add(next) > max, "{s:?} {max}");
            }
        }
        assert_eq!(json_cut("\u{1}\u{1}", 11, true), ("\u{1}", 6));
        assert_eq!(json_cut("aé", 2, true), ("a", 1));
        assert_eq!(json_cut("\u{1}\té", 3, false), ("\u{1}\t", 2));
    }

    #[test]
    fn word_tests_flag_the_bytes_json_escapes() {
        let special = |c: u8| c < 0x20 || c == b'"' || c == b'\\';
        for c in 0..=255u8 {
            for fill in [b'a', b'"', 0x1f, 0x80, 0xff, 0] {
                for at in 0..8 {
                    let mut bytes = [fill; 8];
                    bytes[at] = c;
                    let w = u64::from_le_bytes(bytes);
                    let want = (0..8)
                        .filter(|&i| special(bytes[i]))
                        .fold(0u64, |m, i| m | 0x80 << (8 * i));
                    assert_eq!(escapes(w), want, "{bytes:?}");
                    // The cheap test may flag more, never less.
                    assert_eq!(needs_escape(w) & want, want, "{bytes:?}");
                    assert_eq!(needs_escape(w) == 0, want == 0, "{bytes:?}");
                    for n in 1..=8 {
                        let (mut mine, mut reference) = (Vec::new(), Vec::new());
                        write_word(&mut mine, w, n);
                        write_word_by_search(&mut reference, w, n);
                        assert_eq!(mine, reference, "{bytes:?} {n}");
                    }
                }
            }
        }
    }

    #[test]
    fn escapes_as_serde_json_does() {
        let mut all: String = (0u8..0x80).map(char::from).collect();
        all.push_str("é\u{2028}\"\\x");
        for s in [
            "",
            "plain text without escapes",
            "x\"",
            "\"",
            "12345678\"1234567\\",
            "tab\there\nnewline \u{1} ctl \u{7f} del",
            &all,
            r#"{"level":"info","msg":"a \"quoted\" word"}"#,
        ] {
            let mut mine = Vec::new();
            write_str(&mut mine, s.as_bytes());
            assert_eq!(
                String::from_utf8(mine).unwrap(),
                serde_json::to_string(s).unwrap(),
                "{s:?}"
            );
        }
        // Every special byte at every offset of a word, alone and in pairs.
        for special in ["\"", "\\", "\n", "\u{1f}", "\u{0}", "é"] {
            for at in 0..20 {
                for gap in [0, 1, 7, 8] {
                    let f = "abcdefghijklmnopqrstuvwxyz0123456789";
                    let s = [&f[..at], special, &f[at..at + gap], special, &f[at + gap..]].concat();
                    let mut mine = Vec::new();
                    write_str(&mut mine, s.as_bytes());
                    assert_eq!(mine, serde_json::to_vec(&s).unwrap(), "{s:?}");
                }
            }
        }
    }
}
