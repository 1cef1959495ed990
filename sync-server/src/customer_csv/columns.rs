//! The header row: the known columns ([`Column`]) and which one each position of the file
//! holds ([`columns`]), refusing unknown, repeated and missing required columns.

use std::collections::HashSet;

use super::{BadRow, FileError, MAX_ECHO_CHARS};

/// A column of the import file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Column {
    Code,
    Name,
    Lat,
    Lng,
    Grade,
    Tags,
    GeofenceRadius,
    Owner,
    Address,
    Datum,
}

impl Column {
    const ALL: [Column; 10] = [
        Column::Code,
        Column::Name,
        Column::Lat,
        Column::Lng,
        Column::Grade,
        Column::Tags,
        Column::GeofenceRadius,
        Column::Owner,
        Column::Address,
        Column::Datum,
    ];
    const REQUIRED: [Column; 4] = [Column::Name, Column::Lat, Column::Lng, Column::Grade];

    pub(super) fn name(self) -> &'static str {
        match self {
            Column::Code => "code",
            Column::Name => "name",
            Column::Lat => "lat",
            Column::Lng => "lng",
            Column::Grade => "grade",
            Column::Tags => "tags",
            Column::GeofenceRadius => "geofence_radius_m",
            Column::Owner => "owner",
            Column::Address => "address",
            Column::Datum => "datum",
        }
    }

    fn parse(header: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name().eq_ignore_ascii_case(header))
    }
}

/// The header's columns by position (`None`: an unnamed column, ignored when empty).
pub(super) fn columns(header: &csv::StringRecord) -> Result<Vec<Option<Column>>, FileError> {
    let mut bad = Vec::new();
    let mut seen = HashSet::new();
    let mut columns = Vec::with_capacity(header.len());
    for (i, name) in header.iter().enumerate() {
        let name = name.trim().trim_start_matches('\u{feff}').trim();
        if name.is_empty() {
            columns.push(None);
            continue;
        }
        match Column::parse(name) {
            Some(column) if !seen.insert(column) => {
                bad.push(BadRow::new(
                    1,
                    column.name(),
                    Some(name),
                    format!("column {} appears twice", column.name()),
                ));
                columns.push(None);
            }
            Some(column) => columns.push(Some(column)),
            None => {
                let known: Vec<&str> = Column::ALL.iter().map(|c| c.name()).collect();
                bad.push(BadRow::new(
                    1,
                    format!("column {}", i + 1),
                    Some(name),
                    format!("unknown column {:?}; the columns are {}", truncate(name), known.join(", ")),
                ));
                columns.push(None);
            }
        }
    }
    for required in Column::REQUIRED {
        if !seen.contains(&required) {
            bad.push(BadRow::new(
                1,
                required.name(),
                None,
                format!("required column {} is missing", required.name()),
            ));
        }
    }
    if bad.is_empty() { Ok(columns) } else { Err(FileError::Header(bad)) }
}

fn truncate(text: &str) -> String {
    text.chars().take(MAX_ECHO_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use crate::customer_csv::FileError;
    use crate::customer_csv::tests::parse_with;

    #[test]
    fn an_unknown_or_repeated_column_or_a_missing_required_one_refuses_the_file_naming_them() {
        let err = parse_with(b"name,lat,lng,phone,name\nA,1,2,555,A\n", &[]);
        let Err(FileError::Header(bad)) = err else { panic!("expected a header error, got {err:?}") };
        let got: Vec<(&str, Option<&str>)> =
            bad.iter().map(|b| (b.column.as_str(), b.value.as_deref())).collect();
        assert_eq!(got, [("column 4", Some("phone")), ("name", Some("name")), ("grade", None)]);
        assert!(bad.iter().all(|b| b.line == 1));
        assert!(bad[0].message.contains("unknown column \"phone\""), "{}", bad[0].message);
    }
}
