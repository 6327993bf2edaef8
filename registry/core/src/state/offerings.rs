//! Equity offerings (ADR 0009): a company's round with a jointly signed contract (its terms'
//! hash), investor caps, subscriptions by holders, payment confirmations by the admin or the
//! platform, an all-or-nothing close that issues every confirmed subscription in one block, and
//! lock-ups of the shares it issued.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use super::companies::{
    Change, CompanyEntry, HolderEntry, Recorder, admin_of, balance, class_of, existing_company,
    existing_holder, holder_signed, put_balance,
};
use super::identities::{self, KeyRole, check_id};
use super::{Overlay, StateRead, TxContext, Verdict, index, keys};
use crate::error::{Result, TxError};
use crate::limits::{
    MAX_HOLDER_LOCKS, MAX_LOCKUP_BLOCKS, MAX_OFFERING_BLOCKS, MAX_OFFERING_INVESTORS,
    MAX_OFFERING_SLOTS, MAX_PAGE_ITEMS, MAX_PRICE_BYTES,
};
use crate::paging::{Cursor, Order, Page};
use crate::types::{Hash, Height, PublicKey, encode};

/// What the issuer offers, as signed by its admin when it opens the offering.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct OfferingTerms {
    /// The share class issued.
    pub class: String,
    /// SHA-256 of the terms (the contract every party signs); the file stays off the ledger.
    pub terms_sha256: Hash,
    /// Confirmed shares the round needs to be funded.
    pub shares_min: u64,
    /// Most shares the round issues.
    pub shares_max: u64,
    /// Most shares one investor may subscribe.
    pub investor_max: u64,
    /// Most investors with a live subscription.
    pub max_investors: u32,
    /// Blocks the offering takes subscriptions for, from its opening.
    pub closes_in_blocks: u64,
    /// Blocks after the close during which the issued shares cannot be transferred (0: none).
    pub lockup_blocks: u64,
    /// The price per share as the terms state it; the ledger does not interpret it.
    pub price: Option<String>,
    /// The identity of the crowdfunding platform that must approve the offering, if any.
    pub platform: Option<String>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum OfferingStatus {
    /// Waiting for the platform's approval.
    Proposed,
    /// Taking subscriptions until `closes_at`, confirmations until closed.
    Open,
    /// Closed with the minimum reached: every confirmed subscription was issued.
    Funded,
    /// Closed below the minimum (or withdrawn before it opened): nothing was issued.
    Failed,
}

impl OfferingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OfferingStatus::Proposed => "proposed",
            OfferingStatus::Open => "open",
            OfferingStatus::Funded => "funded",
            OfferingStatus::Failed => "failed",
        }
    }
}

/// An offering and its running totals.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct OfferingEntry {
    pub company: String,
    pub offering: String,
    pub terms: OfferingTerms,
    pub status: OfferingStatus,
    pub proposed_at: Height,
    pub opened_at: Option<Height>,
    /// The last height subscriptions and withdrawals are taken at.
    pub closes_at: Option<Height>,
    pub closed_at: Option<Height>,
    /// Shares of live (pending or confirmed) subscriptions.
    pub subscribed: u64,
    /// Shares of confirmed subscriptions.
    pub confirmed: u64,
    /// Live subscriptions.
    pub investors: u32,
    /// Subscription slots used (each holder that ever subscribed has one).
    pub slots: u32,
    /// Shares the close issued.
    pub issued: u64,
}

impl OfferingEntry {
    fn status_error(&self, why: impl Into<String>) -> TxError {
        TxError::OfferingStatus {
            company: self.company.clone(),
            offering: self.offering.clone(),
            status: self.status.as_str().to_string(),
            why: why.into(),
        }
    }

    /// Whether subscriptions and withdrawals are taken at `height`.
    fn check_taking(&self, height: Height) -> std::result::Result<(), TxError> {
        match (self.status, self.closes_at) {
            (OfferingStatus::Open, Some(closes_at)) if height <= closes_at => Ok(()),
            (OfferingStatus::Open, Some(closes_at)) => Err(self.status_error(format!(
                "it took subscriptions until height {closes_at}; close it with `sigil offering close`"
            ))),
            (OfferingStatus::Proposed, _) => Err(self.status_error(format!(
                "it opens once its platform `{}` approves it",
                self.terms.platform.as_deref().unwrap_or("?")
            ))),
            _ => Err(self.status_error("it is closed")),
        }
    }

    fn check_terms(&self, got: &Hash) -> std::result::Result<(), TxError> {
        if *got != self.terms.terms_sha256 {
            return Err(TxError::TermsMismatch {
                offering: self.offering.clone(),
                expected: self.terms.terms_sha256,
                got: *got,
            });
        }
        Ok(())
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionState {
    /// Signed by the holder, payment not confirmed.
    Pending,
    /// Payment confirmed by the admin or the platform.
    Confirmed,
    /// Withdrawn by the holder (or for a revoked holder, by the admin).
    Withdrawn,
    /// Issued by the close of a funded offering.
    Issued,
    /// Dropped at the close: the holder was revoked.
    Dropped,
    /// Not confirmed when the offering closed: never becomes shares.
    Lapsed,
    /// Confirmed, but the offering failed: nothing issued.
    Failed,
}

impl SubscriptionState {
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionState::Pending => "pending",
            SubscriptionState::Confirmed => "confirmed",
            SubscriptionState::Withdrawn => "withdrawn",
            SubscriptionState::Issued => "issued",
            SubscriptionState::Dropped => "dropped",
            SubscriptionState::Lapsed => "lapsed",
            SubscriptionState::Failed => "failed",
        }
    }

    fn is_live(self) -> bool {
        matches!(
            self,
            SubscriptionState::Pending | SubscriptionState::Confirmed
        )
    }
}

/// A holder's subscription to an offering.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Subscription {
    pub holder: String,
    pub shares: u64,
    pub state: SubscriptionState,
    /// A payment was confirmed: if no shares were issued for it, the holder is owed a refund.
    pub paid: bool,
    /// The holder's place among the offering's subscribers.
    pub slot: u32,
    pub updated_at: Height,
}

impl Subscription {
    /// Whether the holder is owed its money back (off the ledger).
    pub fn refund_owed(&self) -> bool {
        self.paid && self.state != SubscriptionState::Issued && !self.state.is_live()
    }

    fn state_error(&self, offering: &str, why: &str) -> TxError {
        TxError::SubscriptionState {
            offering: offering.to_string(),
            holder: self.holder.clone(),
            state: self.state.as_str().to_string(),
            why: why.to_string(),
        }
    }
}

/// A step of an offering, as recorded in the company's register log.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum OfferingStep {
    Proposed {
        class: String,
        terms_sha256: Hash,
        shares_min: u64,
        shares_max: u64,
        platform: Option<String>,
    },
    Opened {
        closes_at: Height,
    },
    Subscribed {
        holder: String,
        shares: u64,
    },
    Withdrawn {
        holder: String,
    },
    Confirmed {
        holder: String,
    },
    Dropped {
        holder: String,
    },
    Funded {
        issued: u64,
        investors: u32,
    },
    Failed {
        confirmed: u64,
    },
}

impl std::fmt::Display for OfferingStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OfferingStep::Proposed {
                class,
                terms_sha256,
                shares_min,
                shares_max,
                platform,
            } => {
                write!(
                    f,
                    "proposed, {shares_min} to {shares_max} {class}, terms sha256 {terms_sha256}"
                )?;
                match platform {
                    Some(p) => write!(f, ", platform {p}"),
                    None => Ok(()),
                }
            }
            OfferingStep::Opened { closes_at } => {
                write!(f, "open, subscriptions until height {closes_at}")
            }
            OfferingStep::Subscribed { holder, shares } => {
                write!(f, "{holder} subscribed {shares}")
            }
            OfferingStep::Withdrawn { holder } => write!(f, "{holder} withdrew"),
            OfferingStep::Confirmed { holder } => write!(f, "payment of {holder} confirmed"),
            OfferingStep::Dropped { holder } => write!(f, "{holder} dropped (revoked)"),
            OfferingStep::Funded { issued, investors } => {
                write!(f, "funded, {issued} shares issued to {investors} investors")
            }
            OfferingStep::Failed { confirmed } => {
                write!(
                    f,
                    "failed with {confirmed} shares confirmed, nothing issued"
                )
            }
        }
    }
}

/// Shares of a holder locked until a height (exclusive: they move from `until` on).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Lock {
    pub until: Height,
    pub amount: u64,
}

/// The running locks of `holder`'s `class` shares at `height`, earliest first.
pub fn locked(
    state: &impl StateRead,
    height: Height,
    company: &str,
    class: &str,
    holder: &str,
) -> Result<Vec<Lock>> {
    let mut locks = state
        .get_decoded::<Vec<Lock>>(&keys::lock(company, class, holder))?
        .unwrap_or_default();
    locks.retain(|l| l.until > height);
    Ok(locks)
}

/// Checks that `amount` of `holder`'s `balance` may move at `height`: what its running locks
/// hold stays. The error says from which height the amount may move.
pub(super) fn check_unlocked(
    state: &impl StateRead,
    height: Height,
    company: &str,
    class: &str,
    holder: &str,
    balance: u64,
    amount: u64,
) -> Result<std::result::Result<(), TxError>> {
    let locks = locked(state, height, company, class, holder)?;
    let locked: u64 = locks.iter().map(|l| l.amount).sum();
    let transferable = balance.saturating_sub(locked);
    if transferable >= amount {
        return Ok(Ok(()));
    }
    let mut free = transferable;
    let mut until = height;
    for lock in &locks {
        free = free.saturating_add(lock.amount);
        until = lock.until;
        if free >= amount {
            break;
        }
    }
    Ok(Err(TxError::SharesLocked {
        company: company.to_string(),
        holder: holder.to_string(),
        class: class.to_string(),
        balance,
        locked,
        transferable,
        amount,
        until,
    }))
}

fn bad(reason: impl Into<String>) -> TxError {
    TxError::BadOffering {
        reason: reason.into(),
    }
}

fn check_terms(terms: &OfferingTerms) -> std::result::Result<(), TxError> {
    if terms.shares_min == 0 || terms.shares_min > terms.shares_max {
        return Err(bad(format!(
            "the minimum ({}) must be at least 1 and at most the maximum ({})",
            terms.shares_min, terms.shares_max
        )));
    }
    if terms.investor_max == 0 {
        return Err(bad("the per-investor maximum must be at least 1"));
    }
    if terms.max_investors == 0 || terms.max_investors > MAX_OFFERING_INVESTORS {
        return Err(bad(format!(
            "the number of investors must be 1 to {MAX_OFFERING_INVESTORS} (got {})",
            terms.max_investors
        )));
    }
    if terms.closes_in_blocks == 0 || terms.closes_in_blocks > MAX_OFFERING_BLOCKS {
        return Err(bad(format!(
            "the subscription period must be 1 to {MAX_OFFERING_BLOCKS} blocks (got {})",
            terms.closes_in_blocks
        )));
    }
    if terms.lockup_blocks > MAX_LOCKUP_BLOCKS {
        return Err(bad(format!(
            "the lock-up must be at most {MAX_LOCKUP_BLOCKS} blocks (got {})",
            terms.lockup_blocks
        )));
    }
    if let Some(price) = &terms.price
        && (price.is_empty() || price.len() > MAX_PRICE_BYTES)
    {
        return Err(bad(format!(
            "the price must be 1 to {MAX_PRICE_BYTES} bytes (got {})",
            price.len()
        )));
    }
    Ok(())
}

fn existing_offering(
    state: &impl StateRead,
    company: &CompanyEntry,
    offering: &str,
) -> Result<std::result::Result<OfferingEntry, TxError>> {
    let not_found = || TxError::OfferingNotFound {
        company: company.id.clone(),
        offering: offering.to_string(),
    };
    if check_id("offering", offering).is_err() {
        return Ok(Err(not_found()));
    }
    Ok(state
        .get_decoded::<OfferingEntry>(&keys::offering(&company.id, offering))?
        .ok_or_else(not_found))
}

/// Whether `signer` is the online key of identity `id` now.
fn is_online_key(state: &impl StateRead, id: &str, signer: &PublicKey) -> Result<bool> {
    Ok(match identities::existing(state, id)? {
        Ok(identity) => identity.authorize(signer, &[KeyRole::Online]).is_ok(),
        Err(_) => false,
    })
}

fn open_now(entry: &mut OfferingEntry, height: Height) -> Height {
    let closes_at = height.saturating_add(entry.terms.closes_in_blocks);
    entry.status = OfferingStatus::Open;
    entry.opened_at = Some(height);
    entry.closes_at = Some(closes_at);
    closes_at
}

pub(super) fn open<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    company: &str,
    offering: &str,
    terms: &OfferingTerms,
) -> Result<Verdict> {
    let company = check!(admin_of(state, context, company)?);
    check!(check_id("offering", offering));
    let class_index = check!(class_of(&company, &terms.class));
    check!(check_terms(terms));
    let issued = company.classes[class_index].issued;
    if issued.checked_add(terms.shares_max).is_none() {
        reject!(TxError::AmountOverflow {
            company: company.id,
            class: terms.class.clone(),
            amount: terms.shares_max,
            total: issued
        });
    }
    if let Some(platform) = &terms.platform {
        check!(identities::existing(state, platform)?);
    }
    let key = keys::offering(&company.id, offering);
    if state.get(&key)?.is_some() {
        reject!(TxError::OfferingExists {
            company: company.id,
            offering: offering.to_string()
        });
    }
    let mut entry = OfferingEntry {
        company: company.id.clone(),
        offering: offering.to_string(),
        terms: terms.clone(),
        status: OfferingStatus::Proposed,
        proposed_at: context.height,
        opened_at: None,
        closes_at: None,
        closed_at: None,
        subscribed: 0,
        confirmed: 0,
        investors: 0,
        slots: 0,
        issued: 0,
    };
    let mut recorder = Recorder::new(context);
    let step = OfferingStep::Proposed {
        class: terms.class.clone(),
        terms_sha256: terms.terms_sha256,
        shares_min: terms.shares_min,
        shares_max: terms.shares_max,
        platform: terms.platform.clone(),
    };
    record_step(&mut recorder, &entry, step, None);
    if terms.platform.is_none() {
        let closes_at = open_now(&mut entry, context.height);
        record_step(
            &mut recorder,
            &entry,
            OfferingStep::Opened { closes_at },
            None,
        );
    }
    state.put(key, &entry);
    let mut entries = recorder.finish();
    let listed = [offerings_prefix(&company.id), offering.as_bytes().to_vec()].concat();
    entries.push((listed, encode(&offering.to_string())));
    Ok(Ok(entries))
}

/// Store key prefix of a company's list of offerings (beside the tree).
pub fn offerings_prefix(company: &str) -> Vec<u8> {
    [index::OFFERINGS, company.as_bytes(), &[0]].concat()
}

/// One page of an offering's subscriptions in subscription order (`Order::Desc`: latest
/// first), at most `limit` of them (clamped to 1..=`MAX_PAGE_ITEMS`), after the slot `after`
/// (the last of the previous page). The page's cursor is that slot, 4 bytes big-endian: see
/// [`slot_of_cursor`].
pub fn subscriptions_page(
    state: &impl StateRead,
    entry: &OfferingEntry,
    after: Option<u32>,
    limit: usize,
    order: Order,
) -> Result<Page<Subscription>> {
    let limit = limit.clamp(1, MAX_PAGE_ITEMS);
    let mut slots: Vec<u32> = match order {
        Order::Asc => {
            let first = after.map_or(0, |s| s.saturating_add(1));
            (first..entry.slots).take(limit + 1).collect()
        }
        Order::Desc => {
            let end = after.unwrap_or(entry.slots).min(entry.slots);
            (0..end).rev().take(limit + 1).collect()
        }
    };
    let more = slots.len() > limit;
    slots.truncate(limit);
    let mut items = Vec::with_capacity(slots.len());
    for &slot in &slots {
        let Some(holder) = state.get_decoded::<String>(&keys::offering_slot(
            &entry.company,
            &entry.offering,
            slot,
        ))?
        else {
            continue;
        };
        if let Some(s) = state.get_decoded::<Subscription>(&keys::subscription(
            &entry.company,
            &entry.offering,
            &holder,
        ))? {
            items.push(s);
        }
    }
    let next_cursor = match slots.last() {
        Some(last) if more => Some(Cursor::new(last.to_be_bytes().to_vec()).to_string()),
        _ => None,
    };
    Ok(Page { items, next_cursor })
}

/// The slot a cursor of [`subscriptions_page`] stands at, `None` if it is not one.
pub fn slot_of_cursor(cursor: &Cursor) -> Option<u32> {
    Some(u32::from_be_bytes(cursor.as_bytes().try_into().ok()?))
}

fn record_step(
    recorder: &mut Recorder<'_>,
    entry: &OfferingEntry,
    step: OfferingStep,
    holder: Option<&str>,
) {
    let change = Change::Offering {
        offering: entry.offering.clone(),
        step,
    };
    let holders: Vec<(&str, Option<u64>)> = holder.map(|h| (h, None)).into_iter().collect();
    recorder.add(&entry.company, change, &holders);
}

/// Stores a subscription and its offering after a holder's step, and records the step in the
/// company's register log.
fn save_subscription_step<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    entry: &OfferingEntry,
    subscription: &Subscription,
    step: OfferingStep,
) -> Verdict {
    let holder = subscription.holder.as_str();
    state.put(
        keys::subscription(&entry.company, &entry.offering, holder),
        subscription,
    );
    state.put(keys::offering(&entry.company, &entry.offering), entry);
    let mut recorder = Recorder::new(context);
    record_step(&mut recorder, entry, step, Some(holder));
    Ok(recorder.finish())
}

pub(super) fn approve<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    company: &str,
    offering: &str,
    terms_sha256: &Hash,
) -> Result<Verdict> {
    let company = check!(existing_company(state, context, company)?);
    let mut entry = check!(existing_offering(state, &company, offering)?);
    let Some(platform) = entry.terms.platform.clone() else {
        reject!(entry.status_error("it names no platform, so it needs no approval"));
    };
    if entry.status != OfferingStatus::Proposed {
        reject!(entry.status_error("only a proposed offering is approved"));
    }
    let platform_entry = check!(identities::existing(state, &platform)?);
    if platform_entry
        .authorize(&context.signer(), &[KeyRole::Online])
        .is_err()
    {
        reject!(TxError::NotOfferingAuthority {
            offering: entry.offering,
            action: "approve",
            signer: context.signer(),
            needed: format!("the platform identity `{platform}`'s online key approves it"),
        });
    }
    check!(entry.check_terms(terms_sha256));
    let closes_at = open_now(&mut entry, context.height);
    let mut recorder = Recorder::new(context);
    record_step(
        &mut recorder,
        &entry,
        OfferingStep::Opened { closes_at },
        None,
    );
    state.put(keys::offering(&company.id, offering), &entry);
    Ok(Ok(recorder.finish()))
}

#[allow(clippy::too_many_arguments)]
pub(super) fn subscribe<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    company: &str,
    offering: &str,
    holder: &str,
    shares: u64,
    terms_sha256: &Hash,
) -> Result<Verdict> {
    let company = check!(existing_company(state, context, company)?);
    let mut entry = check!(existing_offering(state, &company, offering)?);
    check!(entry.check_taking(context.height));
    check!(entry.check_terms(terms_sha256));
    let holder_entry = check!(existing_holder(state, &company, holder)?);
    check!(holder_entry.revoked_error());
    check!(holder_signed(&holder_entry, &context.signer()));
    if shares == 0 {
        reject!(TxError::AmountZero);
    }
    if shares > entry.terms.investor_max {
        reject!(TxError::InvestorMax {
            offering: entry.offering,
            max: entry.terms.investor_max,
            asked: shares
        });
    }
    let sub_key = keys::subscription(&company.id, offering, holder);
    let previous = state.get_decoded::<Subscription>(&sub_key)?;
    // What the subscription frees of the live totals before it takes its new amount.
    let (freed, slot, new_investor) = match &previous {
        Some(s) if s.state == SubscriptionState::Pending => (s.shares, s.slot, false),
        Some(s) if s.state == SubscriptionState::Withdrawn => (0, s.slot, true),
        Some(s) => reject!(s.state_error(
            offering,
            "its payment is confirmed; withdraw it first to subscribe another amount"
        )),
        None => {
            if entry.slots >= MAX_OFFERING_SLOTS {
                reject!(TxError::OfferingSlotsFull {
                    offering: entry.offering,
                    max: MAX_OFFERING_SLOTS
                });
            }
            (0, entry.slots, true)
        }
    };
    if new_investor && entry.investors >= entry.terms.max_investors {
        reject!(TxError::TooManyInvestors {
            offering: entry.offering,
            max: entry.terms.max_investors
        });
    }
    let others = entry.subscribed - freed;
    let remaining = entry.terms.shares_max - others;
    if shares > remaining {
        reject!(TxError::OfferingFull {
            offering: entry.offering,
            remaining,
            asked: shares
        });
    }
    entry.subscribed = others + shares;
    if new_investor {
        entry.investors += 1;
    }
    if previous.is_none() {
        state.put(
            keys::offering_slot(&company.id, offering, slot),
            &holder.to_string(),
        );
        entry.slots += 1;
    }
    let subscription = Subscription {
        holder: holder.to_string(),
        shares,
        state: SubscriptionState::Pending,
        paid: previous.is_some_and(|p| p.paid),
        slot,
        updated_at: context.height,
    };
    let step = OfferingStep::Subscribed {
        holder: holder.to_string(),
        shares,
    };
    Ok(save_subscription_step(
        state,
        context,
        &entry,
        &subscription,
        step,
    ))
}

fn existing_subscription(
    state: &impl StateRead,
    entry: &OfferingEntry,
    holder: &str,
) -> Result<std::result::Result<Subscription, TxError>> {
    Ok(state
        .get_decoded::<Subscription>(&keys::subscription(&entry.company, &entry.offering, holder))?
        .ok_or_else(|| TxError::SubscriptionNotFound {
            offering: entry.offering.clone(),
            holder: holder.to_string(),
        }))
}

pub(super) fn withdraw<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    company: &str,
    offering: &str,
    holder: &str,
) -> Result<Verdict> {
    let company = check!(existing_company(state, context, company)?);
    let mut entry = check!(existing_offering(state, &company, offering)?);
    check!(entry.check_taking(context.height));
    let holder_entry = check!(existing_holder(state, &company, holder)?);
    let signer = context.signer();
    let by_admin = !holder_entry.is_active() && is_online_key(state, &company.admin, &signer)?;
    if !by_admin {
        check!(holder_entry.revoked_error());
        check!(holder_signed(&holder_entry, &signer));
    }
    let mut subscription = check!(existing_subscription(state, &entry, holder)?);
    if !subscription.state.is_live() {
        reject!(subscription.state_error(offering, "only a pending or confirmed one is withdrawn"));
    }
    entry.subscribed -= subscription.shares;
    entry.investors -= 1;
    if subscription.state == SubscriptionState::Confirmed {
        entry.confirmed -= subscription.shares;
    }
    subscription.state = SubscriptionState::Withdrawn;
    subscription.updated_at = context.height;
    let step = OfferingStep::Withdrawn {
        holder: holder.to_string(),
    };
    Ok(save_subscription_step(
        state,
        context,
        &entry,
        &subscription,
        step,
    ))
}

pub(super) fn confirm<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    company: &str,
    offering: &str,
    holder: &str,
) -> Result<Verdict> {
    let company = check!(existing_company(state, context, company)?);
    let mut entry = check!(existing_offering(state, &company, offering)?);
    if entry.status != OfferingStatus::Open {
        reject!(entry.status_error("payments are confirmed while it is open"));
    }
    let signer = context.signer();
    let by_platform = match &entry.terms.platform {
        Some(platform) => is_online_key(state, platform, &signer)?,
        None => false,
    };
    if !by_platform && !is_online_key(state, &company.admin, &signer)? {
        let platform = entry
            .terms
            .platform
            .as_deref()
            .map(|p| format!(" or the platform `{p}`"))
            .unwrap_or_default();
        reject!(TxError::NotOfferingAuthority {
            offering: entry.offering,
            action: "confirm a payment",
            signer,
            needed: format!(
                "the online key of the company's admin `{}`{platform} confirms payments",
                company.admin
            ),
        });
    }
    let holder_entry = check!(existing_holder(state, &company, holder)?);
    check!(holder_entry.revoked_error());
    let mut subscription = check!(existing_subscription(state, &entry, holder)?);
    if subscription.state != SubscriptionState::Pending {
        reject!(subscription.state_error(offering, "only a pending one is confirmed"));
    }
    subscription.state = SubscriptionState::Confirmed;
    subscription.paid = true;
    subscription.updated_at = context.height;
    entry.confirmed += subscription.shares;
    let step = OfferingStep::Confirmed {
        holder: holder.to_string(),
    };
    Ok(save_subscription_step(
        state,
        context,
        &entry,
        &subscription,
        step,
    ))
}

pub(super) fn close<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    company: &str,
    offering: &str,
) -> Result<Verdict> {
    let mut company = check!(existing_company(state, context, company)?);
    let mut entry = check!(existing_offering(state, &company, offering)?);
    let mut recorder = Recorder::new(context);
    match (entry.status, entry.closes_at) {
        (OfferingStatus::Proposed, _) => {
            // Withdrawn by its issuer before the platform approved it.
            if !is_online_key(state, &company.admin, &context.signer())? {
                reject!(TxError::NotOfferingAuthority {
                    offering: entry.offering,
                    action: "close",
                    signer: context.signer(),
                    needed: format!(
                        "a proposed offering is withdrawn by the online key of the company's admin `{}`",
                        company.admin
                    ),
                });
            }
            entry.status = OfferingStatus::Failed;
            entry.closed_at = Some(context.height);
            state.put(keys::offering(&company.id, offering), &entry);
            record_step(
                &mut recorder,
                &entry,
                OfferingStep::Failed { confirmed: 0 },
                None,
            );
            return Ok(Ok(recorder.finish()));
        }
        (OfferingStatus::Open, Some(closes_at)) => {
            if context.height <= closes_at && entry.confirmed < entry.terms.shares_max {
                reject!(TxError::CloseTooEarly {
                    offering: entry.offering,
                    closes_at,
                    confirmed: entry.confirmed,
                    shares_max: entry.terms.shares_max
                });
            }
        }
        _ => reject!(entry.status_error("it is closed already")),
    }
    if state.get_decoded::<Height>(keys::LAST_OFFERING_CLOSE)? == Some(context.height) {
        reject!(TxError::OfferingCloseBusy {
            height: context.height
        });
    }
    state.put(keys::LAST_OFFERING_CLOSE.to_vec(), &context.height);

    // First pass: the live subscriptions, and whether their holders are still active.
    let mut live: Vec<(Subscription, bool)> = Vec::new();
    for slot in 0..entry.slots {
        let Some(holder) =
            state.get_decoded::<String>(&keys::offering_slot(&company.id, offering, slot))?
        else {
            continue;
        };
        let Some(subscription) = state.get_decoded::<Subscription>(&keys::subscription(
            &company.id,
            offering,
            &holder,
        ))?
        else {
            continue;
        };
        if !subscription.state.is_live() {
            continue;
        }
        let active = state
            .get_decoded::<HolderEntry>(&keys::holder(&company.id, &holder))?
            .is_some_and(|h| h.is_active());
        live.push((subscription, active));
    }
    let to_issue: u64 = live
        .iter()
        .filter(|(s, active)| *active && s.state == SubscriptionState::Confirmed)
        .map(|(s, _)| s.shares)
        .sum();
    let funded = to_issue >= entry.terms.shares_min;
    let class = entry.terms.class.clone();
    let class_index = check!(class_of(&company, &class));
    if funded {
        let totals = &mut company.classes[class_index];
        let Some(issued) = totals.issued.checked_add(to_issue) else {
            reject!(TxError::AmountOverflow {
                company: company.id,
                class,
                amount: to_issue,
                total: totals.issued
            });
        };
        totals.issued = issued;
        state.put(keys::company(&company.id), &company);
    }

    // Second pass: every live subscription reaches its final state.
    let lock_until = context.height.saturating_add(entry.terms.lockup_blocks);
    let mut issued_to = 0u32;
    for (mut subscription, active) in live {
        let holder = subscription.holder.clone();
        subscription.state = match (subscription.state, active, funded) {
            (_, false, _) => SubscriptionState::Dropped,
            (SubscriptionState::Confirmed, true, true) => SubscriptionState::Issued,
            (SubscriptionState::Confirmed, true, false) => SubscriptionState::Failed,
            _ => SubscriptionState::Lapsed,
        };
        subscription.updated_at = context.height;
        state.put(
            keys::subscription(&company.id, offering, &holder),
            &subscription,
        );
        match subscription.state {
            SubscriptionState::Issued => {
                // Balances sum to at most the issued total, which fits.
                let after = balance(state, &company.id, &class, &holder)? + subscription.shares;
                put_balance(state, &company.id, &class, &holder, after);
                if entry.terms.lockup_blocks > 0 {
                    add_lock(
                        state,
                        context.height,
                        &company.id,
                        &class,
                        &holder,
                        Lock {
                            until: lock_until,
                            amount: subscription.shares,
                        },
                    )?;
                }
                issued_to += 1;
                let change = Change::OfferingIssued {
                    offering: entry.offering.clone(),
                    class: class.clone(),
                    to: holder.clone(),
                    amount: subscription.shares,
                };
                recorder.add(&company.id, change, &[(&holder, Some(after))]);
            }
            SubscriptionState::Dropped => {
                let step = OfferingStep::Dropped {
                    holder: holder.clone(),
                };
                record_step(&mut recorder, &entry, step, Some(&holder));
            }
            _ => {}
        }
    }
    entry.status = if funded {
        OfferingStatus::Funded
    } else {
        OfferingStatus::Failed
    };
    entry.closed_at = Some(context.height);
    entry.issued = if funded { to_issue } else { 0 };
    let step = if funded {
        OfferingStep::Funded {
            issued: to_issue,
            investors: issued_to,
        }
    } else {
        OfferingStep::Failed {
            confirmed: to_issue,
        }
    };
    record_step(&mut recorder, &entry, step, None);
    state.put(keys::offering(&company.id, offering), &entry);
    Ok(Ok(recorder.finish()))
}

/// Adds a lock to a holder's running locks (expired ones are dropped; beyond
/// `MAX_HOLDER_LOCKS` the two earliest merge into one, which only locks more).
fn add_lock<S: StateRead>(
    state: &mut Overlay<'_, S>,
    height: Height,
    company: &str,
    class: &str,
    holder: &str,
    lock: Lock,
) -> Result<()> {
    let mut locks = locked(state, height, company, class, holder)?;
    locks.push(lock);
    locks.sort_by_key(|l| l.until);
    while locks.len() > MAX_HOLDER_LOCKS {
        let first = locks.remove(0);
        locks[0].amount = locks[0].amount.saturating_add(first.amount);
    }
    state.put(keys::lock(company, class, holder), &locks);
    Ok(())
}
