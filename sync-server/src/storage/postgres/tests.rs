//! The PostgreSQL backend against a real server: sequence numbers in commit order with
//! writers on two instances, feed signals across instances, and migrations run by
//! instances starting together.
//!
//! They need a PostgreSQL server: `FIELDKIT_PG_URL` (scripts/test starts a throw-away
//! cluster and sets it). Without it they print why and pass, unless
//! `FIELDKIT_REQUIRE_POSTGRES=1` (set by scripts/test), which makes a missing server fail.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fieldkit_domain::ids::ProductId;
use fieldkit_domain::model::{Currency, Money, Product, Role};

use super::*;
use crate::provision::{self, UserSpec};

/// A fresh database on the test server, or `None` (with the reason printed) when there is
/// no server and none is required.
pub(super) async fn fresh_database() -> anyhow::Result<Option<tokio_postgres::Config>> {
    let Some(url) = std::env::var("FIELDKIT_PG_URL").ok().filter(|u| !u.is_empty()) else {
        anyhow::ensure!(
            std::env::var("FIELDKIT_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "FIELDKIT_REQUIRE_POSTGRES=1 but FIELDKIT_PG_URL is not set"
        );
        eprintln!("skipped: no PostgreSQL (set FIELDKIT_PG_URL, see scripts/pg-test-cluster)");
        return Ok(None);
    };
    let name = format!("fk_unit_{}", Uuid::now_v7().simple());
    Ok(Some(PgStorage::ensure_database(&url, &name).await?))
}

/// A storage over a fresh database (see [`fresh_database`]), for the modules' own tests.
pub(super) async fn fresh_storage() -> anyhow::Result<Option<PgStorage>> {
    let Some(config) = fresh_database().await? else { return Ok(None) };
    Ok(Some(PgStorage::connect_with(config, 4).await?))
}

fn product(n: usize) -> Record {
    Record::Product(Product {
        id: ProductId::new(),
        sku: format!("SKU-{n}"),
        name: format!("Product {n}"),
        line: "tea".into(),
        list_price: Money { minor: 100, currency: Currency::CNY },
        grade_prices: Default::default(),
        max_discount_pct: 10,
    })
}

#[tokio::test]
async fn a_reader_never_skips_a_change_committed_late_by_another_instance() -> anyhow::Result<()> {
    let Some(config) = fresh_database().await? else { return Ok(()) };
    // Two instances: two pools over one database.
    let a = Arc::new(PgStorage::connect_with(config.clone(), 4).await?);
    let b = Arc::new(PgStorage::connect_with(config, 4).await?);
    let org = provision::create_org(a.as_ref(), "acme", "Acme").await?;
    let admin = provision::add_user(
        a.as_ref(),
        org.id,
        UserSpec {
            username: "admin",
            display_name: "Admin",
            role: Role::Admin,
            team_id: None,
            data_scope: None,
            password: "correct horse battery",
        },
    )
    .await?;
    let reader = FeedReader::for_user(&admin, std::slice::from_ref(&admin));

    // Eight writers, four per instance, 40 records each, while a reader pages the feed.
    const WRITERS: usize = 8;
    const EACH: usize = 40;
    let done = Arc::new(AtomicBool::new(false));
    let reading = {
        let (b, reader, done) = (Arc::clone(&b), reader.clone(), Arc::clone(&done));
        tokio::spawn(async move {
            let mut cursor = 0;
            let mut seen: Vec<u64> = Vec::new();
            loop {
                let finished = done.load(Ordering::SeqCst);
                let page = b.feed(org.id, reader.clone(), None, cursor, 7).await?;
                for entry in &page.entries {
                    anyhow::ensure!(entry.seq > cursor, "entry {} at or below cursor {cursor}", entry.seq);
                    seen.push(entry.seq);
                }
                cursor = page.cursor;
                if finished && !page.has_more {
                    return Ok::<_, anyhow::Error>(seen);
                }
            }
        })
    };
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let storage = if w % 2 == 0 { Arc::clone(&a) } else { Arc::clone(&b) };
        writers.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..EACH {
                seqs.push(storage.put_record(org.id, product(w * EACH + i), None).await?);
            }
            Ok::<_, StorageError>(seqs)
        }));
    }
    let mut written = BTreeSet::new();
    for writer in writers {
        written.extend(writer.await??);
    }
    done.store(true, Ordering::SeqCst);
    let seen = reading.await??;

    assert_eq!(written.len(), WRITERS * EACH, "every write got its own sequence number");
    assert_eq!(
        written.iter().copied().collect::<Vec<_>>(),
        (1..=u64::try_from(WRITERS * EACH)?).collect::<Vec<_>>(),
        "sequence numbers have no gaps"
    );
    let seen_set: BTreeSet<u64> = seen.iter().copied().collect();
    assert_eq!(seen_set, written, "the reader saw every change, none skipped");
    assert_eq!(seen.len(), seen_set.len(), "and none twice");
    Ok(())
}

#[tokio::test]
async fn a_change_committed_through_one_instance_signals_the_other() -> anyhow::Result<()> {
    let Some(config) = fresh_database().await? else { return Ok(()) };
    let a = PgStorage::connect_with(config.clone(), 2).await?;
    let b = PgStorage::connect_with(config, 2).await?;
    let org = provision::create_org(&a, "acme", "Acme").await?;
    let mut signals = b.feed_signals();
    // The listener connects in the background: write until a signal arrives (a few tries at
    // most), then check what it names and that `feed_seq` agrees on both instances.
    let mut heard = None;
    for n in 0..50 {
        a.put_record(org.id, product(n), None).await?;
        if let Ok(Ok(signalled)) = tokio::time::timeout(Duration::from_millis(200), signals.recv()).await {
            heard = Some(signalled);
            break;
        }
    }
    assert_eq!(heard, Some(org.id), "instance b heard of instance a's commit");
    assert_eq!(a.feed_seq(org.id).await?, b.feed_seq(org.id).await?);
    assert!(b.feed_seq(org.id).await? >= 1);
    Ok(())
}

#[tokio::test]
async fn instances_starting_together_migrate_the_database_once() -> anyhow::Result<()> {
    let Some(config) = fresh_database().await? else { return Ok(()) };
    let starts: Vec<_> = (0..3).map(|_| PgStorage::connect_with(config.clone(), 1)).collect();
    let instances = futures_util::future::try_join_all(starts).await?;
    let client = instances[0].client().await?;
    let versions: Vec<i64> = client
        .query("SELECT version FROM schema_migrations ORDER BY version", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, (1..=migrations::LATEST).collect::<Vec<_>>());
    Ok(())
}

#[tokio::test]
async fn a_database_newer_than_the_server_is_refused_and_left_alone() -> anyhow::Result<()> {
    let Some(config) = fresh_database().await? else { return Ok(()) };
    let first = PgStorage::connect_with(config.clone(), 1).await?;
    first
        .client()
        .await?
        .execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&(migrations::LATEST + 1)])
        .await?;
    let refused = PgStorage::connect_with(config, 1).await;
    assert!(
        matches!(&refused, Err(StorageError::Refused(message)) if message.contains("newer than this server")),
        "{:?}",
        refused.err()
    );
    Ok(())
}
