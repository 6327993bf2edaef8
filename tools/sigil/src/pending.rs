//! Registrations under way (`<keystore>/pending/<name>.json`): the salt and commit transaction
//! of a name, saved before the commit is sent so a later run reveals instead of committing again.

use std::path::PathBuf;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sigil_core::types::{Hash, PublicKey};

use crate::keystore::{Keystore, write_private_replace};

const DIR: &str = "pending";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub chain_id: String,
    pub name: String,
    pub owner: PublicKey,
    pub salt: Hash,
    /// The commit transaction, signed before it is sent.
    pub commit_tx: Hash,
}

fn path(keystore: &Keystore, name: &str) -> PathBuf {
    keystore.dir().join(DIR).join(format!("{name}.json"))
}

/// The saved registration of `name` (a normalized name), if any.
pub fn load(keystore: &Keystore, name: &str) -> anyhow::Result<Option<Pending>> {
    let path = path(keystore, name);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let pending = serde_json::from_str(&text).with_context(|| {
                format!(
                    "{} is damaged; delete it to start the registration over",
                    path.display()
                )
            })?;
            Ok(Some(pending))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

pub fn save(keystore: &Keystore, pending: &Pending) -> anyhow::Result<()> {
    keystore.private_dir(Some(DIR))?;
    let json = serde_json::to_string_pretty(pending).expect("a pending registration serializes");
    write_private_replace(&path(keystore, &pending.name), json.as_bytes())
}

pub fn remove(keystore: &Keystore, name: &str) -> anyhow::Result<()> {
    let path = path(keystore, name);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_loads_and_removes() {
        let dir = tempfile::tempdir().unwrap();
        let keystore = Keystore::new(Some(dir.path().to_path_buf())).unwrap();
        assert_eq!(load(&keystore, "x.sigil").unwrap(), None);
        let pending = Pending {
            chain_id: "c".into(),
            name: "x.sigil".into(),
            owner: PublicKey([1; 32]),
            salt: Hash([2; 32]),
            commit_tx: Hash([3; 32]),
        };
        save(&keystore, &pending).unwrap();
        assert_eq!(load(&keystore, "x.sigil").unwrap(), Some(pending));
        remove(&keystore, "x.sigil").unwrap();
        assert_eq!(load(&keystore, "x.sigil").unwrap(), None);
        remove(&keystore, "x.sigil").unwrap();
    }
}
