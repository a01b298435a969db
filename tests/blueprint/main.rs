//! The one test binary of `blueprint-tests`: rule cases, hostile inputs, examples, schemas.
//! How to add a case: tests/README.md.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly

mod build_database;
mod build_kubernetes;
mod build_odoo;
mod build_runbook;
mod build_terraform;
mod build_traefik;
mod canaries;
mod cases;
mod examples;
mod hostile;
mod properties;
mod review;
mod schemas;
mod support;
mod tree;
