//! Knowledge-base articles reps read offline.

use serde::{Deserialize, Serialize};

use crate::ids::ArticleId;

/// A knowledge-base article (product sheet, sales script, policy).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KbArticle {
    /// The article id.
    pub id: ArticleId,
    /// Title.
    pub title: String,
    /// Body text (Markdown).
    pub body: String,
    /// Labels for search and filtering.
    pub tags: Vec<String>,
}
