//! Spark Connect: remote Spark clusters as DataFusion catalogs.
//!
//! This module grows with the Spark Connect source; today it holds the
//! connection-string parser the client and `lakefed.toml` share.

mod connection;

pub use connection::{ConnectionString, DEFAULT_PORT, Keepalive, TOKEN_ENV, Transport};
