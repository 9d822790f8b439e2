//! A small multiplicative hasher for the fast path's stream lookups.
//!
//! Under WAMR's interpreter std's SipHash costs several hundred
//! instructions for a 60-byte tag; this one (the rustc/Firefox "Fx" mix
//! over eight bytes at a time) costs a tenth of that. Keys are tags and
//! stream names chosen by the host, not by the program being logged, so
//! flooding is not a concern worth SipHash's price here.

use std::hash::{BuildHasherDefault, Hasher};

/// See the module docs.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

const K: u64 = 0xf135_7aea_2e62_a9c5;

impl FxHasher {
    /// Mixes in one word.
    #[inline(always)]
    pub(crate) fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        // `as_chunks`, not `copy_from_slice` into a buffer: at the module's
        // opt-level "s" that copy stays a call per word, which made hashing
        // a stream's name cost ~600 interpreted instructions, not ~100.
        let (words, rest) = bytes.as_chunks::<8>();
        for w in words {
            self.add(u64::from_le_bytes(*w));
        }
        if !rest.is_empty() {
            let w = rest
                .iter()
                .rev()
                .fold(0u64, |w, &b| (w << 8) | u64::from(b));
            self.add(w);
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A `HashMap` with [`FxHasher`].
pub(crate) type FxMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FxHasher>>;
