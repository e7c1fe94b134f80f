//! Integration tests, in one binary to keep link time down.

mod conformance;
mod pruning;
mod s3;
