//! `POST /v1/products`: the price list, as reference data every phone receives.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use fieldkit_domain::ids::ProductId;
use fieldkit_domain::model::{Grade, Money, Product};
use fieldkit_domain::protocol::Record;
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Caller};
use crate::state::AppState;

/// `POST /v1/products` body.
#[derive(Debug, Deserialize)]
pub(super) struct NewProduct {
    sku: String,
    name: String,
    #[serde(default)]
    line: String,
    list_price: Money,
    #[serde(default)]
    grade_prices: BTreeMap<Grade, i64>,
    max_discount_pct: Option<u8>,
}

pub(super) async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(new): ApiJson<NewProduct>,
) -> ApiResult<(StatusCode, Json<Product>)> {
    if !caller.role.can_dispatch() {
        return Err(ApiError::forbidden(format!(
            "role {} may not change the price list",
            caller.role.as_str()
        )));
    }
    if new.name.trim().is_empty() || new.sku.trim().is_empty() {
        return Err(ApiError::invalid("product name and sku must not be empty"));
    }
    let prices = std::iter::once(new.list_price.minor).chain(new.grade_prices.values().copied());
    if let Some(bad) = prices.into_iter().find(|p| *p < 0) {
        return Err(ApiError::invalid(format!("price {bad} must not be negative")));
    }
    let max_discount_pct = new.max_discount_pct.unwrap_or(10);
    if max_discount_pct > 100 {
        return Err(ApiError::invalid(format!("max discount {max_discount_pct} % is above 100 %")));
    }
    let product = Product {
        id: ProductId::new(),
        sku: new.sku,
        name: new.name,
        line: new.line,
        list_price: new.list_price,
        grade_prices: new.grade_prices,
        max_discount_pct,
    };
    state.storage.put_record(caller.org_id, Record::Product(product.clone()), None).await?;
    Ok((StatusCode::CREATED, Json(product)))
}
