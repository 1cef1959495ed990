//! Knowledge-base scenarios: articles published on the server, searched offline on the
//! phone in Chinese and English, ranked, with highlights; their attachments uploaded as
//! blobs, checked on publishing, downloaded and verified on demand, then opened offline.

use fieldkit_domain::ids::ArticleId;
use fieldkit_e2e::harness::{Api, PASSWORD, Phone, TestServer, open_phone};
use fieldkit_engine::Error;
use fieldkit_server::Limits;
use reqwest::StatusCode;
use serde_json::json;
use sha2::{Digest, Sha256};

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
        assert_eq!(status, StatusCode::CREATED);
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

/// `len` bytes that look like a PDF: the header, then bytes that do not compress.
fn pdf_like(len: usize, seed: u64) -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut state = seed;
    while bytes.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.push(state.to_le_bytes()[0]);
    }
    bytes
}

/// Uploads `bytes` through the blob routes in 256 KiB chunks, as a dashboard would; returns
/// their SHA-256.
async fn upload_blob(api: &Api, token: &str, bytes: &[u8]) -> anyhow::Result<String> {
    let sha = hex::encode(Sha256::digest(bytes));
    let size = bytes.len();
    for offset in (0..size).step_by(256 * 1024) {
        let chunk = bytes[offset..size.min(offset + 256 * 1024)].to_vec();
        let path = format!("/v1/blobs/{sha}?offset={offset}&size={size}");
        let (status, answer) = api.send_raw("PUT", &path, Some(token), Some(chunk)).await?;
        anyhow::ensure!(status == StatusCode::OK, "chunk at {offset} refused: {status} {answer}");
    }
    Ok(sha)
}

fn attachment(name: &str, sha: &str, size: usize) -> serde_json::Value {
    json!({ "name": name, "sha256": sha, "size_bytes": size, "content_type": "application/pdf" })
}

async fn publish(api: &Api, token: &str, body: &serde_json::Value) -> anyhow::Result<ArticleId> {
    let (status, answer) = api.send("POST", "/v1/kb", Some(token), Some(body)).await?;
    anyhow::ensure!(status == StatusCode::CREATED, "article refused: {status} {answer}");
    Ok(serde_json::from_value(answer["id"].clone())?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attachment_is_downloaded_once_verified_and_then_opened_offline() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let sheet = pdf_like(600 * 1024, 7);
    let sheet_sha = upload_blob(&api, &org.manager_token, &sheet).await?;
    let price_list = pdf_like(40 * 1024, 8);
    let price_sha = upload_blob(&api, &org.manager_token, &price_list).await?;
    let body = json!({
        "title": "冰红茶柠檬味 产品规格 Product sheet",
        "body": "规格：500ml，每箱15瓶。Shelf life twelve months; keep chilled for display.",
        "tags": ["新品"],
        "attachments": [
            attachment("冰红茶规格.pdf", &sheet_sha, sheet.len()),
            attachment("price-list.pdf", &price_sha, price_list.len()),
        ],
    });
    let article = publish(&api, &org.manager_token, &body).await?;
    let phone = server.phone("acme", "rep1").await?;
    phone.kit.sync_now().await?;

    // Found in Chinese (two characters and longer) and in English.
    for query in ["规格", "冰红茶柠檬", "shelf life", "Product"] {
        let hits = phone.kit.search_kb(query, 10)?;
        assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), [article], "query {query:?}");
    }
    // The list of attachments is there before any download.
    let listed = phone.kit.kb_article(article)?;
    let names: Vec<&str> = listed.attachments.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["冰红茶规格.pdf", "price-list.pdf"]);
    assert_eq!(listed.attachments[0].size_bytes, sheet.len() as u64);

    let path = phone.kit.kb_attachment(article, &sheet_sha).await?;
    assert_eq!(std::fs::read(&path)?, sheet);
    assert!(path.ends_with(&sheet_sha), "stored under its hash: {}", path.display());

    server.stop().await?; // offline from here
    let again = phone.kit.kb_attachment(article, &sheet_sha).await?;
    assert_eq!((again.as_path(), std::fs::read(&again)?), (path.as_path(), sheet));
    assert_eq!(phone.kit.kb_article(article)?.attachments.len(), 2);
    // Never fetched: needs the network, and says so in a way worth retrying.
    let offline = phone.kit.kb_attachment(article, &price_sha).await.err();
    assert!(offline.as_ref().is_some_and(Error::is_retryable), "{offline:?}");
    // Not an attachment of this article, or no such article: not found.
    let stranger = hex::encode(Sha256::digest(b"not attached"));
    let missing = phone.kit.kb_attachment(article, &stranger).await.err();
    assert!(matches!(missing, Some(Error::NotFound(_))), "{missing:?}");
    let missing = phone.kit.kb_attachment(ArticleId::new(), &sheet_sha).await.err();
    assert!(matches!(missing, Some(Error::NotFound(_))), "{missing:?}");
    assert!(matches!(phone.kit.kb_article(ArticleId::new()), Err(Error::NotFound(_))));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_article_naming_a_blob_not_uploaded_whole_is_refused_with_422() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let token = org.manager_token.as_str();
    let never = hex::encode(Sha256::digest(b"never uploaded"));
    let sheet = pdf_like(2000, 9);
    let sha = hex::encode(Sha256::digest(&sheet));
    let path = format!("/v1/blobs/{sha}?offset=0&size={}", sheet.len());
    let (status, _) = api.send_raw("PUT", &path, Some(token), Some(sheet[..1000].to_vec())).await?;
    assert_eq!(status, StatusCode::OK, "half of it arrived");

    let cases = [
        (attachment("a.pdf", &never, 10), never.clone()),
        (attachment("b.pdf", &sha, sheet.len()), sha.clone()),
        (attachment("c.pdf", &never.to_uppercase(), 10), never.to_uppercase()),
    ];
    for (attached, named) in cases {
        let body = json!({ "title": "规格", "body": "", "attachments": [attached] });
        let (status, answer) = api.send("POST", "/v1/kb", Some(token), Some(&body)).await?;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(&named), "{message}");
    }
    // Complete, but not the size the article gives.
    let rest = format!("/v1/blobs/{sha}?offset=1000&size={}", sheet.len());
    api.send_raw("PUT", &rest, Some(token), Some(sheet[1000..].to_vec())).await?;
    let body = json!({ "title": "规格", "body": "", "attachments": [attachment("b.pdf", &sha, 1999)] });
    let (status, answer) = api.send("POST", "/v1/kb", Some(token), Some(&body)).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    // Nothing refused reached the phone; the corrected article does.
    let body =
        json!({ "title": "规格", "body": "", "attachments": [attachment("b.pdf", &sha, sheet.len())] });
    let article = publish(&api, token, &body).await?;
    let phone = server.phone("acme", "rep1").await?;
    phone.kit.sync_now().await?;
    let hits = phone.kit.search_kb("规格", 10)?;
    assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), [article]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloaded_bytes_that_do_not_match_the_attachment_are_refused_and_kept_nowhere() -> anyhow::Result<()>
{
    let server_dir = tempfile::tempdir()?;
    let server = TestServer::start_in(server_dir.path(), "127.0.0.1:0", Limits::default()).await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let sheet = pdf_like(300 * 1024, 10);
    let sha = upload_blob(&api, &org.manager_token, &sheet).await?;
    let body = json!({ "title": "Display guide", "body": "", "attachments": [attachment("g.pdf", &sha, sheet.len())] });
    let article = publish(&api, &org.manager_token, &body).await?;
    let phone_dir = tempfile::tempdir()?;
    let db = phone_dir.path().join("fieldkit.db");
    let kit = open_phone(&db, &server.url, "acme")?;
    kit.login("rep1", PASSWORD).await?;
    let phone = Phone::from_kit(kit, phone_dir);
    phone.kit.sync_now().await?;

    // The server's copy goes bad on its disk: same length, one byte flipped.
    let served = fieldkit_server::config::blob_dir(server_dir.path()).join(org.org.id.to_string()).join(&sha);
    let mut damaged = sheet.clone();
    damaged[5000] ^= 0xff;
    std::fs::write(&served, &damaged)?;
    let refused = phone.kit.kb_attachment(article, &sha).await.err();
    assert!(matches!(refused, Some(Error::Protocol(ref m)) if m.contains(&sha)), "{refused:?}");
    // Shorter than the article says.
    std::fs::write(&served, &sheet[..1000])?;
    let refused = phone.kit.kb_attachment(article, &sha).await.err();
    assert!(matches!(refused, Some(Error::Protocol(_))), "{refused:?}");
    let mut blob_dir = db.into_os_string();
    blob_dir.push(".blobs");
    let kept: Vec<_> = std::fs::read_dir(&blob_dir)?.collect::<Result<_, _>>()?;
    assert!(kept.is_empty(), "nothing kept: {kept:?}");

    // Repaired on the server: the next attempt succeeds.
    std::fs::write(&served, &sheet)?;
    let path = phone.kit.kb_attachment(article, &sha).await?;
    assert_eq!(std::fs::read(path)?, sheet);
    Ok(())
}
