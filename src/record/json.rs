//! JSON helpers of the record writer: the report's text written from its
//! lines without joining them first, and sizes without writing.

use serde::{Serialize, Serializer};

use crate::reassembler::Line;

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

/// One member with a name chosen at run time (the text's field).
#[derive(Debug)]
pub struct Member<'k, T> {
    /// The member's name.
    pub name: &'k str,
    /// Its value.
    pub value: T,
}

impl<T: Serialize> Serialize for Member<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(self.name, &self.value)?;
        m.end()
    }
}

/// Counts bytes written.
struct Count(usize);

impl std::io::Write for Count {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The length of `v`'s JSON, without building it.
pub fn json_len<T: Serialize + ?Sized>(v: &T) -> usize {
    let mut c = Count(0);
    // Counting cannot fail; on the impossible error the count stays short.
    let _ = serde_json::to_writer(&mut c, v);
    c.0
}

/// The bytes `,"name":value` takes in an object, `name` needing no escape.
pub fn member_len<T: Serialize + ?Sized>(name: &str, v: &T) -> usize {
    name.len() + 4 + json_len(v)
}
