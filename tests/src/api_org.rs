//! An org built the way an admin builds one, through the HTTP API: a server, the org with
//! its admin signed in, departments and people (each signed in), and a call as any of them.

use fieldkit_domain::ids::{TeamId, UserId};
use fieldkit_domain::model::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Api, PASSWORD, TestServer, log_to_stderr_if_asked};

/// One signed-in user.
pub struct Person {
    /// The user's id.
    pub id: UserId,
    /// Their department, if any.
    pub team: Option<TeamId>,
    /// Their session token.
    pub token: String,
}

/// `method path` with `body` as `who`: the status and the JSON answer.
pub async fn call(
    api: &Api,
    method: &str,
    who: &Person,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<(StatusCode, Value)> {
    api.send(method, path, Some(&who.token), body.as_ref()).await
}

/// A running server with the org `acme` and its signed-in admin.
pub struct ApiOrg {
    /// The server.
    pub server: TestServer,
    /// A client of it.
    pub api: Api,
    /// The org's admin.
    pub admin: Person,
}

impl ApiOrg {
    /// Starts a server and creates the org `acme` with an admin.
    pub async fn start() -> anyhow::Result<Self> {
        log_to_stderr_if_asked();
        let server = TestServer::start().await?;
        let api = Api::new(&server.url);
        let org = fieldkit_server::provision::create_org(server.storage.as_ref(), "acme", "Acme").await?;
        let admin_user = server.user(&org, "admin", Role::Admin, TeamId::new()).await?;
        let admin =
            Person { id: admin_user.id, team: None, token: api.login("acme", "admin", PASSWORD).await? };
        Ok(Self { server, api, admin })
    }

    /// Creates department `name` under `parent` (an id) and returns its id.
    pub async fn department(&self, name: &str, parent: Option<&str>) -> anyhow::Result<String> {
        let body = json!({ "name": name, "parent_id": parent });
        let (status, made) = call(&self.api, "POST", &self.admin, "/v1/departments", Some(body)).await?;
        anyhow::ensure!(status == StatusCode::CREATED, "{status} {made}");
        Ok(made["id"].as_str().unwrap_or_default().to_owned())
    }

    /// Creates user `username` (shown as `display_name`) with `role` in department `team`, and
    /// signs them in.
    pub async fn person(
        &self,
        username: &str,
        display_name: &str,
        role: &str,
        team: &str,
    ) -> anyhow::Result<Person> {
        let body = json!({ "username": username, "display_name": display_name, "role": role,
            "team_id": team, "password": PASSWORD });
        let (status, user) = call(&self.api, "POST", &self.admin, "/v1/users", Some(body)).await?;
        anyhow::ensure!(status == StatusCode::CREATED, "{status} {user}");
        Ok(Person {
            id: serde_json::from_value(user["id"].clone())?,
            team: serde_json::from_value(user["team_id"].clone())?,
            token: self.api.login("acme", username, PASSWORD).await?,
        })
    }
}
