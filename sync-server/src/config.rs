//! The server's command line and environment: subcommands, flags and their defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use fieldkit_domain::geo::CivilDate;
use fieldkit_domain::model::Role;

use crate::Limits;
use crate::rate_limit::{Budget, BudgetError, Cidr};

/// FieldKit sync server.
#[derive(Debug, Parser)]
#[command(name = "fieldkit-server", version, about)]
pub struct Cli {
    /// A configuration file of `FIELDKIT_…=value` lines (the variables below; `#` starts a
    /// comment). The environment wins over the file, and flags win over both.
    #[arg(long, env = "FIELDKIT_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Log lines as text for people, or as JSON objects for a log pipeline. The level comes
    /// from `RUST_LOG` (default `info`).
    #[arg(long, env = "FIELDKIT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// Folder holding the database (created if missing).
    #[arg(long, env = "FIELDKIT_DATA_DIR", default_value = "./fieldkit-data", global = true)]
    pub data_dir: PathBuf,
    /// A PostgreSQL database to keep the data in instead of the data folder's SQLite file
    /// (a libpq URL, `postgres://USER:PASSWORD@HOST:PORT/DB`). Several server instances may
    /// share one database.
    #[arg(long, env = "FIELDKIT_DATABASE_URL", hide_env_values = true, global = true)]
    pub database_url: Option<String>,
    /// Most PostgreSQL connections this instance holds open at once.
    #[arg(long, env = "FIELDKIT_DATABASE_POOL", default_value_t = 16, global = true)]
    pub database_pool: usize,
    /// What to do.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    Text,
    /// One JSON object per event (timestamp, level, target, fields, span).
    Json,
}

/// The configuration file named on the command line (`--config FILE`, `--config=FILE`) or
/// by `FIELDKIT_CONFIG`: read before the command line is parsed, so that its variables are
/// the flags' defaults.
#[must_use]
pub fn config_file(args: &[String]) -> Option<PathBuf> {
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--config" {
            return args.next().map(PathBuf::from);
        }
        if let Some(path) = arg.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os("FIELDKIT_CONFIG").filter(|v| !v.is_empty()).map(PathBuf::from)
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
    /// Write a consistent copy of the SQLite database to a new file while the server runs
    /// (`VACUUM INTO`). Back up the blob folder and `server.key` beside it (see
    /// docs/operations.md). On PostgreSQL, use `pg_dump` instead.
    Backup {
        /// The file to create (must not exist).
        #[arg(long)]
        to: PathBuf,
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
    /// Where blob bytes (photos, voice notes, attachments) live: a folder, or
    /// `s3://BUCKET[/PREFIX]` on S3-compatible storage set up by the usual AWS variables
    /// (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
    /// `AWS_ALLOW_HTTP`). Default: the data folder's `blobs/`. Server instances behind one
    /// load balancer must all name the same store.
    #[arg(long, env = "FIELDKIT_BLOB_STORE")]
    pub blob_store: Option<String>,
    /// The server's Ed25519 key file (photo countersignatures), created if missing. Default:
    /// the data folder's `server.key`. Server instances behind one load balancer must all
    /// load the same key (mount one secret file into each), or a photo countersigned by one
    /// would not check against another's `/v1/server-key`.
    #[arg(long, env = "FIELDKIT_SERVER_KEY_FILE")]
    pub server_key_file: Option<PathBuf>,
    /// Requests per bearer token, `RATE/UNIT[,BURST]` (units `s`, `min`, `h`) or `off`.
    /// Default: 50/s,200. Limits count per server instance.
    #[arg(long, env = "FIELDKIT_RATE_LIMIT_TOKEN", value_name = "RATE/UNIT[,BURST]|off")]
    pub rate_limit_token: Option<RateLimitArg>,
    /// Requests per client address (an IPv6 client's /64), as `--rate-limit-token`.
    /// Default: 100/s,400.
    #[arg(long, env = "FIELDKIT_RATE_LIMIT_IP", value_name = "RATE/UNIT[,BURST]|off")]
    pub rate_limit_ip: Option<RateLimitArg>,
    /// Login attempts per client address, as `--rate-limit-token`. Default: 30/min,60.
    #[arg(long, env = "FIELDKIT_RATE_LIMIT_LOGIN_IP", value_name = "RATE/UNIT[,BURST]|off")]
    pub rate_limit_login_ip: Option<RateLimitArg>,
    /// Login attempts per org and username, as `--rate-limit-token`. Default: 5/min,10.
    #[arg(long, env = "FIELDKIT_RATE_LIMIT_LOGIN_ACCOUNT", value_name = "RATE/UNIT[,BURST]|off")]
    pub rate_limit_login_account: Option<RateLimitArg>,
    /// A reverse proxy in front of the server (an address or `ADDRESS/PREFIX` block; repeat
    /// the flag, or separate with commas in the environment). A request from one of them is
    /// attributed to the right-most address in `X-Forwarded-For` that is not a trusted
    /// proxy; without this flag the header is ignored and the TCP peer is the client.
    #[arg(
        long = "trusted-proxy",
        env = "FIELDKIT_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_name = "CIDR"
    )]
    pub trusted_proxies: Vec<Cidr>,
}

/// A rate-limit flag's value: a budget, or `off` (`None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitArg(pub Option<Budget>);

impl std::str::FromStr for RateLimitArg {
    type Err = BudgetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().eq_ignore_ascii_case("off") {
            return Ok(Self(None));
        }
        s.parse().map(|budget| Self(Some(budget)))
    }
}

impl ServeArgs {
    /// `limits` with the rate limits and trusted proxies these flags set (a flag left out
    /// keeps the value in `limits`).
    #[must_use]
    pub fn rate_limits(&self, limits: Limits) -> Limits {
        let pick =
            |flag: Option<RateLimitArg>, default: Option<Budget>| flag.map_or(default, |RateLimitArg(b)| b);
        Limits {
            rate_per_token: pick(self.rate_limit_token, limits.rate_per_token),
            rate_per_ip: pick(self.rate_limit_ip, limits.rate_per_ip),
            login_per_ip: pick(self.rate_limit_login_ip, limits.login_per_ip),
            login_per_account: pick(self.rate_limit_login_account, limits.login_per_account),
            trusted_proxies: if self.trusted_proxies.is_empty() {
                limits.trusted_proxies.clone()
            } else {
                self.trusted_proxies.clone()
            },
            ..limits
        }
    }
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
            blob_store: None,
            server_key_file: None,
            rate_limit_token: None,
            rate_limit_ip: None,
            rate_limit_login_ip: None,
            rate_limit_login_account: None,
            trusted_proxies: Vec::new(),
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{Cli, Command};
    use crate::Limits;

    fn serve_limits(args: &[&str]) -> Limits {
        let cli =
            Cli::try_parse_from(["fieldkit-server", "serve"].iter().chain(args)).expect("the flags parse");
        let Some(Command::Serve(serve)) = cli.command else { panic!("serve was asked for") };
        serve.rate_limits(Limits::default())
    }

    #[test]
    fn rate_limit_flags_set_budgets_turn_them_off_or_keep_the_defaults() {
        let limits = serve_limits(&["--rate-limit-token", "5/s,20", "--rate-limit-login-ip", "off"]);
        assert_eq!(limits.rate_per_token.map(|b| b.to_string()).as_deref(), Some("5/s,20"));
        assert_eq!(limits.login_per_ip, None);
        assert_eq!(limits.rate_per_ip, Some(Limits::DEFAULT_RATE_PER_IP));
        assert_eq!(limits.login_per_account, Some(Limits::DEFAULT_LOGIN_PER_ACCOUNT));
        assert!(limits.trusted_proxies.is_empty());
    }

    #[test]
    fn trusted_proxies_repeat_and_a_bad_one_is_refused() {
        let limits = serve_limits(&["--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "::1"]);
        let blocks: Vec<String> = limits.trusted_proxies.iter().map(ToString::to_string).collect();
        assert_eq!(blocks, ["10.0.0.0/8", "::1/128"]);
        assert!(Cli::try_parse_from(["fieldkit-server", "serve", "--trusted-proxy", "10.0.0.0/40"]).is_err());
        assert!(Cli::try_parse_from(["fieldkit-server", "serve", "--rate-limit-ip", "lots"]).is_err());
    }
}
