//! Photos that prove themselves, from the phone: stamped and signed by the engine, verified,
//! countersigned and checked for reuse by the server, answerable by bytes or by code.

use std::sync::Arc;

use fieldkit_domain::ids::{CustomerId, VisitId};
use fieldkit_domain::model::{LocationFix, LocationProvider, WgsPoint};
use fieldkit_domain::signing::{ReceiptSigner, SoftwareKey};
use fieldkit_e2e::harness::{Api, PASSWORD, Phone, TestOrg, TestServer, log_to_stderr_if_asked};
use fieldkit_engine::photo::{PhotoInput, PipelineConfig};
use fieldkit_engine::{CheckInInput, Config, Error, FieldKit};
use reqwest::StatusCode;
use serde_json::{Value, json};

const STOREFRONT: &[u8] = include_bytes!("../fixtures/photos/storefront.jpg");
const SHOP: (f64, f64) = (31.2304, 121.4737);

/// The CJK font the tests draw with (Debian's `fonts-wqy-microhei`, installed by
/// `scripts/setup`), or the file named by `FIELDKIT_TEST_FONT`.
fn font() -> Vec<u8> {
    let path = std::env::var("FIELDKIT_TEST_FONT")
        .unwrap_or_else(|_| "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc".to_owned());
    std::fs::read(&path).unwrap_or_else(|e| panic!("test font {path}: {e} (run scripts/setup)"))
}

fn here() -> LocationFix {
    LocationFix {
        // A computed position with all 17 digits, as a phone reports it.
        point: WgsPoint::new(SHOP.0 + 0.000_123_456_789, SHOP.1 - 0.000_098_765_432_1).expect("valid"),
        accuracy_m: 8.0,
        fix_time_ms: fieldkit_server::now_ms(),
        provider: LocationProvider::Gnss,
        is_mock: false,
    }
}

async fn shop(api: &Api, org: &TestOrg, name: &str) -> anyhow::Result<CustomerId> {
    let body = json!({
        "name": name, "grade": "A", "owner_id": org.reps[0].id,
        "place": { "point": { "lat": SHOP.0, "lng": SHOP.1 }, "address": "上海市黄浦区南京东路 353 号" }
    });
    let (status, created) = api.send("POST", "/v1/customers", Some(&org.manager_token), Some(&body)).await?;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    Ok(serde_json::from_value(created["id"].clone())?)
}

/// A visit to `customer`, open.
fn visit(kit: &FieldKit, customer: CustomerId) -> anyhow::Result<VisitId> {
    let input = CheckInInput { customer_id: customer, task_id: None, fix: here(), note: None };
    Ok(kit.check_in(input)?.visit_id)
}

fn configured(kit: &FieldKit) -> anyhow::Result<()> {
    kit.configure_photos(PipelineConfig::default(), font(), 0)?;
    Ok(())
}

async fn photos(api: &Api, token: &str, query: &str) -> anyhow::Result<Vec<Value>> {
    let (status, list) = api.send("GET", &format!("/v1/photos{query}"), Some(token), None).await?;
    assert_eq!(status, StatusCode::OK, "{list}");
    Ok(list.as_array().cloned().unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_taken_on_the_phone_is_verified_countersigned_and_answers_as_authentic() -> anyhow::Result<()>
{
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let customer = shop(&api, &org, "全家便利店").await?;
    let phone = server.phone("acme", "rep1").await?;
    phone.kit.sync_now().await?;
    configured(&phone.kit)?;
    let visit = visit(&phone.kit, customer)?;

    let first = phone.kit.take_photo(PhotoInput::Jpeg(STOREFRONT), Some(visit), Some(here()))?;
    let second = phone.kit.take_photo(PhotoInput::Jpeg(STOREFRONT), Some(visit), Some(here()))?;
    let (r1, r2) = (first.receipt.as_ref().expect("signed"), second.receipt.as_ref().expect("signed"));
    assert_eq!(r1.receipt.sha256.to_hex(), first.sha256);
    assert_eq!(r2.receipt.previous, Some(r1.receipt.receipt_hash()), "receipts chain per device");
    assert_eq!((r1.receipt.width, r1.receipt.height), (1200, 1800), "upright and not enlarged");
    let report = phone.kit.sync_now().await?;
    assert_eq!(report.blobs.completed, 2, "each photo is its own JPEG (its panel differs): {report:?}");
    assert_ne!(first.sha256, second.sha256);

    let listed = photos(&api, &org.manager_token, &format!("?visit={visit}")).await?;
    assert_eq!(listed.len(), 2);
    for photo in &listed {
        assert_eq!(photo["status"], "verified", "{photo}");
        assert_eq!(photo["bytes_verified"], true, "{photo}");
        assert!(photo["countersignature"].as_str().is_some_and(|s| s.len() == 128), "{photo}");
    }
    let by_customer = photos(&api, &org.manager_token, &format!("?customer={customer}")).await?;
    assert_eq!(by_customer.len(), 2, "the customer's photos");

    let bytes = reqwest::Client::new()
        .get(format!("{}/v1/blobs/{}/content", server.url, first.sha256))
        .bearer_auth(&org.manager_token)
        .send()
        .await?
        .bytes()
        .await?
        .to_vec();
    let (_, answer) =
        api.send_raw("POST", "/v1/photos/verify", Some(&org.manager_token), Some(bytes.clone())).await?;
    assert_eq!(answer["authentic"], true, "{answer}");
    let code = &r1.receipt.verification_code;
    let (_, by_code) =
        api.send("GET", &format!("/v1/photos/verify?code={code}"), Some(&org.manager_token), None).await?;
    assert_eq!(by_code["authentic"], true, "{by_code}");
    assert_eq!(by_code["photo"]["fact_id"], json!(first.id));

    let mut flipped = bytes;
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x01;
    let (_, answer) =
        api.send_raw("POST", "/v1/photos/verify", Some(&org.manager_token), Some(flipped)).await?;
    assert_eq!(answer["authentic"], false, "{answer}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resized_re_encoded_copy_of_an_earlier_photo_in_another_visit_is_flagged_as_reuse()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let (a, b) = (shop(&api, &org, "Shop A").await?, shop(&api, &org, "Shop B").await?);
    let phone = server.phone("acme", "rep1").await?;
    phone.kit.sync_now().await?;
    configured(&phone.kit)?;

    let monday = visit(&phone.kit, a)?;
    let original = phone.kit.take_photo(PhotoInput::Jpeg(STOREFRONT), Some(monday), Some(here()))?;
    phone.kit.check_out(monday, here())?;

    // The same storefront again, a smaller re-encoded copy, in another visit.
    // Saved from the gallery: upright (the camera file says EXIF orientation 3).
    let decoded = image::load_from_memory(STOREFRONT)?.rotate180();
    let smaller = decoded.resize(800, 800, image::imageops::FilterType::Triangle);
    let mut copy = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut copy, 70).encode_image(&smaller)?;
    let tuesday = visit(&phone.kit, b)?;
    let reused = phone.kit.take_photo(PhotoInput::Jpeg(&copy), Some(tuesday), Some(here()))?;
    phone.kit.sync_now().await?;

    let listed = photos(&api, &org.manager_token, &format!("?visit={tuesday}")).await?;
    assert_eq!(listed[0]["fact_id"], json!(reused.id));
    assert_eq!(listed[0]["reuse"]["of_fact_id"], json!(original.id), "{}", listed[0]);
    let first = photos(&api, &org.manager_token, &format!("?visit={monday}")).await?;
    assert_eq!(first[0]["reuse"], Value::Null, "the original is not a reuse");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_pictures_are_refused_with_a_clear_error_and_store_nothing() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    server.org("acme", 1).await?;
    let phone = server.phone("acme", "rep1").await?;

    let unset = phone.kit.take_photo(PhotoInput::Jpeg(STOREFRONT), None, None).expect_err("no font yet");
    assert!(matches!(unset, Error::NotConfigured(..)), "{unset}");
    configured(&phone.kit)?;

    let mut one_pixel = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut one_pixel)
        .encode_image(&image::DynamicImage::new_rgb8(1, 1))?;
    let truncated = &STOREFRONT[..STOREFRONT.len() / 3];
    let cases: [(&str, &[u8]); 4] = [
        ("empty", b""),
        ("not a jpeg", b"\x89PNG\r\n\x1a\n this is not a photo"),
        ("1x1", &one_pixel),
        ("truncated", truncated),
    ];
    for (what, bytes) in cases {
        let err = phone.kit.take_photo(PhotoInput::Jpeg(bytes), None, None).expect_err(what);
        assert!(matches!(err, Error::Photo(_)), "{what}: {err:?}");
        assert!(!err.to_string().is_empty());
    }
    let status = phone.kit.sync_status()?;
    assert_eq!((status.outbox.pending, status.blobs_pending), (0, 0), "nothing stored");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_signing_with_the_apps_own_key_registers_it_at_login_and_is_verified() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let customer = shop(&api, &org, "Shop").await?;
    let dir = tempfile::tempdir()?;
    // Stands in for a hardware key: the engine only sees the signer interface.
    let hardware = Arc::new(SoftwareKey::from_seed(&[0x5a; 32]));
    let config = Config {
        db_path: dir.path().join("fieldkit.db"),
        server_url: server.url.clone(),
        org: "acme".into(),
    };
    let phone = Phone::from_kit(FieldKit::open_with_signer(config, hardware.clone())?, dir);
    phone.kit.login("rep1", PASSWORD).await?;
    phone.kit.sync_now().await?;
    configured(&phone.kit)?;

    let visit = visit(&phone.kit, customer)?;
    let photo = phone.kit.take_photo(PhotoInput::Jpeg(STOREFRONT), Some(visit), None)?;
    assert_eq!(photo.receipt.as_ref().map(|r| r.receipt.key_id), Some(hardware.public_key().key_id()));
    phone.kit.sync_now().await?;
    let listed = photos(&api, &org.manager_token, &format!("?visit={visit}")).await?;
    assert_eq!(listed[0]["status"], "verified", "{}", listed[0]);
    Ok(())
}
