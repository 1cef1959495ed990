//! Feed signals across server instances: every write that bumps an org's sequence sends
//! `NOTIFY fieldkit_feed, '<org id>'` (delivered by PostgreSQL at commit, once per org and
//! transaction), and every instance keeps one connection `LISTEN`ing on that channel and
//! forwards what arrives to its in-process subscribers.
//!
//! The listening connection is re-established after a failure (the database restarted, the
//! network dropped), with a back-off; while it is down, subscribers hear nothing, so whoever
//! waits on a signal also waits with a time-out and re-reads.

use std::sync::Arc;
use std::time::Duration;

use fieldkit_domain::ids::OrgId;
use futures_util::StreamExt;
use tokio::sync::broadcast;
use tokio_postgres::AsyncMessage;

/// The channel name.
pub(super) const CHANNEL: &str = "fieldkit_feed";

/// Stops the listener when the last clone of the storage is dropped.
pub(super) struct ListenerGuard(tokio::task::JoinHandle<()>);

impl Drop for ListenerGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts listening with `config`, forwarding each notified org to `signals`.
pub(super) fn listen(
    config: tokio_postgres::Config,
    signals: broadcast::Sender<OrgId>,
) -> Arc<ListenerGuard> {
    Arc::new(ListenerGuard(tokio::spawn(async move {
        let mut backoff = Duration::from_millis(200);
        loop {
            match listen_once(&config, &signals).await {
                Ok(()) => backoff = Duration::from_millis(200),
                Err(e) => tracing::warn!(error = %e, "feed listener connection failed; reconnecting"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    })))
}

/// One connection's life: `LISTEN`, then forward notifications until the connection ends.
async fn listen_once(
    config: &tokio_postgres::Config,
    signals: &broadcast::Sender<OrgId>,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(tokio_postgres::NoTls).await?;
    let (messages_tx, mut messages) = tokio::sync::mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let mut stream = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = stream.next().await {
            if messages_tx.send(message).is_err() {
                break;
            }
        }
    });
    client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
    tracing::debug!("feed listener connected");
    while let Some(message) = messages.recv().await {
        match message? {
            AsyncMessage::Notification(note) if note.channel() == CHANNEL => {
                match note.payload().parse::<uuid::Uuid>() {
                    Ok(id) => {
                        let _ = signals.send(OrgId::from(id));
                    }
                    Err(_) => tracing::warn!("feed signal with an unreadable payload ignored"),
                }
            }
            _ => {}
        }
    }
    drop(client);
    let _ = driver.await;
    Ok(())
}
