//! The register of shareholders (cap table) of a company at a height, rebuilt by replaying the
//! company's register log up to that height, and its CSV export.
//!
//! The log is kept beside the tree and never pruned, so any height back to the company's
//! creation can be rebuilt, unlike the versioned tree, which keeps only `prune_window_blocks`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::state::{Change, CompanyEvent};
use crate::types::{Hash, Height, PublicKey};

/// Totals of one share class at the table's height.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassTotals {
    pub class: String,
    pub issued: u64,
    pub redeemed: u64,
    /// Issued minus redeemed: the sum of every holder's balance of the class.
    pub outstanding: u64,
}

/// One shareholder at the table's height.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

impl CapTable {
    /// Replays `events` (the company's register log, oldest first) up to and including
    /// `height`. `None` if the company did not exist at that height.
    pub fn replay<'a>(
        events: impl IntoIterator<Item = &'a CompanyEvent>,
        height: Height,
    ) -> Option<CapTable> {
        let mut table: Option<CapTable> = None;
        let mut holders: BTreeMap<String, HolderRow> = BTreeMap::new();
        for event in events {
            if event.height > height {
                break;
            }
            if let Change::Created { admin, classes } = &event.change {
                table = Some(CapTable {
                    company: event.company.clone(),
                    height,
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
                    holders: Vec::new(),
                });
                continue;
            }
            let Some(t) = table.as_mut() else { continue };
            let class_index = |class: &str| t.classes.iter().position(|c| c.class == class);
            match &event.change {
                Change::Created { .. } | Change::Moved { .. } => {}
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
                Change::Issued { class, to, amount } => {
                    if let (Some(c), Some(row)) = (class_index(class), holders.get_mut(to)) {
                        row.balances[c] += amount;
                        t.classes[c].issued += amount;
                        t.classes[c].outstanding += amount;
                    }
                }
                Change::Transferred {
                    class,
                    from,
                    to,
                    amount,
                } => {
                    if let Some(c) = class_index(class) {
                        if let Some(row) = holders.get_mut(from) {
                            row.balances[c] -= amount;
                        }
                        if let Some(row) = holders.get_mut(to) {
                            row.balances[c] += amount;
                        }
                    }
                }
                Change::Redeemed {
                    class,
                    from,
                    amount,
                } => {
                    if let (Some(c), Some(row)) = (class_index(class), holders.get_mut(from)) {
                        row.balances[c] -= amount;
                        t.classes[c].redeemed += amount;
                        t.classes[c].outstanding -= amount;
                    }
                }
            }
        }
        let mut table = table?;
        table.holders = holders.into_values().collect();
        Some(table)
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
