//! The audit log of admin actions: what admins change is listed by `GET /v1/audit`, newest
//! first, with the acting admin and the id changed, a page at a time; only an admin of the
//! same org reads it, and it holds no names or passwords — real server over HTTP.

use fieldkit_domain::ids::{DeviceId, TeamId};
use fieldkit_domain::model::{OrgSettings, Role};
use fieldkit_e2e::harness::{Api, PASSWORD, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The `(action, target)` pairs of a list of entries, in order.
fn actions(entries: &Value) -> Vec<(String, String)> {
    entries
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_owned(),
                e["target"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_actions_are_listed_newest_first_to_that_orgs_admins_only_without_personal_data()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let other = server.org("globex", 1).await?;
    let admin_user = server.user(&org.org, "admin", Role::Admin, TeamId::new()).await?;
    server.user(&other.org, "admin", Role::Admin, TeamId::new()).await?;
    let api = Api::new(&server.url);
    let admin = api.login("acme", "admin", PASSWORD).await?;
    let other_admin = api.login("globex", "admin", PASSWORD).await?;

    let empty = api.expect("GET", &admin, "/v1/audit", None, StatusCode::OK).await?;
    assert_eq!(empty, json!([]), "nothing done yet");

    // A department, a user in it, that user's scope, the settings, a revoked device.
    let department = api
        .expect(
            "POST",
            &admin,
            "/v1/departments",
            Some(json!({ "name": "Harbour District" })),
            StatusCode::CREATED,
        )
        .await?;
    let department_id = department["id"].as_str().unwrap_or_default().to_owned();
    let secret = "s3cret-Pa55word";
    let user = api
        .expect(
            "POST",
            &admin,
            "/v1/users",
            Some(json!({ "username": "wfang", "display_name": "Wang Fang", "role": "rep",
                     "team_id": department_id, "password": secret })),
            StatusCode::CREATED,
        )
        .await?;
    let user_id = user["id"].as_str().unwrap_or_default().to_owned();
    api.expect(
        "PATCH",
        &admin,
        &format!("/v1/users/{user_id}"),
        Some(json!({ "data_scope": "department" })),
        StatusCode::OK,
    )
    .await?;
    let settings = OrgSettings { track_retention_days: 9, ..OrgSettings::default() };
    api.expect("PUT", &admin, "/v1/org/settings", Some(serde_json::to_value(&settings)?), StatusCode::OK)
        .await?;
    let device = DeviceId::new();
    let login = json!({ "org": "acme", "username": "rep1", "password": PASSWORD, "device_id": device });
    let (status, answer) = api.send("POST", "/v1/login", None, Some(&login)).await?;
    assert_eq!(status, StatusCode::OK, "{answer}");
    api.expect("POST", &admin, &format!("/v1/devices/{device}/revoke"), None, StatusCode::OK).await?;

    // Refused changes leave no entry.
    api.expect(
        "POST",
        &org.manager_token,
        "/v1/departments",
        Some(json!({ "name": "X" })),
        StatusCode::FORBIDDEN,
    )
    .await?;

    let entries = api.expect("GET", &admin, "/v1/audit", None, StatusCode::OK).await?;
    let org_id = org.org.id.to_string();
    let expected: Vec<(String, String)> = [
        ("device_revoked", device.to_string()),
        ("settings_changed", org_id),
        ("user_changed", user_id.clone()),
        ("user_created", user_id),
        ("department_saved", department_id),
    ]
    .into_iter()
    .map(|(a, t)| (a.to_owned(), t))
    .collect();
    assert_eq!(actions(&entries), expected, "{entries}");
    let list = entries.as_array().cloned().unwrap_or_default();
    let seqs: Vec<u64> = list.iter().filter_map(|e| e["seq"].as_u64()).collect();
    assert_eq!(seqs, vec![5, 4, 3, 2, 1], "newest first");
    for entry in &list {
        assert_eq!(entry["actor_id"], json!(admin_user.id), "{entry}");
        assert!(entry["at_ms"].as_i64().is_some_and(|t| t > 0), "{entry}");
    }
    assert_eq!(list[2]["detail"], "changed data_scope");
    let text = entries.to_string();
    for private in [secret, "Wang Fang", "wfang", "Harbour District"] {
        assert!(!text.contains(private), "the log holds {private:?}: {text}");
    }

    // Paging: two at a time, each page below the last one's lowest seq.
    let page = api.expect("GET", &admin, "/v1/audit?limit=2", None, StatusCode::OK).await?;
    assert_eq!(actions(&page), expected[..2].to_vec());
    let page = api.expect("GET", &admin, "/v1/audit?before=4&limit=2", None, StatusCode::OK).await?;
    assert_eq!(actions(&page), expected[2..4].to_vec());
    let page = api.expect("GET", &admin, "/v1/audit?before=2&limit=2", None, StatusCode::OK).await?;
    assert_eq!(actions(&page), expected[4..].to_vec());
    api.expect("GET", &admin, "/v1/audit?limit=0", None, StatusCode::UNPROCESSABLE_ENTITY).await?;

    // Only an admin reads it, only their own org's, and only signed in.
    api.expect("GET", &org.manager_token, "/v1/audit", None, StatusCode::FORBIDDEN).await?;
    let others = api.expect("GET", &other_admin, "/v1/audit", None, StatusCode::OK).await?;
    assert_eq!(others, json!([]), "another org's admin sees none of it");
    let (status, _) = api.send("GET", "/v1/audit", None, None).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_flows_and_templates_and_importing_customers_are_audited_with_their_actor()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let admin_user = server.user(&org.org, "admin", Role::Admin, TeamId::new()).await?;
    let api = Api::new(&server.url);
    let admin = api.login("acme", "admin", PASSWORD).await?;

    let steps = json!([{ "id": "manager", "title": "Manager", "approvers": [{ "type": "manager" }],
                         "rule": "any_of" }]);
    api.expect(
        "PUT",
        &admin,
        "/v1/approval-flows/leave",
        Some(json!({ "steps": steps })),
        StatusCode::CREATED,
    )
    .await?;
    let task_steps = json!([{ "id": "diagnose", "title": "diagnose", "kind": { "type": "action" } }]);
    api.expect(
        "PUT",
        &admin,
        "/v1/task-flows/repair",
        Some(json!({ "steps": task_steps })),
        StatusCode::CREATED,
    )
    .await?;
    let form = json!({ "title": "Visit report",
                       "fields": [{ "key": "note", "label": "note", "kind": { "type": "text" }, "required": false }] });
    let template =
        api.expect("POST", &org.manager_token, "/v1/form-templates", Some(form), StatusCode::CREATED).await?;
    let csv = "name,lat,lng,grade\nLucky Corner Store,31.2500,121.5000,C\n";
    let response = reqwest::Client::new()
        .post(format!("{}/v1/customers/import", server.url))
        .bearer_auth(&admin)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::OK);

    let entries = api.expect("GET", &admin, "/v1/audit", None, StatusCode::OK).await?;
    let expected: Vec<(String, String)> = [
        ("customers_imported", org.org.id.to_string()),
        ("form_template_published", template["id"].as_str().unwrap_or_default().to_owned()),
        ("task_flow_published", "repair".to_owned()),
        ("approval_flow_published", "leave".to_owned()),
    ]
    .into_iter()
    .map(|(a, t)| (a.to_owned(), t))
    .collect();
    assert_eq!(actions(&entries), expected, "{entries}");
    let actors: Vec<Value> =
        entries.as_array().into_iter().flatten().map(|e| e["actor_id"].clone()).collect();
    let (admin_id, manager_id) = (json!(admin_user.id), json!(org.manager.id));
    assert_eq!(actors, vec![admin_id.clone(), manager_id, admin_id.clone(), admin_id]);
    assert_eq!(entries[0]["detail"], "imported 1, updated 0");
    assert!(!entries.to_string().contains("Lucky Corner Store"), "{entries}");
    Ok(())
}
