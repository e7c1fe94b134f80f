//! Storage for tables read straight from their `storage_location`: an
//! object store whose credentials are the temporary ones Unity Catalog vends
//! for the table, asked for again before they expire.
//!
//! The store asks its credential provider before every request, so a scan
//! that runs past the expiry of the credentials it started with goes on
//! with fresh ones. Vended credentials name no endpoint or region: those
//! come from the source's storage settings and the standard environment
//! variables, for every table of the catalog: on S3 `endpoint`, `region`
//! and `AWS_*`; on Azure and GCS the pass-through `object_store` keys of
//! that cloud (`azure_storage_endpoint`, `google_base_url`, ...) and
//! `AZURE_*` / `GOOGLE_*`; `allow_http` on all three.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::Utc;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey, AwsCredential};
#[cfg(feature = "azure")]
use object_store::azure::{AzureConfigKey, AzureCredential, MicrosoftAzureBuilder};
#[cfg(feature = "gcs")]
use object_store::gcp::{GcpCredential, GoogleCloudStorageBuilder, GoogleConfigKey};
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
    cloud: Cloud,
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
    /// The vendor of credentials for the table `table_id` stored on
    /// `cloud` (`full_name` names it in errors).
    pub(crate) fn new(api: UnityCatalogApi, table_id: &str, full_name: &str, cloud: Cloud) -> Self {
        Self {
            api,
            table_id: table_id.to_string(),
            full_name: full_name.to_string(),
            cloud,
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

    /// The error of credentials vended without the kind `cloud` takes.
    pub(crate) fn not_vended(&self, cloud: Cloud) -> Error {
        Error::InvalidArgument(format!(
            "Unity Catalog vended no {} credentials for table {}, which is stored on {}",
            cloud.credential_kind(),
            self.full_name,
            cloud.name()
        ))
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
        if !self.cloud.is_vended_in(&vended.credentials) {
            return Err(self.not_vended(self.cloud));
        }
        current.vended = Some(vended);
        current.operation = TableOperation::ReadWrite;
        Ok(())
    }
}

/// The cloud a table's storage location is on, by its URL scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cloud {
    /// Amazon S3 or an S3-compatible store: `s3://`, `s3a://`.
    Aws,
    /// Azure Data Lake Storage / Blob storage: `abfss://`, `abfs://`.
    Azure,
    /// Google Cloud Storage: `gs://`.
    Google,
}

impl Cloud {
    /// The cloud of `location`, or why lakefed cannot read tables there.
    pub(crate) fn of(location: &Url) -> std::result::Result<Self, String> {
        let cloud = match location.scheme() {
            "s3" | "s3a" => Self::Aws,
            "abfss" | "abfs" => Self::Azure,
            "gs" => Self::Google,
            _ => {
                return Err(format!(
                    "it is stored at {location}; lakefed reads tables from storage on S3 \
                     (s3://), Azure (abfss://) and Google Cloud Storage (gs://)"
                ));
            }
        };
        if !cloud.is_built() {
            return Err(format!(
                "it is stored on {}, and this lakefed was built without its cargo feature \
                 `{}`",
                cloud.name(),
                cloud.feature()
            ));
        }
        Ok(cloud)
    }

    fn name(self) -> &'static str {
        match self {
            Self::Aws => "S3",
            Self::Azure => "Azure",
            Self::Google => "Google Cloud Storage",
        }
    }

    fn credential_kind(self) -> &'static str {
        match self {
            Self::Aws => "AWS (aws_temp_credentials)",
            Self::Azure => "Azure (azure_user_delegation_sas)",
            Self::Google => "Google Cloud (gcp_oauth_token)",
        }
    }

    fn feature(self) -> &'static str {
        match self {
            Self::Aws => "s3",
            Self::Azure => "azure",
            Self::Google => "gcs",
        }
    }

    fn is_built(self) -> bool {
        match self {
            Self::Aws => true,
            Self::Azure => cfg!(feature = "azure"),
            Self::Google => cfg!(feature = "gcs"),
        }
    }

    /// Whether `credentials` hold the kind this cloud takes.
    pub(crate) fn is_vended_in(self, credentials: &TemporaryCredentials) -> bool {
        match self {
            Self::Aws => credentials.aws_temp_credentials.is_some(),
            Self::Azure => credentials.azure_user_delegation_sas.is_some(),
            Self::Google => credentials.gcp_oauth_token.is_some(),
        }
    }
}

/// The store holding `location` (its bucket or container as the root),
/// reached with the storage settings `storage`, the cloud's environment
/// variables and `vendor`'s credentials.
pub(crate) fn table_store(
    location: &Url,
    storage: &StorageOptions,
    vendor: Arc<CredentialVendor>,
) -> Result<Arc<dyn ObjectStore>> {
    let built: object_store::Result<Arc<dyn ObjectStore>> = match vendor.cloud {
        Cloud::Aws => s3_store(location, storage, vendor),
        #[cfg(feature = "azure")]
        Cloud::Azure => azure_store(location, storage, vendor),
        #[cfg(feature = "gcs")]
        Cloud::Google => gcs_store(location, storage, vendor),
        #[cfg(not(all(feature = "azure", feature = "gcs")))]
        cloud => Err(object_store::Error::NotSupported {
            source: format!("built without the cargo feature `{}`", cloud.feature()).into(),
        }),
    };
    built.map_err(|err| Error::Storage {
        location: location.to_string(),
        message: err.to_string(),
    })
}

fn s3_store(
    location: &Url,
    storage: &StorageOptions,
    vendor: Arc<CredentialVendor>,
) -> object_store::Result<Arc<dyn ObjectStore>> {
    let mut builder = AmazonS3Builder::from_env().with_url(location.as_str());
    for (key, value) in storage.to_map() {
        if let Ok(key) = key.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
            builder = builder.with_config(key, value);
        }
    }
    let store = builder
        .with_credentials(Arc::new(VendedAws(vendor)))
        .build()?;
    Ok(Arc::new(store))
}

#[cfg(feature = "azure")]
fn azure_store(
    location: &Url,
    storage: &StorageOptions,
    vendor: Arc<CredentialVendor>,
) -> object_store::Result<Arc<dyn ObjectStore>> {
    let mut builder = MicrosoftAzureBuilder::from_env().with_url(location.as_str());
    for (key, value) in cloud_settings(storage) {
        if let Ok(key) = key.parse::<AzureConfigKey>() {
            builder = builder.with_config(key, value);
        }
    }
    // The emulator setting would sign with the emulator's account key
    // instead of the vended SAS: Azurite is reached through `endpoint`.
    let store = builder
        .with_use_emulator(false)
        .with_credentials(Arc::new(VendedAzure(vendor)))
        .build()?;
    Ok(Arc::new(store))
}

#[cfg(feature = "gcs")]
fn gcs_store(
    location: &Url,
    storage: &StorageOptions,
    vendor: Arc<CredentialVendor>,
) -> object_store::Result<Arc<dyn ObjectStore>> {
    let mut builder = GoogleCloudStorageBuilder::from_env().with_url(location.as_str());
    for (key, value) in cloud_settings(storage) {
        if let Ok(key) = key.parse::<GoogleConfigKey>() {
            builder = builder.with_config(key, value);
        }
    }
    let store = builder
        .with_credentials(Arc::new(VendedGoogle(vendor)))
        .build()?;
    Ok(Arc::new(store))
}

/// The settings of an Azure or GCS store, as `object_store` keys (the
/// store takes those of its cloud): the pass-through ones, then
/// `allow_http`. `endpoint` and `region` are S3's.
#[cfg(any(feature = "azure", feature = "gcs"))]
fn cloud_settings(storage: &StorageOptions) -> Vec<(String, String)> {
    let mut settings: Vec<(String, String)> = storage
        .extra
        .iter()
        .map(|(key, value)| (key.to_ascii_lowercase(), value.clone()))
        .collect();
    if let Some(allow_http) = storage.allow_http {
        settings.push(("allow_http".to_string(), allow_http.to_string()));
    }
    settings
}

/// Vended AWS credentials as an `object_store` credential provider.
#[derive(Debug)]
struct VendedAws(Arc<CredentialVendor>);

#[async_trait]
impl CredentialProvider for VendedAws {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let vended = self.0.credentials().await.map_err(store_error)?;
        let aws = vended
            .aws_temp_credentials
            .as_ref()
            .ok_or_else(|| store_error(self.0.not_vended(Cloud::Aws)))?;
        Ok(Arc::new(AwsCredential {
            key_id: aws.access_key_id.expose().to_string(),
            secret_key: aws.secret_access_key.expose().to_string(),
            token: aws.session_token.as_ref().map(|t| t.expose().to_string()),
        }))
    }
}

/// A vended Azure SAS as an `object_store` credential provider.
#[cfg(feature = "azure")]
#[derive(Debug)]
struct VendedAzure(Arc<CredentialVendor>);

#[cfg(feature = "azure")]
#[async_trait]
impl CredentialProvider for VendedAzure {
    type Credential = AzureCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AzureCredential>> {
        let vended = self.0.credentials().await.map_err(store_error)?;
        let sas = vended
            .azure_user_delegation_sas
            .as_ref()
            .ok_or_else(|| store_error(self.0.not_vended(Cloud::Azure)))?;
        Ok(Arc::new(AzureCredential::SASToken(sas_pairs(
            sas.sas_token.expose(),
        ))))
    }
}

/// The query pairs of a SAS token (`sv=...&sig=...`, with or without a
/// leading `?`), percent-decoded: the store encodes them again on every
/// request. A `+` stays a `+` (SAS signatures are base64).
#[cfg(feature = "azure")]
fn sas_pairs(token: &str) -> Vec<(String, String)> {
    let decode = |part: &str| {
        percent_encoding::percent_decode_str(part)
            .decode_utf8_lossy()
            .into_owned()
    };
    token
        .trim_start_matches('?')
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect()
}

/// A vended Google OAuth token as an `object_store` credential provider.
#[cfg(feature = "gcs")]
#[derive(Debug)]
struct VendedGoogle(Arc<CredentialVendor>);

#[cfg(feature = "gcs")]
#[async_trait]
impl CredentialProvider for VendedGoogle {
    type Credential = GcpCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<GcpCredential>> {
        let vended = self.0.credentials().await.map_err(store_error)?;
        let token = vended
            .gcp_oauth_token
            .as_ref()
            .ok_or_else(|| store_error(self.0.not_vended(Cloud::Google)))?;
        Ok(Arc::new(GcpCredential {
            bearer: token.oauth_token.expose().to_string(),
        }))
    }
}

fn store_error(err: Error) -> object_store::Error {
    object_store::Error::Generic {
        store: "Unity Catalog credentials",
        source: Box::new(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_name_their_cloud() {
        let cloud = |location: &str| Cloud::of(&Url::parse(location).unwrap());
        assert_eq!(cloud("s3://b/t"), Ok(Cloud::Aws));
        assert_eq!(cloud("s3a://b/t"), Ok(Cloud::Aws));
        assert_eq!(
            cloud("abfss://c@a.dfs.core.windows.net/t").is_ok(),
            cfg!(feature = "azure")
        );
        assert_eq!(cloud("gs://b/t").is_ok(), cfg!(feature = "gcs"));
        assert!(cloud("hdfs://nn/t").unwrap_err().contains("hdfs://nn/t"));
    }

    #[cfg(feature = "azure")]
    #[test]
    fn sas_tokens_are_decoded_into_query_pairs() {
        let pairs = sas_pairs("?se=2026-12-02T01%3A09%3A04Z&sp=rl&sig=a%2Bb+c%3D");
        assert_eq!(
            pairs,
            [
                ("se", "2026-12-02T01:09:04Z"),
                ("sp", "rl"),
                ("sig", "a+b+c=")
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );
    }
}
