//! The admin API for reference data on the real server: the price list, customers,
//! templates and articles are listed, replaced and removed, and every change reaches the
//! phones through the feed (a removal too). Duplicates and out-of-scope changes are refused
//! and change nothing.

use fieldkit_domain::ids::TeamId;
use fieldkit_domain::model::Role;
use fieldkit_e2e::harness::{Api, PASSWORD, TestServer, log_to_stderr_if_asked};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn product(sku: &str, price: i64) -> Value {
    json!({ "sku": sku, "name": format!("product {sku}"), "line": "drinks",
        "list_price": { "minor": price, "currency": "CNY" } })
}

fn customer(name: &str, owner: Option<String>) -> Value {
    json!({ "name": name, "grade": "B", "owner_id": owner,
        "place": { "point": { "lat": 31.2304, "lng": 121.4737 }, "address": "" } })
}

async fn call(
    api: &Api,
    method: &str,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<(StatusCode, Value)> {
    api.send(method, path, Some(token), body.as_ref()).await
}

#[tokio::test]
async fn a_price_change_and_a_removed_product_reach_the_phone_and_a_duplicate_sku_is_refused()
-> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let manager = &org.manager_token;

    let (status, cola) = call(&api, "POST", manager, "/v1/products", Some(product("COLA", 350))).await?;
    assert_eq!(status, StatusCode::CREATED, "{cola}");
    let (status, chips) = call(&api, "POST", manager, "/v1/products", Some(product("CHIPS", 200))).await?;
    assert_eq!(status, StatusCode::CREATED, "{chips}");
    let (status, answer) = call(&api, "POST", manager, "/v1/products", Some(product("COLA", 1))).await?;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    let (_, list) = call(&api, "GET", manager, "/v1/products", None).await?;
    let skus: Vec<&str> = list.as_array().into_iter().flatten().filter_map(|p| p["sku"].as_str()).collect();
    assert_eq!(skus, vec!["CHIPS", "COLA"], "sorted by sku, the refused duplicate absent");

    let phone = server.phone("acme", "rep1").await?;
    phone.kit.sync_now().await?;
    assert_eq!(phone.kit.products()?.len(), 2);

    let cola_path = format!("/v1/products/{}", cola["id"].as_str().unwrap_or_default());
    let (status, changed) = call(&api, "PUT", manager, &cola_path, Some(product("COLA", 380))).await?;
    assert_eq!(status, StatusCode::OK, "{changed}");
    let chips_path = format!("/v1/products/{}", chips["id"].as_str().unwrap_or_default());
    let (status, _) = call(&api, "PUT", manager, &cola_path, Some(product("CHIPS", 380))).await?;
    assert_eq!(status, StatusCode::CONFLICT, "a replacement may not take another product's sku");
    let (status, _) = call(&api, "DELETE", manager, &chips_path, None).await?;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(&api, "DELETE", manager, &chips_path, None).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);

    phone.kit.sync_now().await?;
    let products = phone.kit.products()?;
    assert_eq!(products.len(), 1, "the removed product left the phone");
    assert_eq!((products[0].sku.as_str(), products[0].list_price.minor), ("COLA", 380));

    let rep = api.login("acme", "rep1", PASSWORD).await?;
    let (status, _) = call(&api, "PUT", &rep, &cola_path, Some(product("COLA", 1))).await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let unknown = format!("/v1/products/{}", fieldkit_domain::ids::ProductId::new());
    let (status, _) = call(&api, "PUT", manager, &unknown, Some(product("NEW", 1))).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn a_customer_moved_to_another_owner_leaves_the_old_phone_and_other_departments_cannot_touch_it()
-> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 2).await?;
    let outsider = server.user(&org.org, "outsider-manager", Role::Manager, TeamId::new()).await?;
    let api = Api::new(&server.url);
    let manager = &org.manager_token;
    let (rep1, rep2) = (org.reps[0].id.to_string(), org.reps[1].id.to_string());

    let (status, shop) =
        call(&api, "POST", manager, "/v1/customers", Some(customer("Shop", Some(rep1.clone())))).await?;
    assert_eq!(status, StatusCode::CREATED, "{shop}");
    let path = format!("/v1/customers/{}", shop["id"].as_str().unwrap_or_default());
    let (phone1, phone2) = (server.phone("acme", "rep1").await?, server.phone("acme", "rep2").await?);
    phone1.kit.sync_now().await?;
    phone2.kit.sync_now().await?;
    assert_eq!((phone1.kit.customers()?.len(), phone2.kit.customers()?.len()), (1, 0));

    let (status, moved) =
        call(&api, "PUT", manager, &path, Some(customer("Shop (new name)", Some(rep2)))).await?;
    assert_eq!(status, StatusCode::OK, "{moved}");
    phone1.kit.sync_now().await?;
    phone2.kit.sync_now().await?;
    assert!(phone1.kit.customers()?.is_empty(), "the old owner's phone still holds the customer");
    let on_phone2 = phone2.kit.customers()?;
    assert_eq!(on_phone2.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), vec!["Shop (new name)"]);

    // Another department's manager neither sees nor changes it.
    let other = api.login("acme", &outsider.username, PASSWORD).await?;
    let (_, list) = call(&api, "GET", &other, "/v1/customers", None).await?;
    assert_eq!(list, json!([]));
    let (status, _) = call(&api, "PUT", &other, &path, Some(customer("Mine", None))).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&api, "DELETE", &other, &path, None).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, _) = call(&api, "DELETE", manager, &path, None).await?;
    assert_eq!(status, StatusCode::NO_CONTENT);
    phone2.kit.sync_now().await?;
    assert!(phone2.kit.customers()?.is_empty());
    Ok(())
}

#[tokio::test]
async fn templates_and_articles_are_listed_and_an_article_can_be_withdrawn() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let manager = &org.manager_token;
    let form = json!({ "version": 1, "title": "Shelf check", "fields": [] });
    let (status, answer) = call(&api, "POST", manager, "/v1/form-templates", Some(form)).await?;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let sop = json!({ "task_kind": "customer_visit", "steps": [
        { "title": "Photo of the shelf", "kind": { "type": "photo" }, "required": true } ] });
    let (status, answer) = call(&api, "POST", manager, "/v1/sop-templates", Some(sop)).await?;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let article = json!({ "title": "陈列标准", "body": "货架第二层放新品", "tags": ["陈列"] });
    let (status, article) = call(&api, "POST", manager, "/v1/kb", Some(article)).await?;
    assert_eq!(status, StatusCode::CREATED, "{article}");

    let rep = api.login("acme", "rep1", PASSWORD).await?;
    for (path, count) in [("/v1/form-templates", 1), ("/v1/sop-templates", 1), ("/v1/kb", 1)] {
        let (status, list) = call(&api, "GET", &rep, path, None).await?;
        assert_eq!((status, list.as_array().map(Vec::len)), (StatusCode::OK, Some(count)), "{path}: {list}");
    }
    let phone = server.phone("acme", "rep1").await?;
    phone.kit.sync_now().await?;
    assert_eq!(phone.kit.search_kb("新品", 10)?.len(), 1);

    let path = format!("/v1/kb/{}", article["id"].as_str().unwrap_or_default());
    let (status, _) = call(&api, "DELETE", &rep, &path, None).await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(&api, "DELETE", manager, &path, None).await?;
    assert_eq!(status, StatusCode::NO_CONTENT);
    phone.kit.sync_now().await?;
    assert!(phone.kit.search_kb("新品", 10)?.is_empty(), "the withdrawn article is still searchable");
    Ok(())
}
