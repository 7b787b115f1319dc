//! Dev-only helpers shared by Portico's tests, benchmarks and `cargo xtask` commands.
//!
//! Nothing here is part of the shipped binary: other crates take `portico-testkit` as a
//! dev-dependency only (the tidy test in `xtask` enforces that).
//!
//! - [`catalog_gen`]: a deterministic generator of realistic Backstage catalogs of any size.

pub mod catalog_gen;
