//! The test S3 server (moto, started by `scripts/test.sh`, which sets
//! `LAKEFED_TEST_S3_ENDPOINT`) and its bucket.

use lakefed::sources::delta::StorageOptions;

/// The bucket the tests write to.
pub const BUCKET: &str = "lakefed-test";

/// The S3 endpoint; the suite fails (never skips) when it is not set.
pub fn endpoint() -> String {
    std::env::var("LAKEFED_TEST_S3_ENDPOINT").expect(
        "LAKEFED_TEST_S3_ENDPOINT is not set: run the tests with scripts/test.sh, \
         which starts the S3 server",
    )
}

/// Options for the server at `endpoint` with the test credentials.
pub fn options(endpoint: &str) -> StorageOptions {
    let mut options = StorageOptions::s3_compatible(endpoint, "test-key", "test-secret");
    options.allow_unsafe_rename = Some(true);
    options
}

/// A location in the bucket no other test run uses.
pub fn unique_prefix(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("s3://{BUCKET}/{name}-{nanos}")
}
