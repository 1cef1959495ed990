//! `/v1/products`: the price list, as reference data every phone receives. Managers and
//! admins add, replace and remove products; a SKU names one product.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use fieldkit_domain::ids::ProductId;
use fieldkit_domain::model::{Grade, Money, Product, User};
use fieldkit_domain::protocol::{ErrorCode, Record, RecordKind};
use serde::Deserialize;

use super::reference;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, Caller};
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

/// `new` checked, as the product `id`; a SKU another product has is refused.
async fn checked(state: &AppState, caller: &User, id: ProductId, new: NewProduct) -> ApiResult<Product> {
    reference::may_change(caller, "the price list")?;
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
    let products = reference::list_of(state, caller.org_id, RecordKind::Product, pick).await?;
    if products.iter().any(|p| p.id != id && p.sku == new.sku) {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("sku {:?} is already another product's", new.sku),
        ));
    }
    Ok(Product {
        id,
        sku: new.sku,
        name: new.name,
        line: new.line,
        list_price: new.list_price,
        grade_prices: new.grade_prices,
        max_discount_pct,
    })
}

fn pick(record: Record) -> Option<Product> {
    match record {
        Record::Product(p) => Some(p),
        _ => None,
    }
}

/// `POST /v1/products`: adds a product to the price list.
pub(super) async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(new): ApiJson<NewProduct>,
) -> ApiResult<(StatusCode, Json<Product>)> {
    let product = checked(&state, &caller, ProductId::new(), new).await?;
    state.storage.put_record(caller.org_id, Record::Product(product.clone()), None).await?;
    Ok((StatusCode::CREATED, Json(product)))
}

/// `GET /v1/products`: the price list, by SKU.
pub(super) async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<Vec<Product>>> {
    let mut products = reference::list_of(&state, caller.org_id, RecordKind::Product, pick).await?;
    products.sort_by(|a, b| a.sku.cmp(&b.sku));
    Ok(Json(products))
}

/// `PUT /v1/products/{id}`: replaces a product (a price change reaches every phone; orders
/// already taken keep the prices they were taken at).
pub(super) async fn replace(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<ProductId>,
    ApiJson(new): ApiJson<NewProduct>,
) -> ApiResult<Json<Product>> {
    let product = checked(&state, &caller, id, new).await?;
    if state.storage.record(caller.org_id, RecordKind::Product, id.0).await?.is_none() {
        return Err(ApiError::not_found(format!("product {id} not found")));
    }
    state.storage.put_record(caller.org_id, Record::Product(product.clone()), None).await?;
    Ok(Json(product))
}

/// `DELETE /v1/products/{id}`: takes a product off the price list.
pub(super) async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<ProductId>,
) -> ApiResult<StatusCode> {
    reference::may_change(&caller, "the price list")?;
    reference::remove(&state, &caller, RecordKind::Product, id.0, "product").await
}
