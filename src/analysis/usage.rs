//! What fills etcd: Kubernetes keys mapped to resources (and namespaces), and the bytes of
//! current values and of history added up per resource. Pure: keys and sizes in, typed rows
//! out. Values never come here, only their lengths, so nothing downstream can print one.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// Where keys outside the prefix are counted.
pub const OTHER: &str = "(other)";
/// kube-apiserver's default `--etcd-prefix`, with the separator.
pub const DEFAULT_PREFIX: &str = "/registry/";

/// Where a key belongs, as ids into the tally's tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Place {
    resource: u32,
    namespace: u32,
}

const NO_NAMESPACE: u32 = u32::MAX;

/// An object's identity: its key (live reads hold it for a moment), or a hash of it (a
/// snapshot walk, which keeps one small entry per key and finds the few keys it prints later).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ident {
    Key(Vec<u8>),
    Hash(u64),
}

/// How many and how big.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub keys: u64,
    pub bytes: u64,
}

/// History counts: revisions a key still has that are not its current value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct History {
    pub revisions: u64,
    pub bytes: u64,
}

#[derive(Default)]
struct Acc {
    live: Counts,
    history: History,
    largest: Option<(u64, Ident)>,
}

/// One object, by key, with its size (len(key) + len(value)).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Object {
    pub key: String,
    pub bytes: u64,
}

/// Per namespace inside a resource (`--by namespace`); `namespace` is empty for cluster-scoped
/// objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamespaceRow {
    pub namespace: String,
    pub live: Counts,
    pub history: History,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceRow {
    pub resource: String,
    pub live: Counts,
    pub largest: Option<Object>,
    pub history: History,
    /// Sorted by bytes, descending; empty unless asked for.
    pub namespaces: Vec<NamespaceRow>,
}

/// The whole answer, sorted by bytes (descending, then by name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    pub total: Counts,
    pub history: History,
    pub resources: Vec<ResourceRow>,
    /// The largest objects, largest first (`--top N`).
    pub top: Vec<Object>,
}

/// What history against live data says, for the storage finding and the snapshot footer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dominant {
    Live,
    History,
}

impl Summary {
    pub fn dominant(&self) -> Dominant {
        if self.history.bytes > self.total.bytes {
            Dominant::History
        } else {
            Dominant::Live
        }
    }
}

/// The raw resource part of `key` under `prefix` (the bytes between the prefix and the object's
/// own path) and the rest (`[namespace/]name`); None for keys outside the prefix.
///
/// The rules, exactly: `<prefix><resource>/<rest>`; when the first segment holds a dot it is an
/// API group and the resource spans two segments (`<group>/<plural>`); `services/specs` and
/// `services/endpoints` span two as well.
pub fn split<'k>(prefix: &[u8], key: &'k [u8]) -> Option<(&'k [u8], &'k [u8])> {
    let after = key.strip_prefix(prefix)?;
    let first = after.iter().position(|b| *b == b'/').unwrap_or(after.len());
    let seg = &after[..first];
    if seg.is_empty() {
        return None;
    }
    let two = seg.contains(&b'.')
        || (seg == b"services"
            && (after[first..].starts_with(b"/specs/")
                || after[first..].starts_with(b"/endpoints/")));
    let end = if two && first < after.len() {
        after[first + 1..]
            .iter()
            .position(|b| *b == b'/')
            .map_or(after.len(), |p| first + 1 + p)
    } else {
        first
    };
    let rest = after.get(end + 1..).unwrap_or(&[]);
    Some((&after[..end], rest))
}

/// The resource's name as users know it: `pods`, `customresourcedefinitions.apiextensions.k8s.io`,
/// `services` for both of its stores.
pub fn resource_name(raw: &[u8]) -> String {
    let raw = String::from_utf8_lossy(raw);
    match raw.split_once('/') {
        Some(("services", "specs" | "endpoints")) => "services".into(),
        Some((group, plural)) => format!("{plural}.{group}"),
        None => raw.into_owned(),
    }
}

/// The namespace in `[namespace/]name`: the first segment when there are two or more.
pub fn namespace_of(rest: &[u8]) -> Option<&[u8]> {
    rest.iter().position(|b| *b == b'/').map(|p| &rest[..p])
}

/// Adds up keys and sizes by resource. Feed it current values with [`Tally::live`] and older
/// revisions with [`Tally::history`]; [`Tally::finish`] gives the rows.
pub struct Tally {
    prefix: Vec<u8>,
    only_namespace: Option<Vec<u8>>,
    by_namespace: bool,
    top: usize,
    resources: HashMap<Vec<u8>, u32>,
    resource_names: Vec<Vec<u8>>,
    namespaces: HashMap<Vec<u8>, u32>,
    namespace_names: Vec<Vec<u8>>,
    acc: HashMap<Place, Acc>,
    largest: BinaryHeap<Reverse<(u64, Ident)>>,
}

/// What to add up.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// The etcd prefix with its trailing `/` (see [`normalize_prefix`]).
    pub prefix: String,
    /// Only objects in this namespace (cluster-scoped objects and other keys are left out).
    pub namespace: Option<String>,
    /// Rows per namespace inside each resource.
    pub by_namespace: bool,
    /// How many of the largest objects to list.
    pub top: usize,
}

/// `--prefix /registry`, `/registry/` and `registry` are the same prefix, as kube-apiserver
/// joins them (`path.Join("/", prefix)`): keys are `/<prefix>/<resource>/…`.
pub fn normalize_prefix(prefix: &str) -> String {
    match prefix.trim_matches('/') {
        "" => "/".into(),
        p => format!("/{p}/"),
    }
}

/// Where the prefix comes from: `--prefix` when given, else kube-apiserver's `--etcd-prefix`
/// when discovery read it from its pods, else kube-apiserver's default.
pub fn choose_prefix(given: Option<&str>, discovered: Option<&str>) -> (String, PrefixFrom) {
    match (given, discovered) {
        (Some(p), _) => (normalize_prefix(p), PrefixFrom::Flag),
        (None, Some(p)) => (normalize_prefix(p), PrefixFrom::ApiServer),
        (None, None) => (DEFAULT_PREFIX.into(), PrefixFrom::Default),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrefixFrom {
    Flag,
    ApiServer,
    Default,
}

impl Tally {
    pub fn new(scope: &Scope) -> Tally {
        Tally {
            prefix: scope.prefix.as_bytes().to_vec(),
            only_namespace: scope.namespace.as_ref().map(|n| n.as_bytes().to_vec()),
            by_namespace: scope.by_namespace,
            top: scope.top,
            resources: HashMap::new(),
            resource_names: Vec::new(),
            namespaces: HashMap::new(),
            namespace_names: Vec::new(),
            acc: HashMap::new(),
            largest: BinaryHeap::new(),
        }
    }

    /// Where `key` counts, or None when the namespace filter leaves it out.
    pub fn place(&mut self, key: &[u8]) -> Option<Place> {
        let (raw, namespace) = match split(&self.prefix, key) {
            Some((raw, rest)) => (raw, namespace_of(rest)),
            None => (OTHER.as_bytes(), None),
        };
        if let Some(only) = &self.only_namespace
            && namespace != Some(only.as_slice())
        {
            return None;
        }
        let resource = intern(&mut self.resources, &mut self.resource_names, raw);
        let namespace = match namespace {
            Some(ns) if self.by_namespace => {
                intern(&mut self.namespaces, &mut self.namespace_names, ns)
            }
            _ => NO_NAMESPACE,
        };
        Some(Place {
            resource,
            namespace,
        })
    }

    /// A current value of `bytes` (len(key) + len(value)); `id` is asked for only when the
    /// object is among the largest, so most keys are never copied.
    pub fn live(&mut self, at: Place, bytes: u64, id: &dyn Fn() -> Ident) {
        let a = self.acc.entry(at).or_default();
        a.live.keys += 1;
        a.live.bytes += bytes;
        if a.largest.as_ref().is_none_or(|(b, _)| bytes > *b) {
            a.largest = Some((bytes, id()));
        }
        if self.top > 0 {
            if self.largest.len() < self.top {
                self.largest.push(Reverse((bytes, id())));
            } else if self
                .largest
                .peek()
                .is_some_and(|Reverse((b, _))| bytes > *b)
            {
                self.largest.pop();
                self.largest.push(Reverse((bytes, id())));
            }
        }
    }

    /// A revision that is not a key's current value (an older version or a tombstone).
    pub fn history(&mut self, at: Place, bytes: u64) {
        let a = self.acc.entry(at).or_default();
        a.history.revisions += 1;
        a.history.bytes += bytes;
    }

    /// The hashes that [`Tally::finish`] needs keys for (snapshot walks).
    pub fn wanted(&self) -> Vec<u64> {
        let from_rows = self.acc.values().filter_map(|a| a.largest.as_ref());
        let from_top = self.largest.iter().map(|Reverse(x)| x);
        let mut v: Vec<u64> = from_rows
            .chain(from_top)
            .filter_map(|(_, id)| match id {
                Ident::Hash(h) => Some(*h),
                Ident::Key(_) => None,
            })
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The rows; `keys` names the hashed identities (from [`Tally::wanted`]).
    pub fn finish(self, keys: &HashMap<u64, Vec<u8>>) -> Summary {
        let object = |bytes: u64, id: &Ident| Object {
            key: String::from_utf8_lossy(match id {
                Ident::Key(k) => k,
                Ident::Hash(h) => keys.get(h).map_or(&[][..], |k| k.as_slice()),
            })
            .into_owned(),
            bytes,
        };
        let mut rows: HashMap<String, ResourceRow> = HashMap::new();
        let mut namespaces: HashMap<(String, String), NamespaceRow> = HashMap::new();
        for (place, a) in &self.acc {
            let name = resource_name(&self.resource_names[place.resource as usize]);
            let row = rows.entry(name.clone()).or_insert_with(|| ResourceRow {
                resource: name.clone(),
                live: Counts::default(),
                largest: None,
                history: History::default(),
                namespaces: vec![],
            });
            add(&mut row.live, &mut row.history, a);
            if let Some((b, id)) = &a.largest
                && row.largest.as_ref().is_none_or(|l| *b > l.bytes)
            {
                row.largest = Some(object(*b, id));
            }
            if self.by_namespace {
                let ns = match place.namespace {
                    NO_NAMESPACE => String::new(),
                    n => String::from_utf8_lossy(&self.namespace_names[n as usize]).into_owned(),
                };
                let r = namespaces
                    .entry((name, ns.clone()))
                    .or_insert_with(|| NamespaceRow {
                        namespace: ns,
                        live: Counts::default(),
                        history: History::default(),
                    });
                add(&mut r.live, &mut r.history, a);
            }
        }
        for ((resource, _), r) in namespaces {
            if let Some(row) = rows.get_mut(&resource) {
                row.namespaces.push(r);
            }
        }
        let mut resources: Vec<ResourceRow> = rows.into_values().collect();
        for r in &mut resources {
            r.namespaces.sort_by(|a, b| {
                (b.live.bytes + b.history.bytes)
                    .cmp(&(a.live.bytes + a.history.bytes))
                    .then_with(|| a.namespace.cmp(&b.namespace))
            });
        }
        resources.sort_by(|a, b| {
            b.live
                .bytes
                .cmp(&a.live.bytes)
                .then_with(|| b.history.bytes.cmp(&a.history.bytes))
                .then_with(|| a.resource.cmp(&b.resource))
        });
        let mut total = Counts::default();
        let mut history = History::default();
        for r in &resources {
            total.keys += r.live.keys;
            total.bytes += r.live.bytes;
            history.revisions += r.history.revisions;
            history.bytes += r.history.bytes;
        }
        let mut top: Vec<Object> = self
            .largest
            .into_iter()
            .map(|Reverse((b, id))| object(b, &id))
            .collect();
        top.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.key.cmp(&b.key)));
        Summary {
            total,
            history,
            resources,
            top,
        }
    }
}

/// A key's identity in a snapshot walk: 64 bits of SipHash (fixed keys, so both passes agree).
/// Two keys colliding (about 1 in 10^7 for a million keys) would merge their histories.
pub fn key_hash(key: &[u8]) -> u64 {
    use std::hash::Hasher;
    #[allow(deprecated)] // SipHasher: stable across runs, which DefaultHasher does not promise
    let mut h = std::hash::SipHasher::new();
    h.write(key);
    h.finish()
}

/// A key's newest revision seen so far in a walk in revision order.
#[derive(Clone, Copy)]
struct Newest {
    bytes: u64,
    place: Place,
    tombstone: bool,
}

/// Splits a snapshot's revisions into current values and history as they come, in revision
/// order: each key's newest revision is its current value unless it is a tombstone; every other
/// revision still stored (older versions, tombstones) is history. One small entry per key.
#[derive(Default)]
pub struct Revisions {
    newest: HashMap<u64, Newest>,
}

impl Revisions {
    pub fn add(&mut self, tally: &mut Tally, key: &[u8], bytes: u64, tombstone: bool) {
        let Some(place) = tally.place(key) else {
            return;
        };
        let next = Newest {
            bytes,
            place,
            tombstone,
        };
        if let Some(old) = self.newest.insert(key_hash(key), next) {
            tally.history(old.place, old.bytes);
        }
    }

    pub fn finish(self, tally: &mut Tally) {
        for (hash, n) in self.newest {
            if n.tombstone {
                tally.history(n.place, n.bytes);
            } else {
                tally.live(n.place, n.bytes, &|| Ident::Hash(hash));
            }
        }
    }
}

fn add(live: &mut Counts, history: &mut History, a: &Acc) {
    live.keys += a.live.keys;
    live.bytes += a.live.bytes;
    history.revisions += a.history.revisions;
    history.bytes += a.history.bytes;
}

fn intern(ids: &mut HashMap<Vec<u8>, u32>, names: &mut Vec<Vec<u8>>, raw: &[u8]) -> u32 {
    if let Some(id) = ids.get(raw) {
        return *id;
    }
    let id = names.len() as u32;
    names.push(raw.to_vec());
    ids.insert(raw.to_vec(), id);
    id
}

#[cfg(test)]
mod tests;
