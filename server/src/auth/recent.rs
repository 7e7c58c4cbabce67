//! Recently verified credentials (API tokens, sessions) by digest, trusted for a short time
//! without asking the database again. Forgetting is immediate, and a lookup that began
//! before a forget is not remembered: it may have read what was just revoked.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Most credentials remembered at once (everything is forgotten when it is full).
const CAPACITY: usize = 10_000;

/// Credentials of type `V` by digest, each with the time it was verified.
#[derive(Debug)]
pub struct Recent<V> {
    inner: Mutex<Entries<V>>,
}

#[derive(Debug)]
struct Entries<V> {
    by_digest: HashMap<String, (Instant, V)>,
    /// How many forgets happened: a lookup records it first and is remembered only if it
    /// has not moved since.
    forgets: u64,
}

impl<V: Clone> Default for Recent<V> {
    fn default() -> Self {
        Recent {
            inner: Mutex::new(Entries {
                by_digest: HashMap::new(),
                forgets: 0,
            }),
        }
    }
}

impl<V: Clone> Recent<V> {
    fn entries(&self) -> MutexGuard<'_, Entries<V>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The credential under `digest` if it was verified less than `ttl` ago.
    pub fn get(&self, digest: &str, ttl: Duration) -> Option<V> {
        let entries = self.entries();
        let (at, value) = entries.by_digest.get(digest)?;
        (at.elapsed() < ttl).then(|| value.clone())
    }

    /// The stamp a lookup takes before it asks the database (see [`Recent::remember`]).
    pub fn stamp(&self) -> u64 {
        self.entries().forgets
    }

    /// Remembers a credential the database just confirmed, unless something was forgotten
    /// since the lookup took `stamp` (it may have read a credential just before its
    /// revocation), or caching is off (`ttl` zero).
    pub fn remember(&self, digest: String, value: V, stamp: u64, ttl: Duration) {
        if ttl.is_zero() {
            return;
        }
        let mut entries = self.entries();
        if entries.forgets != stamp {
            return;
        }
        if entries.by_digest.len() >= CAPACITY {
            entries.by_digest.clear();
        }
        entries.by_digest.insert(digest, (Instant::now(), value));
    }

    /// Forgets every credential for which `gone` holds, at once, and keeps lookups already
    /// under way from remembering theirs.
    pub fn forget(&self, gone: impl Fn(&str, &V) -> bool) {
        let mut entries = self.entries();
        entries.forgets += 1;
        entries.by_digest.retain(|digest, (_, v)| !gone(digest, v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(60);

    #[test]
    fn a_lookup_that_raced_a_forget_is_not_remembered() {
        let recent: Recent<i32> = Recent::default();
        // Looked up before the forget, answered after it: not remembered.
        let stamp = recent.stamp();
        recent.forget(|_, id| *id == 7);
        recent.remember("k1".into(), 7, stamp, TTL);
        assert_eq!(recent.get("k1", TTL), None);
        // A lookup with no forget in between is remembered, until it is forgotten.
        let stamp = recent.stamp();
        recent.remember("k2".into(), 7, stamp, TTL);
        assert_eq!(recent.get("k2", TTL), Some(7));
        recent.forget(|digest, _| digest == "k2");
        assert_eq!(recent.get("k2", TTL), None);
    }

    #[test]
    fn entries_expire_and_a_zero_ttl_remembers_nothing() {
        let recent: Recent<i32> = Recent::default();
        recent.remember("k".into(), 1, recent.stamp(), Duration::ZERO);
        assert_eq!(recent.get("k", TTL), None);
        recent.remember("k".into(), 1, recent.stamp(), TTL);
        assert_eq!(recent.get("k", TTL), Some(1));
        assert_eq!(recent.get("k", Duration::ZERO), None, "older than the ttl");
    }
}
