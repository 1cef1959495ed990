//! Matching checked rows to the customers the server already holds ([`plan`]): by code,
//! else by name and place, else a new customer (the rules are in the docs of
//! [`customer_csv`](super)).

use std::collections::{HashMap, HashSet};

use fieldkit_domain::geo::haversine_m;
use fieldkit_domain::ids::CustomerId;
use fieldkit_domain::model::{Customer, Place, WgsPoint};

use super::{BadRow, ImportRow, SAME_PLACE_M};

impl ImportRow {
    /// The customer this row makes of `base` (or of nothing, for a new customer).
    fn apply(&self, base: Option<&Customer>) -> Customer {
        let address = match (&self.address, base) {
            (Some(address), _) => address.clone(),
            (None, Some(base)) => base.place.address.clone(),
            (None, None) => String::new(),
        };
        Customer {
            id: base.map_or_else(CustomerId::new, |b| b.id),
            name: self.name.clone(),
            place: Place { point: self.point, address },
            grade: self.grade,
            tags: self.tags.clone().or_else(|| base.map(|b| b.tags.clone())).unwrap_or_default(),
            geofence_radius_m: self
                .geofence_radius_m
                .unwrap_or_else(|| base.and_then(|b| b.geofence_radius_m)),
            owner_id: self.owner_id.unwrap_or_else(|| base.and_then(|b| b.owner_id)),
        }
    }
}

/// What an import does to one customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A new customer.
    Created,
    /// An existing customer takes new values (or its code).
    Updated,
    /// An existing customer already has exactly these values: nothing to write.
    Unchanged,
}

/// A row matched: the customer to store and what that changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// The row's line.
    pub line: u64,
    /// The customer as it must be stored.
    pub customer: Customer,
    /// The row's code, to remember for the customer.
    pub code: Option<String>,
    /// What storing it changes.
    pub change: Change,
}

/// Names compared for matching: case and whitespace ignored (as proposals' duplicates are).
fn normalized(name: &str) -> String {
    name.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect()
}

/// Matches valid rows to the org's live `customers` and their `codes` (see [the module docs](super));
/// a row that repeats another row of the file (same name and place, no code) or that
/// matches a customer an earlier row already took is reported instead.
#[must_use]
pub fn plan(
    rows: Vec<ImportRow>,
    customers: &[Customer],
    codes: &HashMap<String, CustomerId>,
) -> (Vec<Planned>, Vec<BadRow>) {
    let by_id: HashMap<CustomerId, &Customer> = customers.iter().map(|c| (c.id, c)).collect();
    let coded: HashSet<CustomerId> = codes.values().copied().collect();
    let mut by_name: HashMap<String, Vec<&Customer>> = HashMap::new();
    for customer in customers {
        by_name.entry(normalized(&customer.name)).or_default().push(customer);
    }
    let nearest_same_name = |row: &ImportRow| -> Option<&Customer> {
        by_name
            .get(&normalized(&row.name))?
            .iter()
            .copied()
            .filter(|c| !coded.contains(&c.id))
            .map(|c| (haversine_m(c.place.point, row.point), c))
            .filter(|(d, _)| *d <= SAME_PLACE_M)
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, c)| c)
    };
    let mut planned = Vec::with_capacity(rows.len());
    let mut bad = Vec::new();
    let mut taken: HashMap<CustomerId, u64> = HashMap::new();
    let mut in_file: HashMap<String, Vec<(WgsPoint, u64)>> = HashMap::new();
    for row in rows {
        let key = normalized(&row.name);
        if row.code.is_none()
            && let Some((_, first)) = in_file
                .get(&key)
                .and_then(|seen| seen.iter().find(|(p, _)| haversine_m(*p, row.point) <= SAME_PLACE_M))
        {
            let message = format!("same name and place (within {SAME_PLACE_M} m) as line {first}");
            bad.push(BadRow::new(row.line, "name", Some(&row.name), message));
            continue;
        }
        let by_code =
            row.code.as_ref().and_then(|code| codes.get(code)).and_then(|id| by_id.get(id).copied());
        let target = by_code.or_else(|| nearest_same_name(&row));
        if let Some(target) = target {
            if let Some(first) = taken.get(&target.id) {
                let (column, value) = match &row.code {
                    Some(code) => ("code", code.as_str()),
                    None => ("name", row.name.as_str()),
                };
                let message = format!("matches the same existing customer as line {first}");
                bad.push(BadRow::new(row.line, column, Some(value), message));
                continue;
            }
            taken.insert(target.id, row.line);
        }
        in_file.entry(key).or_default().push((row.point, row.line));
        let customer = row.apply(target);
        let change = match target {
            None => Change::Created,
            Some(before) => {
                let code_known = row.code.as_ref().is_none_or(|code| codes.get(code) == Some(&before.id));
                if *before == customer && code_known { Change::Unchanged } else { Change::Updated }
            }
        };
        planned.push(Planned { line: row.line, customer, code: row.code, change });
    }
    (planned, bad)
}

#[cfg(test)]
mod tests {
    use fieldkit_domain::ids::UserId;
    use fieldkit_domain::model::Grade;

    use super::*;

    fn row(line: u64, code: Option<&str>, name: &str, lat: f64, lng: f64) -> anyhow::Result<ImportRow> {
        Ok(ImportRow {
            line,
            code: code.map(str::to_owned),
            name: name.into(),
            point: WgsPoint::new(lat, lng)?,
            grade: Grade::B,
            address: None,
            tags: None,
            geofence_radius_m: None,
            owner_id: None,
        })
    }

    #[test]
    fn rows_match_customers_by_code_then_by_name_and_place() -> anyhow::Result<()> {
        let rep = UserId::new();
        let by_code = row(2, Some("K1"), "Renamed Shop", 31.2, 121.4)?.apply(None);
        let by_name = Customer {
            owner_id: Some(rep),
            tags: vec!["vip".into()],
            ..row(3, None, "Corner  Shop", 31.3, 121.5)?.apply(None)
        };
        let far = row(4, None, "Far Shop", 31.4, 121.6)?.apply(None);
        let codes = HashMap::from([("K1".to_owned(), by_code.id)]);
        let customers = [by_code.clone(), by_name.clone(), far.clone()];
        let rows = vec![
            // Same code: the same customer, with a new name.
            row(2, Some("K1"), "New Name", 31.2, 121.4)?,
            // No code: same name (case and spaces aside) 20 m away; unchanged, owner kept.
            row(3, None, "CORNER SHOP", 31.300_18, 121.5)?,
            // Same name 1 km away: a new customer.
            row(4, None, "Far Shop", 31.409, 121.6)?,
            // The same name and place again in the file.
            row(5, None, "far shop", 31.409, 121.6)?,
            // A new code on a customer with no code yet: the customer takes the code.
            row(6, Some("K9"), "Far Shop", 31.4, 121.6)?,
        ];
        let (planned, bad) = plan(rows, &customers, &codes);
        let got: Vec<(u64, Change, CustomerId)> =
            planned.iter().map(|p| (p.line, p.change, p.customer.id)).collect();
        assert_eq!(got[0], (2, Change::Updated, by_code.id));
        assert_eq!(planned[0].customer.name, "New Name");
        assert_eq!((got[1].1, got[1].2), (Change::Updated, by_name.id), "the name's spelling changed");
        assert_eq!(planned[1].customer.owner_id, Some(rep), "a column missing from the file keeps its value");
        assert_eq!(planned[1].customer.tags, ["vip"]);
        assert_eq!(got[2].1, Change::Created);
        assert_eq!((got[3].0, got[3].1, got[3].2), (6, Change::Updated, far.id));
        assert_eq!(bad.len(), 1);
        assert_eq!((bad[0].line, bad[0].column.as_str()), (5, "name"));

        // The same rows once stored: nothing changes.
        let stored: Vec<Customer> = planned.iter().map(|p| p.customer.clone()).collect();
        let codes: HashMap<String, CustomerId> =
            planned.iter().filter_map(|p| Some((p.code.clone()?, p.customer.id))).collect();
        let again =
            vec![row(2, Some("K1"), "New Name", 31.2, 121.4)?, row(6, Some("K9"), "Far Shop", 31.4, 121.6)?];
        let (planned, bad) = plan(again, &stored, &codes);
        assert!(bad.is_empty());
        assert!(planned.iter().all(|p| p.change == Change::Unchanged), "{planned:?}");
        Ok(())
    }

    #[test]
    fn two_rows_matching_one_customer_report_the_second() -> anyhow::Result<()> {
        let shop = row(2, None, "Shop", 31.2, 121.4)?.apply(None);
        let codes = HashMap::from([("K1".to_owned(), shop.id)]);
        let rows = vec![row(2, Some("K1"), "Shop", 31.2, 121.4)?, row(3, Some("K1X"), "Other", 31.2, 121.4)?];
        let (planned, bad) = plan(rows, std::slice::from_ref(&shop), &codes);
        assert_eq!(planned.len(), 2, "a coded customer is never taken by name: K1X is new");
        assert_eq!(planned[1].change, Change::Created);
        assert!(bad.is_empty());
        let rows = vec![row(2, Some("K1"), "Shop", 31.2, 121.4)?, row(3, None, "Shop", 31.2, 121.4)?];
        let (_, bad) = plan(rows, std::slice::from_ref(&shop), &HashMap::new());
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].line, 3);
        Ok(())
    }
}
