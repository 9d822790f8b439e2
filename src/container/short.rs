//! [`ShortText`]: a line's timestamp without an allocation of its own.

use std::fmt;
use std::ops::Deref;

/// Bytes kept inline: an RFC 3339 timestamp with nine fraction digits and
/// an offset (`2026-11-27T06:51:01.123456789+05:30`) is 35.
const INLINE: usize = 38;

/// A short text kept inline (a runtime's timestamp, written on every line),
/// or on the heap when longer: decoding a line then allocates for its text
/// alone. Reads as a `&str`.
#[derive(Clone, PartialEq, Eq)]
pub struct ShortText(Repr);

#[derive(Clone, PartialEq, Eq)]
enum Repr {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<str>),
}

impl ShortText {
    /// The text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Always whole characters of a `&str`: checking again costs a
            // few nanoseconds on ASCII and needs no `unsafe`.
            Repr::Inline { len, bytes } => bytes
                .get(..usize::from(*len))
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or_default(),
            Repr::Heap(s) => s,
        }
    }

    /// Bytes it keeps on the heap.
    pub fn heap_bytes(&self) -> usize {
        match &self.0 {
            Repr::Inline { .. } => 0,
            Repr::Heap(s) => s.len(),
        }
    }
}

impl ShortText {
    /// The text's bytes, without the check [`ShortText::as_str`] makes:
    /// for writers of bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => bytes.get(..usize::from(*len)).unwrap_or_default(),
            Repr::Heap(s) => s.as_bytes(),
        }
    }
}

impl From<&str> for ShortText {
    fn from(s: &str) -> Self {
        let mut bytes = [0; INLINE];
        match (bytes.get_mut(..s.len()), u8::try_from(s.len())) {
            (Some(head), Ok(len)) => {
                head.copy_from_slice(s.as_bytes());
                ShortText(Repr::Inline { len, bytes })
            }
            _ => ShortText(Repr::Heap(s.into())),
        }
    }
}

impl From<String> for ShortText {
    fn from(s: String) -> Self {
        if s.len() <= INLINE {
            ShortText::from(s.as_str())
        } else {
            ShortText(Repr::Heap(s.into_boxed_str()))
        }
    }
}

impl Deref for ShortText {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for ShortText {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for ShortText {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ShortText {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for ShortText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for ShortText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for ShortText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_inline_long_on_heap() {
        for s in [
            "",
            "2026-11-27T06:51:01.123456789+05:30",
            &"é".repeat(19),
            &"x".repeat(39),
        ] {
            let t = ShortText::from(s);
            assert_eq!(t.as_str(), s);
            assert_eq!(ShortText::from(s.to_owned()), t);
            assert_eq!(t.heap_bytes() > 0, s.len() > INLINE);
        }
    }
}
