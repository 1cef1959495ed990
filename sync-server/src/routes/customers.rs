//! Customers: reference data for the rep who owns them and whoever's data scope reaches
//! that rep (everyone, for a customer with no owner).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use fieldkit_domain::ids::{CustomerId, UserId};
use fieldkit_domain::model::{Customer, Grade, Place, User};
use fieldkit_domain::protocol::{Record, RecordKind};
use serde::Deserialize;

use super::reference;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, Caller};
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

/// `new` checked, as the customer `id`: a name, and an owner within the caller's scope.
async fn checked(state: &AppState, caller: &User, id: CustomerId, new: NewCustomer) -> ApiResult<Customer> {
    reference::may_change(caller, "customers")?;
    if new.name.trim().is_empty() {
        return Err(ApiError::invalid("customer name must not be empty"));
    }
    if let Some(owner) = new.owner_id {
        owner_in_scope(state, caller, owner).await?;
    }
    Ok(Customer {
        id,
        name: new.name,
        place: new.place,
        grade: new.grade,
        tags: new.tags,
        geofence_radius_m: new.geofence_radius_m,
        owner_id: new.owner_id,
    })
}

async fn owner_in_scope(state: &AppState, caller: &User, owner: UserId) -> ApiResult<()> {
    if state.storage.user(caller.org_id, owner).await?.is_some_and(|user| caller.may_read(&user)) {
        Ok(())
    } else {
        Err(ApiError::invalid(format!("owner {owner} is not a user in your data scope")))
    }
}

/// The stored customer `id`, if the caller's scope reaches it.
async fn existing(state: &AppState, caller: &User, id: CustomerId) -> ApiResult<Customer> {
    let not_found = || ApiError::not_found(format!("customer {id} not found"));
    let stored =
        state.storage.record(caller.org_id, RecordKind::Customer, id.0).await?.ok_or_else(not_found)?;
    let Record::Customer(customer) = stored.record else { return Err(not_found()) };
    if let Some(owner) = customer.owner_id {
        owner_in_scope(state, caller, owner).await.map_err(|_| not_found())?;
    }
    Ok(customer)
}

/// `POST /v1/customers`.
pub(super) async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(new): ApiJson<NewCustomer>,
) -> ApiResult<(StatusCode, Json<Customer>)> {
    let customer = checked(&state, &caller, CustomerId::new(), new).await?;
    // A customer with an owner reaches whoever's scope holds the owner; one without, everyone.
    state.storage.put_record(caller.org_id, Record::Customer(customer.clone()), customer.owner_id).await?;
    Ok((StatusCode::CREATED, Json(customer)))
}

/// `PUT /v1/customers/{id}`: replaces a customer the caller's scope reaches (a new owner
/// moves it to the new owner's phone; the old owner's phone gets a removal).
pub(super) async fn replace(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<CustomerId>,
    ApiJson(new): ApiJson<NewCustomer>,
) -> ApiResult<Json<Customer>> {
    existing(&state, &caller, id).await?;
    let customer = checked(&state, &caller, id, new).await?;
    state.storage.put_record(caller.org_id, Record::Customer(customer.clone()), customer.owner_id).await?;
    Ok(Json(customer))
}

/// `DELETE /v1/customers/{id}`: removes a customer the caller's scope reaches.
pub(super) async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<CustomerId>,
) -> ApiResult<StatusCode> {
    reference::may_change(&caller, "customers")?;
    existing(&state, &caller, id).await?;
    reference::remove(&state, &caller, RecordKind::Customer, id.0, "customer").await
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
