//! CSV customer import, without I/O: bytes → text (UTF-8, with or without a BOM, or
//! Excel's Chinese default GBK/GB18030) → rows checked one by one → the customers to create
//! or update, matched against those the server already holds.
//!
//! The file has a header row (line 1) naming its columns in any order, case-insensitively:
//! `name`, `lat`, `lng`, `grade` (required) and `code`, `address`, `tags`,
//! `geofence_radius_m`, `owner`, `datum` (optional). An unknown or repeated column rejects
//! the whole file. A row with a problem is reported with its 1-based line in the file, the
//! column and the offending value; every problem of every row is reported, not just the
//! first. Rows whose cells are all empty (Excel's trailing `,,,,` lines) are skipped.
//!
//! - `lat`, `lng`: decimal degrees in the row's datum (`datum` column, else the import's
//!   default): `wgs84` (GPS, Google), `gcj02` (Amap, Tencent; shifted back as Amap shifts)
//!   or `bd09` (Baidu). Stored in WGS-84.
//! - `grade`: `A`, `B` or `C`. `tags`: separated by `;` or the full-width `；`.
//! - `geofence_radius_m`: a whole number of metres, 1..=[`MAX_RADIUS_M`]; empty: the org's
//!   default. `owner`: the username of a rep of the org; empty: no owner.
//! - `code`: the account's external code (CRM / ERP number); unique within the file.
//!
//! Matching ([`plan`]), so that importing the same file again creates nothing twice:
//! a row with a `code` is the customer that code was imported as before; a row whose code is
//! new, or that has none, is an existing customer with the same name (case and spaces
//! ignored) within [`SAME_PLACE_M`] of the row's point (a customer imported under another
//! code is never taken this way); otherwise it is a new customer. A matched customer takes
//! the row's values; an optional column missing from the file keeps what the customer had,
//! while a present but empty cell clears it.
//!
//! The work is split by concern: `decode` reads the bytes as text and finds the delimiter,
//! `columns` reads the header row, `rows` checks each data row (with `owners` resolving
//! `owner` and `lines` numbering lines), and `matching` ([`plan`]) matches the checked rows
//! to existing customers. [`parse`], here, runs all of it but the matching.

mod columns;
mod decode;
mod lines;
mod matching;
mod owners;
mod rows;

use std::collections::HashMap;

use fieldkit_domain::geo::Datum;
use fieldkit_domain::ids::UserId;
use fieldkit_domain::model::{Grade, User, WgsPoint};
use serde::Serialize;

use self::columns::columns;
pub use self::decode::decode;
use self::decode::delimiter;
use self::lines::Lines;
pub use self::matching::{Change, Planned, plan};
use self::owners::Owners;
use self::rows::RowReader;

/// The most data rows one file may hold.
pub const MAX_ROWS: usize = 20_000;
/// The largest geofence radius accepted, metres.
pub const MAX_RADIUS_M: u32 = 5_000;
/// A row without a known code is an existing customer of the same name within this many
/// metres.
pub const SAME_PLACE_M: f64 = 50.0;
/// Offending values are echoed back cut to this many characters.
const MAX_ECHO_CHARS: usize = 100;

/// One problem in the file: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadRow {
    /// The 1-based line in the file where the row starts (the header is line 1).
    pub line: u64,
    /// The column as named in the header row (lower-case), or `column N` for a value past
    /// the last named column.
    pub column: String,
    /// The offending value (cut to 100 characters), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// What is wrong, lower-case.
    pub message: String,
}

impl BadRow {
    fn new(line: u64, column: impl Into<String>, value: Option<&str>, message: impl Into<String>) -> Self {
        let value = value.map(|v| v.chars().take(MAX_ECHO_CHARS).collect());
        Self { line, column: column.into(), value, message: message.into() }
    }
}

/// Why a whole file is refused (no row of it can be imported).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// The bytes are neither valid UTF-8 nor valid GB18030 (nor the declared charset).
    #[error("the file is not {0} text; save it as csv utf-8 or as the chinese (gbk) csv")]
    NotText(&'static str),
    /// The request declared a charset encoding_rs does not know.
    #[error("charset {0:?} is not known")]
    UnknownCharset(String),
    /// No header row.
    #[error("the file is empty; it needs a header row naming its columns")]
    Empty,
    /// More rows than [`MAX_ROWS`].
    #[error("the file has more than {max} rows; split it")]
    TooManyRows {
        /// The limit.
        max: usize,
    },
    /// The header row names unknown or repeated columns, or misses a required one.
    #[error("the header row has {} problem(s)", .0.len())]
    Header(Vec<BadRow>),
}

impl FileError {
    /// The problems to list beside the error (the header's; none for the others).
    #[must_use]
    pub fn bad_rows(&self) -> Vec<BadRow> {
        match self {
            FileError::Header(rows) => rows.clone(),
            _ => Vec::new(),
        }
    }
}

/// What [`parse`] needs besides the bytes.
#[derive(Debug, Clone, Copy)]
pub struct ParseOptions<'a> {
    /// The `charset` of the request's content type, if it named one.
    pub charset: Option<&'a str>,
    /// The datum of rows without a `datum` value.
    pub datum: Datum,
    /// The users the importer's data scope reaches, to resolve `owner`.
    pub users: &'a [User],
}

/// A valid row, ready to be matched.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRow {
    /// Its line in the file.
    pub line: u64,
    /// The account's external code, if given.
    pub code: Option<String>,
    /// Shop or account name.
    pub name: String,
    /// Where, converted to WGS-84.
    pub point: WgsPoint,
    /// Account grade.
    pub grade: Grade,
    /// Address (`None`: no such column in the file).
    pub address: Option<String>,
    /// Tags (`None`: no such column).
    pub tags: Option<Vec<String>>,
    /// Geofence radius (`None`: no such column; `Some(None)`: the org's default).
    pub geofence_radius_m: Option<Option<u32>>,
    /// Owner (`None`: no such column; `Some(None)`: no owner).
    pub owner_id: Option<Option<UserId>>,
}

/// A decoded and checked file.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedFile {
    /// The valid rows, in file order.
    pub rows: Vec<ImportRow>,
    /// Every problem found, by line.
    pub bad_rows: Vec<BadRow>,
    /// How many data rows the file has (not counting blank ones).
    pub row_count: usize,
    /// The encoding the bytes were read in (`UTF-8`, `gb18030`, …).
    pub encoding: &'static str,
}

/// Reads the datum named by a `datum` value or query parameter: `wgs84`, `gcj02`, `bd09`
/// (case, `-`, `_` and spaces ignored; `gps`, `amap`, `baidu` accepted too).
#[must_use]
pub fn parse_datum(text: &str) -> Option<Datum> {
    let key: String =
        text.chars().filter(|c| !matches!(c, '-' | '_' | ' ')).flat_map(char::to_lowercase).collect();
    match key.as_str() {
        "wgs84" | "gps" => Some(Datum::Wgs84),
        "gcj02" | "amap" | "gaode" | "tencent" => Some(Datum::Gcj02),
        "bd09" | "bd09ll" | "baidu" => Some(Datum::Bd09),
        _ => None,
    }
}

/// Decodes and checks a file: the rows that are good and every problem of the others.
pub fn parse(bytes: &[u8], options: &ParseOptions<'_>) -> Result<ParsedFile, FileError> {
    let (text, encoding) = decode(bytes, options.charset)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter(&text))
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        Some(Ok(header)) => header,
        Some(Err(e)) => {
            return Err(FileError::Header(vec![BadRow::new(1, "header", None, csv_message(&e))]));
        }
        None => return Err(FileError::Empty),
    };
    let columns = columns(&header)?;
    let owners = Owners::new(options.users);
    let mut parsed = ParsedFile { rows: Vec::new(), bad_rows: Vec::new(), row_count: 0, encoding };
    let mut codes: HashMap<String, u64> = HashMap::new();
    let mut lines = Lines::new(&text);
    for record in records {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = lines.line_of(e.position().map_or(u64::MAX, csv::Position::byte));
                parsed.bad_rows.push(BadRow::new(line, "row", None, csv_message(&e)));
                parsed.row_count += 1;
                continue;
            }
        };
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        parsed.row_count += 1;
        if parsed.row_count > MAX_ROWS {
            return Err(FileError::TooManyRows { max: MAX_ROWS });
        }
        let line = lines.line_of(record.position().map_or(u64::MAX, csv::Position::byte));
        let mut row = RowReader { line, record: &record, columns: &columns, bad: Vec::new() };
        row.past_last_column();
        if let Some(mut good) = row.read(options.datum, &owners) {
            if let Some(code) = &good.code {
                if let Some(first) = codes.get(code) {
                    row.bad.push(BadRow::new(line, "code", Some(code), format!("code repeats line {first}")));
                    good.code = None;
                } else {
                    codes.insert(code.clone(), line);
                }
            }
            if row.bad.is_empty() {
                parsed.rows.push(good);
            }
        }
        parsed.bad_rows.extend(row.bad);
    }
    Ok(parsed)
}

fn csv_message(e: &csv::Error) -> String {
    format!("the row is not valid csv: {e}").to_lowercase()
}

#[cfg(test)]
mod tests {
    use fieldkit_domain::ids::{OrgId, TeamId};
    use fieldkit_domain::model::Role;

    use super::*;

    /// A user built from its JSON (so fields added later with defaults need no change here).
    pub(super) fn user(username: &str, role: Role) -> User {
        serde_json::from_value(serde_json::json!({
            "id": UserId::new(), "org_id": OrgId::new(), "username": username, "display_name": username,
            "role": role, "team_id": TeamId::new()
        }))
        .expect("a user parses from its JSON")
    }

    pub(super) fn parse_with(bytes: &[u8], users: &[User]) -> Result<ParsedFile, FileError> {
        parse(bytes, &ParseOptions { charset: None, datum: Datum::Wgs84, users })
    }

    #[test]
    fn a_utf8_file_with_a_bom_and_any_header_case_reads_every_column() -> anyhow::Result<()> {
        let rep = user("rep1", Role::Rep);
        let file = "\u{feff}Code,NAME,Lat,LNG,Grade,Tags,Geofence_Radius_M,Owner,Address\r\n\
                    K1,全家 便利店,31.2304,121.4737,a,超市；连锁; 超市,80,rep1,\"上海市, 南京东路 1 号\"\r\n";
        let parsed = parse_with(file.as_bytes(), std::slice::from_ref(&rep))?;
        assert_eq!(parsed.bad_rows, []);
        assert_eq!(parsed.encoding, "UTF-8");
        let row = &parsed.rows[0];
        assert_eq!(row.line, 2);
        assert_eq!(row.code.as_deref(), Some("K1"));
        assert_eq!(row.name, "全家 便利店");
        assert_eq!((row.point.lat(), row.point.lng()), (31.2304, 121.4737));
        assert_eq!(row.grade, Grade::A);
        assert_eq!(row.tags, Some(vec!["超市".to_owned(), "连锁".to_owned()]));
        assert_eq!(row.geofence_radius_m, Some(Some(80)));
        assert_eq!(row.owner_id, Some(Some(rep.id)));
        assert_eq!(row.address.as_deref(), Some("上海市, 南京东路 1 号"));
        Ok(())
    }

    #[test]
    fn datum_names_are_read_loosely() {
        assert_eq!(parse_datum("WGS-84"), Some(Datum::Wgs84));
        assert_eq!(parse_datum("gcj_02"), Some(Datum::Gcj02));
        assert_eq!(parse_datum("BD09"), Some(Datum::Bd09));
        assert_eq!(parse_datum("utm"), None);
    }
}
