//! The approval routes: show a held message for a signed link (GET, never acts) and carry out the
//! link's decision (POST). Pure apart from the desk; `now` is Unix seconds from the shell's clock.
//!
//! Logs name the approval id and approver number, never the token or anything from the message.

use hyper::StatusCode;

use super::response::Response;
use super::ui::Ui;
use super::{APPROVAL_PREFIX, form, page};
use crate::approval::{ApprovalState, Decided, DeskError};
use crate::link::token::{self, Claims, Decision, TokenError};

/// `GET /approval/{token}`: the summary and a form for the token's decision; nothing changes.
pub(crate) fn show(h: &Ui, token: &str, now: u64) -> Response {
    let claims = match check(h, token, now) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let summary = match h.desk.summary(claims.approval, &claims.message) {
        Ok(s) => s,
        Err(e) => return desk_error(&claims, &e),
    };
    match &summary.state {
        ApprovalState::Pending if now < summary.expires => Response::html(
            StatusCode::OK,
            page::approval_form(
                &summary,
                claims.decision,
                &format!("{APPROVAL_PREFIX}{token}"),
                now,
            ),
        ),
        ApprovalState::Pending | ApprovalState::Expired { .. } => {
            Response::html(StatusCode::GONE, page::expired())
        }
        decided @ (ApprovalState::Approved { .. } | ApprovalState::Rejected { .. }) => {
            Response::html(
                StatusCode::OK,
                page::already_decided(decided, Some(&summary)),
            )
        }
    }
}

/// `POST /approval/{token}` with `decision=approve|reject`: decides once, through the desk.
pub(crate) fn act(h: &Ui, token: &str, body: &[u8], now: u64) -> Response {
    let claims = match check(h, token, now) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let asked = form::field(body, "decision").and_then(|d| Decision::parse(&d));
    if asked != Some(claims.decision) {
        tracing::info!(
            approval = claims.approval,
            approver = claims.approver,
            "approval form did not repeat the link's decision; nothing changed"
        );
        return Response::html(
            StatusCode::BAD_REQUEST,
            page::wrong_decision(claims.decision),
        );
    }
    // The comment is taken only from a form that carries the link's signed token (in the path)
    // and repeats its decision: the same checks that make the decision itself safe from forged
    // cross-site posts. It is cleaned and bounded by the desk; maud escapes it wherever shown.
    let comment = form::field(body, "comment").unwrap_or_default();
    let outcome = h.desk.decide(
        claims.approval,
        &claims.message,
        claims.approver,
        claims.decision,
        &comment,
        now,
    );
    let log = |result: &str| {
        tracing::info!(
            approval = claims.approval,
            approver = claims.approver,
            decision = claims.decision.as_str(),
            result,
            "approval link used"
        );
    };
    match outcome {
        Ok(Decided::Done(state)) => {
            log("decided");
            Response::html(StatusCode::OK, page::decided(&state))
        }
        Ok(Decided::AlreadyDecided(state)) => {
            log("already_decided");
            Response::html(StatusCode::CONFLICT, page::already_decided(&state, None))
        }
        Ok(Decided::Expired) => {
            log("expired");
            Response::html(StatusCode::GONE, page::expired())
        }
        Err(e) => desk_error(&claims, &e),
    }
}

/// Verifies the token; a refusal is already the response. Malformed and forged links get the
/// same page and status.
fn check(h: &Ui, token: &str, now: u64) -> Result<Claims, Response> {
    token::verify(&h.key, token, now).map_err(|e| {
        tracing::info!(reason = %e, "approval link refused");
        match e {
            TokenError::Expired => Response::html(StatusCode::GONE, page::expired()),
            TokenError::Outdated { approval } => {
                Response::html(StatusCode::GONE, page::outdated_link(approval))
            }
            TokenError::Malformed | TokenError::BadSignature => {
                Response::html(StatusCode::BAD_REQUEST, page::bad_link())
            }
        }
    })
}

fn desk_error(claims: &Claims, e: &DeskError) -> Response {
    match e {
        DeskError::NotFound => {
            tracing::info!(
                approval = claims.approval,
                "approval link for an unknown approval"
            );
            Response::html(StatusCode::NOT_FOUND, page::approval_not_found())
        }
        DeskError::Unavailable(why) => {
            tracing::warn!(approval = claims.approval, error = %why, "approval store unavailable");
            Response::html(StatusCode::SERVICE_UNAVAILABLE, page::unavailable())
        }
    }
}
