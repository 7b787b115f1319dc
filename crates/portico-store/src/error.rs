//! Store errors: what callers can act on (conflict, not found) apart from failures of the
//! database itself, whose details are for the log.

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record exists already.
    #[error("{0}")]
    Conflict(String),
    /// The record does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The database holds a newer schema than this binary knows.
    #[error("{0}")]
    SchemaTooNew(String),
    /// Stored data could not be read back (corrupt or written by an incompatible version).
    #[error("stored data is not readable: {0}")]
    Corrupt(String),
    /// The database failed or could not be reached.
    #[error("database error: {0}")]
    Database(String),
}
