//! Writes the generated seeds into `corpus/<target>/gen_*` (run from the `fuzz` folder).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use automerge::AutoCommit;
use base64::Engine as _;
use fieldkit_domain::docs::task::TaskPatch;
use fieldkit_domain::docs::visit::VisitPatch;
use fieldkit_domain::docs::{self, form_response, task, visit};
use fieldkit_domain::model::{FormResponse, Task, TaskStatus, Visit};
use fieldkit_domain::signing::{PhotoReceipt, ReceiptSigner, SignedReceipt, SoftwareKey, sign_receipt};
use serde_json::json;

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new("corpus").join(target);
    fs::create_dir_all(&dir).expect("corpus folder");
    fs::write(dir.join(format!("gen_{name}")), bytes).expect("seed written");
}

fn id(n: u128) -> String {
    uuid::Uuid::from_u128(0x0195_0000_0000_7000_8000_0000_0000_0000 + n).to_string()
}

fn actor(n: u128) -> automerge::ActorId {
    docs::actor(uuid::Uuid::from_u128(n))
}

fn task_value() -> Task {
    serde_json::from_value(json!({
        "id": id(1), "kind": "store_inspection", "title": "巡店 A", "goal": "check the shelf",
        "deadline_ms": 1_764_288_000_000_i64,
        "place": { "point": { "lat": 31.2304, "lng": 121.4737 }, "address": "人民大道 1 号" },
        "customer_id": id(2), "assignee_id": id(3), "status": "open", "notes": "first note"
    }))
    .expect("a task")
}

fn visit_value() -> Visit {
    serde_json::from_value(json!({
        "id": id(4), "customer_id": id(2), "task_id": id(1), "rep_id": id(3), "check_in_id": id(5),
        "check_out_id": null, "started_ms": 1_764_201_600_000_i64, "ended_ms": null,
        "completed_steps": [0], "notes": "门口有促销"
    }))
    .expect("a visit")
}

fn response_value() -> FormResponse {
    serde_json::from_value(json!({
        "id": id(6), "template_id": id(7), "template_version": 3, "visit_id": id(4), "rep_id": id(3),
        "values": { "shelf_share": 35.5, "in_stock": true, "competitors": ["统一"] }, "submitted": false
    }))
    .expect("a form response")
}

/// Whole documents, and the changes of one edit after them, for each kind.
fn documents() -> Vec<(&'static str, Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();

    let mut doc = docs::empty(actor(1));
    task::create(&mut doc, &task_value()).expect("task created");
    let heads = doc.get_heads();
    let mut phone = docs::load(&doc.save(), actor(2)).expect("loads");
    let patch = TaskPatch {
        status: Some(TaskStatus::InProgress),
        notes: Some("first note, 补货".into()),
        ..TaskPatch::default()
    };
    task::apply(&mut phone, &patch).expect("task edited");
    out.push(("task", doc.save(), phone.save_after(&heads)));

    let mut doc = docs::empty(actor(2));
    visit::create(&mut doc, &visit_value()).expect("visit created");
    let heads = doc.get_heads();
    let patch = VisitPatch {
        check_out: Some((uuid::Uuid::from_u128(9).into(), 1_764_203_400_000)),
        complete_step: Some(2),
        notes: None,
    };
    let mut edited = docs::load(&doc.save(), actor(2)).expect("loads");
    visit::apply(&mut edited, &patch).expect("visit edited");
    out.push(("visit", doc.save(), edited.save_after(&heads)));

    let mut doc: AutoCommit = docs::empty(actor(2));
    form_response::create(&mut doc, &response_value()).expect("response created");
    let heads = doc.get_heads();
    let mut edited = docs::load(&doc.save(), actor(2)).expect("loads");
    let values = BTreeMap::from([("code".to_owned(), json!("SH-0042"))]);
    form_response::apply(&mut edited, &values, true).expect("response edited");
    out.push(("form_response", doc.save(), edited.save_after(&heads)));
    out
}

fn signed_receipt(key: &SoftwareKey) -> SignedReceipt {
    let mut receipt: PhotoReceipt = serde_json::from_value(json!({
        "version": 1, "fact_id": id(20), "visit_id": id(4), "rep_id": id(3), "device_id": id(21),
        "key_id": "00000000000000000000000000000000",
        "sha256": "ab".repeat(32), "size_bytes": 123_456, "width": 1920, "height": 1440,
        "dhash": "00ff00ff00ff00ff", "verification_code": "0A1B-2C3D",
        "fix": { "point": { "lat": 31.230_416_987_654_32, "lng": 121.473_701_234_567_89 }, "accuracy_m": 8.25,
                 "fix_time_ms": 1_764_201_599_000_i64, "provider": "gnss", "is_mock": false },
        "at": { "device_ms": 1_764_201_600_000_i64, "hlc": { "wall_ms": 1_764_201_600_000_i64, "counter": 2, "node": 42 },
                "server_estimate_ms": 1_764_201_600_350_i64 },
        "monotonic_ms": 86_400_123, "previous": "cd".repeat(32)
    }))
    .expect("a receipt");
    receipt.key_id = key.public_key().key_id();
    let signature = sign_receipt(&receipt, key).expect("signs");
    SignedReceipt { receipt, signature }
}

fn main() {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    for (kind, whole, changes) in documents() {
        write("doc_merge", &format!("{kind}_whole"), &whole);
        write("doc_merge", &format!("{kind}_changes"), &changes);
        let push = json!({
            "protocol": 1, "device_id": id(21), "cursor": 7, "pull_limit": 500, "sent_at_ms": 1_764_201_600_000_i64,
            "push": [], "docs": [{ "kind": kind, "id": id(1), "changes": b64(&changes) }]
        });
        write("sync_push", &format!("docs_{kind}.json"), push.to_string().as_bytes());
        let entry =
            json!({ "seq": 12, "change": { "op": "doc", "kind": kind, "id": id(1), "state": b64(&whole) } });
        write("sync_pull", &format!("feed_doc_{kind}.json"), entry.to_string().as_bytes());
    }

    let key = SoftwareKey::from_seed(&[7; 32]);
    let signed = signed_receipt(&key);
    write(
        "photo_receipt",
        "signed_receipt.json",
        serde_json::to_string(&signed).expect("encodes").as_bytes(),
    );
    write("photo_receipt", "ed25519_key", key.public_key().as_bytes());
    let photo = json!({ "kind": "photo", "body": {
        "id": id(20), "visit_id": id(4), "rep_id": id(3), "sha256": "ab".repeat(32), "size_bytes": 123_456,
        "fix": signed.receipt.fix, "at": signed.receipt.at, "receipt": signed
    }});
    write("sync_push", "fact_photo_signed.json", photo.to_string().as_bytes());
    let login = json!({ "org": "demo", "username": "rep1", "password": "pw", "device_id": id(21),
        "device_key": { "algorithm": "ed25519", "key": b64(key.public_key().as_bytes()) } });
    write("sync_push", "login_with_key.json", login.to_string().as_bytes());

    let csv_utf8 = "name,lat,lng,grade,code,address,tags,geofence_radius_m,owner,datum\n\
        便利店 A,31.2304,121.4737,A,C001,人民大道 1 号,key;mall,150,wang,wgs84\n\
        Shop B,31.2404,121.4837,B,C002,\"Road 2, Shanghai\",,,li,gcj02\n\
        Shop C,39.9087,116.3975,C,,,,,,bd09\n\
        ,,,,,,,,,\n\
        Shop D,91,200,Z,C001,,,99999,nobody,mars\n";
    write("customer_csv", "all_columns.csv", csv_utf8.as_bytes());
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice("name;lat;lng;grade\r\n超市 E;31.1;121.2;B\r\n".as_bytes());
    write("customer_csv", "bom_semicolons.csv", &bom);
    write("customer_csv", "tabs.csv", "NAME\tLat\tLng\tGrade\tTags\nF\t30.5\t114.3\tA\ta；b\n".as_bytes());
    // GBK bytes of "名称" is not needed: Excel's Chinese CSV keeps English headers here, the
    // values in GBK ("门店" = C3 C5 B5 EA).
    write("customer_csv", "gbk.csv", b"name,lat,lng,grade\n\xC3\xC5\xB5\xEA,31.2,121.4,A\n");
    write("customer_csv", "bad_header.csv", b"name,lat,lat,colour\nx,1,2,3\n");
}
