//! `POST /v1/customers/import[?mode=all|good][&datum=wgs84|gcj02|bd09]`: customers from a
//! CSV file (the body, `text/csv`), for managers and admins (like `POST /v1/customers`).
//!
//! The file: a header row naming the columns (any order and case) `name`, `lat`, `lng`,
//! `grade` and optionally `code`, `address`, `tags` (`;` or `；` between them),
//! `geofence_radius_m`, `owner` (a rep's username) and `datum`. UTF-8 with or without a BOM
//! (Excel's "CSV UTF-8") and GBK/GB18030 (Excel's default Chinese CSV) are both read; a
//! `charset` in the content type is honoured. Coordinates are taken in the row's `datum`,
//! else the query's, else WGS-84, and stored in WGS-84. See [`crate::customer_csv`] for every
//! rule.
//!
//! Modes: `all` (the default) imports nothing when any row is bad and answers 422
//! (`invalid_request`) with every bad row; `good` imports the good rows and reports the bad
//! ones with 200. A file that cannot be read at all (unknown or repeated column, missing
//! required column, not text) is refused with 422 in both modes. The answer, in both cases:
//! `{mode, encoding, rows, imported, updated, unchanged, bad_rows: [{line, column, value?,
//! message}]}` (a 422 adds `error: {code, message}`), `line` being the 1-based line in the
//! file (the header is line 1).
//!
//! Importing the same file again creates nothing twice. A sales-ops admin exports accounts
//! from the CRM or ERP with their account number: put it in `code`, and every later import
//! updates the customer that code was first imported as (renamed, moved, regraded,
//! reassigned), whatever else changed. Without a code, a row is the existing customer with
//! the same name (case and spaces ignored) within 50 m, else a new one; so re-importing a
//! sheet without codes is safe too, but moving a shop by more than 50 m in the sheet makes a
//! new customer. An optional column left out of the file keeps the customers' current
//! values (leave out `owner` to keep the owners); an empty cell clears the value.
//!
//! Everything the import writes is written in ONE transaction: a storage failure half-way
//! stores nothing. New and changed customers reach phones through the sync feed like ones
//! created by `POST /v1/customers` (their owner rep and that rep's manager; everyone for a
//! customer without an owner). Logs carry counts and line numbers only, never a cell.

use axum::Json;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use fieldkit_domain::geo::Datum;
use fieldkit_domain::protocol::{ErrorCode, ErrorDetail};
use serde::{Deserialize, Serialize};

use crate::audit::{AuditAction, record};
use crate::customer_csv::{self, BadRow, Change, ParseOptions};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiBytes, ApiQuery, Caller};
use crate::state::AppState;
use crate::storage::ImportedCustomer;

/// Query string of the import.
#[derive(Debug, Deserialize)]
pub(super) struct ImportQuery {
    mode: Option<String>,
    datum: Option<String>,
}

/// What to do with a file that has bad rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Mode {
    /// Import nothing.
    All,
    /// Import the good rows.
    Good,
}

/// The answer: what was imported and every bad row.
#[derive(Debug, Serialize)]
struct ImportReport {
    mode: Mode,
    /// The encoding the file was read in (`UTF-8`, `gb18030`…; empty when unreadable).
    encoding: &'static str,
    /// Data rows in the file (blank rows not counted).
    rows: usize,
    /// New customers.
    imported: usize,
    /// Existing customers given new values.
    updated: usize,
    /// Existing customers that already had the row's values.
    unchanged: usize,
    bad_rows: Vec<BadRow>,
}

/// The 422 answer: the API's error and the report beside it.
#[derive(Debug, Serialize)]
struct Rejected {
    error: ErrorDetail,
    #[serde(flatten)]
    report: ImportReport,
}

fn rejected(message: String, report: ImportReport) -> Response {
    let body = Rejected { error: ErrorDetail { code: ErrorCode::InvalidRequest, message }, report };
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

/// The `charset` parameter of the content type, if any.
fn charset(headers: &HeaderMap) -> Option<&str> {
    let content_type = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim().eq_ignore_ascii_case("charset").then(|| value.trim().trim_matches('"'))
    })
}

fn mode(query: &ImportQuery) -> ApiResult<Mode> {
    match query.mode.as_deref().map(str::trim) {
        None | Some("" | "all") => Ok(Mode::All),
        Some("good") => Ok(Mode::Good),
        Some(other) => Err(ApiError::invalid(format!("mode {other:?} is not all or good"))),
    }
}

fn datum(query: &ImportQuery) -> ApiResult<Datum> {
    match query.datum.as_deref().map(str::trim) {
        None | Some("") => Ok(Datum::Wgs84),
        Some(text) => customer_csv::parse_datum(text)
            .ok_or_else(|| ApiError::invalid(format!("datum {text:?} is not wgs84, gcj02 or bd09"))),
    }
}

pub(super) async fn import(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<ImportQuery>,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> ApiResult<Response> {
    if !caller.role.can_dispatch() {
        return Err(ApiError::forbidden(format!("role {} may not import customers", caller.role.as_str())));
    }
    let (mode, datum) = (mode(&query)?, datum(&query)?);
    let org_id = caller.org_id;
    // Owners only among the users the importer may read: a manager fills their own team.
    let users: Vec<_> =
        state.storage.users(org_id).await?.into_iter().filter(|u| caller.may_read(u)).collect();
    let options = ParseOptions { charset: charset(&headers), datum, users: &users };
    let mut report = ImportReport {
        mode,
        encoding: "",
        rows: 0,
        imported: 0,
        updated: 0,
        unchanged: 0,
        bad_rows: Vec::new(),
    };
    let parsed = match customer_csv::parse(&body, &options) {
        Ok(parsed) => parsed,
        Err(e) => {
            tracing::info!(org = %org_id, bytes = body.len(), error = %e, "customer import refused");
            report.bad_rows = e.bad_rows();
            return Ok(rejected(format!("{e}; nothing imported"), report));
        }
    };
    report.encoding = parsed.encoding;
    report.rows = parsed.row_count;
    let customers = state.storage.customers(org_id).await?;
    let codes = state.storage.customer_codes(org_id).await?;
    let (planned, more_bad) = customer_csv::plan(parsed.rows, &customers, &codes);
    report.bad_rows = parsed.bad_rows;
    report.bad_rows.extend(more_bad);
    report.bad_rows.sort_by_key(|b| b.line);
    let bad_lines = {
        let mut lines: Vec<u64> = report.bad_rows.iter().map(|b| b.line).collect();
        lines.dedup();
        lines.len()
    };
    if mode == Mode::All && bad_lines > 0 {
        tracing::info!(org = %org_id, rows = report.rows, bad_rows = bad_lines, "customer import refused: bad rows");
        return Ok(rejected(format!("{bad_lines} bad row(s); nothing imported"), report));
    }
    let mut batch = Vec::new();
    for item in planned {
        match item.change {
            Change::Created => report.imported += 1,
            Change::Updated => report.updated += 1,
            Change::Unchanged => {
                report.unchanged += 1;
                continue;
            }
        }
        batch.push(ImportedCustomer { customer: item.customer, code: item.code });
    }
    if !batch.is_empty() {
        state.storage.import_customers(org_id, batch).await?;
    }
    tracing::info!(
        org = %org_id,
        ?mode,
        rows = report.rows,
        imported = report.imported,
        updated = report.updated,
        unchanged = report.unchanged,
        bad_rows = bad_lines,
        "customers imported"
    );
    let detail = format!("imported {}, updated {}", report.imported, report.updated);
    record(&state, &caller, AuditAction::CustomersImported, org_id, detail).await?;
    Ok((StatusCode::OK, Json(report)).into_response())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn the_charset_of_the_content_type_is_found_in_any_case_and_quoting() {
        let mut headers = HeaderMap::new();
        assert_eq!(charset(&headers), None);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/csv; Charset=\"GBK\""));
        assert_eq!(charset(&headers), Some("GBK"));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/csv"));
        assert_eq!(charset(&headers), None);
    }

    #[test]
    fn an_unknown_mode_or_datum_is_refused() {
        let query = |mode: Option<&str>, datum: Option<&str>| ImportQuery {
            mode: mode.map(str::to_owned),
            datum: datum.map(str::to_owned),
        };
        assert_eq!(mode(&query(None, None)), Ok(Mode::All));
        assert_eq!(mode(&query(Some("good"), None)), Ok(Mode::Good));
        assert!(mode(&query(Some("some"), None)).is_err());
        assert_eq!(datum(&query(None, Some("bd09"))), Ok(Datum::Bd09));
        assert!(datum(&query(None, Some("utm"))).is_err());
    }
}
