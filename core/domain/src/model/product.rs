//! Products and money, always in integer minor units (fen, cents).

use serde::{Deserialize, Serialize};

use crate::DomainError;
use std::collections::BTreeMap;

use crate::ids::ProductId;
use crate::model::Grade;

/// An ISO 4217 currency code, three upper-case ASCII letters (`CNY`, `USD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    /// Renminbi.
    pub const CNY: Currency = Currency(*b"CNY");

    /// Parses a code; refuses anything but three upper-case ASCII letters.
    pub fn parse(code: &str) -> Result<Self, DomainError> {
        match code.as_bytes() {
            [a, b, c] if [a, b, c].iter().all(|x| x.is_ascii_uppercase()) => Ok(Self([*a, *b, *c])),
            _ => Err(DomainError::BadCurrency(code.to_owned())),
        }
    }

    /// The three-letter code.
    #[must_use]
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("constructed from ASCII letters only")
    }
}

impl TryFrom<String> for Currency {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Currency::parse(&s)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> Self {
        c.as_str().to_owned()
    }
}

/// An amount of money in minor units of a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Money {
    /// Amount in minor units (1 CNY = 100 fen).
    pub minor: i64,
    /// The currency.
    pub currency: Currency,
}

/// A product on the price list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    /// The product id.
    pub id: ProductId,
    /// Stock-keeping unit code.
    pub sku: String,
    /// Display name.
    pub name: String,
    /// Product line, for share-of-sales reports.
    pub line: String,
    /// List price per unit.
    pub list_price: Money,
    /// Price per unit for customers of a grade, minor units of the list price's currency
    /// (the price list per grade); grades not listed pay the list price.
    #[serde(default)]
    pub grade_prices: BTreeMap<Grade, i64>,
    /// Largest discount a rep may give on a line, percent of the line's gross.
    #[serde(default = "default_max_discount_pct")]
    pub max_discount_pct: u8,
}

/// The limit for products stored before limits existed.
fn default_max_discount_pct() -> u8 {
    10
}

impl Product {
    /// The unit price for a customer of `grade`, minor units.
    #[must_use]
    pub fn unit_price_minor(&self, grade: Grade) -> i64 {
        self.grade_prices.get(&grade).copied().unwrap_or(self.list_price.minor)
    }
}
