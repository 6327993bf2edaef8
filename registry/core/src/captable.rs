//! The register of shareholders (cap table) of a company at a height, rebuilt from the latest
//! snapshot of the register at or before that height and the company's register log after it,
//! and its CSV export.
//!
//! The log and the snapshots are kept beside the tree and never pruned, so any height back to
//! the company's creation can be rebuilt, unlike the versioned tree, which keeps only
//! `prune_window_blocks`.

use std::collections::BTreeMap;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::state::{Change, CompanyEvent};
use crate::types::{Hash, Height, PublicKey};

/// Totals of one share class at the table's height.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ClassTotals {
    pub class: String,
    pub issued: u64,
    pub redeemed: u64,
    /// Issued minus redeemed: the sum of every holder's balance of the class.
    pub outstanding: u64,
}

/// One shareholder at the table's height.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct HolderRow {
    pub holder: String,
    pub key: PublicKey,
    pub attr_hash: Option<Hash>,
    pub active: bool,
    /// Balance per class, in the company's class order.
    pub balances: Vec<u64>,
}

/// The register of a company at a height.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapTable {
    pub company: String,
    pub height: Height,
    pub admin: String,
    pub classes: Vec<ClassTotals>,
    /// Holders in id order.
    pub holders: Vec<HolderRow>,
}

/// A company's register as it stands after some of its log: what a snapshot stores and what a
/// replay builds. Holders are kept by id, so applying an event costs one lookup.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Register {
    pub company: String,
    pub admin: String,
    pub classes: Vec<ClassTotals>,
    pub holders: BTreeMap<String, HolderRow>,
}

impl Register {
    /// Applies one event of the company's log to `register` (`None` before its creation).
    /// Events that name an unknown holder or class change nothing: the state machine never
    /// logs one, and a replay must not fail on its own store.
    pub fn apply(register: &mut Option<Register>, event: &CompanyEvent) {
        if let Change::Created { admin, classes } = &event.change {
            *register = Some(Register {
                company: event.company.clone(),
                admin: admin.clone(),
                classes: classes
                    .iter()
                    .map(|class| ClassTotals {
                        class: class.clone(),
                        issued: 0,
                        redeemed: 0,
                        outstanding: 0,
                    })
                    .collect(),
                holders: BTreeMap::new(),
            });
            return;
        }
        let Some(t) = register.as_mut() else { return };
        let class = match &event.change {
            Change::Issued { class, .. }
            | Change::OfferingIssued { class, .. }
            | Change::Transferred { class, .. }
            | Change::Redeemed { class, .. } => Some(class.as_str()),
            _ => None,
        };
        let class_index = class.and_then(|class| t.classes.iter().position(|c| c.class == class));
        let holders = &mut t.holders;
        match &event.change {
            Change::Created { .. } | Change::Moved { .. } | Change::Offering { .. } => {}
            Change::AdminReplaced { admin } => t.admin = admin.clone(),
            Change::HolderIssued {
                holder,
                key,
                attr_hash,
            } => {
                holders.insert(
                    holder.clone(),
                    HolderRow {
                        holder: holder.clone(),
                        key: *key,
                        attr_hash: *attr_hash,
                        active: true,
                        balances: vec![0; t.classes.len()],
                    },
                );
            }
            Change::HolderRevoked { holder, .. } => {
                if let Some(row) = holders.get_mut(holder) {
                    row.active = false;
                }
            }
            Change::HolderRotated { holder, key } => {
                if let Some(row) = holders.get_mut(holder) {
                    row.key = *key;
                    row.active = true;
                }
            }
            Change::Issued { to, amount, .. } | Change::OfferingIssued { to, amount, .. } => {
                if let (Some(c), Some(row)) = (class_index, holders.get_mut(to)) {
                    row.balances[c] = row.balances[c].saturating_add(*amount);
                    let totals = &mut t.classes[c];
                    totals.issued = totals.issued.saturating_add(*amount);
                    totals.outstanding = totals.outstanding.saturating_add(*amount);
                }
            }
            Change::Transferred {
                from, to, amount, ..
            } => {
                if let Some(c) = class_index {
                    if let Some(row) = holders.get_mut(from) {
                        row.balances[c] = row.balances[c].saturating_sub(*amount);
                    }
                    if let Some(row) = holders.get_mut(to) {
                        row.balances[c] = row.balances[c].saturating_add(*amount);
                    }
                }
            }
            Change::Redeemed { from, amount, .. } => {
                if let (Some(c), Some(row)) = (class_index, holders.get_mut(from)) {
                    row.balances[c] = row.balances[c].saturating_sub(*amount);
                    let totals = &mut t.classes[c];
                    totals.redeemed = totals.redeemed.saturating_add(*amount);
                    totals.outstanding = totals.outstanding.saturating_sub(*amount);
                }
            }
        }
    }

    /// The register as a cap table at `height`.
    pub fn table(&self, height: Height) -> CapTable {
        CapTable {
            company: self.company.clone(),
            height,
            admin: self.admin.clone(),
            classes: self.classes.clone(),
            holders: self.holders.values().cloned().collect(),
        }
    }
}

impl CapTable {
    /// Replays `events` (the company's register log, oldest first) up to and including
    /// `height`. `None` if the company did not exist at that height.
    pub fn replay<'a>(
        events: impl IntoIterator<Item = &'a CompanyEvent>,
        height: Height,
    ) -> Option<CapTable> {
        let mut register = None;
        for event in events {
            if event.height > height {
                break;
            }
            Register::apply(&mut register, event);
        }
        register.map(|r| r.table(height))
    }

    /// The table as CSV: a header `holder,key,status,attr_hash,<class>...`, then one row per
    /// holder with its balance of each class.
    pub fn to_csv(&self) -> String {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let mut header = vec!["holder", "key", "status", "attr_hash"];
        header.extend(self.classes.iter().map(|c| c.class.as_str()));
        // Writing to memory cannot fail, and every field is plain text.
        writer.write_record(&header).expect("CSV to memory");
        for row in &self.holders {
            let mut record = vec![
                row.holder.clone(),
                row.key.to_string(),
                if row.active { "active" } else { "revoked" }.to_string(),
                row.attr_hash.map(|h| h.to_string()).unwrap_or_default(),
            ];
            record.extend(row.balances.iter().map(u64::to_string));
            writer.write_record(&record).expect("CSV to memory");
        }
        let bytes = writer.into_inner().expect("CSV to memory");
        String::from_utf8(bytes).expect("CSV of UTF-8 fields is UTF-8")
    }
}
