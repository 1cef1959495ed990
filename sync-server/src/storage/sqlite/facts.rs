//! The org's grow-only set of facts in SQLite, with the location points they carry.

use fieldkit_domain::ids::OrgId;
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Transaction, params};

use super::{next_seq, photos, tracks, uuid_col};
use crate::storage::{
    FactInsert, FactQuery, ReceivedFact, ServerAssessment, StorageError, StorageResult, StoredFact,
};

pub(super) fn insert(
    tx: &Transaction<'_>,
    org_id: OrgId,
    facts: Vec<ReceivedFact>,
    now_ms: i64,
) -> StorageResult<Vec<FactInsert>> {
    let org = org_id.to_string();
    let mut existing = tx.prepare_cached("SELECT body_sha256 FROM facts WHERE org_id = ?1 AND id = ?2")?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO facts (org_id, id, kind, rep_id, body, body_sha256, seq, received_ms, clock_skew_ms,
                            clock_flagged, event_ms, server_assessment)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?;
    let mut out = Vec::with_capacity(facts.len());
    for received in facts {
        let fact = &received.fact;
        let id = fact.id.to_string();
        let stored: Option<String> = existing.query_row(params![org, id], |row| row.get(0)).optional()?;
        let result = match stored {
            Some(hash) if hash == fact.body_sha256 => FactInsert::AlreadyStored,
            Some(_) => FactInsert::ConflictingBody,
            None => {
                let seq = next_seq(tx, org_id)?;
                let assessment = received
                    .server_assessment
                    .as_ref()
                    .map(|a| serde_json::to_string(a).expect("assessments always serialize"));
                insert.execute(params![
                    org,
                    id,
                    fact.kind,
                    fact.rep_id.to_string(),
                    fact.body,
                    fact.body_sha256,
                    i64::try_from(seq).expect("sequence fits in i64"),
                    now_ms,
                    fact.clock_skew_ms,
                    received.clock_flagged,
                    received.event_ms,
                    assessment,
                ])?;
                tracks::insert(tx, &org, fact.rep_id, &received.points)?;
                if let Some(check) = &received.photo {
                    photos::insert_check(tx, &org, fact.id, fact.rep_id, check, now_ms)?;
                }
                FactInsert::Stored(seq)
            }
        };
        out.push(result);
    }
    Ok(out)
}

/// Whether a fact's phone or server verdict is flagged or rejected (0 or 1, never NULL).
const FLAGGED: &str =
    "(COALESCE(json_extract(body, '$.body.assessment.verdict.outcome') IN ('flagged', 'rejected'), 0)
     OR COALESCE(json_extract(server_assessment, '$.verdict.outcome') IN ('flagged', 'rejected'), 0))";

pub(super) fn list(tx: &Transaction<'_>, org_id: OrgId, query: &FactQuery) -> StorageResult<Vec<StoredFact>> {
    // Only the criteria given go into the SQL: `(?n IS NULL OR col = ?n)` would keep SQLite
    // from using the kind, author and time indexes and scan every fact of the org.
    let filter = &query.filter;
    let mut criteria = vec!["org_id = ?".to_owned()];
    let mut values: Vec<Value> = vec![Value::Text(org_id.to_string())];
    if let Some(kind) = &filter.kind {
        criteria.push("kind = ?".to_owned());
        values.push(Value::Text(kind.clone()));
    }
    if let Some(ids) = &filter.rep_ids {
        criteria.push("rep_id IN (SELECT value FROM json_each(?))".to_owned());
        values.push(Value::Text(serde_json::to_string(ids).expect("ids always serialize")));
    }
    if let Some(flagged) = query.flagged {
        criteria.push(format!("{FLAGGED} = ?"));
        values.push(Value::Integer(i64::from(flagged)));
    }
    if let Some(from) = query.event_from_ms {
        criteria.push("event_ms >= ?".to_owned());
        values.push(Value::Integer(from));
    }
    if let Some(until) = query.event_until_ms {
        criteria.push("event_ms < ?".to_owned());
        values.push(Value::Integer(until));
    }
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT id, kind, rep_id, body, seq, received_ms, clock_skew_ms, clock_flagged, event_ms,
                server_assessment
         FROM facts WHERE {} ORDER BY seq",
        criteria.join(" AND ")
    ))?;
    let rows = stmt.query_map(rusqlite::params_from_iter(values), |row| {
        let seq: i64 = row.get(4)?;
        let assessment: Option<String> = row.get(9)?;
        Ok((
            StoredFact {
                id: uuid_col(row, 0)?.into(),
                kind: row.get(1)?,
                rep_id: uuid_col(row, 2)?.into(),
                body: row.get(3)?,
                seq: seq.unsigned_abs(),
                received_ms: row.get(5)?,
                clock_skew_ms: row.get(6)?,
                clock_flagged: row.get(7)?,
                event_ms: row.get(8)?,
                server_assessment: None,
            },
            assessment,
        ))
    })?;
    rows.map(|row| {
        let (mut fact, assessment) = row?;
        fact.server_assessment = assessment
            .map(|text| serde_json::from_str::<ServerAssessment>(&text))
            .transpose()
            .map_err(|source| StorageError::Corrupt { what: "server assessment", source })?;
        Ok(fact)
    })
    .collect()
}
