//! CSV customer import on the real server: a manager uploads files as a sales-ops admin
//! would (Excel's UTF-8 with a BOM and Windows line ends, Excel's Chinese GBK, Amap
//! coordinates); good files reach the owning rep's phone through the sync feed, a file with
//! bad rows imports nothing (or only its good rows when asked) and names each bad line,
//! importing the same file again creates nothing twice, and a rep may not import.

use std::collections::BTreeSet;

use fieldkit_domain::geo::{MapProvider, haversine_m, wgs84_to_gcj02};
use fieldkit_domain::ids::TeamId;
use fieldkit_domain::model::{Grade, Role, WgsPoint};
use fieldkit_domain::protocol::ErrorCode;
use fieldkit_e2e::harness::{Api, PASSWORD, TestServer, log_to_stderr_if_asked};
use reqwest::StatusCode;
use serde_json::Value;

/// Posts `csv` to `/v1/customers/import{query}` as `text/csv` and returns the status and the
/// JSON answer.
async fn import(
    server: &TestServer,
    token: &str,
    query: &str,
    csv: &[u8],
) -> anyhow::Result<(StatusCode, Value)> {
    let _ = Api::new(&server.url); // installs the TLS provider reqwest wants, as every client here
    let response = reqwest::Client::new()
        .post(format!("{}/v1/customers/import{query}", server.url))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv.to_vec())
        .send()
        .await?;
    let status = response.status();
    Ok((status, serde_json::from_slice(&response.bytes().await?)?))
}

fn counts(answer: &Value) -> (u64, u64, u64) {
    let n = |key: &str| answer[key].as_u64().unwrap_or(u64::MAX);
    (n("imported"), n("updated"), n("unchanged"))
}

fn bad_lines(answer: &Value) -> BTreeSet<u64> {
    answer["bad_rows"].as_array().into_iter().flatten().filter_map(|b| b["line"].as_u64()).collect()
}

fn error_code(body: &Value) -> ErrorCode {
    serde_json::from_value(body["error"]["code"].clone()).expect("an error body with a known code")
}

/// Excel's "CSV UTF-8": a byte-order mark and Windows line ends.
fn excel_utf8(lines: &[&str]) -> Vec<u8> {
    let mut bytes = "\u{feff}".as_bytes().to_vec();
    bytes.extend(lines.join("\r\n").into_bytes());
    bytes.extend(b"\r\n");
    bytes
}

const SHOP: (f64, f64) = (31.2304, 121.4737);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_file_reaches_the_owners_phone_and_importing_it_again_duplicates_nothing() -> anyhow::Result<()>
{
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 2).await?;
    let manager = org.manager_token.as_str();
    let (rep1, rep2) = (org.reps[0].id, org.reps[1].id);
    // The Amap shop is given in GCJ-02, as Amap shows it; it must be stored in WGS-84.
    let amap_shop = WgsPoint::new(31.2400, 121.4900)?;
    let gcj = wgs84_to_gcj02(amap_shop, MapProvider::Amap.default_shift_regions());
    let amap_row = format!("K4,Amap Shop,{},{},C,,,,gcj02,", gcj.lat(), gcj.lng());
    let lines = [
        "Code,Name,Lat,Lng,Grade,Tags,Geofence_Radius_M,Owner,Datum,Address",
        "K1,全家 便利店,31.2304,121.4737,A,超市；连锁,80,rep1,,上海市南京东路 1 号",
        "K2,Lawson,31.2350,121.4800,B,convenience,,rep2,,",
        "K3,Unowned Kiosk,31.2200,121.4600,C,,,,,",
        amap_row.as_str(),
    ];
    let file = excel_utf8(&lines);

    let (status, answer) = import(&server, manager, "", &file).await?;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(counts(&answer), (4, 0, 0), "{answer}");
    assert_eq!((answer["rows"].clone(), answer["encoding"].clone()), (4.into(), "UTF-8".into()));
    assert_eq!(answer["bad_rows"], serde_json::json!([]));

    // Stored in WGS-84, with every column.
    let stored = server.storage.customers(org.org.id).await?;
    assert_eq!(stored.len(), 4);
    let amap = stored.iter().find(|c| c.name == "Amap Shop").expect("the amap shop was imported");
    assert!(haversine_m(amap.place.point, amap_shop) < 0.01, "gcj02 converted back to wgs84");
    let family = stored.iter().find(|c| c.name == "全家 便利店").expect("the shop was imported");
    assert_eq!(
        (family.grade, family.tags.clone(), family.geofence_radius_m, family.owner_id),
        (Grade::A, vec!["超市".to_owned(), "连锁".to_owned()], Some(80), Some(rep1))
    );
    assert_eq!(family.place.address, "上海市南京东路 1 号");
    assert_eq!((family.place.point.lat(), family.place.point.lng()), SHOP);

    // rep1's phone receives its own customer and the unowned ones, not rep2's.
    let phone = server.phone("acme", "rep1").await?;
    phone.kit.sync_now().await?;
    let mut on_phone: Vec<String> = phone.kit.customers()?.into_iter().map(|c| c.name).collect();
    on_phone.sort();
    assert_eq!(on_phone, ["Amap Shop", "Unowned Kiosk", "全家 便利店"]);
    assert!(stored.iter().any(|c| c.owner_id == Some(rep2)));

    // The same file again: nothing new, nothing written.
    let (status, answer) = import(&server, manager, "?mode=all", &file).await?;
    assert_eq!((status, counts(&answer)), (StatusCode::OK, (0, 0, 4)), "{answer}");
    assert_eq!(server.storage.customers(org.org.id).await?.len(), 4);

    // The CRM renamed and regraded K1 and the file no longer has owners or tags: K1 is
    // updated in place, keeps its owner and tags, and the phone sees the change.
    let regraded = excel_utf8(&[
        "code,name,lat,lng,grade",
        "K1,FamilyMart Nanjing Rd,31.2304,121.4737,B",
        "K3,Unowned Kiosk,31.2200,121.4600,C",
    ]);
    let (status, answer) = import(&server, manager, "", &regraded).await?;
    assert_eq!((status, counts(&answer)), (StatusCode::OK, (0, 1, 1)), "{answer}");
    let stored = server.storage.customers(org.org.id).await?;
    assert_eq!(stored.len(), 4);
    let k1 = stored.iter().find(|c| c.id == family.id).expect("K1 is the same customer");
    assert_eq!((k1.name.as_str(), k1.grade, k1.owner_id), ("FamilyMart Nanjing Rd", Grade::B, Some(rep1)));
    assert_eq!(k1.tags, family.tags);
    phone.kit.sync_now().await?;
    let on_phone = phone.kit.customer(family.id)?.expect("K1 is still on the phone");
    assert_eq!((on_phone.name.as_str(), on_phone.grade), ("FamilyMart Nanjing Rd", Grade::B));

    // A sheet without codes is matched by name and place: importing it twice adds it once.
    let no_codes = excel_utf8(&["name,lat,lng,grade", "Corner Store,31.2500,121.5000,C"]);
    let (_, first) = import(&server, manager, "", &no_codes).await?;
    let (_, second) = import(&server, manager, "", &no_codes).await?;
    assert_eq!((counts(&first), counts(&second)), ((1, 0, 0), (0, 0, 1)));
    assert_eq!(server.storage.customers(org.org.id).await?.len(), 5);
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_with_three_bad_rows_imports_nothing_unless_asked_for_the_good_rows() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let manager = org.manager_token.as_str();
    let file = excel_utf8(&[
        "name,lat,lng,grade,owner",
        "Good One,31.20,121.40,A,rep1",
        "Off The Globe,95.5,121.40,A,",
        "Good Two,31.21,121.41,B,",
        "Bad Grade,31.22,121.42,D,",
        "Good Three,31.23,121.43,C,rep1",
        "Manager Owned,31.24,121.44,C,manager",
        ",,,,",
    ]);

    let (status, answer) = import(&server, manager, "?mode=all", &file).await?;
    assert_eq!((status, error_code(&answer)), (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidRequest));
    assert_eq!(answer["error"]["message"], "3 bad row(s); nothing imported");
    assert_eq!(bad_lines(&answer), BTreeSet::from([3, 5, 7]));
    let columns: Vec<&str> =
        answer["bad_rows"].as_array().into_iter().flatten().filter_map(|b| b["column"].as_str()).collect();
    assert_eq!(columns, ["lat", "grade", "owner"]);
    assert_eq!(answer["bad_rows"][0]["value"], "95.5");
    assert_eq!(counts(&answer), (0, 0, 0));
    assert!(server.storage.customers(org.org.id).await?.is_empty(), "nothing of a broken file is stored");

    let (status, answer) = import(&server, manager, "?mode=good", &file).await?;
    assert_eq!((status, counts(&answer)), (StatusCode::OK, (3, 0, 0)), "{answer}");
    assert_eq!(bad_lines(&answer), BTreeSet::from([3, 5, 7]));
    let mut names: Vec<String> =
        server.storage.customers(org.org.id).await?.into_iter().map(|c| c.name).collect();
    names.sort();
    assert_eq!(names, ["Good One", "Good Three", "Good Two"]);

    // A column nobody knows refuses the whole file, naming it, in either mode.
    let unknown = excel_utf8(&["name,lat,lng,grade,phone", "Shop,31.2,121.4,A,13800000000"]);
    let (status, answer) = import(&server, manager, "?mode=good", &unknown).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (answer["bad_rows"][0]["line"].clone(), answer["bad_rows"][0]["value"].clone()),
        (1.into(), "phone".into())
    );
    assert_eq!(server.storage.customers(org.org.id).await?.len(), 3);
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn excels_chinese_gbk_csv_is_imported_with_its_names_intact() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    // "name,lat,lng,grade,tags,address" then 华联超市, 超市；连锁, 上海市南京东路, in GBK as Excel
    // saves a Chinese-locale "CSV (comma delimited)".
    let gbk: &[u8] = b"name,lat,lng,grade,tags,address\r\n\
        \xbb\xaa\xc1\xaa\xb3\xac\xca\xd0,31.2304,121.4737,A,\xb3\xac\xca\xd0\xa3\xbb\xc1\xac\xcb\xf8,\
        \xc9\xcf\xba\xa3\xca\xd0\xc4\xcf\xbe\xa9\xb6\xab\xc2\xb7\r\n";
    let (status, answer) = import(&server, &org.manager_token, "", gbk).await?;
    assert_eq!((status, counts(&answer)), (StatusCode::OK, (1, 0, 0)), "{answer}");
    assert_eq!(answer["encoding"], "gb18030");
    let stored = server.storage.customers(org.org.id).await?;
    assert_eq!(
        (stored[0].name.as_str(), stored[0].tags.clone(), stored[0].place.address.as_str()),
        ("华联超市", vec!["超市".to_owned(), "连锁".to_owned()], "上海市南京东路")
    );
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rep_may_not_import_customers_and_an_admin_may() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let file = excel_utf8(&["name,lat,lng,grade", "Shop,31.2,121.4,A"]);
    let rep = api.login("acme", "rep1", PASSWORD).await?;
    let (status, answer) = import(&server, &rep, "", &file).await?;
    assert_eq!((status, error_code(&answer)), (StatusCode::FORBIDDEN, ErrorCode::Forbidden));
    assert!(server.storage.customers(org.org.id).await?.is_empty());

    server.user(&org.org, "admin", Role::Admin, TeamId::new()).await?;
    let admin = api.login("acme", "admin", PASSWORD).await?;
    let (status, answer) = import(&server, &admin, "", &file).await?;
    assert_eq!((status, counts(&answer)), (StatusCode::OK, (1, 0, 0)), "{answer}");
    server.stop().await
}
