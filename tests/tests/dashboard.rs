//! The manager's dashboard in a real browser: the real server on loopback with an org seeded
//! as an admin and phones would (a department tree; a manager over East, a rep in each of
//! its two sub-departments and a rep of another department, customers, visits over two
//! days, orders, a rep's weekly orders long ago and a signed photo), then
//! `tests/browser/dashboard.mjs` drives Debian's headless Chromium through the page (sign in,
//! figures and leaderboard, period, team and rep filters, charts, the correlation and the
//! forecast, dispatch with smart assignment, a visit's photo, sign out) and checks its
//! screenshots. Node.js, the npm packages of `tests/browser` and Chromium come from
//! `scripts/setup`; without them this test fails and says so.

use fieldkit_domain::ids::{CustomerId, DeviceId, FactId, ProductId, TeamId, UserId, VisitId};
use fieldkit_domain::model::{CheckIn, CheckOut, Currency, Order, OrderLine, PhotoRecord, Role, WgsPoint};
use fieldkit_domain::protocol::Fact;
use fieldkit_domain::signing::{
    PerceptualHash, PhotoReceipt, RECEIPT_VERSION, ReceiptSigner, Sha256Hash, SignedReceipt, SoftwareKey,
    sign_receipt, verification_code,
};
use fieldkit_e2e::browser::{self, ScriptRun};
use fieldkit_e2e::facts::{self, event, fix};
use fieldkit_e2e::harness::{Api, PASSWORD, TestOrg, TestServer, log_to_stderr_if_asked};
use reqwest::StatusCode;
use serde_json::{Value, json};

const DAY_MS: i64 = 86_400_000;
const MINUTE_MS: i64 = 60_000;
const STOREFRONT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/photos/storefront.jpg");
/// The viewport the script uses (its screenshots of the viewport have exactly this size).
const VIEWPORT: (u32, u32) = (1400, 1000);
/// A customer name that is markup: the page must show it as text.
const HOSTILE_NAME: &str = "Shop B <img src=x data-injected=1>";
/// The outsider's name: a rep of another team, never to appear on the manager's page.
const OUTSIDER: &str = "zed-outsider";
/// The outsider's department: outside the manager's scope, so not offered as a team.
const OUTSIDE_DEPARTMENT: &str = "West";
/// Weeks of rep2's old weekly orders (10 to 39 weeks back: before any period the script
/// reads), enough history for the forecast of rep2's team and of everyone.
const OLD_WEEKS: std::ops::RangeInclusive<i64> = 10..=39;

fn point(lat: f64, lng: f64) -> WgsPoint {
    WgsPoint::new(lat, lng).expect("the test's places are on the globe")
}

/// A visit of `rep` at `customer` (at `at`): the check-in at `in_ms`, the check-out at `out_ms`.
fn visit(rep: UserId, customer: CustomerId, at: WgsPoint, in_ms: i64, out_ms: i64) -> (CheckIn, CheckOut) {
    let check_in = facts::check_in(rep, customer, at, in_ms);
    let check_out = facts::check_out(&check_in, out_ms);
    (check_in, check_out)
}

/// An order of `of`'s visit at list prices in CNY: `lines` are (product, quantity, unit price).
fn order(of: &CheckIn, lines: &[(ProductId, u32, i64)], at_ms: i64) -> Order {
    facts::order(of.rep_id, of.customer_id, Some(of.visit_id), lines, at_ms)
}

/// A photo of `bytes` at `visit`, signed by `key` as the first receipt of `device`.
fn signed_photo(
    rep: UserId,
    visit: VisitId,
    device: DeviceId,
    key: &SoftwareKey,
    bytes: &[u8],
    at: WgsPoint,
    at_ms: i64,
) -> PhotoRecord {
    let id = FactId::new();
    let sha256 = Sha256Hash::of(bytes);
    let receipt = PhotoReceipt {
        version: RECEIPT_VERSION,
        fact_id: id,
        visit_id: Some(visit),
        rep_id: rep,
        device_id: device,
        key_id: key.public_key().key_id(),
        sha256,
        size_bytes: bytes.len() as u64,
        width: 1600,
        height: 1200,
        dhash: PerceptualHash(0x0f0f_3c3c_f0f0_c3c3),
        verification_code: verification_code(id),
        fix: Some(fix(at, at_ms)),
        at: event(at_ms),
        monotonic_ms: 3_600_000,
        previous: None,
    };
    let signature = sign_receipt(&receipt, key).expect("the receipt is valid");
    PhotoRecord {
        id,
        visit_id: Some(visit),
        rep_id: rep,
        sha256: sha256.to_hex(),
        size_bytes: bytes.len() as u64,
        fix: Some(fix(at, at_ms)),
        at: event(at_ms),
        receipt: Some(SignedReceipt { receipt, signature }),
    }
}

async fn created(api: &Api, token: &str, path: &str, body: Value) -> anyhow::Result<Value> {
    let (status, answer) = api.send("POST", path, Some(token), Some(&body)).await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{path}: {status} {answer}");
    Ok(answer)
}

async fn get(api: &Api, token: &str, path: &str) -> anyhow::Result<Value> {
    let (status, answer) = api.send("GET", path, Some(token), None).await?;
    anyhow::ensure!(status == StatusCode::OK, "{path}: {status} {answer}");
    Ok(answer)
}

async fn patched(api: &Api, token: &str, path: &str, body: Value) -> anyhow::Result<Value> {
    let (status, answer) = api.send("PATCH", path, Some(token), Some(&body)).await?;
    anyhow::ensure!(status == StatusCode::OK, "{path}: {status} {answer}");
    Ok(answer)
}

/// An order without a visit (a phone call) of `quantity` at `unit_price` in CNY.
fn phone_order(
    rep: UserId,
    customer: CustomerId,
    product: ProductId,
    quantity: u32,
    unit_price: i64,
    at_ms: i64,
) -> Order {
    Order {
        id: FactId::new(),
        customer_id: customer,
        visit_id: None,
        rep_id: rep,
        currency: Currency::CNY,
        lines: vec![OrderLine {
            product_id: product,
            quantity,
            unit_price_minor: unit_price,
            discount_minor: 0,
        }],
        amends: None,
        discount_approval: None,
        total_minor: i64::from(quantity) * unit_price,
        at: event(at_ms),
    }
}

/// The org tree, as an admin builds it through the API: East with Shanghai (rep1) and
/// Hangzhou (rep2) under it, the manager over East and below; the outsider in West.
async fn departments(server: &TestServer, org: &TestOrg, outsider: UserId) -> anyhow::Result<Value> {
    let api = Api::new(&server.url);
    server.user(&org.org, "admin", Role::Admin, TeamId::new()).await?;
    let admin = api.login("acme", "admin", PASSWORD).await?;
    let department = |name: &str, parent: Option<&Value>| json!({ "name": name, "parent_id": parent });
    let east = created(&api, &admin, "/v1/departments", department("East", None)).await?["id"].clone();
    let shanghai =
        created(&api, &admin, "/v1/departments", department("Shanghai", Some(&east))).await?["id"].clone();
    let hangzhou =
        created(&api, &admin, "/v1/departments", department("Hangzhou", Some(&east))).await?["id"].clone();
    let west =
        created(&api, &admin, "/v1/departments", department(OUTSIDE_DEPARTMENT, None)).await?["id"].clone();
    let user = |id: UserId| format!("/v1/users/{id}");
    let scope = json!({ "team_id": east, "data_scope": "department_and_below" });
    patched(&api, &admin, &user(org.manager.id), scope).await?;
    patched(&api, &admin, &user(org.reps[0].id), json!({ "team_id": shanghai })).await?;
    patched(&api, &admin, &user(org.reps[1].id), json!({ "team_id": hangzhou })).await?;
    patched(&api, &admin, &user(outsider), json!({ "team_id": west })).await?;
    Ok(json!({ "east": east, "shanghai": shanghai, "hangzhou": hangzhou }))
}

async fn push(api: &Api, token: &str, facts: Vec<Fact>) -> anyhow::Result<()> {
    api.push_facts(token, facts, &["stored"]).await.map(drop)
}

fn iso(days: i64) -> String {
    let date = fieldkit_domain::geo::CivilDate::from_days(days);
    date.to_string()
}

/// What the page must show for a figure row: visits, orders, amount.
fn figures(visits: u32, orders: u32, amount: &str) -> Value {
    json!({ "visits": visits.to_string(), "orders": orders.to_string(), "amount": amount })
}

/// The org seeded, and what the dashboard must show of it (the script's `DASHBOARD_EXPECT`).
async fn seed(server: &TestServer) -> anyhow::Result<Value> {
    let org = server.org("acme", 2).await?;
    let api = Api::new(&server.url);
    let manager = org.manager_token.clone();
    let (rep1, rep2) = (org.reps[0].id, org.reps[1].id);
    let outsider = server.user(&org.org, OUTSIDER, Role::Rep, TeamId::new()).await?;
    let teams = departments(server, &org, outsider.id).await?;

    // Every day a working day, all day long: today's positions are inside working hours
    // whatever the day and hour the test runs at (the live view shows no others).
    let mut settings = get(&api, &manager, "/v1/org/settings").await?;
    settings["working_hours"]["days"] = json!(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]);
    settings["working_hours"]["windows"] = json!([{ "start_min": 0, "end_min": 1440 }]);
    let admin = api.login("acme", "admin", PASSWORD).await?;
    let (status, answer) = api.send("PUT", "/v1/org/settings", Some(&admin), Some(&settings)).await?;
    anyhow::ensure!(status == StatusCode::OK, "{status} {answer}");
    let offset_ms = settings["working_hours"]["offset"].as_i64().unwrap_or(480) * MINUTE_MS;
    let now = fieldkit_server::now_ms();
    let today = (now + offset_ms).div_euclid(DAY_MS);
    let today_start = today * DAY_MS - offset_ms;
    // Moments of today, in order, all past: the k-th tenth of the day so far.
    let today_at = |k: i64| today_start + (now - today_start) * k / 10;
    let yesterday_noon = today_start - 12 * 60 * MINUTE_MS;

    let product = |sku: &str, name: &str, line: &str, minor: i64| {
        json!({ "sku": sku, "name": name, "line": line,
                "list_price": { "minor": minor, "currency": "CNY" } })
    };
    let cola = created(&api, &manager, "/v1/products", product("COLA", "可乐 330ml", "drinks", 350)).await?;
    let chips = created(&api, &manager, "/v1/products", product("CHIPS", "薯片", "snacks", 200)).await?;
    let cola: ProductId = serde_json::from_value(cola["id"].clone())?;
    let chips: ProductId = serde_json::from_value(chips["id"].clone())?;
    let (shop_a, shop_b) = (point(31.2304, 121.4737), point(31.2484, 121.4737));
    let customer = |name: &str, grade: &str, at: WgsPoint, owner: UserId| {
        json!({ "name": name, "grade": grade, "geofence_radius_m": 150,
                "place": { "point": at, "address": "" }, "owner_id": owner })
    };
    let a =
        created(&api, &manager, "/v1/customers", customer("老王便利店 Shop A", "A", shop_a, rep1)).await?;
    let b = created(&api, &manager, "/v1/customers", customer(HOSTILE_NAME, "B", shop_b, rep2)).await?;
    let a: CustomerId = serde_json::from_value(a["id"].clone())?;
    let b: CustomerId = serde_json::from_value(b["id"].clone())?;

    // rep1: yesterday a visit with 10 colas and 5 chips (45.00); today a visit with 2 colas
    // (7.00) and a signed photo, from a phone whose key is registered at login.
    let device = DeviceId::new();
    let key = SoftwareKey::from_seed(&[5; 32]);
    let login = json!({ "org": "acme", "username": "rep1", "password": PASSWORD,
                        "device_id": device, "device_key": key.public_key() });
    let (status, answer) = api.send("POST", "/v1/login", None, Some(&login)).await?;
    anyhow::ensure!(status == StatusCode::OK, "{status} {answer}");
    let rep1_token = answer["token"].as_str().unwrap_or_default().to_owned();
    let (in1, out1) = visit(rep1, a, shop_a, yesterday_noon, yesterday_noon + 30 * MINUTE_MS);
    let order1 = order(&in1, &[(cola, 10, 350), (chips, 5, 200)], yesterday_noon + 10 * MINUTE_MS);
    let (in2, out2) = visit(rep1, a, shop_a, today_at(2), today_at(4));
    let order2 = order(&in2, &[(cola, 2, 350)], today_at(3));
    let bytes = std::fs::read(STOREFRONT)?;
    let photo = signed_photo(rep1, in2.visit_id, device, &key, &bytes, shop_a, today_at(3));
    let photo_visit = in2.visit_id;
    let photo_check_in = in2.id;
    push(
        &api,
        &rep1_token,
        vec![
            Fact::CheckIn(in1),
            Fact::Order(order1),
            Fact::CheckOut(out1),
            Fact::CheckIn(in2),
            Fact::Order(order2),
            Fact::Photo(Box::new(photo.clone())),
            Fact::CheckOut(out2),
        ],
    )
    .await?;
    let path = format!("/v1/blobs/{}?offset=0&size={}", photo.sha256, bytes.len());
    let (status, answer) = api.send_raw("PUT", &path, Some(&rep1_token), Some(bytes)).await?;
    anyhow::ensure!(status == StatusCode::OK && answer["complete"] == true, "{status} {answer}");

    // rep2: today a visit with 4 chips (8.00).
    let rep2_token = api.login("acme", "rep2", PASSWORD).await?;
    let (in3, out3) = visit(rep2, b, shop_b, today_at(5), today_at(6));
    let order3 = order(&in3, &[(chips, 4, 200)], today_at(6));
    push(&api, &rep2_token, vec![Fact::CheckIn(in3), Fact::Order(order3), Fact::CheckOut(out3)]).await?;
    // rep2's weekly phone orders long ago, on Wednesdays at noon: the forecast's history.
    let this_monday = today - (today + 3).rem_euclid(7);
    let old: Vec<Fact> = OLD_WEEKS
        .map(|k| {
            let at = (this_monday - 7 * k + 2) * DAY_MS - offset_ms + 12 * 60 * MINUTE_MS;
            let quantity = 20 + u32::try_from((k * 7) % 13).unwrap_or(0);
            Fact::Order(phone_order(rep2, b, chips, quantity, 200, at))
        })
        .collect();
    push(&api, &rep2_token, old).await?;

    // The rep of another team: a visit with an order the manager must never see.
    let outsider_token = api.login("acme", OUTSIDER, PASSWORD).await?;
    let (in4, out4) = visit(outsider.id, b, shop_b, today_at(5), today_at(7));
    let order4 = order(&in4, &[(cola, 30, 350)], today_at(6));
    push(&api, &outsider_token, vec![Fact::CheckIn(in4), Fact::Order(order4), Fact::CheckOut(out4)]).await?;

    // What the API says of the photo and its visit is what the page must show.
    let photos = get(&api, &manager, &format!("/v1/photos?visit={photo_visit}")).await?;
    anyhow::ensure!(photos[0]["status"] == "verified" && photos[0]["bytes_verified"] == true, "{photos}");
    let check_ins = get(&api, &manager, "/v1/facts?kind=check_in").await?;
    let seen =
        check_ins.as_array().into_iter().flatten().find(|v| v["fact"]["body"]["id"] == json!(photo_check_in));
    let server_verdict = seen
        .and_then(|v| v["server_assessment"]["verdict"]["outcome"].as_str())
        .unwrap_or("unjudged")
        .to_owned();

    let row = |name: &str, visits: u32, orders: u32, amount: &str| {
        json!([name, visits.to_string(), orders.to_string(), amount])
    };
    Ok(json!({
        "all": {
            "from": iso(today - 1), "to": iso(today),
            "figures": figures(3, 3, "60.00 CNY"),
            "leaderboard": [row("rep1", 2, 2, "52.00 CNY"), row("rep2", 1, 1, "8.00 CNY")],
        },
        "today": {
            "from": iso(today), "to": iso(today),
            "figures": figures(2, 2, "15.00 CNY"),
            "leaderboard": [row("rep2", 1, 1, "8.00 CNY"), row("rep1", 1, 1, "7.00 CNY")],
        },
        // Every seeded fact falls in it; its trend goes per week.
        "long": { "from": iso(today - 59), "to": iso(today) },
        "rep_filter": {
            "id": rep2, "name": "rep2",
            "figures": figures(1, 1, "8.00 CNY"),
            "leaderboard": [row("rep2", 1, 1, "8.00 CNY")],
        },
        "team": ["rep1", "rep2"],
        // The team filter: the departments of the manager's scope, nested, children by name.
        "teams": {
            "options": [["East", 0], ["Hangzhou", 1], ["Shanghai", 1]],
            "hidden": OUTSIDE_DEPARTMENT,
            "east": { "id": teams["east"], "figures": figures(3, 3, "60.00 CNY") },
            "shanghai": {
                "id": teams["shanghai"],
                "figures": figures(2, 2, "52.00 CNY"),
                "leaderboard": [row("rep1", 2, 2, "52.00 CNY")],
            },
            "hangzhou": {
                "id": teams["hangzhou"],
                "figures": figures(1, 1, "8.00 CNY"),
                "leaderboard": [row("rep2", 1, 1, "8.00 CNY")],
            },
        },
        // Two reps in the whole period: n = 2, too few for a coefficient.
        "correlation": { "n": "2", "visits": "undefined (fewer than 3 reps)", "time": "undefined (fewer than 3 reps)" },
        // Everyone's and Hangzhou's history (rep2's old orders) is long enough; Shanghai's
        // (rep1's orders of yesterday and today) is not.
        "forecast": { "refused_team": "shanghai", "refused_text": "weeks of order history exist; at least 26 are needed" },
        "outsider": OUTSIDER,
        "hostile_name": HOSTILE_NAME,
        // Shop A is rep1's, next to where rep1 was seen: rep1 first.
        "task": { "customer_label": "老王便利店 Shop A (A)", "ranked": ["rep1", "rep2"] },
        "photo": { "visit_id": photo_visit, "status": "verified", "server_verdict": server_verdict },
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_reads_the_seeded_figures_dispatches_a_task_and_checks_a_photo_on_the_dashboard()
-> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let root = browser::workspace();
    let chromium = browser::require_tools(&root)?;
    let server = TestServer::start().await?;

    // The page and its files are served with their types and a strict policy (the harness's
    // client first: it sets up the TLS provider reqwest wants even for plain HTTP).
    let _ = Api::new(&server.url);
    let http = reqwest::Client::new();
    for (path, content_type) in [
        ("/dashboard", "text/html; charset=utf-8"),
        ("/dashboard/", "text/html; charset=utf-8"),
        ("/dashboard/app.js", "text/javascript; charset=utf-8"),
        ("/dashboard/api.js", "text/javascript; charset=utf-8"),
        ("/dashboard/view.js", "text/javascript; charset=utf-8"),
        ("/dashboard/app.css", "text/css; charset=utf-8"),
        ("/dashboard/vendor/chart.umd.min.js", "text/javascript; charset=utf-8"),
    ] {
        let answer = http.get(format!("{}{path}", server.url)).send().await?;
        assert_eq!(answer.status(), StatusCode::OK, "{path}");
        let header = |name: &str| {
            answer.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
        };
        assert_eq!(header("content-type"), content_type, "{path}");
        assert!(header("content-security-policy").starts_with("default-src 'none'"), "{path}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
    }
    let missing = http.get(format!("{}/dashboard/secrets.js", server.url)).send().await?;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    let expect = seed(&server).await?;
    let shots = root.join("target/dashboard-screenshots");
    if shots.exists() {
        std::fs::remove_dir_all(&shots)?;
    }
    let args: Vec<String> = vec![
        server.url.clone(),
        "acme".to_owned(),
        "manager".to_owned(),
        PASSWORD.to_owned(),
        shots.display().to_string(),
    ];
    let (root2, chromium2, expect2) = (root.clone(), chromium.clone(), expect.clone());
    let ScriptRun { ok, stdout, stderr } = tokio::task::spawn_blocking(move || {
        browser::run_script(
            &root2,
            &chromium2,
            "dashboard.mjs",
            &args,
            &[("DASHBOARD_EXPECT", expect2.to_string())],
        )
    })
    .await??;
    assert!(ok, "the browser run failed (screenshots in {}):\n{stderr}\n{stdout}", shots.display());

    // The script checked each screenshot's pixels; here, that they are all there as PNGs of
    // the sizes it was asked for.
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())?;
    assert_eq!(report["ok"], true, "{stdout}");
    assert!(report["checks"].as_u64().unwrap_or(0) >= 30, "{stdout}");
    for name in
        ["01-login.png", "02-analytics.png", "04-dispatch.png", "05-visit.png", "06-analytics-refused.png"]
    {
        assert_eq!(browser::png_size(&shots.join(name))?, VIEWPORT, "{name}");
    }
    for name in ["02-dashboard.png", "03-today.png"] {
        let (width, height) = browser::png_size(&shots.join(name))?;
        assert!(width == VIEWPORT.0 && height >= VIEWPORT.1, "{name}: {width}×{height}");
    }
    for chart in ["bar", "line", "pie", "scatter", "forecast"] {
        let (width, height) = browser::png_size(&shots.join(format!("02-{chart}.png")))?;
        assert!(width > 100 && height > 100, "{chart}: {width}×{height}");
    }
    server.stop().await
}
