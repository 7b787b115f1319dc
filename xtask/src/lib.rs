//! Library half of `cargo xtask`: the tidy checks (also run as tests), catalog generation and
//! the `portico validate` benchmark. `main.rs` is only the command-line front end.

pub mod bench;
pub mod gen_catalog;
pub mod tidy;

use std::ffi::OsString;
use std::path::PathBuf;

/// The workspace root: the parent of this crate's directory.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map_or(manifest_dir.clone(), PathBuf::from)
}

/// The `cargo` to run: the one running us if any, else the one that built us.
pub fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| OsString::from(env!("CARGO")))
}
