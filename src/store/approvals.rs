//! Approval requests: one per held message awaiting a decision, with a pending-by-expiry index so the
//! expiry sweep reads only what is due. Deciding is single-use: a decided request refuses the next one.

use super::kv::{Order, ReadTxn, Table, WriteTxn};

use super::keys;
use super::records::{Approval, ApprovalId, ApprovalState};
use super::{Result, StoreError, get_json, put_json};

fn record_key(id: ApprovalId) -> [u8; 9] {
    let mut k = [b'a'; 9];
    k[1..].copy_from_slice(&id.0.to_be_bytes());
    k
}

fn pending_key(expires: u64, id: ApprovalId) -> [u8; 17] {
    let mut k = [b'p'; 17];
    k[1..9].copy_from_slice(&expires.to_be_bytes());
    k[9..].copy_from_slice(&id.0.to_be_bytes());
    k
}

pub fn insert(txn: &mut dyn WriteTxn, mut approval: Approval) -> Result<ApprovalId> {
    approval.id = ApprovalId(keys::next_id(txn, "approval")?);
    put_json(txn, Table::Approvals, &record_key(approval.id), &approval)?;
    if approval.state == ApprovalState::Pending {
        txn.put(
            Table::Approvals,
            &pending_key(approval.expires, approval.id),
            &[],
        )?;
    }
    Ok(approval.id)
}

pub fn get(txn: &dyn ReadTxn, id: ApprovalId) -> Result<Option<Approval>> {
    get_json(txn, Table::Approvals, &record_key(id), || {
        format!("approval {id}")
    })
}

/// Records the decision; refuses when the request was already decided or expired.
pub fn decide(txn: &mut dyn WriteTxn, id: ApprovalId, state: ApprovalState) -> Result<Approval> {
    let mut a = get(txn, id)?.ok_or_else(|| StoreError::NotFound(format!("approval {id}")))?;
    if a.state != ApprovalState::Pending {
        return Err(StoreError::Refused(format!(
            "approval {id} already decided"
        )));
    }
    txn.delete(Table::Approvals, &pending_key(a.expires, id))?;
    a.state = state;
    put_json(txn, Table::Approvals, &record_key(id), &a)?;
    Ok(a)
}

/// Pending requests whose time ran out at `now`, at most `max`.
pub fn expired(txn: &dyn ReadTxn, now: u64, max: usize) -> Result<Vec<ApprovalId>> {
    let mut out = Vec::new();
    for e in txn.prefix(Table::Approvals, b"p", Order::Forward)? {
        let (k, _) = e?;
        let (Some(at), Some(id)) = (
            k.get(1..9).and_then(keys::id_of),
            k.get(9..17).and_then(keys::id_of),
        ) else {
            continue;
        };
        if at > now || out.len() >= max {
            break;
        }
        out.push(ApprovalId(id));
    }
    Ok(out)
}
