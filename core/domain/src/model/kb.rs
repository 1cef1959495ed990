//! Knowledge-base articles reps read offline.

use serde::{Deserialize, Serialize};

use crate::ids::ArticleId;

/// A knowledge-base article (product sheet, sales script, policy).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct KbArticle {
    /// The article id.
    pub id: ArticleId,
    /// Title.
    pub title: String,
    /// Body text (Markdown).
    pub body: String,
    /// Labels for search and filtering.
    pub tags: Vec<String>,
    /// Files that go with the article (a PDF sheet, a price image), each a blob uploaded
    /// through the blob routes and fetched by the phone on demand. Absent in bodies written
    /// before attachments existed, which still parse (as none).
    #[serde(default)]
    pub attachments: Vec<KbAttachment>,
}

impl KbArticle {
    /// The attachment whose bytes hash to `sha256`, if the article has one.
    #[must_use]
    pub fn attachment(&self, sha256: &str) -> Option<&KbAttachment> {
        self.attachments.iter().find(|a| a.sha256 == sha256)
    }
}

/// A file attached to an article: a blob named by its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct KbAttachment {
    /// The file name shown to the rep (e.g. `冰红茶规格.pdf`).
    pub name: String,
    /// The blob's SHA-256, lower-case hex (see [`crate::protocol::is_sha256_hex`]).
    pub sha256: String,
    /// The blob's size in bytes.
    pub size_bytes: u64,
    /// Its media type, e.g. `application/pdf`.
    pub content_type: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_article_body_written_before_attachments_parses_with_none() -> Result<(), serde_json::Error> {
        let body = r#"{"id":"01936d3e-7a00-7000-8000-000000000001","title":"t","body":"b","tags":[]}"#;
        let article: KbArticle = serde_json::from_str(body)?;
        assert!(article.attachments.is_empty());
        Ok(())
    }

    #[test]
    fn an_attachment_is_found_by_its_sha256() -> Result<(), serde_json::Error> {
        let sha = "ab".repeat(32);
        let article: KbArticle = serde_json::from_value(serde_json::json!({
            "id": "01936d3e-7a00-7000-8000-000000000001", "title": "t", "body": "b", "tags": [],
            "attachments": [{ "name": "sheet.pdf", "sha256": sha, "size_bytes": 3, "content_type": "application/pdf" }]
        }))?;
        assert_eq!(article.attachment(&sha).map(|a| a.name.as_str()), Some("sheet.pdf"));
        assert!(article.attachment(&"cd".repeat(32)).is_none());
        Ok(())
    }
}
