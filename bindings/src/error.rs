//! The one error type apps see, with few variants, each telling the app what to do next.
//!
//! Kotlin sees it as the sealed class `FieldKitException` (`FieldKitException.Offline`…),
//! Swift as the enum `FieldKitError`. Fields are never called `message`: Kotlin's
//! `Throwable.message` is generated from the fields, so apps match on the variant and read
//! its fields.

use fieldkit_engine::{Error as EngineError, VisitRefusal};

use fieldkit_domain::checkin::CheckInAssessment;

/// Everything a FieldKit call can fail with. Messages are lower-case, name the offending
/// value and carry no personal data.
#[derive(Debug, Clone, PartialEq, thiserror::Error, uniffi::Error)]
pub enum FieldKitError {
    /// The server could not be reached (no network, server down or unavailable). Nothing was
    /// lost: queued work stays queued. Retry later, or let the sync schedule do it.
    #[error("offline: {detail}")]
    Offline {
        /// What failed, for logs.
        detail: String,
    },
    /// The user must log in (again): wrong username or password, an expired or revoked
    /// session, or no session yet. Queued work stays queued until the next login.
    #[error("unauthorized: {detail}")]
    Unauthorized {
        /// Why, for logs.
        detail: String,
    },
    /// An argument the app passed breaks a rule; fix the input (it is not retryable).
    #[error("invalid {field}: {detail}")]
    InvalidInput {
        /// The argument or input area at fault (`username`, `task_id`, `location`…).
        field: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The rules refused the action (a status moving back, a check-in out of turn, the
    /// server refusing the request); nothing was stored. Show `reason` to the user.
    #[error("refused: {reason}")]
    Refused {
        /// Why, readable by the user.
        reason: String,
        /// For a check-in the org's rules reject: the verdict, with every reason and
        /// whether a stated reason (the check-in's note) would let it through.
        verdict: Option<CheckInAssessment>,
    },
    /// The record asked for is not on this phone (not synced yet, or removed).
    #[error("not found: {what}")]
    NotFound {
        /// Which record.
        what: String,
    },
    /// The database key the app gave (`openEncrypted`) does not open the phone database
    /// `file`: a wrong key, or a file that is not a database. Nothing was changed: the file
    /// is left as it was. Open again with the right key from the keystore; if the key is
    /// lost, so is the data in the file (the app may then move the file away itself and
    /// start a fresh database, losing work not yet synced).
    #[error("the database key does not open {file}")]
    WrongDatabaseKey {
        /// The database file's name (not its path).
        file: String,
    },
    /// The local database cannot be used: written by a newer version of the app (update
    /// the app), unreadable, or the disk failed.
    #[error("storage: {detail}")]
    Storage {
        /// What went wrong, for logs.
        detail: String,
    },
    /// A bug in FieldKit (a panic is caught and reported here) or an answer from the
    /// server this build does not understand. Report it; the engine stays usable.
    #[error("internal: {detail}")]
    Internal {
        /// What went wrong, for logs and bug reports.
        detail: String,
    },
}

impl FieldKitError {
    /// An argument the app passed that breaks a rule.
    pub(crate) fn invalid(field: &str, detail: impl Into<String>) -> Self {
        Self::InvalidInput { field: field.to_owned(), detail: detail.into() }
    }
}

impl From<uniffi::UnexpectedUniFFICallbackError> for FieldKitError {
    /// An app callback (observer, signer, log sink) threw something other than a
    /// `FieldKitException`: reported as `Internal`, never as a crash.
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Internal { detail: format!("an app callback failed: {}", e.reason) }
    }
}

impl From<EngineError> for FieldKitError {
    /// Every engine error has its place here: the match is exhaustive on purpose, so that a
    /// new engine error is mapped deliberately instead of falling into a catch-all.
    fn from(e: EngineError) -> Self {
        let detail = e.to_string();
        match e {
            EngineError::Network(_) => Self::Offline { detail },
            EngineError::BadCredentials | EngineError::SessionExpired | EngineError::NotLoggedIn => {
                Self::Unauthorized { detail }
            }
            EngineError::Invalid(_) => Self::invalid("value", detail),
            EngineError::Location(_) => Self::invalid("location", detail),
            EngineError::CheckIn(_) => Self::invalid("check_in", detail),
            EngineError::Order(_) => Self::invalid("order", detail),
            EngineError::VoiceNote(_) => Self::invalid("voice_note", detail),
            EngineError::Form(_) => Self::invalid("form", detail),
            EngineError::Route(_) => Self::invalid("route", detail),
            EngineError::Navigation(_) => Self::invalid("navigation", detail),
            EngineError::Photo(_) => Self::invalid("photo", detail),
            EngineError::NotConfigured(what, _) => Self::invalid(what, detail),
            EngineError::Refused(VisitRefusal::Rejected { assessment }) => {
                Self::Refused { reason: detail, verdict: Some(assessment) }
            }
            EngineError::ApprovalRequest(_) => Self::invalid("subject", detail),
            EngineError::Refused(_)
            | EngineError::Approval(_)
            | EngineError::TaskStep(_)
            | EngineError::Document(_)
            | EngineError::Closed(_)
            | EngineError::Server { .. } => Self::Refused { reason: detail, verdict: None },
            EngineError::NotFound(what) => Self::NotFound { what },
            EngineError::WrongDatabaseKey { file } => Self::WrongDatabaseKey { file },
            EngineError::InvalidDatabaseKey { .. } => Self::invalid("key", detail),
            EngineError::SchemaTooNew { .. }
            | EngineError::Database(_)
            | EngineError::Migration(_)
            | EngineError::Io(_)
            | EngineError::Corrupt { .. } => Self::Storage { detail },
            EngineError::Signing(_) | EngineError::Protocol(_) => Self::Internal { detail },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_network_failure_is_offline_and_bad_credentials_are_unauthorized() {
        let offline = FieldKitError::from(EngineError::Network("connection refused".into()));
        assert!(matches!(offline, FieldKitError::Offline { .. }));
        assert!(matches!(
            FieldKitError::from(EngineError::BadCredentials),
            FieldKitError::Unauthorized { .. }
        ));
        assert!(matches!(
            FieldKitError::from(EngineError::SessionExpired),
            FieldKitError::Unauthorized { .. }
        ));
    }

    #[test]
    fn a_rejected_check_in_is_refused_with_its_verdict_and_whether_a_reason_would_pass() {
        use fieldkit_domain::checkin::{CheckInAssessment, Reason, ReasonKind, Verdict};
        let assessment = CheckInAssessment {
            verdict: Verdict::Rejected {
                reasons: vec![Reason::TooFar { distance_m: 300.0, limit_m: 210.0 }],
                rejected_by: vec![ReasonKind::TooFar],
                needs_stated_reason: true,
            },
            distance_m: 300.0,
            limit_m: 210.0,
        };
        let err = FieldKitError::from(EngineError::Refused(VisitRefusal::Rejected { assessment }));
        let FieldKitError::Refused { verdict: Some(verdict), .. } = err else { panic!("{err:?}") };
        let Verdict::Rejected { needs_stated_reason, reasons, .. } = verdict.verdict else {
            panic!("{verdict:?}")
        };
        assert!(needs_stated_reason);
        assert_eq!(reasons, vec![Reason::TooFar { distance_m: 300.0, limit_m: 210.0 }]);
        let other = FieldKitError::from(EngineError::Refused(VisitRefusal::NoOpenVisit));
        assert!(matches!(other, FieldKitError::Refused { verdict: None, .. }));
    }

    #[test]
    fn an_approval_without_a_flow_is_refused_naming_the_kind_and_a_bad_range_is_invalid_input() {
        use fieldkit_domain::approval::{ApprovalKind, RequestError};
        use fieldkit_engine::ApprovalRefusal;
        let no_flow =
            FieldKitError::from(EngineError::Approval(ApprovalRefusal::NoFlow { kind: ApprovalKind::Leave }));
        assert!(
            matches!(no_flow, FieldKitError::Refused { ref reason, verdict: None } if reason.contains("leave")),
            "{no_flow:?}"
        );
        let bad_range = FieldKitError::from(EngineError::ApprovalRequest(RequestError::EmptyRange {
            start_ms: 5,
            end_ms: 5,
        }));
        assert!(
            matches!(bad_range, FieldKitError::InvalidInput { ref field, ref detail } if field == "subject" && detail.contains("5..5")),
            "{bad_range:?}"
        );
    }

    #[test]
    fn a_task_step_out_of_order_is_refused_naming_the_step_due() {
        use fieldkit_domain::approval::{StepId, TaskFlowError};
        use fieldkit_engine::TaskStepRefusal;
        let early =
            FieldKitError::from(EngineError::TaskStep(TaskStepRefusal::Flow(TaskFlowError::OutOfOrder {
                step: StepId::from("repair"),
                expected: StepId::from("diagnose"),
            })));
        assert!(
            matches!(early, FieldKitError::Refused { ref reason, verdict: None } if reason.contains("diagnose")),
            "{early:?}"
        );
    }

    #[test]
    fn a_wrong_database_key_is_its_own_variant_naming_the_file_and_a_short_key_is_invalid_input() {
        let wrong = FieldKitError::from(EngineError::WrongDatabaseKey { file: "f.db".into() });
        assert_eq!(wrong, FieldKitError::WrongDatabaseKey { file: "f.db".into() });
        assert_eq!(wrong.to_string(), "the database key does not open f.db");
        let short = FieldKitError::from(EngineError::InvalidDatabaseKey { len: 16 });
        assert!(
            matches!(short, FieldKitError::InvalidInput { ref field, ref detail } if field == "key" && detail.contains("16")),
            "{short:?}"
        );
    }

    #[test]
    fn a_newer_schema_is_storage_and_a_missing_record_names_it() {
        let newer = FieldKitError::from(EngineError::SchemaTooNew { found: 99, supported: 3 });
        assert!(matches!(newer, FieldKitError::Storage { ref detail } if detail.contains("99")));
        let missing = FieldKitError::from(EngineError::NotFound("task 42".into()));
        assert_eq!(missing, FieldKitError::NotFound { what: "task 42".into() });
    }
}
