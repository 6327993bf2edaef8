//! The events of `sigil watch`: what changed between two proven states of a watched item,
//! said once as a line for people and as one JSON object.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sigil_core::records::Record;
use sigil_core::state::{CertEntry, CompanyEntry, HolderEntry, IdentityEntry};
use sigil_core::types::{Hash, Height, PublicKey};

use super::state::{Certs, HolderSnap, NameSnap};
use crate::output::zone_lines;

/// One event as printed and as given to `--exec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// What happened, e.g. `records-changed`.
    pub event: String,
    /// What it happened to: a name, `identity ID`, `company ID`, `holder ID of COMPANY`.
    pub subject: String,
    /// The first height at which the change is proven...
    pub height: Height,
    /// ...and the last proven height before it: the change was made in a block after this
    /// one, up to `height`.
    pub since: Height,
    /// The proof: the block, its proposer's time, its state root and the validator set whose
    /// signatures were checked.
    pub block_hash: Hash,
    pub time_ms: u64,
    pub state_root: Hash,
    pub validator_set: Hash,
    pub signatures: usize,
    /// One line saying what changed.
    pub summary: String,
    /// The facts of this kind of event.
    pub details: Value,
}

/// An event before the proof's anchor is added.
#[derive(Debug, Clone)]
pub struct Found {
    pub event: &'static str,
    pub subject: String,
    pub summary: String,
    pub details: Value,
}

fn found(event: &'static str, subject: &str, summary: String, details: Value) -> Found {
    Found {
        event,
        subject: subject.to_string(),
        summary,
        details,
    }
}

/// A watched name: a registered name, or a host under one.
#[derive(Debug, Clone)]
pub struct NameItem {
    /// The registered name.
    pub name: String,
    /// The labels below it (`www`), empty for the name itself.
    pub host: String,
}

impl NameItem {
    pub fn shown(&self) -> String {
        if self.host.is_empty() {
            self.name.clone()
        } else {
            format!("{}.{}", self.host, self.name)
        }
    }

    fn records<'a>(&self, records: &'a [Record]) -> Vec<&'a Record> {
        records
            .iter()
            .filter(|r| self.host.is_empty() || r.host == self.host)
            .collect()
    }

    /// Whether a certificate's names cover what is watched: any certificate of the name when
    /// the name itself is watched, else one naming the host or a wildcard over it.
    pub fn covered_by(&self, sans: &[String]) -> bool {
        if self.host.is_empty() {
            return true;
        }
        let fqdn = self.shown();
        let parent = fqdn.split_once('.').map(|(_, p)| p).unwrap_or_default();
        sans.iter()
            .any(|s| *s == fqdn || s.strip_prefix("*.") == Some(parent))
    }
}

/// How heights become dates for an expiry warning.
pub struct Dates {
    pub height: Height,
    pub time_ms: u64,
    /// Mean time between recent blocks, and how many blocks it was measured over (0: the
    /// chain's target interval, nothing measured yet).
    pub interval_ms: u64,
    pub measured_over: u64,
}

impl Dates {
    fn estimate(&self, height: Height) -> u64 {
        self.time_ms.saturating_add(
            height
                .saturating_sub(self.height)
                .saturating_mul(self.interval_ms),
        )
    }

    fn basis(&self) -> String {
        if self.measured_over == 0 {
            format!("the chain's target of {} ms per block", self.interval_ms)
        } else {
            format!(
                "the mean of {} ms per block over the last {} blocks",
                self.interval_ms, self.measured_over
            )
        }
    }
}

fn line(name: &str, r: &Record) -> String {
    zone_lines(name, std::slice::from_ref(r), "")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn key(k: &PublicKey) -> String {
    k.to_string()
}

/// The events of a watched name between `old` (none: first sight, only expiry is reported)
/// and `new`, proven at `height`; `certs` holds the entries of certificates that joined or
/// left the name's list.
pub fn name_events(
    item: &NameItem,
    old: Option<&NameSnap>,
    new: &mut NameSnap,
    certs: &Certs,
    height: Height,
    warning_blocks: u64,
    dates: &Dates,
) -> Vec<Found> {
    let subject = item.shown();
    let mut out = Vec::new();
    if let Some(old) = old {
        new.warned = old.warned;
        new.expired = old.expired;
        match (&old.entry, &new.entry) {
            (None, Some(e)) => out.push(found(
                "name-registered",
                &subject,
                format!(
                    "registered by {} until height {}",
                    key(&e.owner),
                    e.expires_at
                ),
                json!({ "owner": e.owner, "expires_at": e.expires_at }),
            )),
            (Some(_), None) => out.push(found(
                "name-removed",
                &subject,
                "no longer registered".into(),
                json!({}),
            )),
            (Some(o), Some(n)) if n.registered_at != o.registered_at => out.push(found(
                "name-registered",
                &subject,
                format!(
                    "registered anew by {} until height {} (it had expired)",
                    key(&n.owner),
                    n.expires_at
                ),
                json!({ "owner": n.owner, "expires_at": n.expires_at, "previous_owner": o.owner }),
            )),
            (Some(o), Some(n)) => {
                if n.owner != o.owner {
                    out.push(found(
                        "name-transferred",
                        &subject,
                        format!("transferred from {} to {}", key(&o.owner), key(&n.owner)),
                        json!({ "from": o.owner, "to": n.owner }),
                    ));
                }
                if n.expires_at > o.expires_at {
                    out.push(found(
                        "name-renewed",
                        &subject,
                        format!(
                            "renewed: expires at height {} (was {})",
                            n.expires_at, o.expires_at
                        ),
                        json!({ "expires_at": n.expires_at, "previous_expires_at": o.expires_at }),
                    ));
                }
                let (was, now) = (item.records(&o.records), item.records(&n.records));
                let removed: Vec<String> = was
                    .iter()
                    .filter(|r| !now.contains(*r))
                    .map(|r| line(&item.name, r))
                    .collect();
                let added: Vec<String> = now
                    .iter()
                    .filter(|r| !was.contains(*r))
                    .map(|r| line(&item.name, r))
                    .collect();
                if !removed.is_empty() || !added.is_empty() {
                    let mut parts: Vec<String> = added.iter().map(|l| format!("+ {l}")).collect();
                    parts.extend(removed.iter().map(|l| format!("- {l}")));
                    out.push(found(
                        "records-changed",
                        &subject,
                        format!("records changed: {}", parts.join("; ")),
                        json!({ "added": added, "removed": removed }),
                    ));
                }
            }
            (None, None) => {}
        }
        for hash in new.certs.iter().filter(|h| !old.certs.contains(h)) {
            if let Some(Some(cert)) = certs.get(hash)
                && item.covered_by(&cert.facts.sans)
            {
                out.push(cert_registered(&subject, cert));
            }
        }
        for hash in old.certs.iter().filter(|h| !new.certs.contains(h)) {
            let entry = certs.get(hash).cloned().flatten();
            if let Some(cert) = &entry
                && !item.covered_by(&cert.facts.sans)
            {
                continue;
            }
            out.push(cert_left(&subject, hash, entry.as_ref()));
        }
        if new.binding != old.binding {
            out.push(match &new.binding {
                Some(id) => found(
                    "identity-bound",
                    &subject,
                    format!("bound to identity {id}"),
                    json!({ "identity": id, "previous": old.binding }),
                ),
                None => found(
                    "identity-unbound",
                    &subject,
                    format!(
                        "no longer bound to identity {} (the binding counts only under the owner who made it)",
                        old.binding.as_deref().unwrap_or_default()
                    ),
                    json!({ "previous": old.binding }),
                ),
            });
        }
    }
    if let Some(e) = &new.entry {
        let expires = e.expires_at;
        if height < expires && expires - height <= warning_blocks && new.warned != Some(expires) {
            new.warned = Some(expires);
            let at = dates.estimate(expires);
            out.push(found(
                "expiry-approaching",
                &subject,
                format!(
                    "expires at height {expires}, in {} blocks: about {} (an estimate from {}); renew it with `sigil name renew {}`",
                    expires - height,
                    crate::when::utc(at),
                    dates.basis(),
                    item.name
                ),
                json!({
                    "expires_at": expires,
                    "blocks_left": expires - height,
                    "estimated_time_ms": at,
                    "estimated_date": crate::when::utc(at),
                    "estimated": true,
                    "estimate_basis": dates.basis(),
                }),
            ));
        }
        if height >= expires && new.expired != Some(expires) {
            new.expired = Some(expires);
            new.warned = Some(expires);
            out.push(found(
                "name-expired",
                &subject,
                format!(
                    "expired at height {expires}: it no longer resolves; its owner may still renew it during the grace period"
                ),
                json!({ "expired_at": expires }),
            ));
        }
    }
    out
}

fn cert_registered(subject: &str, cert: &CertEntry) -> Found {
    let by_owner = cert.registered_by == cert.owner;
    let by = if by_owner {
        format!("the owner {}", key(&cert.registered_by))
    } else {
        format!("authorized issuer {}", key(&cert.registered_by))
    };
    found(
        "cert-registered",
        subject,
        format!(
            "certificate {} registered by {by} for {}",
            cert.facts.cert_sha256,
            cert.facts.sans.join(", ")
        ),
        json!({
            "cert_sha256": cert.facts.cert_sha256,
            "sans": cert.facts.sans,
            "not_after": cert.facts.not_after,
            "registered_by": cert.registered_by,
            "by_issuer": !by_owner,
        }),
    )
}

fn cert_left(subject: &str, hash: &Hash, entry: Option<&CertEntry>) -> Found {
    match entry.and_then(|c| c.revoked.as_ref()) {
        Some(r) => found(
            "cert-revoked",
            subject,
            format!(
                "certificate {hash} revoked ({}) by {}",
                r.reason,
                key(&r.by)
            ),
            json!({ "cert_sha256": hash, "reason": r.reason, "by": r.by }),
        ),
        None => found(
            "cert-unlisted",
            subject,
            format!("certificate {hash} no longer listed for the name"),
            json!({ "cert_sha256": hash }),
        ),
    }
}

pub fn identity_events(
    id: &str,
    old: &Option<IdentityEntry>,
    new: &Option<IdentityEntry>,
) -> Vec<Found> {
    let subject = format!("identity {id}");
    let mut out = Vec::new();
    match (old, new) {
        (None, Some(n)) => out.push(found(
            "identity-registered",
            &subject,
            format!("registered with online key {}", key(&n.online_key)),
            json!({ "online_key": n.online_key, "offline_key": n.offline_key }),
        )),
        (Some(_), None) => out.push(found(
            "identity-removed",
            &subject,
            "no longer on the ledger".into(),
            json!({}),
        )),
        (Some(o), Some(n)) => {
            if n.offline_key != o.offline_key {
                out.push(found(
                    "identity-recovered",
                    &subject,
                    format!(
                        "recovered: both keys replaced (online {}, offline {})",
                        key(&n.online_key),
                        key(&n.offline_key)
                    ),
                    json!({
                        "online_key": n.online_key, "offline_key": n.offline_key,
                        "previous_online_key": o.online_key, "previous_offline_key": o.offline_key,
                    }),
                ));
            } else if n.online_key != o.online_key {
                out.push(found(
                    "identity-key-rotated",
                    &subject,
                    format!(
                        "online key rotated from {} to {}",
                        key(&o.online_key),
                        key(&n.online_key)
                    ),
                    json!({ "online_key": n.online_key, "previous_online_key": o.online_key }),
                ));
            }
            if n.revoked_at.is_some() && o.revoked_at.is_none() {
                out.push(found(
                    "identity-revoked",
                    &subject,
                    "revoked for good: no key of it signs anything more".into(),
                    json!({ "revoked_at": n.revoked_at }),
                ));
            }
            match (o.suspended_at, n.suspended_at) {
                (None, Some(at)) => out.push(found(
                    "identity-suspended",
                    &subject,
                    "suspended: its online key signs nothing until the offline key rotates or recovers it".into(),
                    json!({ "suspended_at": at }),
                )),
                (Some(_), None) if n.revoked_at.is_none() => out.push(found(
                    "identity-resumed",
                    &subject,
                    "suspension lifted".into(),
                    json!({}),
                )),
                _ => {}
            }
        }
        (None, None) => {}
    }
    out
}

pub fn company_events(
    id: &str,
    old: &Option<CompanyEntry>,
    new: &Option<CompanyEntry>,
) -> Vec<Found> {
    let subject = format!("company {id}");
    match (old, new) {
        (None, Some(n)) => vec![found(
            "company-created",
            &subject,
            format!(
                "created under {} with admin {} and classes {}",
                n.name,
                n.admin,
                n.class_names()
            ),
            json!({ "name": n.name, "admin": n.admin, "classes": n.classes }),
        )],
        (Some(o), Some(n)) if o != n => {
            let mut what = Vec::new();
            if o.admin != n.admin {
                what.push(format!("admin {} (was {})", n.admin, o.admin));
            }
            if o.name != n.name || o.listed_by != n.listed_by {
                what.push(format!("listed under {} by {}", n.name, key(&n.listed_by)));
            }
            let classes =
                |c: &CompanyEntry| c.classes.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
            if classes(o) != classes(n) {
                what.push(format!("classes {}", n.class_names()));
            }
            if what.is_empty() {
                // Shares issued or redeemed: the holders' events say whose.
                return Vec::new();
            }
            vec![found(
                "company-changed",
                &subject,
                format!("changed: {}", what.join("; ")),
                json!({ "name": n.name, "admin": n.admin, "classes": n.classes }),
            )]
        }
        _ => Vec::new(),
    }
}

fn with(mut details: Value, extra: Value) -> Value {
    if let (Some(d), Value::Object(extra)) = (details.as_object_mut(), extra) {
        d.extend(extra);
    }
    details
}

fn holder_issued(subject: &str, k: &PublicKey, extra: Value) -> Found {
    found(
        "holder-issued",
        subject,
        format!("issued with key {}", key(k)),
        with(json!({ "key": k }), extra),
    )
}

fn holder_rotated(subject: &str, k: &PublicKey, previous: &PublicKey, extra: Value) -> Found {
    found(
        "holder-key-rotated",
        subject,
        format!("key changed from {} to {}", key(previous), key(k)),
        with(json!({ "key": k, "previous_key": previous }), extra),
    )
}

/// `reason` is `None` when the holder was revoked and then re-keyed (reinstated) before the
/// height proven: its entry keeps the revocation's height, not its reason.
fn holder_revoked(subject: &str, reason: Option<&str>, extra: Value) -> Found {
    let summary = match reason {
        Some(r) => format!("revoked: {r}"),
        None => "revoked, then reinstated with a new key".into(),
    };
    found(
        "holder-revoked",
        subject,
        summary,
        with(json!({ "reason": reason }), extra),
    )
}

/// Whether a holder's entry shows a change made at `at`: issued, re-keyed or revoked then.
pub fn holder_changed_at(entry: &HolderEntry, at: Height) -> bool {
    entry.issued_at == at
        || entry.revoked.as_ref().is_some_and(|r| r.height == at)
        || entry
            .keys
            .iter()
            .any(|p| p.from == at || p.until == Some(at))
}

/// The changes a holder's entry, proven at `height`, shows after `since`: issued, re-keyed,
/// revoked (each period's bounds and the revocation carry their heights), oldest first; each
/// event's details say the height of its change (`at`).
pub fn holder_changes(
    company: &str,
    entry: &HolderEntry,
    since: Height,
    height: Height,
) -> Vec<Found> {
    let subject = format!("holder {} of {company}", entry.holder);
    let within = |at: Height| since < at && at <= height;
    let mut out: Vec<(Height, Found)> = Vec::new();
    if within(entry.issued_at) {
        let first = entry.keys.first().map_or(&entry.key, |p| &p.key);
        let at = entry.issued_at;
        out.push((at, holder_issued(&subject, first, json!({ "at": at }))));
    }
    for pair in entry.keys.windows(2) {
        if within(pair[1].from) {
            let at = pair[1].from;
            out.push((
                at,
                holder_rotated(&subject, &pair[1].key, &pair[0].key, json!({ "at": at })),
            ));
        }
    }
    let revoked = entry.revoked.as_ref().filter(|r| within(r.height));
    if let Some(r) = revoked {
        out.push((
            r.height,
            holder_revoked(&subject, Some(&r.reason), json!({ "at": r.height })),
        ));
    }
    // A period closed with no key following it at once was closed by a revocation that a
    // later new key has lifted.
    for p in &entry.keys {
        if let Some(at) = p.until.filter(|at| within(*at))
            && !entry.keys.iter().any(|q| q.from == at)
            && revoked.is_none_or(|r| r.height != at)
        {
            out.push((at, holder_revoked(&subject, None, json!({ "at": at }))));
        }
    }
    out.sort_by_key(|(at, _)| *at);
    out.into_iter().map(|(_, f)| f).collect()
}

pub fn holder_events(
    company: &str,
    holder: &str,
    old: &HolderSnap,
    new: &HolderSnap,
) -> Vec<Found> {
    let subject = format!("holder {holder} of {company}");
    let mut out = Vec::new();
    let entry_events =
        |o: Option<&HolderEntry>, n: Option<&HolderEntry>, out: &mut Vec<Found>| match (o, n) {
            (None, Some(n)) => out.push(holder_issued(&subject, &n.key, json!({}))),
            (Some(o), Some(n)) => {
                if n.key != o.key {
                    out.push(holder_rotated(&subject, &n.key, &o.key, json!({})));
                }
                if let (None, Some(r)) = (&o.revoked, &n.revoked) {
                    out.push(holder_revoked(&subject, Some(&r.reason), json!({})));
                }
            }
            _ => {}
        };
    entry_events(old.entry.as_ref(), new.entry.as_ref(), &mut out);
    let classes: std::collections::BTreeSet<&String> =
        old.balances.keys().chain(new.balances.keys()).collect();
    for class in classes {
        let before = old.balances.get(class).copied().unwrap_or(0);
        let after = new.balances.get(class).copied().unwrap_or(0);
        if before != after {
            let change = i128::from(after) - i128::from(before);
            out.push(found(
                "shares-moved",
                &subject,
                format!("{change:+} {class} shares: holds {after} (was {before})"),
                json!({
                    "class": class,
                    "before": before,
                    "after": after,
                    "change": i64::try_from(change).map_or_else(|_| Value::from(change.to_string()), Value::from),
                }),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigil_core::state::NameEntry;
    use sigil_core::types::Keypair;

    fn entry(owner: PublicKey, records: &[&str], expires_at: Height) -> NameEntry {
        NameEntry {
            name: "shop.sigil".into(),
            owner,
            records: records.iter().map(|r| Record::parse(r).unwrap()).collect(),
            registered_at: 1,
            updated_at: 1,
            expires_at,
        }
    }

    fn snap(entry: NameEntry) -> NameSnap {
        NameSnap {
            entry: Some(entry),
            ..NameSnap::default()
        }
    }

    fn dates(height: Height) -> Dates {
        Dates {
            height,
            time_ms: 1_795_000_000_000,
            interval_ms: 500,
            measured_over: 10,
        }
    }

    fn kinds(found: &[Found]) -> Vec<&'static str> {
        found.iter().map(|f| f.event).collect()
    }

    #[test]
    fn a_holder_entry_says_what_changed_after_a_height() {
        use sigil_core::state::{HolderRevocation, KeyPeriod, KeyRole};
        let (k1, k2) = (Keypair::generate().public(), Keypair::generate().public());
        let period = |key, from, until| KeyPeriod {
            key,
            role: KeyRole::Holder,
            from,
            until,
        };
        // Issued at 10, revoked at 12, reinstated with a new key at 14.
        let entry = HolderEntry {
            company: "acme".into(),
            holder: "h-1".into(),
            key: k2,
            attr_hash: None,
            issued_at: 10,
            revoked: None,
            keys: vec![period(k1, 10, Some(12)), period(k2, 14, None)],
        };
        let changes = |since, height| kinds(&holder_changes("acme", &entry, since, height));
        assert_eq!(
            changes(9, 14),
            ["holder-issued", "holder-revoked", "holder-key-rotated"]
        );
        assert_eq!(changes(10, 13), ["holder-revoked"]);
        assert!(changes(14, 20).is_empty());
        let found = holder_changes("acme", &entry, 11, 12);
        assert_eq!(found[0].details["reason"], Value::Null);
        assert_eq!(found[0].details["at"], 12);
        for at in [10, 12, 14] {
            assert!(holder_changed_at(&entry, at));
        }
        assert!(!holder_changed_at(&entry, 11));
        // Revoked and not reinstated: the reason is in the entry.
        let revoked = HolderEntry {
            revoked: Some(HolderRevocation {
                height: 12,
                reason: "left".into(),
            }),
            key: k1,
            keys: vec![period(k1, 10, Some(12))],
            ..entry.clone()
        };
        let found = holder_changes("acme", &revoked, 10, 12);
        assert_eq!(kinds(&found), ["holder-revoked"]);
        assert_eq!(found[0].details["reason"], "left");
        assert_eq!(found[0].subject, "holder h-1 of acme");
    }

    #[test]
    fn a_host_sees_its_own_records_and_the_certificates_that_cover_it() {
        let www = NameItem {
            name: "shop.sigil".into(),
            host: "www".into(),
        };
        let name = NameItem {
            name: "shop.sigil".into(),
            host: String::new(),
        };
        assert!(www.covered_by(&["www.shop.sigil".into()]));
        assert!(www.covered_by(&["*.shop.sigil".into()]));
        assert!(!www.covered_by(&["shop.sigil".into(), "mail.shop.sigil".into()]));
        assert!(name.covered_by(&["mail.shop.sigil".into()]));

        let before = entry(Keypair::generate().public(), &["www A 192.0.2.1"], 1000);
        let mut mail = before.clone();
        mail.records
            .push(Record::parse("mail A 192.0.2.2").unwrap());
        let old = snap(before.clone());
        let found = |item: &NameItem, new: &NameEntry| {
            name_events(
                item,
                Some(&old),
                &mut snap(new.clone()),
                &Certs::new(),
                10,
                5,
                &dates(10),
            )
        };
        assert!(found(&www, &mail).is_empty());
        assert_eq!(kinds(&found(&name, &mail)), ["records-changed"]);
        let mut moved = before;
        moved.records[0] = Record::parse("www A 192.0.2.9").unwrap();
        let events = found(&www, &moved);
        assert_eq!(
            events[0].details["added"][0],
            "www.shop.sigil. 300 IN A 192.0.2.9"
        );
        assert_eq!(
            events[0].details["removed"][0],
            "www.shop.sigil. 300 IN A 192.0.2.1"
        );
    }

    #[test]
    fn an_expiry_is_announced_once_with_an_estimated_date_and_again_after_a_renewal() {
        let item = NameItem {
            name: "shop.sigil".into(),
            host: String::new(),
        };
        let owner = Keypair::generate().public();
        let entry = |records: &[&str], expires_at| entry(owner, records, expires_at);
        let step = |old: Option<&NameSnap>, new: NameEntry, height: Height| {
            let mut snap = snap(new);
            let found = name_events(
                &item,
                old,
                &mut snap,
                &Certs::new(),
                height,
                100,
                &dates(height),
            );
            (snap, found)
        };
        // Out of the window at first sight, then in it: one warning, never repeated.
        let (s1, f1) = step(None, entry(&[], 1000), 800);
        assert!(f1.is_empty());
        let (s2, f2) = step(Some(&s1), entry(&[], 1000), 900);
        assert_eq!(kinds(&f2), ["expiry-approaching"]);
        // 100 blocks of 500 ms after the proven block's time.
        assert_eq!(f2[0].details["estimated_time_ms"], 1_795_000_050_000u64);
        assert_eq!(f2[0].details["estimated"], true);
        assert!(
            f2[0].summary.contains("about 2026-11-18"),
            "{}",
            f2[0].summary
        );
        let (s3, f3) = step(Some(&s2), entry(&[], 1000), 950);
        assert!(f3.is_empty());
        // Renewed: a new expiry, warned of again once it comes near.
        let (s4, f4) = step(Some(&s3), entry(&[], 2000), 960);
        assert_eq!(kinds(&f4), ["name-renewed"]);
        let (s5, f5) = step(Some(&s4), entry(&[], 2000), 1900);
        assert_eq!(kinds(&f5), ["expiry-approaching"]);
        let (s6, f6) = step(Some(&s5), entry(&[], 2000), 2000);
        assert_eq!(kinds(&f6), ["name-expired"]);
        let (_, f7) = step(Some(&s6), entry(&[], 2000), 2001);
        assert!(f7.is_empty());
    }
}
