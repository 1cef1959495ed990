//! Where the blob store is, as `--blob-store` names it: a folder, or a bucket (and a key
//! prefix in it) on S3-compatible storage.

use std::path::PathBuf;

use super::BlobError;

/// A blob store's place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobLocation {
    /// A folder on this machine (or a network file system every instance mounts).
    Folder(PathBuf),
    /// `s3://BUCKET[/PREFIX]`.
    S3 {
        /// The bucket.
        bucket: String,
        /// The key prefix inside it, without leading or trailing `/`; empty for none.
        prefix: String,
    },
}

impl BlobLocation {
    /// Reads `s3://BUCKET[/PREFIX]`, or anything without a `scheme://` as a folder.
    ///
    /// # Errors
    /// [`BlobError::Location`] for an empty spec, another scheme or an `s3://` without a
    /// bucket.
    pub fn parse(spec: &str) -> Result<Self, BlobError> {
        let refused = || BlobError::Location(spec.to_owned());
        if spec.trim().is_empty() {
            return Err(refused());
        }
        let Some((scheme, rest)) = spec.split_once("://") else {
            return Ok(Self::Folder(PathBuf::from(spec)));
        };
        if !scheme.eq_ignore_ascii_case("s3") {
            return Err(refused());
        }
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(refused());
        }
        Ok(Self::S3 { bucket: bucket.to_owned(), prefix: prefix.trim_matches('/').to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_s3_url_names_a_bucket_and_an_optional_prefix() {
        let s3 =
            |bucket: &str, prefix: &str| BlobLocation::S3 { bucket: bucket.into(), prefix: prefix.into() };
        assert_eq!(BlobLocation::parse("s3://photos").ok(), Some(s3("photos", "")));
        assert_eq!(BlobLocation::parse("s3://photos/").ok(), Some(s3("photos", "")));
        assert_eq!(BlobLocation::parse("s3://photos/prod/eu/").ok(), Some(s3("photos", "prod/eu")));
    }

    #[test]
    fn a_plain_path_is_a_folder() {
        assert_eq!(
            BlobLocation::parse("/srv/fieldkit/blobs").ok(),
            Some(BlobLocation::Folder("/srv/fieldkit/blobs".into()))
        );
    }

    #[test]
    fn another_scheme_or_a_missing_bucket_is_refused_naming_the_spec() {
        for spec in ["gs://photos", "s3://", "s3:///prefix", " "] {
            let refused = BlobLocation::parse(spec);
            assert!(matches!(&refused, Err(BlobError::Location(s)) if s == spec), "{spec}: {refused:?}");
        }
    }
}
