//! What the rep sells: the price list as the app shows it (grade prices as a map, which
//! uniffi carries where the domain's ordered map cannot cross) and the order lines the app
//! enters.

use std::collections::HashMap;

use fieldkit_domain::ids::ProductId;
use fieldkit_domain::model::{self, Grade, Money};

/// A product on the price list.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Product {
    /// The product id.
    pub id: ProductId,
    /// Stock-keeping unit code.
    pub sku: String,
    /// Display name.
    pub name: String,
    /// Product line.
    pub line: String,
    /// List price per unit.
    pub list_price: Money,
    /// Price per unit by customer grade, minor units of the list price's currency; grades
    /// not listed pay the list price.
    pub grade_prices: HashMap<Grade, i64>,
    /// Largest discount a rep may give on a line, percent of the line's gross.
    pub max_discount_pct: u8,
}

impl From<model::Product> for Product {
    fn from(p: model::Product) -> Self {
        Self {
            id: p.id,
            sku: p.sku,
            name: p.name,
            line: p.line,
            list_price: p.list_price,
            grade_prices: p.grade_prices.into_iter().collect(),
            max_discount_pct: p.max_discount_pct,
        }
    }
}

/// One order line as the rep enters it; the price comes from the price list.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OrderLineInput {
    /// The product (a product's `id`), checked at the edge: a malformed one is
    /// `InvalidInput` (`product_id`).
    pub product_id: String,
    /// How many units.
    pub quantity: u32,
    /// Discount on the whole line, minor units (within the product's limit).
    pub discount_minor: i64,
}
