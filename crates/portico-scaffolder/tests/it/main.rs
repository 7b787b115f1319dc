//! Integration tests of the scaffolder engine: real templates (Backstage's samples and a
//! hand-written fixture) run end to end into temporary directories, built-in actions against
//! real files and real git.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod actions;
mod common;
mod run_templates;
mod tasks;
