//! What the resolver's integration tests share: a fixed set of names behind `NameReader`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use sigil_core::read::NameReader;
use sigil_core::records::Record;
use sigil_core::state::{CertEntry, IdentityEntry, NameEntry};
use sigil_core::types::{Height, PublicKey};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Bound on every wait in these tests.
pub const WAIT: Duration = Duration::from_secs(10);

/// Registered names at height 10, without certificates or identity bindings (those are tested
/// in `answer` and end to end).
pub struct Names {
    pub tlds: Vec<String>,
    pub entries: BTreeMap<String, NameEntry>,
}

impl NameReader for Names {
    fn tip_height(&self) -> Height {
        10
    }
    fn tlds(&self) -> &[String] {
        &self.tlds
    }
    fn name_entry(&self, name: &str) -> sigil_core::Result<Option<NameEntry>> {
        Ok(self.entries.get(name).cloned())
    }
    fn active_certs(&self, _name: &str) -> sigil_core::Result<Vec<CertEntry>> {
        Ok(Vec::new())
    }
    fn bound_identity(&self, _name: &str) -> sigil_core::Result<Option<IdentityEntry>> {
        Ok(None)
    }
    fn registered_names(
        &self,
        after: &str,
        limit: usize,
    ) -> sigil_core::Result<Option<Vec<String>>> {
        Ok(Some(names_after(&self.entries, after, limit)))
    }
}

/// The names of `entries` after `after` (from the first when empty), at most `limit`.
pub fn names_after(
    entries: &BTreeMap<String, NameEntry>,
    after: &str,
    limit: usize,
) -> Vec<String> {
    entries
        .keys()
        .filter(|name| after.is_empty() || name.as_str() > after)
        .take(limit)
        .cloned()
        .collect()
}

/// Sends `bytes` as one length-prefixed DNS message over a new TCP connection and returns the
/// raw answer.
pub async fn tcp_exchange(server: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let exchange = async {
        let mut stream = TcpStream::connect(server).await.unwrap();
        stream
            .write_all(&u16::try_from(bytes.len()).unwrap().to_be_bytes())
            .await
            .unwrap();
        stream.write_all(bytes).await.unwrap();
        let mut len = [0; 2];
        stream.read_exact(&mut len).await.unwrap();
        let mut buf = vec![0; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut buf).await.unwrap();
        buf
    };
    timeout(WAIT, exchange)
        .await
        .expect("no TCP answer in time")
}

/// A name registered at height 1 until 1000 with `records`, keyed by its name.
pub fn entry(name: &str, records: Vec<Record>) -> (String, NameEntry) {
    let entry = NameEntry {
        name: name.to_string(),
        owner: PublicKey([1; 32]),
        records,
        registered_at: 1,
        updated_at: 1,
        expires_at: 1000,
    };
    (name.to_string(), entry)
}
