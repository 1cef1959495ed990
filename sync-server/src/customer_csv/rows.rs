//! One data row: [`RowReader`] checks each cell of a record and makes an [`ImportRow`] of it,
//! collecting every problem as a [`BadRow`].

use fieldkit_domain::geo::{Bd09Point, Datum, Gcj02Point, MapProvider, bd09_to_wgs84, gcj02_to_wgs84};
use fieldkit_domain::ids::UserId;
use fieldkit_domain::model::{Grade, Role, WgsPoint};

use super::columns::Column;
use super::owners::Owners;
use super::{BadRow, ImportRow, MAX_RADIUS_M, parse_datum};

const MAX_NAME_CHARS: usize = 200;
const MAX_ADDRESS_CHARS: usize = 500;
const MAX_CODE_CHARS: usize = 64;
const MAX_TAG_CHARS: usize = 50;
const MAX_TAGS: usize = 20;

/// Reads one row's cells, collecting its problems.
pub(super) struct RowReader<'r> {
    pub(super) line: u64,
    pub(super) record: &'r csv::StringRecord,
    pub(super) columns: &'r [Option<Column>],
    pub(super) bad: Vec<BadRow>,
}

impl<'r> RowReader<'r> {
    /// The trimmed cell of `column`: `None` when the file has no such column, `Some("")`
    /// when the row leaves it empty (or stops before it).
    fn cell(&self, column: Column) -> Option<&'r str> {
        let at = self.columns.iter().position(|c| *c == Some(column))?;
        Some(self.record.get(at).map_or("", str::trim))
    }

    fn fail(&mut self, column: Column, value: Option<&str>, message: impl Into<String>) {
        self.bad.push(BadRow::new(self.line, column.name(), value, message));
    }

    /// Reports values under unnamed columns or past the last one.
    pub(super) fn past_last_column(&mut self) {
        for (i, value) in self.record.iter().enumerate() {
            let named = self.columns.get(i).copied().flatten().is_some();
            if !named && !value.trim().is_empty() {
                let message = if i < self.columns.len() {
                    "value under a column with no name"
                } else {
                    "value past the last column of the header"
                };
                self.bad.push(BadRow::new(
                    self.line,
                    format!("column {}", i + 1),
                    Some(value.trim()),
                    message,
                ));
            }
        }
    }

    /// The row, if every cell is good (its problems are in `self.bad` either way).
    pub(super) fn read(&mut self, default_datum: Datum, owners: &Owners<'_>) -> Option<ImportRow> {
        let code = self.code();
        let name = self.name();
        let point = self.point(default_datum);
        let grade = self.grade();
        let address = self.address();
        let tags = self.tags();
        let radius = self.radius();
        let owner = self.owner(owners);
        Some(ImportRow {
            line: self.line,
            code: code?,
            name: name?,
            point: point?,
            grade: grade?,
            address: address?,
            tags: tags?,
            geofence_radius_m: radius?,
            owner_id: owner?,
        })
    }

    fn code(&mut self) -> Option<Option<String>> {
        match self.cell(Column::Code) {
            None | Some("") => Some(None),
            Some(code) if code.chars().count() > MAX_CODE_CHARS => {
                self.fail(
                    Column::Code,
                    Some(code),
                    format!("code is longer than {MAX_CODE_CHARS} characters"),
                );
                None
            }
            Some(code) => Some(Some(code.to_owned())),
        }
    }

    fn name(&mut self) -> Option<String> {
        match self.cell(Column::Name).unwrap_or_default() {
            "" => {
                self.fail(Column::Name, None, "name must not be empty");
                None
            }
            name if name.chars().count() > MAX_NAME_CHARS => {
                self.fail(
                    Column::Name,
                    Some(name),
                    format!("name is longer than {MAX_NAME_CHARS} characters"),
                );
                None
            }
            name => Some(name.to_owned()),
        }
    }

    fn degrees(&mut self, column: Column, limit: f64) -> Option<f64> {
        let text = self.cell(column).unwrap_or_default();
        let what = if column == Column::Lat { "latitude" } else { "longitude" };
        if text.is_empty() {
            self.fail(column, None, format!("{what} must not be empty"));
            return None;
        }
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() && (-limit..=limit).contains(&v) => Some(v),
            Ok(v) if v.is_finite() => {
                self.fail(column, Some(text), format!("{what} {v} is off the globe (-{limit}..={limit})"));
                None
            }
            _ => {
                self.fail(column, Some(text), format!("{what} is not a number of degrees"));
                None
            }
        }
    }

    fn point(&mut self, default_datum: Datum) -> Option<WgsPoint> {
        let lat = self.degrees(Column::Lat, 90.0);
        let lng = self.degrees(Column::Lng, 180.0);
        let datum = match self.cell(Column::Datum) {
            None | Some("") => Some(default_datum),
            Some(text) => {
                let datum = parse_datum(text);
                if datum.is_none() {
                    self.fail(Column::Datum, Some(text), "datum must be wgs84, gcj02 or bd09");
                }
                datum
            }
        };
        let (lat, lng, datum) = (lat?, lng?, datum?);
        // In range, so every constructor below succeeds; the error path is kept all the same.
        let converted = match datum {
            Datum::Wgs84 => WgsPoint::new(lat, lng),
            Datum::Gcj02 => Gcj02Point::new(lat, lng)
                .map(|p| gcj02_to_wgs84(p, MapProvider::Amap.default_shift_regions())),
            Datum::Bd09 => {
                Bd09Point::new(lat, lng).map(|p| bd09_to_wgs84(p, MapProvider::Baidu.default_shift_regions()))
            }
        };
        match converted {
            Ok(point) => Some(point),
            Err(e) => {
                self.fail(Column::Lat, None, e.to_string().to_lowercase());
                None
            }
        }
    }

    fn grade(&mut self) -> Option<Grade> {
        match self.cell(Column::Grade).unwrap_or_default() {
            "A" | "a" => Some(Grade::A),
            "B" | "b" => Some(Grade::B),
            "C" | "c" => Some(Grade::C),
            "" => {
                self.fail(Column::Grade, None, "grade must not be empty; it is a, b or c");
                None
            }
            other => {
                self.fail(Column::Grade, Some(other), "grade must be a, b or c");
                None
            }
        }
    }

    fn address(&mut self) -> Option<Option<String>> {
        match self.cell(Column::Address) {
            None => Some(None),
            Some(address) if address.chars().count() > MAX_ADDRESS_CHARS => {
                let message = format!("address is longer than {MAX_ADDRESS_CHARS} characters");
                self.fail(Column::Address, Some(address), message);
                None
            }
            Some(address) => Some(Some(address.to_owned())),
        }
    }

    fn tags(&mut self) -> Option<Option<Vec<String>>> {
        let Some(text) = self.cell(Column::Tags) else { return Some(None) };
        let mut tags: Vec<String> = Vec::new();
        for tag in text.split([';', '；']).map(str::trim).filter(|t| !t.is_empty()) {
            if tag.chars().count() > MAX_TAG_CHARS {
                self.fail(
                    Column::Tags,
                    Some(tag),
                    format!("a tag is longer than {MAX_TAG_CHARS} characters"),
                );
                return None;
            }
            if !tags.iter().any(|t| t == tag) {
                tags.push(tag.to_owned());
            }
        }
        if tags.len() > MAX_TAGS {
            self.fail(Column::Tags, Some(text), format!("more than {MAX_TAGS} tags"));
            return None;
        }
        Some(Some(tags))
    }

    fn radius(&mut self) -> Option<Option<Option<u32>>> {
        match self.cell(Column::GeofenceRadius) {
            None => Some(None),
            Some("") => Some(Some(None)),
            Some(text) => match text.parse::<u32>() {
                Ok(r) if (1..=MAX_RADIUS_M).contains(&r) => Some(Some(Some(r))),
                _ => {
                    let message =
                        format!("geofence radius must be a whole number of metres, 1..={MAX_RADIUS_M}");
                    self.fail(Column::GeofenceRadius, Some(text), message);
                    None
                }
            },
        }
    }

    fn owner(&mut self, owners: &Owners<'_>) -> Option<Option<Option<UserId>>> {
        match self.cell(Column::Owner) {
            None => Some(None),
            Some("") => Some(Some(None)),
            Some(username) => match owners.find(username) {
                Some(user) if user.role == Role::Rep => Some(Some(Some(user.id))),
                Some(user) => {
                    let message = format!("owner {username} is a {}, not a rep", user.role.as_str());
                    self.fail(Column::Owner, Some(username), message);
                    None
                }
                None => {
                    self.fail(
                        Column::Owner,
                        Some(username),
                        format!("owner {username} is not a user in your data scope"),
                    );
                    None
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use fieldkit_domain::geo::{Datum, MapProvider, gcj02_to_bd09, haversine_m, wgs84_to_gcj02};
    use fieldkit_domain::model::{Role, WgsPoint};

    use crate::customer_csv::tests::{parse_with, user};
    use crate::customer_csv::{ParseOptions, parse};

    const HEADER: &str = "code,name,lat,lng,grade,tags,geofence_radius_m,owner,address\n";

    #[test]
    fn every_problem_of_every_bad_row_is_reported_with_its_line_and_the_good_rows_are_kept()
    -> anyhow::Result<()> {
        let users = [user("rep1", Role::Rep), user("boss", Role::Manager)];
        let file = format!(
            "{HEADER}\
             K1,Good Shop,31.2,121.4,A,,,rep1,\n\
             K2,,91,121.4,D,,0,ghost,\n\
             ,,,,,,,,\n\
             K1,Dup Code,31.3,121.5,B,,,,\n\
             K4,\"Multi\nLine\",31.4,121.6,C,,abc,boss,\n\
             K5,Extra,31.5,121.7,B,,,,,surplus\n\
             K6,Late,31.6,121.8,B,,5000,,\n"
        );
        let parsed = parse_with(file.as_bytes(), &users)?;
        let lines: Vec<u64> = parsed.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 9], "a row spanning two lines counts both");
        let bad: Vec<(u64, &str, Option<&str>)> =
            parsed.bad_rows.iter().map(|b| (b.line, b.column.as_str(), b.value.as_deref())).collect();
        assert_eq!(
            bad,
            [
                (3, "name", None),
                (3, "lat", Some("91")),
                (3, "grade", Some("D")),
                (3, "geofence_radius_m", Some("0")),
                (3, "owner", Some("ghost")),
                (5, "code", Some("K1")),
                (6, "geofence_radius_m", Some("abc")),
                (6, "owner", Some("boss")),
                (8, "column 10", Some("surplus")),
            ]
        );
        assert_eq!(parsed.row_count, 6, "the blank line is not a row");
        assert_eq!(parsed.bad_rows[5].message, "code repeats line 2");
        assert_eq!(parsed.bad_rows[7].message, "owner boss is a manager, not a rep");
        Ok(())
    }

    #[test]
    fn gcj02_and_bd09_coordinates_are_stored_in_wgs84() -> anyhow::Result<()> {
        let wgs = WgsPoint::new(31.2304, 121.4737)?;
        let gcj = wgs84_to_gcj02(wgs, MapProvider::Amap.default_shift_regions());
        let bd = gcj02_to_bd09(gcj);
        let file = format!(
            "name,lat,lng,grade,datum\nA,{},{},A,GCJ-02\nB,{},{},A,bd09\nC,{},{},A,\n",
            gcj.lat(),
            gcj.lng(),
            bd.lat(),
            bd.lng(),
            gcj.lat(),
            gcj.lng()
        );
        let as_gcj =
            parse(file.as_bytes(), &ParseOptions { charset: None, datum: Datum::Gcj02, users: &[] })?;
        assert_eq!(as_gcj.bad_rows, []);
        for row in &as_gcj.rows {
            assert!(
                haversine_m(row.point, wgs) < 0.01,
                "line {} is {} m off",
                row.line,
                haversine_m(row.point, wgs)
            );
        }
        // Read as WGS-84, the Amap numbers land hundreds of metres away.
        let as_wgs = parse_with(file.as_bytes(), &[])?;
        assert!(haversine_m(as_wgs.rows[2].point, wgs) > 100.0);
        let bad = parse_with(b"name,lat,lng,grade,datum\nA,1,2,A,mars\n", &[])?;
        assert_eq!(bad.bad_rows[0].column, "datum");
        Ok(())
    }
}
