//! The exactly-once check at the end of a run: every fact any phone made is stored once, and
//! no other fact is stored, read through the storage (both backends) and, on PostgreSQL,
//! counted again straight from the `facts` table.

use std::collections::{BTreeMap, BTreeSet};

use fieldkit_domain::ids::{FactId, OrgId};
use fieldkit_server::storage::{FactFilter, Storage};

/// What the check found.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Facts stored in all.
    pub stored: usize,
    /// Facts made that are not stored.
    pub lost: Vec<FactId>,
    /// Facts stored more than once.
    pub duplicated: Vec<FactId>,
    /// Facts stored that no phone made.
    pub unexpected: Vec<FactId>,
}

impl Outcome {
    /// Whether every fact is stored exactly once and nothing else is.
    #[must_use]
    pub fn exact(&self) -> bool {
        self.lost.is_empty() && self.duplicated.is_empty() && self.unexpected.is_empty()
    }
}

/// Compares the facts stored for `orgs` with `made` (every fact the phones created).
pub async fn check(
    storage: &dyn Storage,
    orgs: &[OrgId],
    made: &BTreeSet<FactId>,
) -> anyhow::Result<Outcome> {
    let mut count: BTreeMap<FactId, usize> = BTreeMap::new();
    for &org in orgs {
        for fact in storage.facts(org, FactFilter { kind: None, rep_ids: None }).await? {
            *count.entry(fact.id).or_default() += 1;
        }
    }
    Ok(compare(&count, made))
}

/// The comparison itself: `count` is how often each stored id was listed.
#[must_use]
pub fn compare(count: &BTreeMap<FactId, usize>, made: &BTreeSet<FactId>) -> Outcome {
    Outcome {
        stored: count.values().sum(),
        lost: made.iter().filter(|id| !count.contains_key(id)).copied().collect(),
        duplicated: count.iter().filter(|(_, n)| **n > 1).map(|(id, _)| *id).collect(),
        unexpected: count.keys().filter(|id| !made.contains(id)).copied().collect(),
    }
}

/// Rows of the PostgreSQL `facts` table, and ids in more than one row: (rows, duplicated ids).
pub async fn postgres_rows(url: &str) -> anyhow::Result<(i64, Vec<String>)> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    let task = tokio::spawn(connection);
    let rows: i64 = client.query_one("SELECT count(*) FROM facts", &[]).await?.get(0);
    let dups = client
        .query("SELECT id::text FROM facts GROUP BY id HAVING count(*) > 1", &[])
        .await?
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect();
    drop(client);
    let _ = task.await;
    Ok((rows, dups))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_a_doubled_and_a_foreign_fact_are_each_named() {
        let (a, b, c, d) = (FactId::new(), FactId::new(), FactId::new(), FactId::new());
        let made: BTreeSet<FactId> = [a, b, c].into_iter().collect();
        let count: BTreeMap<FactId, usize> = [(a, 1), (b, 2), (d, 1)].into_iter().collect();
        let outcome = compare(&count, &made);
        assert_eq!((outcome.lost, outcome.duplicated, outcome.unexpected), (vec![c], vec![b], vec![d]));
        assert!(
            !compare(&[(a, 1)].into_iter().collect(), &[a].into_iter().collect()).unexpected.contains(&a)
        );
    }

    #[test]
    fn every_fact_stored_once_is_exact() {
        let a = FactId::new();
        let outcome = compare(&[(a, 1)].into_iter().collect(), &[a].into_iter().collect());
        assert!(outcome.exact());
        assert_eq!(outcome.stored, 1);
    }
}
