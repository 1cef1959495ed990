//! Customers: reference data for the rep who owns them and whoever's data scope reaches
//! that rep (everyone, for a customer with no owner).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use fieldkit_domain::ids::{CustomerId, UserId};
use fieldkit_domain::model::{Customer, Grade, Place};
use fieldkit_domain::protocol::Record;
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Caller};
use crate::state::AppState;

/// `POST /v1/customers` body.
#[derive(Debug, Deserialize)]
pub(super) struct NewCustomer {
    name: String,
    place: Place,
    grade: Grade,
    #[serde(default)]
    tags: Vec<String>,
    geofence_radius_m: Option<u32>,
    owner_id: Option<UserId>,
}

pub(super) async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(new): ApiJson<NewCustomer>,
) -> ApiResult<(StatusCode, Json<Customer>)> {
    if !caller.role.can_dispatch() {
        return Err(ApiError::forbidden(format!("role {} may not create customers", caller.role.as_str())));
    }
    if new.name.trim().is_empty() {
        return Err(ApiError::invalid("customer name must not be empty"));
    }
    if let Some(owner) = new.owner_id
        && !state.storage.user(caller.org_id, owner).await?.is_some_and(|user| caller.may_read(&user))
    {
        return Err(ApiError::invalid(format!("owner {owner} is not a user in your data scope")));
    }
    let customer = Customer {
        id: CustomerId::new(),
        name: new.name,
        place: new.place,
        grade: new.grade,
        tags: new.tags,
        geofence_radius_m: new.geofence_radius_m,
        owner_id: new.owner_id,
    };
    // A customer with an owner reaches that rep (and their manager); one without, everyone.
    state.storage.put_record(caller.org_id, Record::Customer(customer.clone()), customer.owner_id).await?;
    Ok((StatusCode::CREATED, Json(customer)))
}

/// `GET /v1/customers`: the customers the caller's scope reaches (those without an owner
/// and those owned by users the caller may read), by name.
pub(super) async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<Vec<Customer>>> {
    let readable: std::collections::HashSet<UserId> = state
        .storage
        .users(caller.org_id)
        .await?
        .iter()
        .filter(|u| caller.may_read(u))
        .map(|u| u.id)
        .collect();
    let mut customers: Vec<Customer> = state
        .storage
        .customers(caller.org_id)
        .await?
        .into_iter()
        .filter(|c| c.owner_id.is_none_or(|owner| readable.contains(&owner)))
        .collect();
    customers.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    Ok(Json(customers))
}
