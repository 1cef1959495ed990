//! The demo org: 30 customers at real places in Shanghai (WGS-84, rounded to ~10 m) and a
//! day of visit tasks for three reps, created through the manager's HTTP API.

use fieldkit_domain::model::{Customer, Task, User};
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::Api;

/// Real places in Shanghai: (district landmark, latitude, longitude), WGS-84.
pub const SHANGHAI_PLACES: [(&str, f64, f64); 30] = [
    ("人民广场", 31.2304, 121.4737),
    ("南京东路", 31.2381, 121.4800),
    ("外滩", 31.2400, 121.4900),
    ("陆家嘴", 31.2397, 121.4998),
    ("静安寺", 31.2237, 121.4456),
    ("徐家汇", 31.1955, 121.4368),
    ("新天地", 31.2196, 121.4750),
    ("田子坊", 31.2096, 121.4692),
    ("中山公园", 31.2193, 121.4177),
    ("五角场", 31.2990, 121.5140),
    ("虹桥火车站", 31.1940, 121.3200),
    ("世纪公园", 31.2150, 121.5450),
    ("豫园", 31.2272, 121.4921),
    ("上海火车站", 31.2497, 121.4554),
    ("复旦大学", 31.2990, 121.5010),
    ("同济大学", 31.2830, 121.5020),
    ("龙华寺", 31.1750, 121.4490),
    ("七宝古镇", 31.1560, 121.3510),
    ("张江高科", 31.2020, 121.5900),
    ("曹家渡", 31.2290, 121.4280),
    ("打浦桥", 31.2060, 121.4700),
    ("鲁迅公园", 31.2720, 121.4800),
    ("大宁", 31.2800, 121.4560),
    ("长风公园", 31.2280, 121.3960),
    ("上海体育场", 31.1830, 121.4370),
    ("八佰伴", 31.2280, 121.5150),
    ("莘庄", 31.1110, 121.3850),
    ("金桥", 31.2590, 121.5900),
    ("江湾体育场", 31.3050, 121.5180),
    ("淮海中路", 31.2180, 121.4600),
];

const SHOP_KINDS: [&str; 5] = ["百佳便利", "好运超市", "新鲜果园", "万家粮油", "康乐药房"];
const GRADES: [&str; 3] = ["A", "B", "C"];

/// Creates the 30 customers through the API as the manager; each rep owns every third one.
pub async fn create_customers(
    api: &Api,
    manager_token: &str,
    reps: &[User],
) -> anyhow::Result<Vec<Customer>> {
    let mut customers = Vec::new();
    for (i, (area, lat, lng)) in SHANGHAI_PLACES.iter().enumerate() {
        let owner = reps.get(i % reps.len().max(1)).map(|r| r.id);
        let body = json!({
            "name": format!("{}（{area}店）", SHOP_KINDS[i % SHOP_KINDS.len()]),
            "place": { "point": { "lat": lat, "lng": lng }, "address": format!("上海市 {area}") },
            "grade": GRADES[i % GRADES.len()],
            "tags": ["demo"],
            "geofence_radius_m": 200,
            "owner_id": owner,
        });
        let (status, answer) = api.send("POST", "/v1/customers", Some(manager_token), Some(&body)).await?;
        anyhow::ensure!(status == StatusCode::CREATED, "customer not created: {status} {answer}");
        customers.push(serde_json::from_value(answer)?);
    }
    Ok(customers)
}

/// Dispatches a visit task for each customer to the rep who owns it, due `deadline_ms`.
pub async fn dispatch_visits(
    api: &Api,
    manager_token: &str,
    customers: &[Customer],
    deadline_ms: i64,
) -> anyhow::Result<Vec<Task>> {
    let mut tasks = Vec::new();
    for customer in customers {
        let body = json!({
            "kind": "customer_visit",
            "title": format!("拜访 {}", customer.name),
            "goal": "检查陈列，清点库存，下订单",
            "deadline_ms": deadline_ms,
            "place": customer.place,
            "customer_id": customer.id,
            "assignee_id": customer.owner_id,
        });
        let (status, answer) = api.send("POST", "/v1/tasks", Some(manager_token), Some(&body)).await?;
        anyhow::ensure!(status == StatusCode::CREATED, "task not created: {status} {answer}");
        tasks.push(serde_json::from_value(answer)?);
    }
    Ok(tasks)
}
