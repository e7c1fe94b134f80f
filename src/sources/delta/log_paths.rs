//! One spelling for every file path of a Delta log.
//!
//! The protocol lets an `add` and a later `remove` name the same file in
//! different spellings: relative to the table root or as an absolute URI,
//! `/abs/path`, `file:/abs/path` or `file:///abs/path`, percent-encoded or
//! not. Delta on Spark canonicalizes both before matching them (its log
//! replay qualifies every path with the file system), while delta_kernel
//! compares the strings as written (delta-kernel-rs #304), so a `remove`
//! spelled differently from its `add` would leave a deleted file in the
//! table. lakefed rewrites the paths into one spelling as the log is read
//! (`canonical_log`), before the kernel matches them.
//!
//! The canonical spelling of a file inside the table is its path relative to
//! the table root; of a file elsewhere, its absolute URI. Either way every
//! byte is percent-encoded except the characters a URI path may hold as
//! they are, so two spellings of one file decode to one string. A path that
//! is already canonical (what Spark and delta-rs write for their own files)
//! is returned as it is, without copying.

use std::borrow::Cow;

use url::{Position, Url};

/// A table root, against which the paths of its log are canonicalized.
#[derive(Debug, Clone)]
pub(crate) struct TableRoot {
    /// `scheme://authority` of the root.
    origin: String,
    /// The canonical spelling of the root, ending with `/`.
    prefix: String,
}

impl TableRoot {
    /// The root of the table at `root`.
    pub(crate) fn new(root: &Url) -> Self {
        let origin = root[..Position::BeforePath].to_string();
        let mut prefix = format!("{origin}{}", normalize_escapes(root.path()));
        if !prefix.ends_with('/') {
            prefix.push('/');
        }
        Self { origin, prefix }
    }

    /// The canonical spelling of `path`, a file path as a log action gives
    /// it. A path that cannot be read as a URI (an absolute URI with a query
    /// or a fragment, or one that does not parse) is left as written.
    pub(crate) fn canonical<'a>(&self, path: &'a str) -> Cow<'a, str> {
        let absolute = if has_scheme(path) {
            match Url::parse(path) {
                Ok(url) if url.query().is_none() && url.fragment().is_none() => format!(
                    "{}{}",
                    &url[..Position::BeforePath],
                    normalize_escapes(url.path())
                ),
                _ => return Cow::Borrowed(path),
            }
        } else if path.starts_with('/') {
            // An absolute path without a scheme is on the table's file
            // system, as Spark qualifies it.
            format!("{}{}", self.origin, normalize_escapes(path))
        } else {
            return normalize_escapes(path);
        };
        match absolute.strip_prefix(&self.prefix) {
            Some(relative) => Cow::Owned(relative.to_string()),
            None => Cow::Owned(absolute),
        }
    }
}

/// Whether `path` starts with a URI scheme (`s3:`, `file:`). A single letter
/// is not taken for one: it is a Windows drive.
fn has_scheme(path: &str) -> bool {
    let Some(end) = path.find(':') else {
        return false;
    };
    let scheme = &path[..end];
    scheme.len() > 1
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Whether `byte` stands for itself in a canonical path. `:` does not, so a
/// relative path never reads as a URI with a scheme; `/` does only where it
/// was written as itself (an encoded `%2F` is part of a name).
fn is_plain(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=@/".contains(&byte)
}

/// `path` with every byte that is not plain percent-encoded (in upper-case
/// hex) and every escape of a plain byte decoded.
fn normalize_escapes(path: &str) -> Cow<'_, str> {
    let bytes = path.as_bytes();
    if bytes.iter().all(|&b| is_plain(b)) {
        return Cow::Borrowed(path);
    }
    let mut out = String::with_capacity(path.len() + 8);
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        let escaped = (byte == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        let (value, width) = match escaped {
            Some(value) => (value, 3),
            None => (byte, 1),
        };
        if is_plain(value) && !(escaped.is_some() && value == b'/') {
            out.push(value as char);
        } else {
            out.push_str(&format!("%{value:02X}"));
        }
        i += width;
    }
    if out == path {
        Cow::Borrowed(path)
    } else {
        Cow::Owned(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local_root() -> TableRoot {
        TableRoot::new(&Url::parse("file:///data/my%20table/").unwrap())
    }

    #[test]
    fn a_relative_path_written_by_spark_is_kept_as_is() {
        let root = local_root();
        let path = "year=2024/part-00000-1a2b.c000.snappy.parquet";
        assert!(matches!(root.canonical(path), Cow::Borrowed(p) if p == path));
        let encoded = "ts=2021-01-01%2000%253A00/part-0.parquet";
        assert!(matches!(root.canonical(encoded), Cow::Borrowed(p) if p == encoded));
    }

    #[test]
    fn an_unqualified_absolute_path_is_qualified_with_the_scheme_of_the_root() {
        let root = local_root();
        assert_eq!(
            root.canonical("/some/unqualified/absolute/path"),
            root.canonical("file:/some/unqualified/absolute/path")
        );
        assert_eq!(
            root.canonical("/some/unqualified/absolute/path"),
            "file:///some/unqualified/absolute/path"
        );
        assert_eq!(
            root.canonical("file:///some/unqualified/absolute/path"),
            "file:///some/unqualified/absolute/path"
        );
    }

    #[test]
    fn special_characters_match_however_they_are_encoded() {
        let root = local_root();
        let canonical = "file:///some/unqualified/with%20space/p@%23h";
        assert_eq!(
            root.canonical("/some/unqualified/with%20space/p@%23h"),
            canonical
        );
        assert_eq!(
            root.canonical("file:/some/unqualified/with%20space/p@%23h"),
            canonical
        );
        assert_eq!(
            root.canonical("file:/some/unqualified/with%20space/p%40%23h"),
            canonical
        );
        assert_eq!(root.canonical("a b/c%2fd"), "a%20b/c%2Fd");
        assert_eq!(root.canonical("caf\u{e9}.parquet"), "caf%C3%A9.parquet");
        assert_eq!(root.canonical("caf%c3%a9.parquet"), "caf%C3%A9.parquet");
    }

    #[test]
    fn an_absolute_uri_inside_the_table_becomes_relative() {
        let root = local_root();
        assert_eq!(
            root.canonical("file:///data/my%20table/x=1/part-0.parquet"),
            "x=1/part-0.parquet"
        );
        assert_eq!(
            root.canonical("/data/my table/x=1/part-0.parquet"),
            "x=1/part-0.parquet"
        );
        let s3 = TableRoot::new(&Url::parse("s3://bucket/tables/t").unwrap());
        assert_eq!(
            s3.canonical("s3://bucket/tables/t/part-0.parquet"),
            "part-0.parquet"
        );
        assert_eq!(s3.canonical("/tables/t/part-0.parquet"), "part-0.parquet");
        assert_eq!(
            s3.canonical("s3://other/t/part-0.parquet"),
            "s3://other/t/part-0.parquet"
        );
    }

    #[test]
    fn a_colon_in_a_relative_path_never_reads_as_a_scheme() {
        let root = local_root();
        assert_eq!(
            root.canonical("a%3Ab/part-0.parquet"),
            "a%3Ab/part-0.parquet"
        );
        assert_eq!(root.canonical("C:/x"), "C%3A/x");
    }
}
