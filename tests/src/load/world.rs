//! The simulated orgs, provisioned straight into the server's storage before the servers
//! start: per org a manager, reps (one per simulated phone), customers, products and a form
//! template. Tokens are stored directly (as `POST /v1/login` would store them) instead of
//! logging 2,000 phones in: each login verifies an argon2 hash, which would measure the
//! password hash rather than sync, and phones log in once a month, not once a minute.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;
use fieldkit_domain::ids::{CustomerId, DeviceId, FormTemplateId, ProductId, TeamId, UserId};
use fieldkit_domain::model::{
    Currency, Customer, FieldKind, FieldRules, FormField, FormTemplate, Grade, Money, Place, Product, Role,
    WgsPoint,
};
use fieldkit_domain::protocol::Record;
use fieldkit_server::provision::{self, UserSpec};
use fieldkit_server::storage::{NewToken, NewUser, Storage};
use sha2::{Digest, Sha256};

use crate::harness::PASSWORD;

/// How long the stored tokens live.
const TOKEN_TTL_MS: i64 = 30 * 24 * 60 * 60 * 1000;

/// One simulated org: what its phones need to make realistic facts.
#[derive(Debug)]
pub struct OrgData {
    /// The org's id.
    pub id: fieldkit_domain::ids::OrgId,
    /// Its login name.
    pub slug: String,
    /// Customers and where they stand.
    pub customers: Vec<(CustomerId, WgsPoint)>,
    /// Products and their list price (minor units, CNY).
    pub products: Vec<(ProductId, i64)>,
    /// The form template reps fill in at visits (version 1).
    pub template: FormTemplateId,
    /// The manager's bearer token.
    pub manager_token: String,
}

/// What one simulated phone starts with.
#[derive(Debug, Clone)]
pub struct PhoneSeed {
    /// Index into [`World::orgs`].
    pub org: usize,
    /// The rep using the phone.
    pub rep: UserId,
    /// The phone's bearer token.
    pub token: String,
    /// The installation.
    pub device: DeviceId,
}

/// Every org and phone of a run.
#[derive(Debug)]
pub struct World {
    /// The orgs.
    pub orgs: Vec<Arc<OrgData>>,
    /// The phones, `phones_per_org` per org in order.
    pub phones: Vec<PhoneSeed>,
}

/// Sizes of the world.
#[derive(Debug, Clone, Copy)]
pub struct WorldSize {
    /// Simulated phones (one rep each).
    pub phones: usize,
    /// Phones per org (the last org may have fewer).
    pub phones_per_org: usize,
    /// Customers per org (everyone's reference data).
    pub customers: usize,
    /// Products per org.
    pub products: usize,
}

/// Creates the orgs, users, tokens and reference data of `size` in `storage`.
pub async fn provision(storage: &dyn Storage, size: WorldSize) -> anyhow::Result<World> {
    let per_org = size.phones_per_org.max(1);
    let org_count = size.phones.div_ceil(per_org);
    let now = fieldkit_server::now_ms();
    let mut orgs = Vec::with_capacity(org_count);
    let mut phones = Vec::with_capacity(size.phones);
    for o in 0..org_count {
        let slug = format!("load-{o}");
        let org = provision::create_org(storage, &slug, &format!("Load org {o}")).await?;
        let team = TeamId::new();
        let spec = UserSpec {
            username: "manager",
            display_name: "Manager",
            role: Role::Manager,
            team_id: Some(team),
            data_scope: None,
            password: PASSWORD,
        };
        let manager = provision::add_user(storage, org.id, spec).await?;
        // Every rep gets the manager's hash: one argon2 hash per org, not per rep.
        let (_, hash) = storage.credentials(&slug, "manager").await?.context("the manager was just added")?;
        let manager_token = token(storage, manager.id, DeviceId::new(), now).await?;
        let reps = (size.phones - o * per_org).min(per_org);
        for r in 0..reps {
            let rep = storage
                .create_user(NewUser {
                    org_id: org.id,
                    username: format!("rep{}", r + 1),
                    display_name: format!("Rep {}", r + 1),
                    role: Role::Rep,
                    team_id: Some(team),
                    data_scope: None,
                    password_hash: hash.clone(),
                })
                .await?;
            let device = DeviceId::new();
            let token = token(storage, rep.id, device, now).await?;
            phones.push(PhoneSeed { org: o, rep: rep.id, token, device });
        }
        let customers = put_customers(storage, org.id, size.customers).await?;
        let products = put_products(storage, org.id, size.products).await?;
        let template = put_template(storage, org.id).await?;
        orgs.push(Arc::new(OrgData { id: org.id, slug, customers, products, template, manager_token }));
    }
    Ok(World { orgs, phones })
}

/// Stores a new token of `user` on `device`, as a login would; answers the token.
async fn token(storage: &dyn Storage, user: UserId, device: DeviceId, now: i64) -> anyhow::Result<String> {
    let token = format!("fk_load_{}{}", uuid::Uuid::now_v7().simple(), uuid::Uuid::now_v7().simple());
    storage
        .store_token(NewToken {
            token_sha256: hex::encode(Sha256::digest(token.as_bytes())),
            user_id: user,
            device_id: device.as_uuid(),
            expires_at_ms: now + TOKEN_TTL_MS,
        })
        .await?;
    Ok(token)
}

async fn put_customers(
    storage: &dyn Storage,
    org: fieldkit_domain::ids::OrgId,
    n: usize,
) -> anyhow::Result<Vec<(CustomerId, WgsPoint)>> {
    const KINDS: [&str; 5] = ["百佳便利", "好运超市", "新鲜果园", "万家粮油", "康乐药房"];
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let d = (i % 2000) as f64 * 1e-4;
        let point = WgsPoint::new(31.15 + d, 121.40 + d).context("points near Shanghai are valid")?;
        let customer = Customer {
            id: CustomerId::new(),
            name: format!("{}（{}号店）", KINDS[i % KINDS.len()], i + 1),
            place: Place { point, address: format!("上海市徐汇区漕溪北路{}号", i + 1) },
            grade: [Grade::A, Grade::B, Grade::C][i % 3],
            tags: vec!["便利店".to_owned(), "徐汇".to_owned()],
            geofence_radius_m: Some(200),
            owner_id: None,
        };
        out.push((customer.id, point));
        storage.put_record(org, Record::Customer(customer), None).await?;
    }
    Ok(out)
}

async fn put_products(
    storage: &dyn Storage,
    org: fieldkit_domain::ids::OrgId,
    n: usize,
) -> anyhow::Result<Vec<(ProductId, i64)>> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let price = 500 + (i as i64 % 40) * 125;
        let product = Product {
            id: ProductId::new(),
            sku: format!("SKU-{i:05}"),
            name: format!("矿泉水 {i} 号"),
            line: ["饮料", "零食", "粮油"][i % 3].to_owned(),
            list_price: Money { minor: price, currency: Currency::CNY },
            grade_prices: BTreeMap::new(),
            max_discount_pct: 10,
        };
        out.push((product.id, price));
        storage.put_record(org, Record::Product(product), None).await?;
    }
    Ok(out)
}

async fn put_template(
    storage: &dyn Storage,
    org: fieldkit_domain::ids::OrgId,
) -> anyhow::Result<FormTemplateId> {
    let field = |key: &str, label: &str, kind: FieldKind, required: bool| FormField {
        key: key.to_owned(),
        label: label.to_owned(),
        kind,
        required,
        rules: FieldRules::default(),
        show_if: None,
    };
    let template = FormTemplate {
        id: FormTemplateId::new(),
        version: 1,
        title: "陈列检查".to_owned(),
        fields: vec![
            field("facings", "排面数", FieldKind::Integer, true),
            field("note", "备注", FieldKind::Text, false),
        ],
    };
    let id = template.id;
    storage.put_record(org, Record::FormTemplate(template), None).await?;
    Ok(id)
}
