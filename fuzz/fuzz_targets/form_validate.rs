//! The form validator: a template (as an admin could design it, mistakes included) and a
//! response's values, built from the fuzzer's bytes through `arbitrary`, go through
//! [`check_template`], [`visible_fields`] and [`validate_response`], the code the phone runs
//! as the rep types and the server runs on receipt.
//!
//! Properties: validating twice gives the same answer; every error names a field shown for
//! these values or a key that is not a field (`Required` only for shown fields); dropping
//! the values of hidden fields changes nothing (they are not checked, and a hidden field
//! cannot show another); a template survives its JSON round trip (it travels as a record).

#![no_main]

use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use fieldkit_domain::forms::{Rule, check_template, validate_response, visible_fields};
use fieldkit_domain::ids::FormTemplateId;
use fieldkit_domain::model::{Condition, ConditionTest, FieldKind, FieldRules, FormField, FormTemplate};
use fieldkit_fuzz::assert_round_trip;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

/// Keys are drawn mostly from a few names, so that conditions name real fields and values
/// land on them; `Other` lets any text through (bad keys, keys that are not fields).
#[derive(Debug, Arbitrary)]
enum Key {
    Known(u8),
    Other(String),
}

const KEYS: [&str; 6] = ["shelf_share", "in_stock", "why_out", "gap_photos", "code", "count"];

impl Key {
    fn text(&self) -> String {
        match self {
            Key::Known(i) => KEYS[usize::from(*i) % KEYS.len()].to_owned(),
            Key::Other(s) => s.clone(),
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Kind {
    Text,
    Number,
    Integer,
    Money,
    DateTime,
    SingleChoice(Vec<String>),
    MultiChoice(Vec<String>),
    YesNo,
    Rating(u8),
    Photos(u8, u8),
    Barcode,
    Location,
    Signature,
    ProductTable(u32, u32),
    Section,
}

/// Patterns as admins write them, or any text (a bad pattern is refused at design time and
/// matches nothing at validation).
#[derive(Debug, Arbitrary)]
enum Pattern {
    Known(u8),
    Other(String),
}

const PATTERNS: [&str; 6] = ["[A-Z]{2}-\\d{4}", "\\p{Han}{2,4}", "\\d+", "([", "a|b|", "(?i)ok"];

#[derive(Debug, Arbitrary)]
struct Rules {
    min: Option<f64>,
    max: Option<f64>,
    min_length: Option<u32>,
    max_length: Option<u32>,
    pattern: Option<Pattern>,
}

#[derive(Debug, Arbitrary)]
enum Test {
    Equals(Val),
    OneOf(Vec<Val>),
    IsSet,
    IsTrue,
}

#[derive(Debug, Arbitrary)]
struct Field {
    key: Key,
    kind: Kind,
    required: bool,
    rules: Rules,
    show_if: Option<(Key, Test)>,
}

/// A JSON value shaped like what each kind of field takes, or not.
#[derive(Debug, Arbitrary)]
enum Val {
    Null,
    Bool(bool),
    Int(i64),
    Unsigned(u64),
    Float(f64),
    Text(String),
    Choice(u8),
    Hash(u8),
    Point(f64, f64),
    Row(u128, i64),
    List(Vec<Leaf>),
}

/// A value inside a list (one level deep).
#[derive(Debug, Arbitrary)]
enum Leaf {
    Text(String),
    Choice(u8),
    Hash(u8),
    Row(u128, u64),
    Int(i64),
    Null,
}

const CHOICES: [&str; 4] = ["康师傅", "统一", "百事", ""];

fn number(n: f64) -> Value {
    serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
}

impl Leaf {
    fn json(&self) -> Value {
        match self {
            Leaf::Text(s) => json!(s),
            Leaf::Choice(i) => json!(CHOICES[usize::from(*i) % CHOICES.len()]),
            Leaf::Hash(b) => json!(format!("{b:02x}").repeat(32)),
            Leaf::Row(id, q) => {
                json!({ "product_id": uuid::Uuid::from_u128(*id).to_string(), "quantity": q })
            }
            Leaf::Int(n) => json!(n),
            Leaf::Null => Value::Null,
        }
    }
}

impl Val {
    fn json(&self) -> Value {
        match self {
            Val::Null => Value::Null,
            Val::Bool(b) => json!(b),
            Val::Int(n) => json!(n),
            Val::Unsigned(n) => json!(n),
            Val::Float(n) => number(*n),
            Val::Text(s) => json!(s),
            Val::Choice(i) => json!(CHOICES[usize::from(*i) % CHOICES.len()]),
            Val::Hash(b) => json!(format!("{b:02x}").repeat(32)),
            Val::Point(lat, lng) => json!({ "lat": number(*lat), "lng": number(*lng) }),
            Val::Row(id, q) => {
                json!([{ "product_id": uuid::Uuid::from_u128(*id).to_string(), "quantity": q }])
            }
            Val::List(items) => Value::Array(items.iter().map(Leaf::json).collect()),
        }
    }
}

#[derive(Debug, Arbitrary)]
struct Input {
    fields: Vec<Field>,
    values: Vec<(Key, Val)>,
}

/// A float as JSON can carry it (a template arrives as JSON, which has no NaN or infinity).
fn finite(n: Option<f64>) -> Option<f64> {
    n.filter(|n| n.is_finite())
}

fn template(input: &Input) -> FormTemplate {
    let fields = input
        .fields
        .iter()
        .map(|f| FormField {
            key: f.key.text(),
            label: "label".into(),
            kind: match &f.kind {
                Kind::Text => FieldKind::Text,
                Kind::Number => FieldKind::Number,
                Kind::Integer => FieldKind::Integer,
                Kind::Money => FieldKind::Money,
                Kind::DateTime => FieldKind::DateTime,
                Kind::SingleChoice(c) => FieldKind::SingleChoice { choices: with_known(c) },
                Kind::MultiChoice(c) => FieldKind::MultiChoice { choices: with_known(c) },
                Kind::YesNo => FieldKind::YesNo,
                Kind::Rating(max) => FieldKind::Rating { max: *max },
                Kind::Photos(min, max) => FieldKind::Photos { min: *min, max: *max },
                Kind::Barcode => FieldKind::Barcode,
                Kind::Location => FieldKind::Location,
                Kind::Signature => FieldKind::Signature,
                Kind::ProductTable(min_rows, max_rows) => {
                    FieldKind::ProductTable { min_rows: *min_rows, max_rows: *max_rows }
                }
                Kind::Section => FieldKind::Section,
            },
            required: f.required,
            rules: FieldRules {
                min: finite(f.rules.min),
                max: finite(f.rules.max),
                min_length: f.rules.min_length,
                max_length: f.rules.max_length,
                pattern: f.rules.pattern.as_ref().map(|p| match p {
                    Pattern::Known(i) => PATTERNS[usize::from(*i) % PATTERNS.len()].to_owned(),
                    Pattern::Other(s) => s.clone(),
                }),
            },
            show_if: f.show_if.as_ref().map(|(key, test)| Condition {
                field: key.text(),
                test: match test {
                    Test::Equals(v) => ConditionTest::Equals { value: v.json() },
                    Test::OneOf(vs) => ConditionTest::OneOf { values: vs.iter().map(Val::json).collect() },
                    Test::IsSet => ConditionTest::IsSet,
                    Test::IsTrue => ConditionTest::IsTrue,
                },
            }),
        })
        .collect();
    FormTemplate {
        id: FormTemplateId::from(uuid::Uuid::from_u128(3)),
        version: 3,
        title: "巡店".into(),
        fields,
    }
}

/// The fuzzer's choices plus the known ones, so that choice values can match.
fn with_known(choices: &[String]) -> Vec<String> {
    CHOICES[..2].iter().map(|c| (*c).to_owned()).chain(choices.iter().cloned()).collect()
}

fuzz_target!(|input: Input| {
    let template = template(&input);
    let values: BTreeMap<String, Value> = input.values.iter().map(|(k, v)| (k.text(), v.json())).collect();

    let design = check_template(&template);
    assert_eq!(design, check_template(&template), "the design check is not deterministic");
    assert_round_trip(&template);

    let shown = visible_fields(&template, &values);
    let result = validate_response(&template, &values);
    assert_eq!(result, validate_response(&template, &values), "validation is not deterministic");

    for error in result.as_ref().err().into_iter().flatten() {
        let is_field = template.fields.iter().any(|f| f.key == error.field);
        match &error.rule {
            Rule::NotAField => assert!(!is_field, "{error}: but it is a field"),
            _ => assert!(shown.contains(&error.field), "{error}: but the field is hidden"),
        }
        if error.rule == Rule::Required {
            let given = values.get(&error.field);
            assert!(
                given.is_none_or(|v| v.is_null() || v == "" || v == &json!([])),
                "{error}: but a value is given"
            );
        }
        let _ = error.to_string();
    }

    let without_hidden: BTreeMap<String, Value> = values
        .iter()
        .filter(|(k, _)| shown.contains(*k) || !template.fields.iter().any(|f| &f.key == *k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(
        visible_fields(&template, &without_hidden),
        shown,
        "a hidden field's value changed what is shown"
    );
    assert_eq!(
        validate_response(&template, &without_hidden),
        result,
        "a hidden field's value changed the validation"
    );
});
