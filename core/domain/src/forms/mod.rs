//! Forms: checking a template an admin designed, and validating a response against the
//! template version it was filled in. The same code runs on the phone (as the rep types)
//! and on the server (on receipt), so both refuse the same things with the same words.

mod design;
mod validate;
mod visibility;

pub use design::{TemplateError, check_template};
pub use validate::{FieldError, Rule, validate_response};
pub use visibility::visible_fields;

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::{Value, json};

    use super::*;
    use crate::ids::FormTemplateId;
    use crate::model::{Condition, ConditionTest, FieldKind, FieldRules, FormField, FormTemplate};

    fn field(key: &str, kind: FieldKind, required: bool) -> FormField {
        FormField {
            key: key.into(),
            label: key.into(),
            kind,
            required,
            rules: FieldRules::default(),
            show_if: None,
        }
    }

    fn template(fields: Vec<FormField>) -> FormTemplate {
        FormTemplate { id: FormTemplateId::new(), version: 3, title: "Store check".into(), fields }
    }

    fn values(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
    }

    fn rules_of(result: Result<(), Vec<FieldError>>) -> Vec<(String, Rule)> {
        result.err().unwrap_or_default().into_iter().map(|e| (e.field, e.rule)).collect()
    }

    fn store_check() -> FormTemplate {
        let mut shelf = field("shelf_share", FieldKind::Number, true);
        shelf.rules = FieldRules { min: Some(0.0), max: Some(100.0), ..FieldRules::default() };
        let mut code = field("code", FieldKind::Text, false);
        code.rules = FieldRules {
            pattern: Some("[A-Z]{2}-\\d{4}".into()),
            max_length: Some(7),
            ..FieldRules::default()
        };
        let mut why = field("why_out", FieldKind::Text, true);
        why.show_if =
            Some(Condition { field: "in_stock".into(), test: ConditionTest::Equals { value: json!(false) } });
        let mut photos_of_gap = field("gap_photos", FieldKind::Photos { min: 1, max: 3 }, true);
        photos_of_gap.show_if = Some(Condition { field: "why_out".into(), test: ConditionTest::IsSet });
        template(vec![
            field("header", FieldKind::Section, false),
            shelf,
            field("in_stock", FieldKind::YesNo, true),
            why,
            photos_of_gap,
            field(
                "competitors",
                FieldKind::MultiChoice { choices: vec!["康师傅".into(), "统一".into()] },
                false,
            ),
            field("mood", FieldKind::Rating { max: 5 }, false),
            code,
            field("count", FieldKind::ProductTable { min_rows: 1, max_rows: 50 }, false),
        ])
    }

    #[test]
    fn a_complete_response_passes() {
        let t = store_check();
        let v = values(&[
            ("shelf_share", json!(35.5)),
            ("in_stock", json!(true)),
            ("competitors", json!(["统一"])),
            ("mood", json!(4)),
            ("code", json!("SH-0042")),
            ("count", json!([{ "product_id": "01950000-0000-7000-8000-000000000001", "quantity": 12 }])),
        ]);
        assert_eq!(validate_response(&t, &v), Ok(()));
        assert!(check_template(&t).is_empty());
    }

    #[test]
    fn every_rule_broken_is_reported_with_its_field() {
        let t = store_check();
        let v = values(&[
            ("shelf_share", json!(140)),
            ("in_stock", json!("yes")),
            ("competitors", json!(["统一", "统一", "百事"])),
            ("mood", json!(9)),
            ("code", json!("sh-42")),
            ("count", json!([{ "product_id": "nope", "quantity": -1 }])),
            ("extra", json!(1)),
        ]);
        let broken = rules_of(validate_response(&t, &v));
        assert!(broken.contains(&("extra".into(), Rule::NotAField)));
        assert!(broken.contains(&("shelf_share".into(), Rule::AboveMax(100.0))));
        assert!(broken.contains(&("in_stock".into(), Rule::WrongType("yes or no"))));
        assert!(broken.contains(&("competitors".into(), Rule::DuplicateChoice("统一".into()))));
        assert!(broken.contains(&("competitors".into(), Rule::NotAChoice("百事".into()))));
        assert!(broken.contains(&("mood".into(), Rule::AboveMax(5.0))));
        assert!(broken.contains(&("code".into(), Rule::Pattern)));
        assert!(matches!(broken.iter().find(|(k, _)| k == "count"), Some((_, Rule::WrongType(_)))));
        let message = FieldError { field: "mood".into(), rule: Rule::AboveMax(5.0) }.to_string();
        assert_eq!(message, "field \"mood\": must be at most 5");
    }

    #[test]
    fn a_pattern_can_ask_for_chinese_characters() {
        let mut name = field("contact", FieldKind::Text, true);
        name.rules.pattern = Some("\\p{Han}{2,4}".into());
        let t = template(vec![name]);
        assert!(check_template(&t).is_empty());
        assert_eq!(validate_response(&t, &values(&[("contact", json!("王小明"))])), Ok(()));
        let broken = rules_of(validate_response(&t, &values(&[("contact", json!("Wang"))])));
        assert_eq!(broken, vec![("contact".to_owned(), Rule::Pattern)]);
    }

    #[test]
    fn show_if_chains_decide_what_is_required() {
        let t = store_check();
        // In stock: the "why" and its photos are hidden, so not required.
        let ok = values(&[("shelf_share", json!(10)), ("in_stock", json!(true))]);
        assert_eq!(validate_response(&t, &ok), Ok(()));
        // Out of stock: "why" is required; once given, its photos are required too.
        let out = values(&[("shelf_share", json!(10)), ("in_stock", json!(false))]);
        assert_eq!(rules_of(validate_response(&t, &out)), vec![("why_out".into(), Rule::Required)]);
        let why =
            values(&[("shelf_share", json!(10)), ("in_stock", json!(false)), ("why_out", json!("断货"))]);
        assert_eq!(rules_of(validate_response(&t, &why)), vec![("gap_photos".into(), Rule::Required)]);
        let mut with_photos = why.clone();
        with_photos.insert("gap_photos".into(), json!(["ab".repeat(32)]));
        assert_eq!(validate_response(&t, &with_photos), Ok(()));
    }

    #[test]
    fn a_response_to_version_3_stays_valid_when_version_4_adds_a_required_field() {
        let v3 = store_check();
        let mut v4 = v3.clone();
        v4.version = 4;
        v4.fields.push(field("promo_seen", FieldKind::YesNo, true));
        let response = values(&[("shelf_share", json!(10)), ("in_stock", json!(true))]);
        assert_eq!(validate_response(&v3, &response), Ok(()));
        assert_eq!(rules_of(validate_response(&v4, &response)), vec![("promo_seen".into(), Rule::Required)]);
    }

    #[test]
    fn broken_designs_are_refused_with_the_field_named() {
        let mut dangling = field("b", FieldKind::Text, false);
        dangling.show_if = Some(Condition { field: "nope".into(), test: ConditionTest::IsSet });
        let mut a = field("a", FieldKind::Text, false);
        a.show_if = Some(Condition { field: "c".into(), test: ConditionTest::IsSet });
        let mut c = field("c", FieldKind::Text, false);
        c.show_if = Some(Condition { field: "a".into(), test: ConditionTest::IsSet });
        let mut bad_pattern = field("p", FieldKind::Text, false);
        bad_pattern.rules.pattern = Some("([".into());
        let mut inverted = field("n", FieldKind::Number, false);
        inverted.rules = FieldRules { min: Some(5.0), max: Some(1.0), ..FieldRules::default() };
        let t = template(vec![
            dangling,
            a,
            c,
            field("choice", FieldKind::SingleChoice { choices: vec![] }, true),
            bad_pattern,
            inverted,
            field("Bad Key", FieldKind::Text, false),
            field("p", FieldKind::Text, false),
        ]);
        let errors = check_template(&t);
        assert!(
            errors.contains(&TemplateError::UnknownConditionField {
                field: "b".into(),
                missing: "nope".into()
            })
        );
        assert!(errors.contains(&TemplateError::ConditionCycle("a".into())));
        assert!(errors.contains(&TemplateError::ConditionCycle("c".into())));
        assert!(errors.contains(&TemplateError::BadChoices("choice".into())));
        assert!(errors.contains(&TemplateError::BadPattern("p".into())));
        assert!(errors.contains(&TemplateError::DuplicateKey("p".into())));
        assert!(errors.contains(&TemplateError::BadKey("Bad Key".into())));
        assert!(errors.iter().any(|e| matches!(e, TemplateError::BadLimits { field, .. } if field == "n")));
        // Fields in a cycle are never shown, rather than looping.
        assert!(!visible_fields(&t, &BTreeMap::new()).contains("a"));
    }
}
