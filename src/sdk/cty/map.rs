//! The attributes of an object or the entries of a map: one boxed slice sorted by key.
//!
//! Decoded values hold many small objects. A `BTreeMap` allocates a node with room for
//! eleven entries (about 800 bytes here) even for one attribute; a slice sized to its
//! entries costs 48 bytes each, and a boxed slice (no capacity) keeps a `Value` at 24
//! bytes. Lookups are binary searches, so reading stays logarithmic; inserting and
//! removing reallocate, which only matters for maps built one entry at a time (`collect`
//! sorts once instead).

/// A map from attribute or key names to values, iterated in key order like `BTreeMap`.
/// Generic so that this file needs nothing from `value.rs`, which names it
/// (`cty::Map` is `Map<Value>`).
#[derive(Clone, PartialEq)]
pub struct Map<V> {
    /// Sorted by key; keys unique.
    entries: Box<[(String, V)]>,
}

impl<V> Default for Map<V> {
    fn default() -> Self {
        Map {
            entries: Box::default(),
        }
    }
}

/// Iterator over `(&name, &value)` in key order.
pub type Iter<'a, V> = std::iter::Map<std::slice::Iter<'a, (String, V)>, PairFn<V>>;
/// Iterator over `(&name, &mut value)` in key order.
pub type IterMut<'a, V> = std::iter::Map<std::slice::IterMut<'a, (String, V)>, PairMutFn<V>>;

/// An entry as a `(&name, &value)` pair, as `BTreeMap` iterates.
pub type PairFn<V> = fn(&(String, V)) -> (&String, &V);
/// An entry as a `(&name, &mut value)` pair.
pub type PairMutFn<V> = fn(&mut (String, V)) -> (&String, &mut V);

fn pair<V>(e: &(String, V)) -> (&String, &V) {
    (&e.0, &e.1)
}

fn pair_mut<V>(e: &mut (String, V)) -> (&String, &mut V) {
    (&e.0, &mut e.1)
}

impl<V> Map<V> {
    /// An empty map.
    pub fn new() -> Self {
        Map::default()
    }

    /// A map from entries in any order; `Err(key)` names a key given twice.
    pub fn from_unique(mut entries: Vec<(String, V)>) -> Result<Self, String> {
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(w) = entries.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(w[0].0.clone());
        }
        Ok(Map {
            entries: entries.into_boxed_slice(),
        })
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&V> {
        let i = self.find(key).ok()?;
        self.entries.get(i).map(|e| &e.1)
    }
    /// The value under `key`, mutably.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        let i = self.find(key).ok()?;
        self.entries.get_mut(i).map(|e| &mut e.1)
    }
    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }
    /// Sets `key` to `v`, returning the value it replaced.
    pub fn insert(&mut self, key: String, v: V) -> Option<V> {
        match self.find(&key) {
            Ok(i) => self
                .entries
                .get_mut(i)
                .map(|e| std::mem::replace(&mut e.1, v)),
            Err(i) => {
                let mut entries = std::mem::take(&mut self.entries).into_vec();
                entries.insert(i, (key, v));
                self.entries = entries.into_boxed_slice();
                None
            }
        }
    }
    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<V> {
        let i = self.find(key).ok()?;
        let mut entries = std::mem::take(&mut self.entries).into_vec();
        let (_, v) = entries.remove(i);
        self.entries = entries.into_boxed_slice();
        Some(v)
    }
    /// `(&name, &value)` in key order.
    pub fn iter(&self) -> Iter<'_, V> {
        self.entries.iter().map(pair as PairFn<V>)
    }
    /// `(&name, &mut value)` in key order.
    pub fn iter_mut(&mut self) -> IterMut<'_, V> {
        self.entries.iter_mut().map(pair_mut as PairMutFn<V>)
    }
    /// The names in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &String> + ExactSizeIterator {
        self.entries.iter().map(|e| &e.0)
    }
    /// The values in key order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator {
        self.entries.iter().map(|e| &e.1)
    }
    /// The values in key order, mutably.
    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut V> + ExactSizeIterator {
        self.entries.iter_mut().map(|e| &mut e.1)
    }
}

/// Later entries win over earlier ones with the same key, as inserting into a `BTreeMap`.
impl<V> FromIterator<(String, V)> for Map<V> {
    fn from_iter<I: IntoIterator<Item = (String, V)>>(iter: I) -> Self {
        let mut entries: Vec<(String, V)> = iter.into_iter().collect();
        // Stable, so equal keys stay in arrival order and the last one is kept below.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(String, V)> = Vec::with_capacity(entries.len());
        for e in entries {
            match out.last_mut() {
                Some(last) if last.0 == e.0 => *last = e,
                _ => out.push(e),
            }
        }
        Map {
            entries: out.into_boxed_slice(),
        }
    }
}

/// Formats like a `BTreeMap`: `{"a": …, "b": …}`.
impl<V: std::fmt::Debug> std::fmt::Debug for Map<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<V> IntoIterator for Map<V> {
    type Item = (String, V);
    type IntoIter = std::vec::IntoIter<(String, V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_vec().into_iter()
    }
}

impl<'a, V> IntoIterator for &'a Map<V> {
    type Item = (&'a String, &'a V);
    type IntoIter = Iter<'a, V>;
    fn into_iter(self) -> Iter<'a, V> {
        self.iter()
    }
}

impl<'a, V> IntoIterator for &'a mut Map<V> {
    type Item = (&'a String, &'a mut V);
    type IntoIter = IterMut<'a, V>;
    fn into_iter(self) -> IterMut<'a, V> {
        self.iter_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_like_a_sorted_map() {
        let mut m: Map<i64> = [("b", 2), ("a", 1), ("b", 3)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        assert_eq!(m.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(m.get("b"), Some(&3));
        assert_eq!(m.insert("c".into(), 4), None);
        assert_eq!(m.insert("a".into(), 5), Some(1));
        assert_eq!(m.remove("b"), Some(3));
        assert!(!m.contains_key("b") && m.len() == 2);
        let pairs: Vec<_> = m.iter().map(|(k, v)| (k.clone(), *v)).collect();
        assert_eq!(pairs, [("a".to_string(), 5), ("c".into(), 4)]);
        assert_eq!(
            Map::from_unique(vec![("x".to_string(), 1), ("x".to_string(), 2)]),
            Err("x".to_string())
        );
    }
}
