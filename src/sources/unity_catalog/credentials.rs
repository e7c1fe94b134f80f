//! Storage for tables read straight from their `storage_location`: an
//! object store whose credentials are the temporary ones Unity Catalog vends
//! for the table, asked for again before they expire.
//!
//! The store asks its credential provider before every request, so a scan
//! that runs past the expiry of the credentials it started with goes on
//! with fresh ones. Vended credentials name no endpoint or region: those
//! come from the source's storage settings and the standard `AWS_*`
//! environment variables, for every table of the catalog.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::Utc;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey, AwsCredential};
use object_store::{CredentialProvider, ObjectStore};
use url::Url;

use super::api::{TableOperation, TemporaryCredentials, UnityCatalogApi};
use crate::error::{Error, Result};
use crate::sources::delta::{StorageOptions, WriteGrant};

/// Credentials are asked for again when less than this share of their
/// lifetime is left...
const REFRESH_SHARE: u32 = 4;
/// ...or less than this, whichever comes first...
const REFRESH_AHEAD: Duration = Duration::from_secs(300);
/// ...but not more often than this (a server clock behind ours, or
/// credentials vended about to expire, must not make every request ask).
const MIN_REUSE: Duration = Duration::from_secs(1);
/// How long credentials without an `expiration_time` are used.
const UNDATED_LIFETIME: Duration = Duration::from_secs(900);

/// The temporary credentials of one table, vended when first needed and
/// again shortly before they expire: for reading, until a write asks for
/// [`grant_writes`](WriteGrant::grant_writes).
#[derive(Debug)]
pub(crate) struct CredentialVendor {
    api: UnityCatalogApi,
    table_id: String,
    full_name: String,
    current: tokio::sync::Mutex<Current>,
}

/// What the vendor asks for now, and what it was given last.
#[derive(Debug)]
struct Current {
    operation: TableOperation,
    vended: Option<Vended>,
}

#[derive(Debug)]
struct Vended {
    credentials: Arc<TemporaryCredentials>,
    refresh_at: Instant,
}

impl CredentialVendor {
    /// The vendor of credentials for the table `table_id` (`full_name`
    /// names it in errors).
    pub(crate) fn new(api: UnityCatalogApi, table_id: &str, full_name: &str) -> Self {
        Self {
            api,
            table_id: table_id.to_string(),
            full_name: full_name.to_string(),
            current: tokio::sync::Mutex::new(Current {
                operation: TableOperation::Read,
                vended: None,
            }),
        }
    }

    /// Credentials valid for a while yet: the cached ones, or new ones.
    /// One caller at a time asks the catalog; the others wait for its answer.
    pub(crate) async fn credentials(&self) -> Result<Arc<TemporaryCredentials>> {
        let mut current = self.current.lock().await;
        if let Some(vended) = current.vended.as_ref()
            && Instant::now() < vended.refresh_at
        {
            return Ok(Arc::clone(&vended.credentials));
        }
        let vended = match self.vend(current.operation).await {
            // Writes are no longer granted: reads go on with READ ones.
            Err(_) if current.operation == TableOperation::ReadWrite => {
                current.operation = TableOperation::Read;
                self.vend(TableOperation::Read).await?
            }
            vended => vended?,
        };
        let credentials = Arc::clone(&vended.credentials);
        current.vended = Some(vended);
        Ok(credentials)
    }

    /// New credentials for `operation`, with the instant to renew them.
    async fn vend(&self, operation: TableOperation) -> Result<Vended> {
        let credentials = self
            .api
            .temporary_table_credentials(&self.table_id, operation)
            .await
            .map_err(|err| self.about_table(err))?;
        let lifetime = match credentials.expiration_time {
            Some(expires_ms) => {
                let left_ms = expires_ms.saturating_sub(Utc::now().timestamp_millis());
                Duration::from_millis(u64::try_from(left_ms).unwrap_or(0))
            }
            None => UNDATED_LIFETIME,
        };
        let ahead = (lifetime / REFRESH_SHARE).min(REFRESH_AHEAD);
        let reuse = lifetime.saturating_sub(ahead).max(MIN_REUSE);
        Ok(Vended {
            credentials: Arc::new(credentials),
            refresh_at: Instant::now() + reuse,
        })
    }

    /// `err`, saying it came from asking credentials for this table.
    fn about_table(&self, err: Error) -> Error {
        match err {
            Error::Remote {
                endpoint,
                error_class,
                sql_state,
                message,
            } => Error::Remote {
                endpoint,
                error_class,
                sql_state,
                message: format!(
                    "temporary credentials for table {} (table_id {}): {message}",
                    self.full_name, self.table_id
                ),
            },
            other => other,
        }
    }
}

#[async_trait]
impl WriteGrant for CredentialVendor {
    /// Asks for READ_WRITE credentials now, so that a refusal fails the
    /// write before anything is written. The table's store (which reads
    /// use too) keeps asking for READ_WRITE ones while they are granted.
    async fn grant_writes(&self) -> Result<()> {
        let mut current = self.current.lock().await;
        if current.operation == TableOperation::ReadWrite {
            return Ok(());
        }
        let vended = self.vend(TableOperation::ReadWrite).await?;
        if vended.credentials.aws_temp_credentials.is_none() {
            return Err(Error::InvalidArgument(format!(
                "Unity Catalog vended write credentials for table {} of a kind lakefed does not \
                 use yet (only AWS)",
                self.full_name
            )));
        }
        current.vended = Some(vended);
        current.operation = TableOperation::ReadWrite;
        Ok(())
    }
}

/// Vended AWS credentials as an `object_store` credential provider.
#[derive(Debug)]
struct VendedAwsCredentials(Arc<CredentialVendor>);

#[async_trait]
impl CredentialProvider for VendedAwsCredentials {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let vended = self.0.credentials().await.map_err(store_error)?;
        let aws = vended.aws_temp_credentials.as_ref().ok_or_else(|| {
            store_error(Error::InvalidArgument(format!(
                "Unity Catalog vended no AWS credentials for table {}",
                self.0.full_name
            )))
        })?;
        Ok(Arc::new(AwsCredential {
            key_id: aws.access_key_id.expose().to_string(),
            secret_key: aws.secret_access_key.expose().to_string(),
            token: aws.session_token.as_ref().map(|t| t.expose().to_string()),
        }))
    }
}

fn store_error(err: Error) -> object_store::Error {
    object_store::Error::Generic {
        store: "S3",
        source: Box::new(err),
    }
}

/// The S3 store holding `location` (its bucket as the root), reached with
/// the storage settings `storage`, the `AWS_*` environment variables and
/// `vendor`'s credentials.
pub(crate) fn s3_store(
    location: &Url,
    storage: &StorageOptions,
    vendor: Arc<CredentialVendor>,
) -> Result<Arc<dyn ObjectStore>> {
    let mut builder = AmazonS3Builder::from_env().with_url(location.as_str());
    for (key, value) in storage.to_map() {
        if let Ok(key) = key.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
            builder = builder.with_config(key, value);
        }
    }
    let store = builder
        .with_credentials(Arc::new(VendedAwsCredentials(vendor)))
        .build()
        .map_err(|err| Error::Storage {
            location: location.to_string(),
            message: err.to_string(),
        })?;
    Ok(Arc::new(store))
}
