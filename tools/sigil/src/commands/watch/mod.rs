//! `sigil watch`: follows the chain block by block, proves the state of each watched item at
//! every height against the trusted validators, and prints (and hands to `--exec`) one event
//! per change between two proven states.

mod event;
mod exec;
mod prove;
mod register;
mod state;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use sigil_core::block::follow_handoffs;
use sigil_core::state::{
    CompanyEntry, HolderEntry, NameEntry, ValidatorSet, check_company_id, check_id, keys,
};
use sigil_core::types::{Hash, Height};

use super::Ctx;
use crate::args::WatchArgs;
use crate::client::{Client, is_unreachable};
use crate::output::Exit;
use event::{Dates, Event, Found, NameItem};
use exec::Exec;
use prove::{Fetched, NotVerified, Proven, lie, prove};
use state::{Certs, HolderSnap, ItemState, NameSnap, Snap, StateFile};

/// Longest one wait for the next block (the node holds the request until then).
const BLOCK_WAIT_MS: u64 = 20_000;
/// Pauses after the node could not be reached: from the first to the longest.
const RETRY_PAUSE: Duration = Duration::from_secs(1);
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(30);
/// Events waiting for `--exec` at most: past this the watch stops rather than lose one.
const MAX_UNDELIVERED: usize = 1000;
/// The default expiry warning: about this many days of blocks.
const DEFAULT_WARNING_DAYS: u64 = 30;

/// One thing watched.
#[derive(Debug, Clone)]
enum Item {
    Name(NameItem),
    Identity(String),
    Company(String),
    Holder { company: String, holder: String },
}

impl Item {
    /// Its key in the state file.
    fn key(&self) -> String {
        match self {
            Item::Name(n) => format!("name:{}", n.shown()),
            Item::Identity(id) => format!("identity:{id}"),
            Item::Company(id) => format!("company:{id}"),
            Item::Holder { company, holder } => format!("holder:{company}/{holder}"),
        }
    }

    /// The state keys proven first at each height.
    fn keys(&self) -> Vec<Vec<u8>> {
        match self {
            Item::Name(n) => vec![keys::name(&n.name), keys::certs_of(&n.name)],
            Item::Identity(id) => vec![keys::identity(id)],
            Item::Company(id) => vec![keys::company(id)],
            Item::Holder { company, holder } => {
                vec![keys::company(company), keys::holder(company, holder)]
            }
        }
    }
}

pub async fn run(ctx: &Ctx, args: WatchArgs) -> anyhow::Result<Exit> {
    match follow(ctx, args).await {
        // With --json the error is one line too, like the events before it.
        Err(e) if ctx.out.is_json() => {
            eprintln!("sigil: {e:#}");
            let mut error = serde_json::json!({ "message": format!("{e:#}") });
            if let Some(code) = crate::client::node_code(&e) {
                error["code"] = code.into();
            }
            let doc = serde_json::json!({ "error": error });
            let _ = writeln!(std::io::stdout().lock(), "{doc}");
            Ok(Exit::Failed)
        }
        outcome => outcome,
    }
}

async fn follow(ctx: &Ctx, args: WatchArgs) -> anyhow::Result<Exit> {
    let client = ctx.client()?;
    let status = client.status().await?;
    let pinned = match super::trusted(ctx, &status).await? {
        Ok(validators) => validators,
        Err(reason) => return Ok(not_verified(ctx, &reason)),
    };
    let mut file = StateFile::open(&ctx.keystore, &status.chain_id)?;
    // The set that signed the last height seen: heights missed since are signed by it until
    // a handoff it signed names the next set.
    let trusted = file.state.validators.clone().unwrap_or(pinned);
    let mut watch = Watch {
        client,
        chain_id: status.chain_id.clone(),
        trusted,
        items: Vec::new(),
        warning_blocks: args
            .expiry_warning_blocks
            .unwrap_or(DEFAULT_WARNING_DAYS * 86_400_000 / status.params.block_interval_ms.max(1)),
        target_interval_ms: status.params.block_interval_ms,
        exec: args
            .exec
            .clone()
            .map(|cmd| Exec::new(cmd, Duration::from_secs(args.exec_timeout))),
        json: ctx.out.is_json(),
    };
    let result = watch
        .plan(
            ctx,
            &args,
            &status.params.tlds,
            status.tip.height,
            &mut file,
        )
        .await;
    watch.items = match result {
        Ok(items) => items,
        Err(e) => return lied(ctx, e),
    };
    let mut height = file.state.height.map_or(status.tip.height, |h| h + 1);
    ctx.out.note(format!(
        "watching {} from height {height} of chain `{}`; state in {}",
        watch
            .items
            .iter()
            .map(|i| i.key())
            .collect::<Vec<_>>()
            .join(", "),
        watch.chain_id,
        file.path().display()
    ));
    let mut pause = RETRY_PAUSE;
    loop {
        match watch.step(&mut file, height).await {
            Ok(Fetched::Proven(_)) => {
                height += 1;
                pause = RETRY_PAUSE;
            }
            Ok(Fetched::NotFinal) => {
                if let Err(e) = watch.client.wait_block(height, BLOCK_WAIT_MS).await {
                    if !is_unreachable(&e) {
                        return Err(e);
                    }
                    ctx.out
                        .note(format!("{e:#}; trying again in {} s", pause.as_secs()));
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(MAX_RETRY_PAUSE);
                }
            }
            Ok(Fetched::Pruned) => {
                let tip = watch.client.status().await?.tip.height;
                if tip <= height {
                    anyhow::bail!(
                        "the node says it no longer proves height {height}, yet its tip is {tip}; is it a Sigil node?"
                    );
                }
                ctx.out.note(format!(
                    "the node no longer proves heights from {height}; going on from its tip {tip}, each change since the last proven state reported there"
                ));
                height = tip;
            }
            Err(e) if is_unreachable(&e) => {
                ctx.out
                    .note(format!("{e:#}; trying again in {} s", pause.as_secs()));
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_RETRY_PAUSE);
            }
            Err(e) => match e.downcast_ref::<NotVerified>() {
                Some(nv) if nv.other_set => {
                    // The validators may have changed: follow the handoff the trusted set
                    // signed, to the set it names.
                    match watch.next_set().await? {
                        Ok(set) => {
                            ctx.out.note(format!(
                                "the validators changed: from set {} to set {}",
                                watch.trusted.hash(),
                                set.hash()
                            ));
                            watch.trusted = set;
                        }
                        Err(reason) => {
                            return Ok(not_verified(ctx, &format!("{nv}; {reason}")));
                        }
                    }
                }
                _ => return lied(ctx, e),
            },
        }
    }
}

/// Ends the watch on a proof that does not hold, or on another error.
fn lied(ctx: &Ctx, e: anyhow::Error) -> anyhow::Result<Exit> {
    match e.downcast_ref::<NotVerified>() {
        Some(nv) => Ok(not_verified(ctx, &nv.reason)),
        None => Err(e),
    }
}

/// Says that the node's proof does not hold (one JSON line with `--json`); exit 1.
fn not_verified(ctx: &Ctx, reason: &str) -> Exit {
    let message = format!(
        "NOT VERIFIED: the node at {} gave a proof that does not hold: {reason}; no event was printed for it, and the watch stops",
        ctx.node
    );
    eprintln!("sigil: {message}");
    if ctx.out.is_json() {
        let doc = serde_json::json!({ "error": { "code": "not_verified", "message": message } });
        let _ = writeln!(std::io::stdout().lock(), "{doc}");
    }
    Exit::Negative
}

struct Watch {
    client: Client,
    chain_id: String,
    trusted: ValidatorSet,
    items: Vec<Item>,
    warning_blocks: u64,
    target_interval_ms: u64,
    exec: Option<Exec>,
    json: bool,
}

impl Watch {
    /// The items the arguments name, checked; a company named by its name is resolved to its
    /// id by proofs at `tip`.
    async fn plan(
        &self,
        ctx: &Ctx,
        args: &WatchArgs,
        tlds: &[String],
        tip: Height,
        file: &mut StateFile,
    ) -> anyhow::Result<Vec<Item>> {
        let mut items = Vec::new();
        for input in &args.names {
            items.push(Item::Name(name_item(input, tlds)?));
        }
        for id in &args.identities {
            check_id("identity", id)?;
            items.push(Item::Identity(id.clone()));
        }
        let mut companies = Vec::new();
        for input in &args.companies {
            let id = if input.contains('.') {
                // The id a name listed when the watch began is kept: the register stays the
                // one watched when the name changes hands.
                match (
                    self.company_id(input, tlds, tip).await,
                    file.state.companies.get(input),
                ) {
                    (Ok(id), _) => {
                        file.state.companies.insert(input.clone(), id.clone());
                        id
                    }
                    (Err(e), Some(id)) if e.downcast_ref::<NotVerified>().is_none() => {
                        ctx.out.note(format!(
                            "{e:#}; watching company `{id}`, which it listed before"
                        ));
                        id.clone()
                    }
                    (Err(e), _) => return Err(e),
                }
            } else {
                check_company_id(input)?;
                input.clone()
            };
            items.push(Item::Company(id.clone()));
            companies.push(id);
        }
        for holder in &args.holders {
            check_id("holder", holder)?;
            for company in &companies {
                items.push(Item::Holder {
                    company: company.clone(),
                    holder: holder.clone(),
                });
            }
        }
        if items.is_empty() {
            anyhow::bail!("nothing to watch: give names, --identity ID or --company C");
        }
        let mut seen = BTreeSet::new();
        items.retain(|i| seen.insert(i.key()));
        Ok(items)
    }

    /// The id of the company listed under the name `input` now, proven.
    async fn company_id(
        &self,
        input: &str,
        tlds: &[String],
        tip: Height,
    ) -> anyhow::Result<String> {
        let name = sigil_core::name::registrable(input, tlds)?;
        let Fetched::Proven(p) = self.prove(&[keys::name(&name)], tip, None).await? else {
            anyhow::bail!("the node cannot prove its tip {tip}; try again");
        };
        let entry: Option<NameEntry> = p.get(&keys::name(&name), &format!("the name `{name}`"))?;
        let Some(entry) = entry else {
            anyhow::bail!(
                "`{name}` is not registered, so it lists no company; give the company's id"
            );
        };
        let listing = keys::company_listing(&name, &entry.owner);
        let Fetched::Proven(p) = self
            .prove(std::slice::from_ref(&listing), tip, Some(*p))
            .await?
        else {
            anyhow::bail!("the node cannot prove its tip {tip}; try again");
        };
        p.get::<String>(&listing, &format!("the company listed under `{name}`"))?
            .with_context(|| format!("`{name}` lists no company; give the company's id"))
    }

    /// The set the trusted set handed over to, by the handoff it signed; or why there is none.
    async fn next_set(&self) -> anyhow::Result<Result<ValidatorSet, String>> {
        let handoffs = self.client.handoffs().await?;
        let Some(handoff) = handoffs.iter().find(|h| {
            h.header.chain_id == self.chain_id && h.header.validators_hash == self.trusted.hash()
        }) else {
            return Ok(Err(format!(
                "the node reports no change of the validators from the trusted set {}",
                self.trusted.hash()
            )));
        };
        Ok(
            match follow_handoffs(&self.chain_id, &self.trusted, std::slice::from_ref(handoff)) {
                Ok(set) if set != self.trusted => Ok(set),
                Ok(_) => Err("the validator change it reports changes nothing".into()),
                Err(e) => Err(format!("its validator change does not hold: {e}")),
            },
        )
    }

    async fn prove(
        &self,
        keys: &[Vec<u8>],
        height: Height,
        into: Option<Proven>,
    ) -> anyhow::Result<Fetched> {
        prove(
            &self.client,
            &self.chain_id,
            &self.trusted,
            keys,
            height,
            into,
        )
        .await
    }

    /// Proves every item at `height`, prints the events since each one's last proven state,
    /// hands them to `--exec`, and saves the state.
    async fn step(&mut self, file: &mut StateFile, height: Height) -> anyhow::Result<Fetched> {
        let first: BTreeSet<Vec<u8>> = self.items.iter().flat_map(Item::keys).collect();
        let first: Vec<Vec<u8>> = first.into_iter().collect();
        let proven = match self.prove(&first, height, None).await? {
            Fetched::Proven(p) => *p,
            other => return Ok(other),
        };
        // What the first values make worth proving too: bindings, certificates that joined or
        // left a list, balances of the company's classes.
        let mut names: Vec<(NameSnap, Vec<Hash>)> = Vec::new();
        // By company: the holders its register log says changed since its last proven state.
        let mut hinted = BTreeMap::new();
        let mut second = BTreeSet::new();
        for item in &self.items {
            match item {
                Item::Company(id) => {
                    let entry: Option<CompanyEntry> =
                        proven.get(&keys::company(id), &format!("the company `{id}`"))?;
                    let since = file.state.items.get(&item.key()).map(|o| o.height);
                    if let (Some(_), Some(since)) = (entry, since)
                        && since < height
                    {
                        let hints = register::hinted(&self.client, id, since, height).await?;
                        second.extend(hints.keys().map(|h| keys::holder(id, h)));
                        hinted.insert(id.clone(), hints);
                    }
                }
                Item::Name(n) => {
                    let snap = NameSnap {
                        entry: proven
                            .get(&keys::name(&n.name), &format!("the name `{}`", n.name))?,
                        certs: proven
                            .get::<Vec<Hash>>(
                                &keys::certs_of(&n.name),
                                &format!("the certificates of `{}`", n.name),
                            )?
                            .unwrap_or_default(),
                        ..NameSnap::default()
                    };
                    if let Some(e) = &snap.entry {
                        second.insert(keys::identity_binding(&n.name, &e.owner));
                    }
                    let changed: Vec<Hash> = match file.state.items.get(&item.key()) {
                        Some(ItemState {
                            snap: Snap::Name(old),
                            ..
                        }) => old
                            .certs
                            .iter()
                            .filter(|h| !snap.certs.contains(h))
                            .chain(snap.certs.iter().filter(|h| !old.certs.contains(h)))
                            .copied()
                            .collect(),
                        _ => Vec::new(),
                    };
                    second.extend(changed.iter().map(|h| keys::cert(&n.name, h)));
                    names.push((snap, changed));
                }
                Item::Holder { company, holder } => {
                    let entry: Option<CompanyEntry> =
                        proven.get(&keys::company(company), &format!("the company `{company}`"))?;
                    for class in entry.iter().flat_map(|c| &c.classes) {
                        second.insert(keys::balance(company, &class.name, holder));
                    }
                }
                _ => {}
            }
        }
        let second: Vec<Vec<u8>> = second.into_iter().filter(|k| !proven.has(k)).collect();
        let proven = if second.is_empty() {
            proven
        } else {
            match self.prove(&second, height, Some(proven)).await? {
                Fetched::Proven(p) => *p,
                other => return Ok(other),
            }
        };

        let state = &mut file.state;
        state.saw(height, proven.header.time_ms);
        let (interval_ms, measured_over) = match state.mean_interval_ms() {
            Some(ms) => (ms, state.times.last().map_or(0, |l| l.0) - state.times[0].0),
            None => (self.target_interval_ms, 0),
        };
        let dates = Dates {
            height,
            time_ms: proven.header.time_ms,
            interval_ms,
            measured_over,
        };
        let mut events = Vec::new();
        let mut names = names.into_iter();
        for item in &self.items {
            let key = item.key();
            let old = state.items.get(&key);
            let since = old.map_or(height, |o| o.height);
            let (snap, found): (Snap, Vec<Found>) = match item {
                Item::Name(n) => {
                    let (mut snap, changed) = names.next().expect("one snapshot per name");
                    if let Some(e) = &snap.entry {
                        snap.binding = proven.get(
                            &keys::identity_binding(&n.name, &e.owner),
                            &format!("the identity bound to `{}`", n.name),
                        )?;
                    }
                    let mut certs = Certs::new();
                    for hash in changed {
                        certs.insert(
                            hash,
                            proven.get(
                                &keys::cert(&n.name, &hash),
                                &format!("certificate {hash} of `{}`", n.name),
                            )?,
                        );
                    }
                    let old = match old {
                        Some(ItemState {
                            snap: Snap::Name(o),
                            ..
                        }) => Some(o),
                        _ => None,
                    };
                    let found = event::name_events(
                        n,
                        old,
                        &mut snap,
                        &certs,
                        height,
                        self.warning_blocks,
                        &dates,
                    );
                    (Snap::Name(snap), found)
                }
                Item::Identity(id) => {
                    let entry = proven.get(&keys::identity(id), &format!("the identity `{id}`"))?;
                    let found = match old {
                        Some(ItemState {
                            snap: Snap::Identity { entry: o },
                            ..
                        }) => event::identity_events(id, o, &entry),
                        _ => Vec::new(),
                    };
                    (Snap::Identity { entry }, found)
                }
                Item::Company(id) => {
                    let entry = proven.get(&keys::company(id), &format!("the company `{id}`"))?;
                    let mut found = match old {
                        Some(ItemState {
                            snap: Snap::Company { entry: o },
                            ..
                        }) => event::company_events(id, o, &entry),
                        _ => Vec::new(),
                    };
                    for (holder, heights) in hinted.get(id).into_iter().flatten() {
                        let entry: Option<HolderEntry> = proven.get(
                            &keys::holder(id, holder),
                            &format!("holder `{holder}` of `{id}`"),
                        )?;
                        let Some(entry) = entry else {
                            return Err(lie(format!(
                                "the node's register log of `{id}` names holder `{holder}`, which its proof says does not exist at height {height}"
                            )));
                        };
                        if let Some(at) = heights
                            .iter()
                            .find(|at| !event::holder_changed_at(&entry, **at))
                        {
                            return Err(lie(format!(
                                "the node's register log of `{id}` says holder `{holder}` changed at height {at}, which its proven entry does not show"
                            )));
                        }
                        // A holder watched by --holder has its own events.
                        let watched = self.items.iter().any(|i| {
                            matches!(i, Item::Holder { company, holder: h } if company == id && h == holder)
                        });
                        if !watched {
                            found.extend(event::holder_changes(id, &entry, since, height));
                        }
                    }
                    (Snap::Company { entry }, found)
                }
                Item::Holder { company, holder } => {
                    let entry = proven.get(
                        &keys::holder(company, holder),
                        &format!("holder `{holder}` of `{company}`"),
                    )?;
                    let company_entry: Option<CompanyEntry> =
                        proven.get(&keys::company(company), &format!("the company `{company}`"))?;
                    let mut snap = HolderSnap {
                        entry,
                        ..HolderSnap::default()
                    };
                    for class in company_entry.iter().flat_map(|c| &c.classes) {
                        let balance: Option<u64> = proven.get(
                            &keys::balance(company, &class.name, holder),
                            &format!("the {} balance of `{holder}`", class.name),
                        )?;
                        if let Some(b) = balance.filter(|b| *b > 0) {
                            snap.balances.insert(class.name.clone(), b);
                        }
                    }
                    let found = match old {
                        Some(ItemState {
                            snap: Snap::Holder(o),
                            ..
                        }) => event::holder_events(company, holder, o, &snap),
                        _ => Vec::new(),
                    };
                    (Snap::Holder(snap), found)
                }
            };
            events.extend(found.into_iter().map(|f| Event {
                event: f.event.to_string(),
                subject: f.subject,
                height,
                since,
                block_hash: proven.block_hash,
                time_ms: proven.header.time_ms,
                state_root: proven.header.state_root,
                validator_set: proven.validator_set,
                signatures: proven.signatures,
                summary: f.summary,
                details: f.details,
            }));
            state.items.insert(key, ItemState { height, snap });
        }
        for event in &events {
            print(event, self.json);
        }
        if self.exec.is_some() {
            state.undelivered.extend(events);
        }
        state.height = Some(height);
        state.validators = Some(self.trusted.clone());
        self.deliver(file).await?;
        file.save()?;
        Ok(Fetched::Proven(Box::new(proven)))
    }

    /// Gives the waiting events to `--exec` in order, up to the first that fails (kept, with
    /// those after it, for the next block).
    async fn deliver(&mut self, file: &mut StateFile) -> anyhow::Result<()> {
        let Some(exec) = &mut self.exec else {
            return Ok(());
        };
        let queue = &mut file.state.undelivered;
        while !queue.is_empty() && exec.ready() {
            match exec.run(&queue[0]).await {
                Ok(()) => {
                    queue.remove(0);
                }
                Err(reason) => {
                    eprintln!(
                        "sigil: --exec for the {} event of {} at height {}: {reason}; it is kept ({} waiting) and given again later",
                        queue[0].event,
                        queue[0].subject,
                        queue[0].height,
                        queue.len()
                    );
                }
            }
        }
        let waiting = queue.len();
        if waiting > MAX_UNDELIVERED {
            file.save()?;
            anyhow::bail!(
                "{waiting} events wait for --exec, which keeps failing; they are kept in {}: fix the command and start the watch again",
                file.path().display()
            );
        }
        Ok(())
    }
}

/// Prints one event: a line for people, or one JSON object per line with `--json`.
fn print(event: &Event, json: bool) {
    let line = if json {
        serde_json::to_string(event).expect("events serialize")
    } else {
        format!(
            "{} height {}: {}: {}",
            crate::when::utc(event.time_ms),
            event.height,
            event.subject,
            event.summary
        )
    };
    // A closed pipe is not worth a panic; the state is saved all the same.
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// The watched name `input`: a registered name or a host under one.
fn name_item(input: &str, tlds: &[String]) -> anyhow::Result<NameItem> {
    let full = sigil_core::name::normalize(input, false)
        .with_context(|| format!("`{}` is not a valid name", sigil_core::error::shown(input)))?;
    let labels: Vec<&str> = full.split('.').collect();
    if labels.len() >= 2 {
        let name = labels[labels.len() - 2..].join(".");
        if let Ok(name) = sigil_core::name::registrable(&name, tlds) {
            return Ok(NameItem {
                name,
                host: labels[..labels.len() - 2].join("."),
            });
        }
    }
    anyhow::bail!(
        "`{full}` is not a name of this chain: give a registered name (under {}) or a host under one",
        tlds.join(", ")
    )
}
