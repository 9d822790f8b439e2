//! The streams with something open, by key.
//!
//! A line is looked up several times on its way through the reassembler
//! (idle reports, pending lines, the grammar, the report that takes it), and
//! lines come in runs per stream: the stream found last is checked first, by
//! key equality, so that a run costs one hash of its key rather than several
//! per line (std's SipHash on a 60-byte key costs more than the grammar).

use std::collections::HashMap;
use std::hash::Hash;

/// Streams by key, in slots; see the module docs.
pub(super) struct Table<K, S> {
    /// Where each key's slot is.
    index: HashMap<K, usize>,
    slots: Vec<(K, S)>,
    /// The slot found last, if any.
    last: Option<usize>,
}

impl<K: Hash + Eq + Clone, S> Table<K, S> {
    pub(super) fn new() -> Self {
        Table {
            index: HashMap::new(),
            slots: Vec::new(),
            last: None,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.slots.len()
    }

    fn find(&self, key: &K) -> Option<usize> {
        if let Some(i) = self.last
            && self.slots.get(i).is_some_and(|(k, _)| k == key)
        {
            return Some(i);
        }
        if self.slots.is_empty() {
            return None;
        }
        self.index.get(key).copied()
    }

    pub(super) fn contains_key(&self, key: &K) -> bool {
        self.find(key).is_some()
    }

    pub(super) fn get(&self, key: &K) -> Option<&S> {
        let i = self.find(key)?;
        self.slots.get(i).map(|(_, s)| s)
    }

    pub(super) fn get_mut(&mut self, key: &K) -> Option<&mut S> {
        let i = self.find(key)?;
        self.last = Some(i);
        self.slots.get_mut(i).map(|(_, s)| s)
    }

    /// The stream of `key`, made with `new` if there is none (`None` only
    /// if the table broke its own invariant).
    pub(super) fn get_or_insert_with(
        &mut self,
        key: &K,
        new: impl FnOnce() -> S,
    ) -> Option<&mut S> {
        if !self.contains_key(key) {
            self.index.insert(key.clone(), self.slots.len());
            self.slots.push((key.clone(), new()));
            self.last = Some(self.slots.len() - 1);
        }
        self.get_mut(key)
    }

    pub(super) fn remove(&mut self, key: &K) -> Option<S> {
        let i = self.index.remove(key)?;
        self.last = None;
        if i >= self.slots.len() {
            return None;
        }
        let (_, s) = self.slots.swap_remove(i);
        if let Some((moved, _)) = self.slots.get(i)
            && let Some(at) = self.index.get_mut(moved)
        {
            *at = i;
        }
        // A burst of streams (100,000 pods restarting) must not pin its
        // peak's memory: give it back once three quarters are gone.
        if self.slots.capacity() > 64 && self.slots.len() < self.slots.capacity() / 4 {
            self.slots.shrink_to(self.slots.capacity() / 2);
            self.index.shrink_to(self.slots.capacity());
        }
        Some(s)
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&K, &S)> {
        self.slots.iter().map(|(k, s)| (k, s))
    }
}

#[cfg(test)]
mod tests {
    use super::Table;

    #[test]
    fn removal_keeps_every_other_key_found() {
        let mut t: Table<String, u32> = Table::new();
        for (i, k) in ["a", "b", "c", "d"].iter().enumerate() {
            *t.get_or_insert_with(&k.to_string(), || 0).unwrap() = i as u32;
        }
        // "b" is found last, then removed; "d" moves into its slot.
        assert_eq!(t.get_mut(&"b".into()).copied(), Some(1));
        assert_eq!(t.remove(&"b".into()), Some(1));
        assert_eq!(t.remove(&"b".into()), None);
        let found: Vec<Option<u32>> = ["a", "b", "c", "d"]
            .iter()
            .map(|k| t.get(&k.to_string()).copied())
            .collect();
        assert_eq!(found, [Some(0), None, Some(2), Some(3)]);
        assert_eq!(t.len(), 3);
        // A burst gives its memory back once mostly gone.
        for i in 0..1000 {
            t.get_or_insert_with(&i.to_string(), || i);
        }
        let peak = t.slots.capacity();
        for i in 0..1000 {
            assert_eq!(t.remove(&i.to_string()), Some(i));
        }
        assert!(t.slots.capacity() < peak / 4, "{}", t.slots.capacity());
        assert_eq!(t.get(&"d".into()).copied(), Some(3));
    }
}
