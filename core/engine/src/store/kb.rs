//! Knowledge-base search on the phone: an FTS5 index with the trigram tokenizer, ranked by
//! BM25 (title hits weigh most), with highlighted titles and snippets. Queries of one or two
//! characters (common in Chinese: 新品, 促销) are below what trigrams can index and are
//! answered by a substring scan, ranked title-first.

use fieldkit_domain::ids::ArticleId;
use fieldkit_domain::model::KbArticle;
use rusqlite::{Connection, Transaction, params};
use uuid::Uuid;

use crate::error::Result;

/// Marks put around matched text in titles and snippets.
pub const HIGHLIGHT: (&str, &str) = ("【", "】");

/// One search result.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct KbHit {
    /// The article's id.
    pub id: ArticleId,
    /// The title, matches highlighted.
    pub title: String,
    /// A short piece of the body around the match, highlighted.
    pub snippet: String,
    /// Lower is better.
    pub rank: f64,
}

/// Indexes (or re-indexes) an article.
pub(crate) fn index(tx: &Transaction<'_>, article: &KbArticle) -> Result<()> {
    unindex(tx, article.id.0)?;
    tx.prepare_cached("INSERT INTO kb_fts (id, title, body, tags) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![article.id.to_string(), article.title, article.body, article.tags.join(" ")])?;
    Ok(())
}

/// Removes an article from the index.
pub(crate) fn unindex(tx: &Transaction<'_>, id: Uuid) -> Result<()> {
    tx.prepare_cached("DELETE FROM kb_fts WHERE id = ?1")?.execute([id.to_string()])?;
    Ok(())
}

/// Articles matching every word of `query`, best first.
pub(crate) fn search(conn: &Connection, query: &str, limit: u32) -> Result<Vec<KbHit>> {
    let words: Vec<&str> = query.split_whitespace().collect();
    if words.is_empty() {
        return Ok(Vec::new());
    }
    let (open, close) = HIGHLIGHT;
    if words.iter().all(|w| w.chars().count() >= 3) {
        // Each word as a quoted phrase: the user's text never reaches FTS5's query syntax.
        let fts_query =
            words.iter().map(|w| format!("\"{}\"", w.replace('"', "\"\""))).collect::<Vec<_>>().join(" ");
        let mut stmt = conn.prepare_cached(
            "SELECT id, highlight(kb_fts, 1, ?2, ?3), snippet(kb_fts, 2, ?2, ?3, '…', 16),
                    bm25(kb_fts, 0.0, 10.0, 1.0, 3.0)
             FROM kb_fts WHERE kb_fts MATCH ?1 ORDER BY 4 LIMIT ?4",
        )?;
        let rows = stmt.query_map(params![fts_query, open, close, limit], hit)?;
        return Ok(rows.collect::<Result<_, _>>()?);
    }
    // Too short for trigrams: a substring scan over every word, title matches first.
    let mut stmt = conn.prepare_cached("SELECT id, title, body, tags FROM kb_fts")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
    })?;
    let mut hits = Vec::new();
    for row in rows {
        let (id, title, body, tags) = row?;
        let lower = |s: &str| s.to_lowercase();
        let (t, b, g) = (lower(&title), lower(&body), lower(&tags));
        if !words.iter().all(|w| {
            let w = lower(w);
            t.contains(&w) || b.contains(&w) || g.contains(&w)
        }) {
            continue;
        }
        let in_title = words.iter().filter(|w| t.contains(&lower(w))).count();
        let Ok(id) = Uuid::parse_str(&id) else { continue };
        hits.push(KbHit {
            id: id.into(),
            title: mark(&title, &words),
            snippet: mark(&around(&body, words[0]), &words),
            rank: -(in_title as f64) * 10.0 - 1.0,
        });
    }
    hits.sort_by(|a, b| a.rank.total_cmp(&b.rank).then_with(|| a.title.cmp(&b.title)));
    hits.truncate(limit as usize);
    Ok(hits)
}

fn hit(row: &rusqlite::Row<'_>) -> rusqlite::Result<KbHit> {
    let id: String = row.get(0)?;
    Ok(KbHit {
        id: Uuid::parse_str(&id)
            .map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
            })?
            .into(),
        title: row.get(1)?,
        snippet: row.get(2)?,
        rank: row.get(3)?,
    })
}

/// Up to 16 characters either side of the first occurrence of `word` in `text`.
fn around(text: &str, word: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let lowered: Vec<char> = text.to_lowercase().chars().collect();
    let needle: Vec<char> = word.to_lowercase().chars().collect();
    let at = (0..lowered.len().saturating_sub(needle.len().saturating_sub(1)).max(1))
        .find(|i| lowered.get(*i..*i + needle.len()) == Some(&needle[..]))
        .unwrap_or(0);
    // Lower-casing can change lengths (rare letters): clamp to the original text.
    let start = at.saturating_sub(16).min(chars.len());
    let end = (at + needle.len() + 16).min(chars.len()).max(start);
    let mut out: String = chars[start..end].iter().collect();
    if start > 0 {
        out.insert(0, '…');
    }
    if end < chars.len() {
        out.push('…');
    }
    out
}

/// Puts the highlight marks around every occurrence of each word (case-sensitive on the
/// word as typed, which is what a Chinese query needs).
fn mark(text: &str, words: &[&str]) -> String {
    let (open, close) = HIGHLIGHT;
    words.iter().fold(text.to_owned(), |acc, w| acc.replace(w, &format!("{open}{w}{close}")))
}
