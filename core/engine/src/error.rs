//! The engine's error type.

use fieldkit_domain::DomainError;
use fieldkit_domain::checkin::CheckInError;
use fieldkit_domain::docs::DocError;
use fieldkit_domain::geo::GeoError;
use fieldkit_domain::nav::NavError;
use fieldkit_domain::protocol::ErrorCode;

/// Everything that can go wrong in the engine. Messages are lower-case, name the offending
/// value and carry no personal data.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database was written by a newer version of the app; it is left untouched.
    #[error(
        "database schema version {found} is newer than this build supports ({supported}); update the app"
    )]
    SchemaTooNew {
        /// The version found in the file.
        found: usize,
        /// The newest version this build knows.
        supported: usize,
    },
    /// The database key the app gave does not open the database file (or the file is not a
    /// database at all: with a key, the two look the same). Nothing was written: the file is
    /// left as it was. Open it with the right key; if the key is lost, so is the data.
    #[error("the database key does not open {file}")]
    WrongDatabaseKey {
        /// The database file's name (not its whole path).
        file: String,
    },
    /// A database key that is not [`crate::DatabaseKey::LEN`] bytes long.
    #[error("a database key must be 32 bytes, got {len}")]
    InvalidDatabaseKey {
        /// How many bytes were given.
        len: usize,
    },
    /// SQLite failed.
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    /// The schema could not be brought up to date.
    #[error("migration failed: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    /// A file operation failed (moving a corrupt database aside).
    #[error("file error: {0}")]
    Io(#[from] std::io::Error),
    /// A stored value does not parse.
    #[error("stored {what} does not parse: {detail}")]
    Corrupt {
        /// What was being read.
        what: &'static str,
        /// Why it does not parse.
        detail: String,
    },
    /// A value breaks a domain rule.
    #[error(transparent)]
    Invalid(#[from] DomainError),
    /// A location input breaks a rule (accuracy not a number, a fix from the future…).
    #[error(transparent)]
    Location(#[from] GeoError),
    /// A check-in input or the org's check-in rules break a rule.
    #[error(transparent)]
    CheckIn(#[from] CheckInError),
    /// An order that does not match the price list (unknown product, price, discount, total).
    #[error(transparent)]
    Order(#[from] fieldkit_domain::model::OrderError),
    /// A voice note that breaks a rule (duration, size, audio type, transcript…); nothing
    /// was stored.
    #[error(transparent)]
    VoiceNote(#[from] fieldkit_domain::model::VoiceNoteError),
    /// A form response that breaks its template's rules: every field and rule broken.
    #[error("form response breaks {} rule(s): {}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Form(Vec<fieldkit_domain::forms::FieldError>),
    /// A route the planner cannot build (a malformed matrix or stop).
    #[error(transparent)]
    Route(#[from] fieldkit_domain::route::RouteError),
    /// A navigation request the links cannot serve.
    #[error(transparent)]
    Navigation(#[from] NavError),
    /// A photo the pipeline refuses (empty, not a JPEG, too many pixels, damaged…).
    #[error(transparent)]
    Photo(#[from] crate::photo::PhotoError),
    /// The receipt could not be signed (the app's signer failed, or a field is malformed).
    #[error(transparent)]
    Signing(#[from] fieldkit_domain::signing::SigningError),
    /// A feature used before the app set it up.
    #[error("{0} is not set up; call {1} first")]
    NotConfigured(&'static str, &'static str),
    /// A check-in or check-out refused by the visit rules or the org's policy; nothing was
    /// stored.
    #[error("{0}")]
    Refused(crate::fieldkit::VisitRefusal),
    /// An approval request refused on this phone (no flow for its kind); nothing was stored.
    #[error(transparent)]
    Approval(#[from] crate::fieldkit::ApprovalRefusal),
    /// An approval request whose facts break a rule (a leave that does not end after it
    /// starts, a negative amount…); nothing was stored.
    #[error("invalid approval request: {0}")]
    ApprovalRequest(#[from] fieldkit_domain::approval::RequestError),
    /// A task step (or finishing a task) refused by the task's flow; nothing was stored.
    #[error(transparent)]
    TaskStep(#[from] crate::fieldkit::TaskStepRefusal),
    /// A shared document refused an edit (e.g. a status moving back) or does not load.
    #[error(transparent)]
    Document(#[from] DocError),
    /// No such record on this phone.
    #[error("{0} not found on this phone")]
    NotFound(String),
    /// The record is closed (a visit checked out, a form response submitted) and the server
    /// has all of it: it can no longer be edited on this phone.
    #[error("{0} is closed and synced; it can no longer be edited")]
    Closed(String),
    /// The call needs a logged-in user.
    #[error("not logged in")]
    NotLoggedIn,
    /// The server refused the session token (expired or revoked): log in again.
    #[error("the session has expired; log in again")]
    SessionExpired,
    /// Unknown org or user, or wrong password.
    #[error("unknown org, unknown user or wrong password")]
    BadCredentials,
    /// The server could not be reached, or it answered that it is unavailable. Retry later.
    #[error("server unreachable: {0}")]
    Network(String),
    /// The server refused the request.
    #[error("server refused the request ({code:?}): {message}")]
    Server {
        /// The server's stable error code, if it sent one.
        code: Option<ErrorCode>,
        /// The server's message.
        message: String,
    },
    /// The server answered something this build does not understand.
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
}

impl Error {
    /// Whether retrying the same call later may succeed.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Network(_))
    }
}

/// Result of engine calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;
