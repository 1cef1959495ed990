//! The org's grow-only set of facts in PostgreSQL, with the location points and photo checks
//! they carry.
//!
//! A fact is stored once: the org lock every write takes first (see the module doc of the
//! backend) keeps the "is it already stored?" check and the insert from racing another
//! instance.

use fieldkit_domain::ids::OrgId;
use tokio_postgres::types::ToSql;

use super::{Tx, next_seq, photos, tracks, uuid_col};
use crate::storage::{
    FactInsert, FactQuery, ReceivedFact, ServerAssessment, StorageError, StorageResult, StoredFact,
};

pub(super) async fn insert(
    tx: &Tx<'_>,
    org_id: OrgId,
    facts: Vec<ReceivedFact>,
    now_ms: i64,
) -> StorageResult<Vec<FactInsert>> {
    let org = org_id.to_string();
    let existing = tx.prepare_cached("SELECT body_sha256 FROM facts WHERE org_id = $1 AND id = $2").await?;
    let insert = tx
        .prepare_cached(
            "INSERT INTO facts (org_id, id, kind, rep_id, body, body_sha256, seq, received_ms, clock_skew_ms,
                                clock_flagged, event_ms, server_assessment)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .await?;
    let mut out = Vec::with_capacity(facts.len());
    for received in facts {
        let fact = &received.fact;
        let id = fact.id.to_string();
        let stored: Option<String> =
            tx.query_opt(&existing, &[&org, &id]).await?.map(|row| row.try_get(0)).transpose()?;
        let result = match stored {
            Some(hash) if hash == fact.body_sha256 => FactInsert::AlreadyStored,
            Some(_) => FactInsert::ConflictingBody,
            None => {
                let seq = next_seq(tx, org_id).await?;
                let assessment = received
                    .server_assessment
                    .as_ref()
                    .map(|a| serde_json::to_string(a).expect("assessments always serialize"));
                tx.execute(
                    &insert,
                    &[
                        &org,
                        &id,
                        &fact.kind,
                        &fact.rep_id.to_string(),
                        &fact.body,
                        &fact.body_sha256,
                        &i64::try_from(seq).expect("sequence fits in i64"),
                        &now_ms,
                        &fact.clock_skew_ms,
                        &i64::from(received.clock_flagged),
                        &received.event_ms,
                        &assessment,
                    ],
                )
                .await?;
                tracks::insert(tx, &org, fact.rep_id, &received.points).await?;
                if let Some(check) = &received.photo {
                    photos::insert_check(tx, &org, fact.id, fact.rep_id, check, now_ms).await?;
                }
                FactInsert::Stored(seq)
            }
        };
        out.push(result);
    }
    Ok(out)
}

/// Whether a fact's phone or server verdict is flagged or rejected (a boolean, never NULL).
const FLAGGED: &str =
    "(COALESCE((body::jsonb #>> '{body,assessment,verdict,outcome}') IN ('flagged', 'rejected'), false)
     OR COALESCE((server_assessment::jsonb #>> '{verdict,outcome}') IN ('flagged', 'rejected'), false))";

pub(super) async fn list(tx: &Tx<'_>, org_id: OrgId, query: &FactQuery) -> StorageResult<Vec<StoredFact>> {
    // Only the criteria given go into the SQL: `($n IS NULL OR col = $n)` would keep the
    // planner from using the kind, author and time indexes and scan every fact of the org.
    let filter = &query.filter;
    let mut criteria = vec!["org_id = $1".to_owned()];
    let mut values: Vec<Box<dyn ToSql + Sync + Send>> = vec![Box::new(org_id.to_string())];
    let mut add = |criterion: &str, value: Box<dyn ToSql + Sync + Send>| {
        values.push(value);
        criteria.push(criterion.replace("$N", &format!("${}", values.len())));
    };
    if let Some(kind) = &filter.kind {
        add("kind = $N", Box::new(kind.clone()));
    }
    if let Some(ids) = &filter.rep_ids {
        add("rep_id = ANY($N)", Box::new(ids.iter().map(ToString::to_string).collect::<Vec<String>>()));
    }
    if let Some(flagged) = query.flagged {
        add(&format!("{FLAGGED} = $N"), Box::new(flagged));
    }
    if let Some(from) = query.event_from_ms {
        add("event_ms >= $N", Box::new(from));
    }
    if let Some(until) = query.event_until_ms {
        add("event_ms < $N", Box::new(until));
    }
    let statement = tx
        .prepare_cached(&format!(
            "SELECT id, kind, rep_id, body, seq, received_ms, clock_skew_ms, clock_flagged, event_ms,
                    server_assessment
             FROM facts WHERE {} ORDER BY seq",
            criteria.join(" AND ")
        ))
        .await?;
    let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v.as_ref() as &(dyn ToSql + Sync)).collect();
    let rows = tx.query(&statement, &params).await?;
    rows.iter()
        .map(|row| {
            let seq: i64 = row.try_get(4)?;
            let assessment: Option<String> = row.try_get(9)?;
            Ok(StoredFact {
                id: uuid_col(row, 0)?.into(),
                kind: row.try_get(1)?,
                rep_id: uuid_col(row, 2)?.into(),
                body: row.try_get(3)?,
                seq: seq.unsigned_abs(),
                received_ms: row.try_get(5)?,
                clock_skew_ms: row.try_get(6)?,
                clock_flagged: row.try_get::<_, i64>(7)? != 0,
                event_ms: row.try_get(8)?,
                server_assessment: assessment
                    .map(|text| serde_json::from_str::<ServerAssessment>(&text))
                    .transpose()
                    .map_err(|source| StorageError::Corrupt { what: "server assessment", source })?,
            })
        })
        .collect()
}
