//! What storage keeps for CSV customer imports: customers written in one batch, each with
//! the external account code (CRM or ERP number) it was imported under, if any.

use fieldkit_domain::model::Customer;

/// A customer to create or replace in [`super::Storage::import_customers`], addressed like
/// `POST /v1/customers` (to its owner, or every member when it has none).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedCustomer {
    /// The customer as it must be stored.
    pub customer: Customer,
    /// The account's external code, remembered so that a later import finds this customer
    /// again (`None`: the row had no code; nothing is remembered).
    pub code: Option<String>,
}
