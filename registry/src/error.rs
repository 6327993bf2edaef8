//! The node's error type: the core's errors (damaged data, invalid input, a rejected block)
//! and the failures of the node's own machinery (its store, files).

/// Result alias for node operations that can fail in storage or decoding.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failure of the node: one of the core's, or of its store or files.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Core(#[from] sigil_core::Error),
    // Causes are said in the message and not chained as `source()` as well, so that a
    // report walking the chain (`{:#}`) says each of them once.
    #[error("storage error: {0}")]
    Store(sled::Error),
    #[error("storage error: {0}")]
    Redb(redb::Error),
    #[error(
        "the database in {dir} was created by the {found} store engine, not {asked}: set `store = \"{found}\"` in the config file (or pass `--store {found}`), or start on a new empty --data folder and let the node sync the chain from the network"
    )]
    WrongEngine {
        dir: String,
        found: &'static str,
        asked: &'static str,
    },
    #[error("i/o error: {0}")]
    Io(std::io::Error),
    #[error(
        "this data folder was written by an incompatible version of sigild (store format {found}, this sigild reads format {reads}): start this sigild on a new empty --data folder and let it sync the chain from the network (on a development chain, delete the folder to start a new chain), or run the version that wrote the folder"
    )]
    IncompatibleStore { found: u32, reads: u32 },
}

impl From<sled::Error> for Error {
    fn from(e: sled::Error) -> Self {
        Error::Store(e)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

impl Error {
    /// Input or a situation the node cannot use, said in `message`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::Core(sigil_core::Error::Invalid(message.into()))
    }

    /// Stored data that does not decode or does not fit.
    pub(crate) fn corrupt(what: &'static str, detail: impl std::fmt::Display) -> Self {
        Error::Core(sigil_core::Error::corrupt(what, detail))
    }

    /// A failure of the state tree.
    pub(crate) fn tree(detail: impl Into<String>) -> Self {
        Error::Core(sigil_core::Error::Tree(detail.into()))
    }

    /// The invalid input's message, if that is what this error is.
    pub fn as_invalid(&self) -> Option<&str> {
        match self {
            Error::Core(sigil_core::Error::Invalid(message)) => Some(message),
            _ => None,
        }
    }
}

/// For the core's readers implemented over the node's store: the core's own errors pass
/// through unchanged, the store's travel boxed (and print the same).
impl From<Error> for sigil_core::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Core(core) => core,
            other => sigil_core::Error::Backend(Box::new(other)),
        }
    }
}
