//! The server's customer import (`fieldkit_server::customer_csv`): an uploaded file's bytes
//! (UTF-8 with or without a BOM, GBK/GB18030, or a declared charset) decoded, split into
//! rows, each row checked, then matched against the customers a first import created.
//!
//! Properties: parsing is deterministic; lines reported are within the file and in order;
//! no two good rows share a code; and, as the module promises, importing the same file a
//! second time creates nothing and changes nothing.

#![no_main]

use std::collections::HashMap;

use fieldkit_domain::geo::Datum;
use fieldkit_domain::model::User;
use fieldkit_server::customer_csv::{Change, ParseOptions, decode, parse, plan};
use libfuzzer_sys::fuzz_target;

fn users() -> Vec<User> {
    let user = |id: u128, name: &str, role: &str| {
        serde_json::from_value(serde_json::json!({
            "id": uuid::Uuid::from_u128(id),
            "org_id": uuid::Uuid::from_u128(1),
            "username": name,
            "display_name": name,
            "role": role,
            "team_id": null,
        }))
        .expect("a valid user")
    };
    vec![user(2, "wang", "rep"), user(3, "li", "rep"), user(4, "boss", "manager")]
}

fuzz_target!(|data: &[u8]| {
    let users = users();
    for charset in [None, Some("gbk"), Some("utf-8")] {
        let decoded = decode(data, charset);
        assert_eq!(decoded, decode(data, charset), "decoding is not deterministic");
        if charset.is_none()
            && let Ok((text, "UTF-8")) = &decoded
        {
            let body = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
            assert_eq!(text.as_bytes(), body, "utf-8 text changed in decoding");
        }
    }
    for datum in [Datum::Wgs84, Datum::Gcj02] {
        let options = ParseOptions { charset: None, datum, users: &users };
        let parsed = parse(data, &options);
        assert_eq!(parsed, parse(data, &options), "parsing is not deterministic");
        let Ok(parsed) = parsed else { continue };
        let lines = u64::try_from(data.len()).expect("a length fits") + 1;
        for bad in &parsed.bad_rows {
            assert!(
                (2..=lines).contains(&bad.line),
                "a bad row at line {} of a file of {} bytes",
                bad.line,
                data.len()
            );
        }
        assert!(parsed.rows.windows(2).all(|w| w[0].line < w[1].line), "rows out of line order");
        assert!(parsed.rows.len() <= parsed.row_count, "more good rows than rows");
        let mut codes_seen = HashMap::new();
        for row in &parsed.rows {
            assert!((2..=lines).contains(&row.line), "a row at line {}", row.line);
            if let Some(code) = &row.code {
                assert!(
                    codes_seen.insert(code.clone(), row.line).is_none(),
                    "code {code:?} on two good rows"
                );
            }
        }

        // A first import into an empty org, then the same file again.
        let (first, _) = plan(parsed.rows.clone(), &[], &HashMap::new());
        assert!(first.iter().all(|p| p.change == Change::Created), "a first import updates something");
        let customers: Vec<_> = first.iter().map(|p| p.customer.clone()).collect();
        let codes: HashMap<_, _> =
            first.iter().filter_map(|p| p.code.clone().map(|code| (code, p.customer.id))).collect();
        let (second, _) = plan(parsed.rows.clone(), &customers, &codes);
        let first_lines: Vec<u64> = first.iter().map(|p| p.line).collect();
        let second_lines: Vec<u64> = second.iter().map(|p| p.line).collect();
        assert_eq!(first_lines, second_lines, "the second import takes other rows");
        for (again, before) in second.iter().zip(&first) {
            assert_eq!(
                again.change,
                Change::Unchanged,
                "line {}: the same file imported again changes it",
                again.line
            );
            assert_eq!(
                again.customer.id, before.customer.id,
                "line {}: matched another customer",
                again.line
            );
        }
    }
});
