//! Dev-only helpers shared by Portico's tests, benchmarks and `cargo xtask` commands.
//!
//! Nothing here is part of the shipped binary: other crates take `portico-testkit` as a
//! dev-dependency only (the tidy test in `xtask` enforces that).
//!
//! - [`catalog_gen`]: a deterministic generator of realistic Backstage catalogs of any size.
//! - [`pg`]: throwaway PostgreSQL databases on `PORTICO_TEST_PG_URL`.
//! - [`static_http`]: a real HTTP server on 127.0.0.1 serving a folder, for `url` locations.
//! - [`s3s`]: a real S3-compatible server (s3s-fs) on 127.0.0.1.

pub mod catalog_gen;
pub mod pg;
pub mod s3s;
pub mod static_http;
