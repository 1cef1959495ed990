//! Photos that prove themselves, on the server: device keys registered at login, every way a
//! receipt can fail, the server's countersignature, the bytes checked when the blob arrives,
//! reuse of a picture at another visit, the verify endpoints and who sees which photo — real
//! server over HTTP on loopback, receipts made and signed here as a phone makes them.

use fieldkit_domain::clock::{EventTime, Hlc};
use fieldkit_domain::ids::{CustomerId, DeviceId, FactId, UserId, VisitId};
use fieldkit_domain::model::{CheckIn, LocationFix, LocationProvider, PhotoRecord, WgsPoint};
use fieldkit_domain::protocol::Fact;
use fieldkit_domain::signing::{
    DevicePublicKey, PerceptualHash, PhotoReceipt, RECEIPT_VERSION, ReceiptSignature, ReceiptSigner,
    Sha256Hash, SignatureAlgorithm, SignedReceipt, SoftwareKey, sign_receipt, verification_code,
};
use fieldkit_e2e::harness::{Api, PASSWORD, TestServer, log_to_stderr_if_asked};
use reqwest::StatusCode;
use serde_json::{Value, json};

const STOREFRONT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/photos/storefront.jpg");
const AT_MS: i64 = 1_764_201_600_000;

/// A phone as far as receipts go: its install id, its key and its last receipt's hash.
struct Device {
    id: DeviceId,
    key: SoftwareKey,
    head: Option<Sha256Hash>,
}

impl Device {
    fn new(seed: u8) -> Self {
        Self { id: DeviceId::new(), key: SoftwareKey::from_seed(&[seed; 32]), head: None }
    }

    /// The receipt this device makes for `record` (chained to its last one), unsigned.
    fn receipt(&self, record: &PhotoRecord, dhash: u64) -> PhotoReceipt {
        PhotoReceipt {
            version: RECEIPT_VERSION,
            fact_id: record.id,
            visit_id: record.visit_id,
            rep_id: record.rep_id,
            device_id: self.id,
            key_id: self.key.public_key().key_id(),
            sha256: record.sha256.parse().expect("records here name their bytes' sha-256"),
            size_bytes: record.size_bytes,
            width: 1600,
            height: 1200,
            dhash: PerceptualHash(dhash),
            verification_code: verification_code(record.id),
            fix: record.fix,
            at: record.at,
            monotonic_ms: 3_600_000,
            previous: self.head,
        }
    }

    /// Signs `receipt` with this device's key and makes it the device's chain head.
    fn sign(&mut self, receipt: PhotoReceipt) -> SignedReceipt {
        let signature = sign_receipt(&receipt, &self.key).expect("receipts here are valid");
        self.head = Some(receipt.receipt_hash());
        SignedReceipt { receipt, signature }
    }

    /// `record` with this device's next receipt.
    fn stamp(&mut self, record: PhotoRecord, dhash: u64) -> PhotoRecord {
        let receipt = self.receipt(&record, dhash);
        PhotoRecord { receipt: Some(self.sign(receipt)), ..record }
    }
}

fn fix() -> LocationFix {
    LocationFix {
        point: WgsPoint::new(31.2304, 121.4737).expect("on the globe"),
        accuracy_m: 9.0,
        fix_time_ms: AT_MS - 1_500,
        provider: LocationProvider::Gnss,
        is_mock: false,
    }
}

fn event() -> EventTime {
    EventTime {
        device_ms: AT_MS,
        hlc: Hlc { wall_ms: AT_MS.unsigned_abs(), counter: 0, node: 3 },
        server_estimate_ms: Some(AT_MS),
    }
}

/// The record of a photo of `bytes` by `rep`, without a receipt.
fn record(rep: UserId, visit: Option<VisitId>, bytes: &[u8]) -> PhotoRecord {
    PhotoRecord {
        id: FactId::new(),
        visit_id: visit,
        rep_id: rep,
        sha256: Sha256Hash::of(bytes).to_hex(),
        size_bytes: bytes.len() as u64,
        fix: Some(fix()),
        at: event(),
        receipt: None,
    }
}

/// `len` bytes standing in for a JPEG, different for each `seed`.
fn jpeg(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

/// Logs `username` in from `device`, registering its key.
async fn login(api: &Api, username: &str, device: &Device) -> anyhow::Result<String> {
    let body = json!({ "org": "acme", "username": username, "password": PASSWORD,
                       "device_id": device.id, "device_key": device.key.public_key() });
    let (status, answer) = api.send("POST", "/v1/login", None, Some(&body)).await?;
    anyhow::ensure!(status == StatusCode::OK, "{status} {answer}");
    Ok(answer["token"].as_str().unwrap_or_default().to_owned())
}

/// Pushes `facts` as `token`'s phone; every one must be stored.
async fn push(api: &Api, token: &str, facts: Vec<Fact>) -> anyhow::Result<()> {
    api.push_facts(token, facts, &["stored"]).await.map(drop)
}

async fn push_photos(api: &Api, token: &str, photos: &[&PhotoRecord]) -> anyhow::Result<()> {
    push(api, token, photos.iter().map(|p| Fact::Photo(Box::new((*p).clone()))).collect()).await
}

/// Uploads `bytes` as one chunk and checks the blob completed.
async fn upload(api: &Api, token: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let sha = Sha256Hash::of(bytes).to_hex();
    let path = format!("/v1/blobs/{sha}?offset=0&size={}", bytes.len());
    let (status, answer) = api.send_raw("PUT", &path, Some(token), Some(bytes.to_vec())).await?;
    anyhow::ensure!(status == StatusCode::OK && answer["complete"] == true, "{status} {answer}");
    Ok(())
}

/// `GET /v1/photos{query}` as `token`.
async fn photos(api: &Api, token: &str, query: &str) -> anyhow::Result<Vec<Value>> {
    let (status, list) = api.send("GET", &format!("/v1/photos{query}"), Some(token), None).await?;
    anyhow::ensure!(status == StatusCode::OK, "{status} {list}");
    Ok(list.as_array().cloned().unwrap_or_default())
}

/// The listing entry of photo `id`, as `token` sees it.
async fn photo(api: &Api, token: &str, id: FactId) -> anyhow::Result<Value> {
    let list = photos(api, token, "").await?;
    list.into_iter()
        .find(|p| p["fact_id"] == json!(id))
        .ok_or_else(|| anyhow::anyhow!("photo {id} not listed"))
}

fn codes(photo: &Value) -> Vec<String> {
    photo["reasons"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["code"].as_str().map(String::from))
        .collect()
}

async fn verify_bytes(api: &Api, token: &str, bytes: &[u8]) -> anyhow::Result<Value> {
    let (status, answer) =
        api.send_raw("POST", "/v1/photos/verify", Some(token), Some(bytes.to_vec())).await?;
    anyhow::ensure!(status == StatusCode::OK, "{status} {answer}");
    Ok(answer)
}

async fn verify_code(api: &Api, token: &str, code: &str) -> anyhow::Result<Value> {
    let (status, answer) =
        api.send("GET", &format!("/v1/photos/verify?code={code}"), Some(token), None).await?;
    anyhow::ensure!(status == StatusCode::OK, "{status} {answer}");
    Ok(answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_photo_is_verified_countersigned_and_authentic_once_its_bytes_arrive() -> anyhow::Result<()>
{
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let mut device = Device::new(1);
    let token = login(&api, "rep1", &device).await?;
    let bytes = std::fs::read(STOREFRONT)?;
    let visit = VisitId::new();
    let shot = device.stamp(record(org.reps[0].id, Some(visit), &bytes), 0x0f0f_3c3c_f0f0_c3c3);
    let receipt = shot.receipt.clone().expect("stamped").receipt;
    push_photos(&api, &token, &[&shot]).await?;

    let listed = photo(&api, &token, shot.id).await?;
    assert_eq!(listed["status"], "verified", "{listed}");
    assert_eq!(listed["reasons"], json!([]));
    assert_eq!(listed["bytes_verified"], false, "the blob has not arrived");
    assert_eq!(listed["verification_code"], receipt.verification_code.as_str());
    assert_eq!((listed["visit_id"].clone(), listed["sha256"].clone()), (json!(visit), json!(shot.sha256)));
    assert_eq!(listed["taken_at"], serde_json::to_value(shot.at)?);
    assert_eq!(listed["fix"], serde_json::to_value(shot.fix)?);
    assert_eq!(listed["reuse"], Value::Null);

    // Anyone can check the countersignature with the server's public key.
    let (status, server_key) = api.send("GET", "/v1/server-key", None, None).await?;
    assert_eq!((status, server_key["algorithm"].as_str()), (StatusCode::OK, Some("ed25519")));
    let public =
        DevicePublicKey::ed25519(&hex::decode(server_key["public_key"].as_str().unwrap_or_default())?)?;
    let received_ms = listed["received_ms"].as_i64().expect("a receive time");
    assert_eq!(listed["receipt_hash"], receipt.receipt_hash().to_hex());
    let mut message = receipt.receipt_hash().0.to_vec();
    message.extend_from_slice(&received_ms.to_be_bytes());
    let countersignature = ReceiptSignature {
        algorithm: SignatureAlgorithm::Ed25519,
        bytes: hex::decode(listed["countersignature"].as_str().unwrap_or_default())?,
    };
    assert!(public.verifies(&message, &countersignature), "countersignature checks");
    message[39] ^= 1;
    assert!(!public.verifies(&message, &countersignature), "and only for its receive time");

    // Before the bytes arrive the photo cannot be authentic yet.
    let answer = verify_bytes(&api, &token, &bytes).await?;
    assert_eq!(answer["authentic"], false);
    assert!(answer["reason"].as_str().unwrap_or_default().contains("not reached the server"), "{answer}");

    upload(&api, &token, &bytes).await?;
    assert_eq!(photo(&api, &token, shot.id).await?["bytes_verified"], true);
    let answer = verify_bytes(&api, &token, &bytes).await?;
    assert_eq!(
        (answer["authentic"].clone(), answer["photo"]["fact_id"].clone()),
        (json!(true), json!(shot.id))
    );
    assert!(answer.get("reason").is_none(), "{answer}");
    let by_code = verify_code(&api, &token, &receipt.verification_code).await?;
    assert_eq!(
        (by_code["authentic"].clone(), by_code["photo"]["fact_id"].clone()),
        (json!(true), json!(shot.id))
    );
    let typed = receipt.verification_code.to_lowercase().replace('-', "");
    assert_eq!(verify_code(&api, &token, &typed).await?["authentic"], true, "typed in lower case, no dash");

    // One bit off, and the server knows no such photo.
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 3] ^= 0x10;
    let answer = verify_bytes(&api, &token, &flipped).await?;
    assert_eq!(answer, json!({ "authentic": false, "reason": "no photo with this hash was recorded" }));
    let answer = verify_code(&api, &token, "ZZZZ-ZZZZ").await?;
    assert_eq!(answer["authentic"], false);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chained_photos_of_one_push_are_checked_in_order_and_bytes_already_there_count_at_once()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let mut device = Device::new(2);
    let token = login(&api, "rep1", &device).await?;
    let rep = org.reps[0].id;
    let bytes: Vec<Vec<u8>> = (0..3).map(|i| jpeg(2_000, i)).collect();
    // The third photo's bytes are on the server before its record.
    upload(&api, &token, &bytes[2]).await?;
    let shots: Vec<PhotoRecord> = bytes
        .iter()
        .enumerate()
        .map(|(i, b)| device.stamp(record(rep, Some(VisitId::new()), b), 0xffff_0000_ffff_0000 >> (i * 16)))
        .collect();
    push_photos(&api, &token, &shots.iter().collect::<Vec<_>>()).await?;
    for (i, shot) in shots.iter().enumerate() {
        let listed = photo(&api, &token, shot.id).await?;
        assert_eq!(listed["status"], "verified", "photo {i}: {listed}");
        assert_eq!(listed["bytes_verified"], i == 2, "photo {i}");
    }

    // The chain goes on in the next push.
    let next = device.stamp(record(rep, None, &jpeg(2_000, 9)), 0x1234);
    push_photos(&api, &token, &[&next]).await?;
    assert_eq!(photo(&api, &token, next.id).await?["status"], "verified");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_replayed_under_a_new_fact_id_fails_as_replayed() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let mut device = Device::new(3);
    let token = login(&api, "rep1", &device).await?;
    let original = device.stamp(record(org.reps[0].id, None, &jpeg(1_000, 1)), 0xabcd);
    push_photos(&api, &token, &[&original]).await?;
    let replay = PhotoRecord { id: FactId::new(), ..original.clone() };
    push_photos(&api, &token, &[&replay]).await?;

    let listed = photo(&api, &token, replay.id).await?;
    assert_eq!(listed["status"], "failed");
    assert!(codes(&listed).contains(&"replayed".to_owned()), "{listed}");
    assert_eq!(listed["countersignature"], Value::Null, "only verified receipts are countersigned");
    assert_eq!(photo(&api, &token, original.id).await?["status"], "verified", "the original stands");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_naming_another_devices_key_fails_as_other_device_key() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let phone = Device::new(4);
    let mut tablet = Device::new(5);
    login(&api, "rep1", &phone).await?;
    let token = login(&api, "rep1", &tablet).await?;
    // Signed by the tablet's (registered) key, but claiming to come from the phone.
    let shot = record(org.reps[0].id, None, &jpeg(1_000, 2));
    let receipt = PhotoReceipt { device_id: phone.id, ..tablet.receipt(&shot, 1) };
    let shot = PhotoRecord { receipt: Some(tablet.sign(receipt)), ..shot };
    push_photos(&api, &token, &[&shot]).await?;
    let listed = photo(&api, &token, shot.id).await?;
    assert_eq!(
        (listed["status"].clone(), codes(&listed)),
        (json!("failed"), vec!["other_device_key".to_owned()])
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_that_skips_one_in_its_chain_fails_as_broken_chain() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let mut device = Device::new(6);
    let token = login(&api, "rep1", &device).await?;
    let rep = org.reps[0].id;
    let first = device.stamp(record(rep, None, &jpeg(1_000, 3)), 1);
    let _withheld = device.stamp(record(rep, None, &jpeg(1_000, 4)), 2);
    let third = device.stamp(record(rep, None, &jpeg(1_000, 5)), 3);
    push_photos(&api, &token, &[&first, &third]).await?;
    assert_eq!(photo(&api, &token, first.id).await?["status"], "verified");
    let listed = photo(&api, &token, third.id).await?;
    assert_eq!(
        (listed["status"].clone(), codes(&listed)),
        (json!("failed"), vec!["broken_chain".to_owned()])
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_changed_after_signing_fails_as_bad_signature() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let mut device = Device::new(7);
    let token = login(&api, "rep1", &device).await?;
    let mut shot = device.stamp(record(org.reps[0].id, None, &jpeg(1_000, 6)), 4);
    if let Some(signed) = shot.receipt.as_mut() {
        signed.receipt.width = 4_000;
    }
    push_photos(&api, &token, &[&shot]).await?;
    let listed = photo(&api, &token, shot.id).await?;
    assert_eq!(
        (listed["status"].clone(), codes(&listed)),
        (json!("failed"), vec!["bad_signature".to_owned()])
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_without_a_key_of_the_pushing_rep_fails_as_unknown_device_key() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 2).await?;
    let api = Api::new(&server.url);
    // rep1 never registered a key; rep2's device has one, but it is rep2's.
    let mut unregistered = Device::new(8);
    let rep1 = api.login("acme", "rep1", PASSWORD).await?;
    let mut rep2_device = Device::new(9);
    login(&api, "rep2", &rep2_device).await?;
    let first = unregistered.stamp(record(org.reps[0].id, None, &jpeg(1_000, 7)), 5);
    let second = rep2_device.stamp(record(org.reps[0].id, None, &jpeg(1_000, 8)), 6);
    push_photos(&api, &rep1, &[&first, &second]).await?;
    for shot in [&first, &second] {
        let listed = photo(&api, &rep1, shot.id).await?;
        assert_eq!(codes(&listed), vec!["unknown_device_key".to_owned()], "{listed}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_without_a_receipt_is_unsigned_and_never_authentic() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let token = api.login("acme", "rep1", PASSWORD).await?;
    let bytes = jpeg(3_000, 10);
    let shot = record(org.reps[0].id, None, &bytes);
    push_photos(&api, &token, &[&shot]).await?;
    upload(&api, &token, &bytes).await?;
    let listed = photo(&api, &token, shot.id).await?;
    assert_eq!(
        (listed["status"].clone(), listed["bytes_verified"].clone(), listed["verification_code"].clone()),
        (json!("unsigned"), json!(true), Value::Null)
    );
    let answer = verify_bytes(&api, &token, &bytes).await?;
    assert_eq!(answer["authentic"], false);
    assert_eq!(answer["reason"], "the photo carries no signed receipt");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_that_arrive_with_another_size_than_signed_fail_the_photo() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let mut device = Device::new(10);
    let token = login(&api, "rep1", &device).await?;
    let bytes = jpeg(1_500, 11);
    let claimed = PhotoRecord { size_bytes: 1_501, ..record(org.reps[0].id, None, &bytes) };
    let shot = device.stamp(claimed, 7);
    push_photos(&api, &token, &[&shot]).await?;
    assert_eq!(photo(&api, &token, shot.id).await?["status"], "verified", "nothing to tell until the bytes");
    upload(&api, &token, &bytes).await?;
    let listed = photo(&api, &token, shot.id).await?;
    assert_eq!(
        (listed["status"].clone(), codes(&listed)),
        (json!("failed"), vec!["bytes_mismatch".to_owned()])
    );
    assert_eq!(verify_bytes(&api, &token, &bytes).await?["authentic"], false);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_key_for_a_device_replaces_the_old_one_and_starts_a_new_chain() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let rep = org.reps[0].id;
    let mut old = Device::new(11);
    let token = login(&api, "rep1", &old).await?;
    let before = old.stamp(record(rep, None, &jpeg(1_000, 12)), 8);
    push_photos(&api, &token, &[&before]).await?;

    // Reinstalled: same device id, a new key, a new chain.
    let mut new = Device { id: old.id, key: SoftwareKey::from_seed(&[12; 32]), head: None };
    let token = login(&api, "rep1", &new).await?;
    let late_old = old.stamp(record(rep, None, &jpeg(1_000, 13)), 9);
    let first_new = new.stamp(record(rep, None, &jpeg(1_000, 14)), 10);
    push_photos(&api, &token, &[&late_old, &first_new]).await?;
    assert_eq!(codes(&photo(&api, &token, late_old.id).await?), vec!["other_device_key".to_owned()]);
    assert_eq!(photo(&api, &token, first_new.id).await?["status"], "verified");
    // Logging in again with the same key keeps the chain.
    let token = login(&api, "rep1", &new).await?;
    let second_new = new.stamp(record(rep, None, &jpeg(1_000, 15)), 11);
    push_photos(&api, &token, &[&second_new]).await?;
    assert_eq!(photo(&api, &token, second_new.id).await?["status"], "verified");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_near_identical_photo_from_another_visit_is_flagged_as_reuse_and_the_same_visit_is_not()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let mut device = Device::new(13);
    let token = login(&api, "rep1", &device).await?;
    let rep = org.reps[0].id;
    let (monday, tuesday) = (VisitId::new(), VisitId::new());
    let shelf: u64 = 0x8f3c_1e0f_7c3e_1f0f;
    let original = device.stamp(record(rep, Some(monday), &jpeg(1_000, 16)), shelf);
    let retake = device.stamp(record(rep, Some(monday), &jpeg(1_000, 17)), shelf);
    push_photos(&api, &token, &[&original, &retake]).await?;
    // The same shelf re-encoded (three bits off) for another visit, and an unrelated picture.
    let reused = device.stamp(record(rep, Some(tuesday), &jpeg(1_000, 18)), shelf ^ 0b1011);
    let other = device.stamp(record(rep, Some(tuesday), &jpeg(1_000, 19)), !shelf);
    push_photos(&api, &token, &[&reused, &other]).await?;

    assert_eq!(photo(&api, &token, retake.id).await?["reuse"], Value::Null, "same visit");
    let listed = photo(&api, &token, reused.id).await?;
    assert_eq!(listed["status"], "verified", "reuse is a flag, not a failure");
    assert_eq!(listed["reuse"], json!({ "of_fact_id": original.id, "distance": 3 }), "closest, earliest");
    assert_eq!(photo(&api, &token, other.id).await?["reuse"], Value::Null);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rep_sees_only_their_own_photos_and_the_manager_sees_the_teams() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 2).await?;
    let api = Api::new(&server.url);
    let (mut phone1, mut phone2) = (Device::new(14), Device::new(15));
    let (rep1, rep2) = (login(&api, "rep1", &phone1).await?, login(&api, "rep2", &phone2).await?);
    let (rep1_id, rep2_id) = (org.reps[0].id, org.reps[1].id);

    // rep1 visits a customer (check-in and photo); rep2 takes a photo without a visit.
    let customer = CustomerId::new();
    let visit = VisitId::new();
    let check_in = CheckIn {
        id: FactId::new(),
        visit_id: visit,
        customer_id: customer,
        task_id: None,
        rep_id: rep1_id,
        fix: fix(),
        at: event(),
        note: None,
        assessment: None,
    };
    let bytes1 = jpeg(1_000, 20);
    let at_customer = phone1.stamp(record(rep1_id, Some(visit), &bytes1), 12);
    let elsewhere = phone1.stamp(record(rep1_id, Some(VisitId::new()), &jpeg(1_000, 21)), 13);
    push(
        &api,
        &rep1,
        vec![
            Fact::CheckIn(check_in),
            Fact::Photo(Box::new(at_customer.clone())),
            Fact::Photo(Box::new(elsewhere.clone())),
        ],
    )
    .await?;
    upload(&api, &rep1, &bytes1).await?;
    let theirs = phone2.stamp(record(rep2_id, None, &jpeg(1_000, 22)), 14);
    push_photos(&api, &rep2, &[&theirs]).await?;

    let ids = |list: Vec<Value>| list.into_iter().map(|p| p["fact_id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(photos(&api, &rep1, "").await?), vec![json!(at_customer.id), json!(elsewhere.id)]);
    assert_eq!(ids(photos(&api, &rep2, "").await?), vec![json!(theirs.id)]);
    assert_eq!(
        ids(photos(&api, &org.manager_token, "").await?),
        vec![json!(at_customer.id), json!(elsewhere.id), json!(theirs.id)]
    );
    let by_customer = photos(&api, &org.manager_token, &format!("?customer={customer}")).await?;
    assert_eq!(by_customer.len(), 1);
    assert_eq!(
        (by_customer[0]["fact_id"].clone(), by_customer[0]["customer_id"].clone()),
        (json!(at_customer.id), json!(customer))
    );
    assert_eq!(
        ids(photos(&api, &org.manager_token, &format!("?visit={visit}")).await?),
        vec![json!(at_customer.id)]
    );
    assert!(photos(&api, &rep2, &format!("?visit={visit}")).await?.is_empty(), "not rep2's");

    // rep2 may learn that rep1's photo is authentic, not what it shows.
    let code = verification_code(at_customer.id);
    let answer = verify_code(&api, &rep2, &code).await?;
    assert_eq!(answer, json!({ "authentic": true }));
    assert_eq!(verify_code(&api, &org.manager_token, &code).await?["photo"]["rep_id"], json!(rep1_id));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_larger_than_an_ordinary_request_body_can_still_be_checked() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let mut device = Device::new(16);
    let token = login(&api, "rep1", &device).await?;
    // 6 MiB: past the 4 MiB body limit, within the 50 MiB blob limit.
    let bytes = jpeg(6 * 1024 * 1024, 23);
    let shot = device.stamp(record(org.reps[0].id, None, &bytes), 15);
    push_photos(&api, &token, &[&shot]).await?;
    for chunk in 0..6 {
        let (start, end) = (chunk * 1024 * 1024, (chunk + 1) * 1024 * 1024);
        let path = format!("/v1/blobs/{}?offset={start}&size={}", shot.sha256, bytes.len());
        let (status, answer) =
            api.send_raw("PUT", &path, Some(&token), Some(bytes[start..end].to_vec())).await?;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let answer = verify_bytes(&api, &token, &bytes).await?;
    assert_eq!(
        (answer["authentic"].clone(), answer["photo"]["fact_id"].clone()),
        (json!(true), json!(shot.id))
    );
    Ok(())
}
