//! At the customer: the price list and orders, forms and the visit's SOP, the customer
//! 360° view and the knowledge base.

use std::collections::{BTreeMap, HashMap};

use fieldkit_domain::ids::{ArticleId, CustomerId, FormResponseId, FormTemplateId};

use super::{FieldKit, parse_id, parse_opt_id};
use crate::error::FieldKitError;
use fieldkit_domain::model::{FormTemplate, KbArticle, Order, SopTemplate};
use fieldkit_engine::{Customer360, KbHit};

use crate::records::forms::FormResponse;
use crate::records::sales::{OrderLineInput, Product};
use crate::runtime::{guard, run_async};

#[uniffi::export]
impl FieldKit {
    /// The price list on this phone (as of the last sync). Works offline.
    pub fn products(&self) -> Result<Vec<Product>, FieldKitError> {
        guard(|| Ok(self.inner.products()?.into_iter().map(Product::from).collect()))
    }

    /// Takes an order at `customer_id` (in `visit_id`; amending order `amends` if given):
    /// each line priced for the customer's grade from the price list, the total computed
    /// and checked as the server will check it, then stored and queued. Works offline.
    ///
    /// Fails with `InvalidInput` (`order`) naming the rule broken (unknown product, no
    /// lines, a discount over the product's limit…; nothing is stored), `NotFound` for a
    /// customer not on this phone.
    ///
    /// With `discount_approval_id` (the id of the rep's approved order-discount request for
    /// this customer, from `approvals`), lines may be discounted beyond the products' limits
    /// up to the approved amount; `Refused` when that request is not on this phone yet, not
    /// approved, for another customer, or already used by another order.
    #[uniffi::method(default(discount_approval_id = None))]
    pub fn take_order(
        &self,
        customer_id: String,
        visit_id: Option<String>,
        lines: Vec<OrderLineInput>,
        amends: Option<String>,
        discount_approval_id: Option<String>,
    ) -> Result<Order, FieldKitError> {
        guard(|| {
            let customer: CustomerId = parse_id("customer_id", &customer_id)?;
            let visit = parse_opt_id("visit_id", visit_id.as_deref())?;
            let amends = parse_opt_id("amends", amends.as_deref())?;
            let approval = parse_opt_id("discount_approval_id", discount_approval_id.as_deref())?;
            let lines = lines
                .iter()
                .map(|l| {
                    Ok(fieldkit_engine::OrderLineInput {
                        product_id: parse_id("product_id", &l.product_id)?,
                        quantity: l.quantity,
                        discount_minor: l.discount_minor,
                    })
                })
                .collect::<Result<Vec<_>, FieldKitError>>()?;
            Ok(self.inner.take_order(customer, visit, &lines, amends, approval)?)
        })
    }

    /// The form templates on this phone, every version (as of the last sync). Works
    /// offline.
    pub fn form_templates(&self) -> Result<Vec<FormTemplate>, FieldKitError> {
        guard(|| Ok(self.inner.form_templates()?))
    }

    /// The SOP a visit follows (the org's template for its task's kind), with its steps in
    /// order; `null`/`nil` for a visit without a task or without such an SOP. Works
    /// offline; `NotFound` for a visit not on this phone.
    pub fn visit_sop(&self, visit_id: String) -> Result<Option<SopTemplate>, FieldKitError> {
        guard(|| Ok(self.inner.visit_sop(parse_id("visit_id", &visit_id)?)?))
    }

    /// Starts a response to version `template_version` of form template `template_id`, in
    /// `visit_id` if given (an SOP's form step counts a submitted response of its visit).
    /// Works offline.
    pub fn start_form(
        &self,
        template_id: String,
        template_version: u32,
        visit_id: Option<String>,
    ) -> Result<FormResponse, FieldKitError> {
        guard(|| {
            let template: FormTemplateId = parse_id("template_id", &template_id)?;
            let visit = parse_opt_id("visit_id", visit_id.as_deref())?;
            Ok(self.inner.start_form(template, template_version, visit)?.into())
        })
    }

    /// Sets field values of a response (each value JSON text: `"12"`, `"\"yes\""`,
    /// `"true"`), and submits it if `submit` (final). Works offline; merged with other
    /// edits at sync.
    ///
    /// Fails with `InvalidInput` (`values`) for a value that is not JSON, (`form`) listing
    /// every field and rule a submission breaks (nothing stored); `Refused` for a response
    /// already submitted; `NotFound` for a response not on this phone.
    pub fn fill_form(
        &self,
        response_id: String,
        values: HashMap<String, String>,
        submit: bool,
    ) -> Result<FormResponse, FieldKitError> {
        guard(|| {
            let id: FormResponseId = parse_id("response_id", &response_id)?;
            let values = values
                .into_iter()
                .map(|(key, text)| {
                    let value = serde_json::from_str(&text).map_err(|e| {
                        FieldKitError::invalid("values", format!("{key}: {text:?} is not json: {e}"))
                    })?;
                    Ok((key, value))
                })
                .collect::<Result<BTreeMap<_, _>, FieldKitError>>()?;
            Ok(self.inner.fill_form(id, values, submit)?.into())
        })
    }

    /// The form responses on this phone. Works offline.
    pub fn form_responses(&self) -> Result<Vec<FormResponse>, FieldKitError> {
        guard(|| Ok(self.inner.form_responses()?.into_iter().map(FormResponse::from).collect()))
    }

    /// The customer 360° view: profile, recent visits with their photos and orders, recent
    /// orders and their sum, open tasks, the last visit and the days since. Works offline.
    ///
    /// Fails with `NotFound` for a customer not on this phone.
    pub fn customer_360(&self, customer_id: String) -> Result<Customer360, FieldKitError> {
        guard(|| Ok(self.inner.customer_360(parse_id("customer_id", &customer_id)?)?))
    }

    /// Searches the knowledge base for articles containing every word of `query` (Chinese
    /// or English), best first, at most `limit`, matches highlighted in 【】. Works offline.
    pub fn search_kb(&self, query: String, limit: u32) -> Result<Vec<KbHit>, FieldKitError> {
        guard(|| Ok(self.inner.search_kb(&query, limit)?))
    }

    /// A knowledge-base article as last synced. Works offline; `NotFound` if the phone does
    /// not have it.
    pub fn kb_article(&self, article_id: String) -> Result<KbArticle, FieldKitError> {
        guard(|| Ok(self.inner.kb_article(parse_id::<ArticleId>("article_id", &article_id)?)?))
    }

    /// The local file path of an article's attachment (by its `sha256`), downloaded and
    /// checked first if the phone does not hold it yet; offline once held.
    ///
    /// Fails with `NotFound` for an unknown article or attachment, `Offline` when a download
    /// is needed and the server cannot be reached.
    pub async fn kb_attachment(&self, article_id: String, sha256: String) -> Result<String, FieldKitError> {
        let article: ArticleId = parse_id("article_id", &article_id)?;
        let engine = std::sync::Arc::clone(&self.inner);
        run_async(
            async move { Ok(engine.kb_attachment(article, &sha256).await?.to_string_lossy().into_owned()) },
        )
        .await
    }
}
