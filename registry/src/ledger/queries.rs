//! Reading the ledger at its tip: blocks, headers and receipts, entries, histories (whole or in
//! pages), cap tables and validator handoffs; and the ledger as the resolver's `NameReader`.

use borsh::BorshDeserialize;
use sigil_core::block::Handoff;
use sigil_core::captable::CapTable;
use sigil_core::limits::DEFAULT_PAGE_ITEMS;
use sigil_core::paging::{Order, Page, PageRequest};
use sigil_core::read::{
    NameReader, WrittenKeys, read_active_certs, read_bound_identity, read_name_entry,
};
use sigil_core::state::{
    CertEntry, CertEvent, CompanyEntry, CompanyEvent, HolderEntry, HolderEvent, IdentityEntry,
    IdentityEvent, NameEntry, NameEvent, OfferingEntry, StateRead, Subscription,
    ValidatorSetChange, cert_history_prefix, cert_names_prefix, history_prefix,
    holder_history_prefix, identity_history_prefix, index, keys, offerings_prefix,
    register_log_prefix, subscriptions_page,
};
use sigil_core::types::{Hash, Height, decode};

use super::{Ledger, Receipt, StoredBlock, StoredHeader, header_key, prefix, read_block};
use crate::error::{Error, Result};
use crate::paging::read_page;
use crate::store::prefix_end;

impl Ledger {
    /// One page of the validator set's changes, each with the block and commit that made it,
    /// for light clients that trust an older set.
    pub fn handoffs_page(&self, page: &PageRequest) -> Result<Page<Handoff>> {
        let changes: Page<ValidatorSetChange> = read_page(
            self.store(),
            index::VALIDATOR_CHANGES,
            page,
            "validator change",
        )?;
        let items = changes
            .items
            .into_iter()
            .map(|change| {
                let stored = self.header_at(change.height)?.ok_or_else(|| {
                    Error::corrupt("header", format!("header {} missing", change.height))
                })?;
                let commit = stored.commit.ok_or_else(|| {
                    Error::corrupt("header", format!("block {} has no commit", change.height))
                })?;
                Ok(Handoff {
                    header: stored.header,
                    commit,
                    validators: change.validators,
                })
            })
            .collect::<Result<Vec<Handoff>>>()?;
        Ok(Page {
            items,
            next_cursor: changes.next_cursor,
        })
    }

    pub fn block(&self, height: Height) -> Result<Option<StoredBlock>> {
        read_block(self.store.as_ref(), height)
    }

    /// The header at `height` with its commit, without reading the block's transactions.
    pub fn header_at(&self, height: Height) -> Result<Option<StoredHeader>> {
        match self.store.get(&header_key(height))? {
            Some(bytes) => Ok(Some(
                decode(&bytes).map_err(|e| Error::corrupt("header", e))?,
            )),
            None => Ok(None),
        }
    }

    pub fn receipt(&self, tx: &Hash) -> Result<Option<Receipt>> {
        match self.store.get(&[prefix::RECEIPT, &tx.0].concat())? {
            Some(bytes) => Ok(Some(
                decode(&bytes).map_err(|e| Error::corrupt("receipt", e))?,
            )),
            None => Ok(None),
        }
    }

    /// Every change to `name`, oldest first, at most `limit`.
    pub fn name_history(&self, name: &str, limit: usize) -> Result<Vec<NameEvent>> {
        let start = history_prefix(name);
        let end = prefix_end(&start);
        self.store
            .scan(&start, &end, limit)?
            .into_iter()
            .map(|(_, v)| decode(&v).map_err(|e| Error::corrupt("name history", e)))
            .collect()
    }

    /// One page of the changes to `name`.
    pub fn name_history_page(&self, name: &str, page: &PageRequest) -> Result<Page<NameEvent>> {
        read_page(self.store(), &history_prefix(name), page, "name history")
    }

    /// One page of the changes to the certificates of `name`.
    pub fn cert_history_page(&self, name: &str, page: &PageRequest) -> Result<Page<CertEvent>> {
        read_page(
            self.store(),
            &cert_history_prefix(name),
            page,
            "certificate history",
        )
    }

    /// One page of the changes to identity `id`.
    pub fn identity_history_page(
        &self,
        id: &str,
        page: &PageRequest,
    ) -> Result<Page<IdentityEvent>> {
        read_page(
            self.store(),
            &identity_history_prefix(id),
            page,
            "identity history",
        )
    }

    /// One page of the changes concerning `holder` of `company`.
    pub fn holder_history_page(
        &self,
        company: &str,
        holder: &str,
        page: &PageRequest,
    ) -> Result<Page<HolderEvent>> {
        read_page(
            self.store(),
            &holder_history_prefix(company, holder),
            page,
            "holder history",
        )
    }

    /// An offering of `company` (its id) at the tip.
    pub fn offering(&self, company: &str, offering: &str) -> Result<Option<OfferingEntry>> {
        Ok(self
            .latest()
            .get_decoded(&keys::offering(company, offering))?)
    }

    /// One page of the subscriptions to an offering at the tip, in subscription order, after
    /// the slot `after` (see `sigil_core::state::subscriptions_page`).
    pub fn subscriptions_page(
        &self,
        entry: &OfferingEntry,
        after: Option<u32>,
        limit: Option<usize>,
        order: Order,
    ) -> Result<Page<Subscription>> {
        let limit = limit.unwrap_or(DEFAULT_PAGE_ITEMS);
        Ok(subscriptions_page(
            &self.latest(),
            entry,
            after,
            limit,
            order,
        )?)
    }

    /// One page of `company`'s offerings at the tip, in id order.
    pub fn offerings_page(&self, company: &str, page: &PageRequest) -> Result<Page<OfferingEntry>> {
        let ids: Page<String> = read_page(
            self.store(),
            &offerings_prefix(company),
            page,
            "offering list",
        )?;
        // Listed in the same batch as the offering's entry, and never removed.
        let state = self.latest();
        let items = ids
            .items
            .iter()
            .map(|id| {
                state
                    .get_decoded::<OfferingEntry>(&keys::offering(company, id))?
                    .ok_or_else(|| {
                        Error::corrupt("offering list", format!("offering `{id}` has no entry"))
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Page {
            items,
            next_cursor: ids.next_cursor,
        })
    }

    /// One page of the changes of `company`'s register.
    pub fn register_log_page(
        &self,
        company: &str,
        page: &PageRequest,
    ) -> Result<Page<CompanyEvent>> {
        read_page(
            self.store(),
            &register_log_prefix(company),
            page,
            "register log",
        )
    }

    /// Every change to the certificates of `name` (registrations, revocations, issuers),
    /// oldest first, at most `limit`.
    pub fn cert_history(&self, name: &str, limit: usize) -> Result<Vec<CertEvent>> {
        self.scan_index(&cert_history_prefix(name), limit, "certificate history")
    }

    /// The names a certificate with this SHA-256 was ever registered under, in name order, at
    /// most `limit` (its standing under each is [`Ledger::cert_entry`]'s).
    pub fn cert_names(&self, cert_sha256: &Hash, limit: usize) -> Result<Vec<String>> {
        let prefix = cert_names_prefix(cert_sha256);
        self.store
            .scan(&prefix, &prefix_end(&prefix), limit)?
            .into_iter()
            .map(|(key, _)| {
                String::from_utf8(key[prefix.len()..].to_vec())
                    .map_err(|e| Error::corrupt("certificate names", e))
            })
            .collect()
    }

    /// The certificate of `name` with this SHA-256 at the tip, revoked or not.
    pub fn cert_entry(&self, name: &str, cert_sha256: &Hash) -> Result<Option<CertEntry>> {
        Ok(self.latest().get_decoded(&keys::cert(name, cert_sha256))?)
    }

    /// Index entries under `prefix`, decoded, oldest first, at most `limit`.
    fn scan_index<T: BorshDeserialize>(
        &self,
        prefix: &[u8],
        limit: usize,
        what: &'static str,
    ) -> Result<Vec<T>> {
        self.store
            .scan(prefix, &prefix_end(prefix), limit)?
            .into_iter()
            .map(|(_, v)| decode(&v).map_err(|e| Error::corrupt(what, e)))
            .collect()
    }

    pub fn identity(&self, id: &str) -> Result<Option<IdentityEntry>> {
        Ok(self.latest().get_decoded(&keys::identity(id))?)
    }

    /// Every change to identity `id`, oldest first, at most `limit`.
    pub fn identity_history(&self, id: &str, limit: usize) -> Result<Vec<IdentityEvent>> {
        self.scan_index(&identity_history_prefix(id), limit, "identity history")
    }

    /// The company `input` names: its id, or a name whose current owner lists it.
    pub fn company(&self, input: &str) -> Result<Option<CompanyEntry>> {
        let latest = self.latest();
        match sigil_core::state::company_id(&latest, &self.tlds, input)? {
            Some(id) => Ok(latest.get_decoded(&keys::company(&id))?),
            None => Ok(None),
        }
    }

    pub fn holder(&self, company: &str, holder: &str) -> Result<Option<HolderEntry>> {
        Ok(self.latest().get_decoded(&keys::holder(company, holder))?)
    }

    /// Every change concerning `holder` of `company`, oldest first, at most `limit`.
    pub fn holder_history(
        &self,
        company: &str,
        holder: &str,
        limit: usize,
    ) -> Result<Vec<HolderEvent>> {
        self.scan_index(
            &holder_history_prefix(company, holder),
            limit,
            "holder history",
        )
    }

    /// The register of `company` at `height` (at most the tip), from its latest snapshot at
    /// or before that height and the log after it; `None` if the company did not exist then.
    pub fn cap_table(&self, company: &str, height: Height) -> Result<Option<CapTable>> {
        let height = height.min(self.tip().height);
        crate::snapshots::cap_table(self.store(), company, height)
    }
}

impl NameReader for Ledger {
    fn tip_height(&self) -> Height {
        self.tip.borrow().height
    }

    fn tlds(&self) -> &[String] {
        &self.tlds
    }

    fn name_entry(&self, name: &str) -> sigil_core::Result<Option<NameEntry>> {
        read_name_entry(&self.latest(), name)
    }

    fn active_certs(&self, name: &str) -> sigil_core::Result<Vec<CertEntry>> {
        read_active_certs(&self.latest(), name)
    }

    fn keys_written_since(&self, height: Height) -> Option<Vec<WrittenKeys>> {
        self.recent_writes.since(height)
    }

    fn written_height(&self) -> Height {
        self.recent_writes.newest()
    }

    fn registered_names(
        &self,
        after: &str,
        limit: usize,
    ) -> sigil_core::Result<Option<Vec<String>>> {
        // Every name ever registered has a history (`prefix ‖ name ‖ 0 ‖ ...`, never removed):
        // one seek per name, each past the previous name's events.
        let prefix = sigil_core::state::index::NAME_HISTORY;
        let end = prefix_end(prefix);
        let past = |name: &[u8]| [prefix, name, &[1]].concat();
        let mut start = if after.is_empty() {
            prefix.to_vec()
        } else {
            past(after.as_bytes())
        };
        let mut names = Vec::new();
        while names.len() < limit {
            let Some((key, _)) = self.store.scan(&start, &end, 1)?.pop() else {
                break;
            };
            let rest = &key[prefix.len()..];
            let name = rest
                .iter()
                .position(|&b| b == 0)
                .and_then(|len| String::from_utf8(rest[..len].to_vec()).ok())
                .ok_or_else(|| sigil_core::Error::corrupt("name history key", "no UTF-8 name"))?;
            start = past(name.as_bytes());
            names.push(name);
        }
        Ok(Some(names))
    }

    fn bound_identity(&self, name: &str) -> sigil_core::Result<Option<IdentityEntry>> {
        read_bound_identity(&self.latest(), &self.tlds, name)
    }
}
