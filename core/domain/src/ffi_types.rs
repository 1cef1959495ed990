//! How the domain's value types without a record shape cross the FFI (only with the `uniffi`
//! feature): each as its canonical text, so Kotlin and Swift see a `String` typealias. Ids do
//! the same in [`crate::ids`].

use crate::geo::CivilDate;
use crate::model::Currency;

/// A JSON value (a form answer or a condition's operand) as JSON text: `"12"`, `"\"yes\""`.
pub type JsonValue = serde_json::Value;

uniffi::custom_type!(JsonValue, String, {
    remote,
    lower: |value| value.to_string(),
    try_lift: |text| Ok(serde_json::from_str(&text)?),
});

uniffi::custom_type!(Currency, String, {
    lower: |currency| currency.as_str().to_owned(),
    try_lift: |code| Ok(Currency::parse(&code)?),
});

uniffi::custom_type!(CivilDate, String, {
    lower: |date| date.to_string(),
    try_lift: |text| Ok(text.parse::<CivilDate>()?),
});
