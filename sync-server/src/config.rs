//! The server's command line and environment: subcommands, flags and their defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use fieldkit_domain::geo::CivilDate;
use fieldkit_domain::model::Role;

/// FieldKit sync server.
#[derive(Debug, Parser)]
#[command(name = "fieldkit-server", version, about)]
pub struct Cli {
    /// Folder holding the database (created if missing).
    #[arg(long, env = "FIELDKIT_DATA_DIR", default_value = "./fieldkit-data", global = true)]
    pub data_dir: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve(ServeArgs),
    /// Create an org.
    CreateOrg {
        /// Login name of the org (lower-case letters, digits, dashes).
        #[arg(long)]
        slug: String,
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// Forget removals older than some days; phones offline longer start their feed over
    /// (keeping their queued work).
    PruneFeed {
        /// The org's slug.
        #[arg(long)]
        org: String,
        /// Keep removals from the last this many days.
        #[arg(long, default_value_t = 90)]
        keep_days: u32,
    },
    /// Delete location points and track batches older than each org's track retention
    /// (the server also does this at start and hourly).
    PruneTracks {
        /// Only this org (by slug); every org when left out.
        #[arg(long)]
        org: Option<String>,
    },
    /// Check a stamped photo against its receipt file, offline (no server, no database).
    ///
    /// RECEIPT.json is `{"receipt", "signature", "public_key"}` as `photo-bench` writes it.
    /// The receipt's signature is checked with that public key, then the photo's bytes
    /// (SHA-256 and size) against the receipt. "authentic" means the file is the photo that
    /// key signed for; whether the key is a rep's registered device key is for the server to
    /// say (`POST /v1/photos/verify`).
    ///
    /// Prints `authentic` and exits 0, or prints `not authentic: CODE: REASON` and exits 1.
    /// When a file cannot be read or RECEIPT.json is not a receipt file, prints `error: ...`
    /// to stderr and exits 2: nothing could be checked.
    VerifyPhoto(VerifyPhotoArgs),
    /// Generate the daily, weekly and monthly summaries of closed periods that are missing
    /// or stale (late facts), as `serve` does every `--summaries-every-minutes`; for cron.
    Summarize {
        /// Only this org (by slug); every org when left out.
        #[arg(long)]
        org: Option<String>,
        /// Only the day, ISO week and month holding this date (`YYYY-MM-DD`, the org's
        /// local calendar), those already over; without it, every period due.
        #[arg(long, value_parser = parse_date)]
        date: Option<CivilDate>,
    },
    /// Add a user to an org; the password is read from `FIELDKIT_PASSWORD`.
    AddUser {
        /// The org's slug.
        #[arg(long)]
        org: String,
        /// Login name.
        #[arg(long)]
        username: String,
        /// Display name.
        #[arg(long)]
        display_name: String,
        /// `rep`, `manager` or `admin`.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The password (prefer the environment to the command line).
        #[arg(long, env = "FIELDKIT_PASSWORD", hide_env_values = true)]
        password: String,
    },
}

/// Flags of `serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "FIELDKIT_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "FIELDKIT_MAX_BODY_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// How often the daily, weekly and monthly summaries are generated, in minutes (0: never;
    /// `summarize` can then run from cron).
    #[arg(long, env = "FIELDKIT_SUMMARIES_EVERY_MINUTES", default_value_t = 15)]
    pub summaries_every_minutes: u64,
    /// The bearer token a Prometheus scraper presents for `GET /metrics` (the operator's;
    /// without it the endpoint answers 404).
    #[arg(long, env = "FIELDKIT_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
}

/// Arguments of `verify-photo`.
#[derive(Debug, Clone, clap::Args)]
pub struct VerifyPhotoArgs {
    /// The stamped JPEG.
    #[arg(value_name = "FILE.jpg")]
    pub photo: PathBuf,
    /// Its receipt file.
    #[arg(value_name = "RECEIPT.json")]
    pub receipt: PathBuf,
}

fn parse_date(s: &str) -> Result<CivilDate, String> {
    s.parse().map_err(|_| format!("date {s:?} is not a calendar date in YYYY-MM-DD form"))
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("role {s:?} is not one of rep, manager, admin"))
}

impl Default for ServeArgs {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 4 * 1024 * 1024,
            summaries_every_minutes: 15,
            metrics_token: None,
        }
    }
}

/// The database file inside the data folder.
#[must_use]
pub fn database_path(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("fieldkit-server.sqlite3")
}

/// The file holding the server's countersigning key inside the data folder.
#[must_use]
pub fn server_key_path(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join(crate::server_key::FILE_NAME)
}

/// The blob folder inside the data folder.
#[must_use]
pub fn blob_dir(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("blobs")
}
