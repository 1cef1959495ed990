//! The knowledge base on the phone: articles arrive as reference data and are searched
//! offline, Chinese and English alike.

use super::FieldKit;
use crate::error::Result;
use crate::store::kb::{self, KbHit};

impl FieldKit {
    /// Searches the knowledge base for articles containing every word of `query`, best
    /// first, with matches highlighted in 【】. Works offline.
    pub fn search_kb(&self, query: &str, limit: u32) -> Result<Vec<KbHit>> {
        self.store.read(|conn| kb::search(conn, query, limit))
    }
}
