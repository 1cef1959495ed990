//! Knowledge-base scenarios: articles published on the server, searched offline on the
//! phone in Chinese and English, ranked, with highlights.

use fieldkit_e2e::harness::{Api, TestServer};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn articles_reach_the_phone_and_are_found_in_chinese_and_english_best_first() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let articles = [
        ("新品上市：冰红茶柠檬味", "本季新品。陈列要求：放在冷柜第二层，价签朝外。", vec!["新品", "饮料"]),
        ("货架陈列标准", "所有门店的货架陈列标准：新品放在视线高度，老品放在下层。", vec!["陈列"]),
        (
            "Promotion playbook",
            "How to run an in-store promotion: sampling, displays and price tags.",
            vec!["promotion"],
        ),
        (
            "Returns policy",
            "Damaged goods are returned within seven days; no promotion stock returns.",
            vec![],
        ),
    ];
    for (title, body, tags) in &articles {
        let body = json!({ "title": title, "body": body, "tags": tags });
        let (status, _) = api.send("POST", "/v1/kb", Some(&org.manager_token), Some(&body)).await?;
        assert_eq!(status, reqwest::StatusCode::CREATED);
    }
    let phone = server.phone("acme", "rep1").await?;
    phone.kit.sync_now().await?;
    server.stop().await?; // everything below is offline

    // A four-character Chinese phrase: full-text (trigram) search.
    let hits = phone.kit.search_kb("陈列标准", 10)?;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].title, "货架【陈列标准】");
    // A two-character Chinese word: below trigrams, still found; the title match ranks first.
    let hits = phone.kit.search_kb("新品", 10)?;
    let titles: Vec<&str> = hits.iter().map(|h| h.title.as_str()).collect();
    assert_eq!(titles, ["【新品】上市：冰红茶柠檬味", "货架陈列标准"]);
    assert!(hits[1].snippet.contains("【新品】"), "{}", hits[1].snippet);
    // English, case-insensitive, ranked: the article about promotions beats the passing mention.
    let hits = phone.kit.search_kb("Promotion", 10)?;
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].title, "【Promotion】 playbook");
    assert!(hits[1].snippet.contains("【promotion】"), "{}", hits[1].snippet);
    // Every word must match; query syntax is taken literally; nothing found is empty.
    assert_eq!(phone.kit.search_kb("promotion damaged", 10)?.len(), 1);
    assert!(phone.kit.search_kb("\"NEAR( OR *", 10)?.is_empty());
    assert!(phone.kit.search_kb("   ", 10)?.is_empty());
    Ok(())
}
