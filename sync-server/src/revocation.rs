//! What a revoked device (a lost phone, revoked with `POST /v1/devices/{id}/revoke`) may
//! still push through `/v1/sync`: the facts it made at or before its revocation. Facts made
//! after it and every document change are refused for good, and the sync route serves it
//! an empty feed. The event time is the device's own word (its server-time estimate, else
//! its clock), so a device whose clock was set back could slip a late fact in: the cut stops
//! an honest queue from being lost, not a forger. Every other route refuses the device's
//! token outright (`extract::Caller`).

use fieldkit_domain::ids::{DeviceId, OrgId};
use fieldkit_domain::protocol::{DocAck, DocPush, Fact, PushOutcome, RejectCode};

use crate::error::ApiResult;
use crate::location;
use crate::state::AppState;

/// A revoked device and when it was revoked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Revoked {
    device: DeviceId,
    at_ms: i64,
}

/// The earliest revocation of the device the caller's token was issued to and of the device
/// the request names (a token of a revoked device cannot escape by naming another one).
pub(crate) async fn of(
    state: &AppState,
    org_id: OrgId,
    token_device: Option<DeviceId>,
    named: DeviceId,
) -> ApiResult<Option<Revoked>> {
    let mut devices = vec![named];
    devices.extend(token_device.filter(|d| *d != named));
    let mut earliest: Option<Revoked> = None;
    for device in devices {
        if let Some(at_ms) = state.storage.device_revocation(org_id, device).await?
            && earliest.is_none_or(|e| at_ms < e.at_ms)
        {
            earliest = Some(Revoked { device, at_ms });
        }
    }
    Ok(earliest)
}

/// When a fact was made as far as a revocation is concerned: its server-time estimate, else
/// its device time; a track batch's latest point; `None` for facts that carry no time.
fn made_ms(fact: &Fact) -> Option<i64> {
    match fact {
        Fact::Track(_) => location::event_ms(fact),
        other => other.at().map(|at| at.server_estimate_ms.unwrap_or(at.device_ms)),
    }
}

/// Refuses, for good, a fact of a revoked device made after the revocation (or with no time
/// to show it was made before).
pub(crate) fn check_not_after(fact: &Fact, revoked: Revoked) -> Result<(), PushOutcome> {
    if made_ms(fact).is_some_and(|ms| ms <= revoked.at_ms) {
        return Ok(());
    }
    Err(PushOutcome::Rejected {
        code: RejectCode::NotAllowed,
        reason: format!(
            "device {} was revoked at {}; fact {} was made after that",
            revoked.device,
            revoked.at_ms,
            fact.id()
        ),
    })
}

/// Every document change of a revoked device, refused for good.
pub(crate) fn refuse_docs(docs: &[DocPush], revoked: Revoked) -> Vec<DocAck> {
    docs.iter()
        .map(|d| DocAck {
            kind: d.kind,
            id: d.id,
            outcome: PushOutcome::Rejected {
                code: RejectCode::NotAllowed,
                reason: format!(
                    "device {} was revoked at {}; its document changes are refused",
                    revoked.device, revoked.at_ms
                ),
            },
        })
        .collect()
}
