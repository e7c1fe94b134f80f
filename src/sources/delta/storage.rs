//! Where Delta tables live and how to reach them: table locations and object
//! store options (S3 endpoint, region, keys, session token, path style).

use std::collections::HashMap;
use std::fmt;

use url::Url;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// Options for reaching the object store that holds Delta tables.
///
/// Unset fields fall back to the standard environment variables
/// (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, ...), as the AWS SDKs do.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StorageOptions {
    /// S3 endpoint, e.g. `http://127.0.0.1:9000` for an S3-compatible server.
    pub endpoint: Option<String>,
    /// S3 region.
    pub region: Option<String>,
    /// Access key id.
    pub access_key_id: Option<Secret>,
    /// Secret access key.
    pub secret_access_key: Option<Secret>,
    /// Session token for temporary credentials.
    pub session_token: Option<Secret>,
    /// Address buckets as `endpoint/bucket` rather than `bucket.endpoint`.
    pub force_path_style: Option<bool>,
    /// Allow plain `http://` endpoints.
    pub allow_http: Option<bool>,
    /// Let writes to S3 use copy-then-delete commits without a locking provider:
    /// only safe when a single writer commits to a table at a time.
    pub allow_unsafe_rename: Option<bool>,
    /// Further object store options passed through unchanged
    /// (keys as in `object_store`, e.g. `azure_storage_account_name`).
    pub extra: HashMap<String, String>,
}

impl fmt::Debug for StorageOptions {
    /// Shows which options are set, never the values of secrets or of
    /// pass-through options (which may hold keys).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut extra: Vec<&str> = self.extra.keys().map(String::as_str).collect();
        extra.sort_unstable();
        f.debug_struct("StorageOptions")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key)
            .field("session_token", &self.session_token)
            .field("force_path_style", &self.force_path_style)
            .field("allow_http", &self.allow_http)
            .field("allow_unsafe_rename", &self.allow_unsafe_rename)
            .field("extra_keys", &extra)
            .finish()
    }
}

impl StorageOptions {
    /// Storage options for an S3-compatible endpoint with static keys.
    pub fn s3_compatible(
        endpoint: impl Into<String>,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> Self {
        let endpoint = endpoint.into();
        Self {
            allow_http: Some(endpoint.starts_with("http://")),
            endpoint: Some(endpoint),
            region: Some("us-east-1".to_string()),
            access_key_id: Some(Secret::new(access_key_id)),
            secret_access_key: Some(Secret::new(secret_access_key)),
            force_path_style: Some(true),
            ..Self::default()
        }
    }

    /// The options as the key/value map the `deltalake` crate takes.
    pub fn to_map(&self) -> HashMap<String, String> {
        let mut map = self.extra.clone();
        let mut put = |key: &str, value: Option<String>| {
            if let Some(value) = value {
                map.insert(key.to_string(), value);
            }
        };
        put("AWS_ENDPOINT_URL", self.endpoint.clone());
        put("AWS_REGION", self.region.clone());
        put("AWS_ACCESS_KEY_ID", secret(&self.access_key_id));
        put("AWS_SECRET_ACCESS_KEY", secret(&self.secret_access_key));
        put("AWS_SESSION_TOKEN", secret(&self.session_token));
        put(
            "AWS_VIRTUAL_HOSTED_STYLE_REQUEST",
            self.force_path_style
                .map(|path_style| (!path_style).to_string()),
        );
        put("AWS_ALLOW_HTTP", self.allow_http.map(|b| b.to_string()));
        put(
            "AWS_S3_ALLOW_UNSAFE_RENAME",
            self.allow_unsafe_rename.map(|b| b.to_string()),
        );
        map
    }
}

fn secret(value: &Option<Secret>) -> Option<String> {
    value.as_ref().map(|s| s.expose().to_string())
}

/// URL schemes a Delta location may use.
pub(crate) const SUPPORTED_SCHEMES: &[&str] =
    &["file", "s3", "s3a", "az", "abfs", "abfss", "gs", "memory"];

/// Parses a table location: a URL (`s3://bucket/path`, `file:///tmp/t`) or a
/// local path (absolute or relative to the working directory).
///
/// A local path must exist; nothing is created.
pub(crate) fn parse_location(location: &str) -> Result<Url> {
    if location.trim().is_empty() {
        return Err(Error::InvalidArgument(
            "a Delta table location must not be empty".to_string(),
        ));
    }
    if let Ok(url) = Url::parse(location)
        && url.scheme().len() > 1
    {
        if !SUPPORTED_SCHEMES.contains(&url.scheme()) {
            return Err(Error::InvalidArgument(format!(
                "unsupported URL scheme '{}' in '{}' (supported: {})",
                url.scheme(),
                redact(&url),
                SUPPORTED_SCHEMES.join(", ")
            )));
        }
        return Ok(normalize(url));
    }
    let path = std::path::Path::new(location);
    let absolute = std::fs::canonicalize(path).map_err(|err| Error::NotATable {
        location: location.to_string(),
        reason: format!("the local path cannot be opened ({err})"),
    })?;
    Url::from_directory_path(&absolute)
        .map(normalize)
        .map_err(|()| Error::InvalidArgument(format!("'{location}' is not a valid directory path")))
}

/// Like [`parse_location`], but creates a missing local directory (path or
/// `file://` URL): for new tables.
pub(crate) fn parse_new_location(location: &str) -> Result<Url> {
    let local_dir = match Url::parse(location) {
        Ok(url) if url.scheme() == "file" => url.to_file_path().ok(),
        Ok(url) if url.scheme().len() > 1 => None,
        _ => (!location.trim().is_empty()).then(|| location.into()),
    };
    if let Some(dir) = local_dir {
        std::fs::create_dir_all(&dir).map_err(|err| {
            Error::InvalidArgument(format!(
                "cannot create directory '{}': {err}",
                dir.display()
            ))
        })?;
    }
    parse_location(location)
}

/// `url` under an authority of its own, `<key>.<bucket>`: the address of a
/// table read through a store that serves it alone (one whose credentials
/// are vended for the table). DataFusion's object store registry, and
/// deltalake's use of it, key stores by scheme and authority, so two tables
/// of one bucket with stores of their own need two authorities; `key` (a
/// DNS label) is the same whenever the same store is meant.
pub(crate) fn own_authority(url: &Url, key: &str) -> Result<Url> {
    let mut own = url.clone();
    let authority = format!("{key}.{}", url.host_str().unwrap_or_default());
    own.set_host(Some(&authority)).map_err(|err| {
        Error::InvalidArgument(format!(
            "cannot address '{}' on its own: {err}",
            redact(url)
        ))
    })?;
    Ok(own)
}

/// The URL without credentials, query or fragment: safe for errors and EXPLAIN.
///
/// The user part of an Azure URL (`abfss://container@account...`) is the
/// container, not a credential: it is kept unless a password comes with it.
pub(crate) fn redact(url: &Url) -> String {
    let mut clean = url.clone();
    let names_container =
        matches!(url.scheme(), "abfss" | "abfs" | "az") && url.password().is_none();
    if !names_container {
        let _ = clean.set_username("");
    }
    let _ = clean.set_password(None);
    clean.set_query(None);
    clean.set_fragment(None);
    clean.to_string()
}

/// The URL of the child `name` of a directory URL.
pub fn child_url(parent: &Url, name: &str) -> Result<Url> {
    let mut dir = parent.clone();
    if !dir.path().ends_with('/') {
        dir.set_path(&format!("{}/", dir.path()));
    }
    dir.join(&format!("{}/", encode_segment(name)))
        .map(normalize)
        .map_err(|err| Error::InvalidArgument(format!("invalid table name '{name}': {err}")))
}

fn encode_segment(name: &str) -> String {
    url::form_urlencoded::byte_serialize(name.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// Removes trailing slashes so one table has one URL.
fn normalize(mut url: Url) -> Url {
    let trimmed = url.path().trim_end_matches('/').to_string();
    if !trimmed.is_empty() {
        url.set_path(&trimmed);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_debug() {
        let mut options = StorageOptions::s3_compatible("http://127.0.0.1:9000", "AKIA", "hunter2");
        options.extra.insert(
            "azure_storage_account_key".to_string(),
            "hunter3".to_string(),
        );
        let debug = format!("{options:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("hunter3"),
            "{debug}"
        );
        assert!(!debug.contains("AKIA"), "{debug}");
        assert!(debug.contains("******"));
    }

    #[test]
    fn s3_options_map_to_deltalake_keys() {
        let map = StorageOptions::s3_compatible("http://127.0.0.1:9000", "k", "s").to_map();
        assert_eq!(map["AWS_ENDPOINT_URL"], "http://127.0.0.1:9000");
        assert_eq!(map["AWS_ALLOW_HTTP"], "true");
        assert_eq!(map["AWS_VIRTUAL_HOSTED_STYLE_REQUEST"], "false");
        assert_eq!(map["AWS_SECRET_ACCESS_KEY"], "s");
    }

    #[test]
    fn redact_removes_credentials() {
        let url = Url::parse("s3://user:pass@bucket/t?token=x").unwrap();
        assert_eq!(redact(&url), "s3://bucket/t");
        let azure = Url::parse("abfss://c@a.dfs.core.windows.net/t?sig=x").unwrap();
        assert_eq!(redact(&azure), "abfss://c@a.dfs.core.windows.net/t");
        let keyed = Url::parse("abfss://c:key@a.dfs.core.windows.net/t").unwrap();
        assert_eq!(redact(&keyed), "abfss://a.dfs.core.windows.net/t");
    }

    #[test]
    fn missing_local_path_is_not_a_table() {
        let err = parse_location("/definitely/not/here").unwrap_err();
        assert!(err.to_string().contains("not a Delta table"), "{err}");
    }

    #[test]
    fn child_urls_escape_names() {
        let parent = Url::parse("s3://bucket/warehouse").unwrap();
        assert_eq!(
            child_url(&parent, "a b").unwrap().as_str(),
            "s3://bucket/warehouse/a%20b"
        );
    }
}
