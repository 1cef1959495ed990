//! `/v1/form-templates/check` and `/v1/form-templates/preview`: the form designer's server
//! side. A draft's design problems as data, each naming its field (the same list a refused
//! publish answers), and a draft previewed with values through the domain's own validator
//! (the code the phone runs on submit), so the dashboard shows what a rep would be told.

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fieldkit_domain::forms::{
    FieldError, Rule, TemplateError, check_template, validate_response, visible_fields,
};
use fieldkit_domain::ids::FormTemplateId;
use fieldkit_domain::model::{FormField, FormTemplate};
use fieldkit_domain::protocol::ErrorCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::templates::may_design;
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller};

/// A template as the designer holds it: the id and version may still be unknown.
#[derive(Debug, Deserialize)]
pub(super) struct Draft {
    #[serde(default)]
    id: Option<FormTemplateId>,
    #[serde(default)]
    version: Option<u32>,
    #[serde(default)]
    title: String,
    fields: Vec<FormField>,
}

impl Draft {
    /// The draft as a template (a fresh id and version 1 where it has none).
    fn into_template(self) -> FormTemplate {
        FormTemplate {
            id: self.id.unwrap_or_default(),
            version: self.version.unwrap_or(1),
            title: self.title,
            fields: self.fields,
        }
    }
}

/// One design problem, naming the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(super) struct DesignProblem {
    /// The key of the field at fault, as the draft spells it.
    pub(super) field: String,
    /// The position of that field in the draft (for a key used twice: the later use).
    pub(super) index: Option<usize>,
    /// A stable code for the kind of problem.
    pub(super) code: &'static str,
    /// What is wrong, lower-case, naming the field.
    pub(super) message: String,
}

fn code_of(error: &TemplateError) -> (&'static str, &str) {
    match error {
        TemplateError::DuplicateKey(key) => ("duplicate_key", key),
        TemplateError::BadKey(key) => ("bad_key", key),
        TemplateError::BadChoices(key) => ("bad_choices", key),
        TemplateError::UnknownConditionField { field, .. } => ("unknown_condition_field", field),
        TemplateError::ConditionCycle(key) => ("condition_cycle", key),
        TemplateError::BadLimits { field, .. } => ("bad_limits", field),
        TemplateError::BadPattern(key) => ("bad_pattern", key),
    }
}

/// Every design problem of `template` (the domain's [`check_template`]), in its order.
pub(super) fn problems_of(template: &FormTemplate) -> Vec<DesignProblem> {
    let mut duplicates_seen: HashMap<String, usize> = HashMap::new();
    check_template(template)
        .iter()
        .map(|error| {
            let (code, key) = code_of(error);
            let mut uses = template.fields.iter().enumerate().filter(|(_, f)| f.key == key).map(|(i, _)| i);
            let index = if matches!(error, TemplateError::DuplicateKey(_)) {
                let seen = duplicates_seen.entry(key.to_owned()).or_default();
                *seen += 1;
                uses.nth(*seen)
            } else {
                uses.next()
            };
            DesignProblem { field: key.to_owned(), index, code, message: error.to_string() }
        })
        .collect()
}

/// What a publish or a check can answer: the API's usual errors, or a refused design.
#[derive(Debug)]
pub(super) enum DesignError {
    /// Any other failure.
    Api(ApiError),
    /// The design has problems: answered 422 `invalid_request` with the joined message and
    /// `problems`, one `{field, index, code, message}` each.
    Refused(Vec<DesignProblem>),
}

impl From<ApiError> for DesignError {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

impl From<crate::storage::StorageError> for DesignError {
    fn from(e: crate::storage::StorageError) -> Self {
        Self::Api(e.into())
    }
}

impl IntoResponse for DesignError {
    fn into_response(self) -> Response {
        match self {
            Self::Api(e) => e.into_response(),
            Self::Refused(problems) => {
                let list: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
                let body = json!({ "error": {
                    "code": ErrorCode::InvalidRequest,
                    "message": format!("form template is not valid: {}", list.join("; ")),
                    "problems": problems,
                }});
                (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
            }
        }
    }
}

/// `POST /v1/form-templates/check` answer.
#[derive(Debug, Serialize)]
pub(super) struct CheckAnswer {
    /// Every design problem; empty when the draft can be published.
    problems: Vec<DesignProblem>,
}

/// `POST /v1/form-templates/check`: the design problems of a draft, nothing stored.
pub(super) async fn check(
    Caller(caller): Caller,
    ApiJson(draft): ApiJson<Draft>,
) -> Result<Json<CheckAnswer>, ApiError> {
    may_design(&caller)?;
    Ok(Json(CheckAnswer { problems: problems_of(&draft.into_template()) }))
}

/// `POST /v1/form-templates/preview` body: a draft and the values typed into its preview.
#[derive(Debug, Deserialize)]
pub(super) struct PreviewRequest {
    template: Draft,
    #[serde(default)]
    values: BTreeMap<String, Value>,
}

/// A value that breaks a rule, as the phone would report it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(super) struct PreviewError {
    /// The field's key.
    field: String,
    /// A stable code for the rule broken.
    rule: &'static str,
    /// The limit broken, where the rule has one (a minimum, maximum or length).
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<f64>,
    /// The phone's words: `field "facings": must be at most 200`.
    message: String,
}

fn preview_error(error: &FieldError) -> PreviewError {
    let (rule, limit) = match &error.rule {
        Rule::Required => ("required", None),
        Rule::WrongType(_) => ("wrong_type", None),
        Rule::BelowMin(min) => ("below_min", Some(*min)),
        Rule::AboveMax(max) => ("above_max", Some(*max)),
        Rule::TooShort(min) => ("too_short", Some(f64::from(*min))),
        Rule::TooLong(max) => ("too_long", Some(f64::from(*max))),
        Rule::Pattern => ("pattern", None),
        Rule::NotAChoice(_) => ("not_a_choice", None),
        Rule::DuplicateChoice(_) => ("duplicate_choice", None),
        Rule::NotAField => ("not_a_field", None),
    };
    PreviewError { field: error.field.clone(), rule, limit, message: error.to_string() }
}

/// `POST /v1/form-templates/preview` answer.
#[derive(Debug, Serialize)]
pub(super) struct PreviewAnswer {
    /// Whether the values would be accepted on submit.
    valid: bool,
    /// Every broken rule, in field order ([`validate_response`]).
    errors: Vec<PreviewError>,
    /// The keys of the fields shown for these values, in template order.
    visible: Vec<String>,
    /// The draft's design problems (a draft with problems cannot be published).
    problems: Vec<DesignProblem>,
}

/// The answer for `values` typed into `template`.
fn preview_of(template: &FormTemplate, values: &BTreeMap<String, Value>) -> PreviewAnswer {
    let errors: Vec<PreviewError> =
        validate_response(template, values).err().unwrap_or_default().iter().map(preview_error).collect();
    let shown = visible_fields(template, values);
    let visible = template.fields.iter().filter(|f| shown.contains(&f.key)).map(|f| f.key.clone()).collect();
    PreviewAnswer { valid: errors.is_empty(), errors, visible, problems: problems_of(template) }
}

/// `POST /v1/form-templates/preview`: the values validated against the draft by the domain's
/// validator, with the fields shown for them; nothing stored.
pub(super) async fn preview(
    Caller(caller): Caller,
    ApiJson(request): ApiJson<PreviewRequest>,
) -> Result<Json<PreviewAnswer>, ApiError> {
    may_design(&caller)?;
    let template = request.template.into_template();
    Ok(Json(preview_of(&template, &request.values)))
}

#[cfg(test)]
mod tests {
    use fieldkit_domain::model::{Condition, ConditionTest, FieldKind, FieldRules};

    use super::*;

    fn field(key: &str, kind: FieldKind) -> FormField {
        FormField {
            key: key.into(),
            label: key.into(),
            kind,
            required: false,
            rules: FieldRules::default(),
            show_if: None,
        }
    }

    fn template(fields: Vec<FormField>) -> FormTemplate {
        FormTemplate { id: FormTemplateId::new(), version: 1, title: "check".into(), fields }
    }

    fn shelf_check() -> FormTemplate {
        let mut facings = field("facings", FieldKind::Integer);
        facings.required = true;
        facings.rules = FieldRules { min: Some(0.0), max: Some(200.0), ..FieldRules::default() };
        let stock = field(
            "stock",
            FieldKind::SingleChoice { choices: vec!["in stock".into(), "out of stock".into()] },
        );
        let mut why = field("why_out", FieldKind::Text);
        why.required = true;
        why.show_if = Some(Condition {
            field: "stock".into(),
            test: ConditionTest::Equals { value: json!("out of stock") },
        });
        template(vec![field("shelf", FieldKind::Section), facings, stock, why])
    }

    #[test]
    fn each_design_problem_names_its_field_and_where_it_is() {
        let mut dangling = field("note", FieldKind::Text);
        dangling.show_if = Some(Condition { field: "ghost".into(), test: ConditionTest::IsSet });
        let mut a = field("a", FieldKind::Text);
        a.show_if = Some(Condition { field: "b".into(), test: ConditionTest::IsSet });
        let mut b = field("b", FieldKind::Text);
        b.show_if = Some(Condition { field: "a".into(), test: ConditionTest::IsSet });
        let t = template(vec![
            field("brand", FieldKind::SingleChoice { choices: vec![] }),
            dangling,
            a,
            b,
            field("brand", FieldKind::Text),
        ]);
        let problems = problems_of(&t);
        let found: Vec<(&str, Option<usize>, &str)> =
            problems.iter().map(|p| (p.field.as_str(), p.index, p.code)).collect();
        assert_eq!(
            found,
            vec![
                ("brand", Some(0), "bad_choices"),
                ("brand", Some(4), "duplicate_key"),
                ("note", Some(1), "unknown_condition_field"),
                ("a", Some(2), "condition_cycle"),
                ("b", Some(3), "condition_cycle"),
            ]
        );
        assert!(problems.iter().all(|p| p.message.contains(&format!("{:?}", p.field))), "{problems:?}");
    }

    #[tokio::test]
    async fn a_refused_design_answers_422_with_the_joined_message_and_every_problem() {
        let t = template(vec![
            field("brand", FieldKind::MultiChoice { choices: vec![] }),
            field("Size", FieldKind::Text),
        ]);
        let response = DesignError::Refused(problems_of(&t)).into_response();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("a body");
        let body: Value = serde_json::from_slice(&bytes).expect("a JSON body");
        assert_eq!(body["error"]["code"], "invalid_request");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with("form template is not valid: ") && message.contains("\"Size\""),
            "{message}"
        );
        assert_eq!(body["error"]["problems"][0]["field"], "brand");
        assert_eq!(body["error"]["problems"][0]["code"], "bad_choices");
        assert_eq!(body["error"]["problems"][1]["field"], "Size");
        assert_eq!(body["error"]["problems"][1]["index"], 1);
    }

    #[test]
    fn a_sound_draft_has_no_problems() {
        assert_eq!(problems_of(&shelf_check()), vec![]);
    }

    #[test]
    fn the_preview_reports_what_the_phone_would_refuse_with_the_limit() {
        let t = shelf_check();
        let values: BTreeMap<String, Value> =
            [("facings".to_owned(), json!(250)), ("stock".to_owned(), json!("out of stock"))].into();
        let answer = preview_of(&t, &values);
        assert!(!answer.valid);
        let errors: Vec<(&str, &str, Option<f64>)> =
            answer.errors.iter().map(|e| (e.field.as_str(), e.rule, e.limit)).collect();
        assert_eq!(errors, vec![("facings", "above_max", Some(200.0)), ("why_out", "required", None)]);
        assert_eq!(answer.errors[0].message, "field \"facings\": must be at most 200");
        assert_eq!(answer.visible, vec!["shelf", "facings", "stock", "why_out"]);
    }

    #[test]
    fn the_preview_hides_a_field_whose_condition_fails_and_accepts_good_values() {
        let t = shelf_check();
        let values: BTreeMap<String, Value> =
            [("facings".to_owned(), json!(12)), ("stock".to_owned(), json!("in stock"))].into();
        let answer = preview_of(&t, &values);
        assert!(answer.valid, "{:?}", answer.errors);
        assert_eq!(answer.visible, vec!["shelf", "facings", "stock"]);
    }

    #[test]
    fn a_draft_without_id_or_version_becomes_version_1_of_a_new_template() {
        let draft: Draft = serde_json::from_value(json!({ "fields": [] })).expect("a draft parses");
        let t = draft.into_template();
        assert_eq!((t.version, t.title.as_str(), t.fields.len()), (1, "", 0));
    }
}
