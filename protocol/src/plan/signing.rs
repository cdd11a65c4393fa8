//! Signatures and the junction's acceptance check.
//!
//! Canonical bytes: `b"tac/v1/plan\n"` followed by the plan's compact JSON in field
//! order. Every field is a string, an integer or a list, so the encoding is exact and
//! the junction recomputes the same bytes from the plan it parsed (unknown fields are
//! refused on parsing, so nothing unsigned can ride along).
//!
//! A junction accepts a plan only if: the key id is one it trusts, the signature
//! verifies (strict ed25519), the plan is for this junction, `now` is before
//! `valid_until`, the version is newer than every version it has accepted, and the
//! safety validator passes. Rejections carry a reason code for the ack.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use super::safety::{Violation, validate};
use super::types::{JunctionRules, SignedPlan, TimingPlan};

const DOMAIN: &[u8] = b"tac/v1/plan\n";

pub fn canonical_bytes(plan: &TimingPlan) -> Vec<u8> {
    let mut out = DOMAIN.to_vec();
    out.extend(serde_json::to_vec(plan).expect("plans serialise"));
    out
}

pub fn sign(plan: TimingPlan, key_id: &str, key: &SigningKey) -> SignedPlan {
    let signature = key.sign(&canonical_bytes(&plan));
    SignedPlan { plan, key_id: key_id.into(), signature: STANDARD.encode(signature.to_bytes()) }
}

/// The keys a junction trusts, by key id (a rotation keeps the old one for a while).
#[derive(Debug, Clone, Default)]
pub struct PlanKeys(pub Vec<(String, VerifyingKey)>);

impl PlanKeys {
    /// From `(key_id, base64 of the 32-byte public key)` pairs.
    pub fn from_base64(pairs: &[(String, String)]) -> Result<PlanKeys, String> {
        let mut keys = Vec::new();
        for (id, b64) in pairs {
            let bytes = STANDARD.decode(b64).map_err(|e| format!("key {id:?}: not base64: {e}"))?;
            let array: [u8; 32] =
                bytes.try_into().map_err(|_| format!("key {id:?}: an ed25519 public key is 32 bytes"))?;
            keys.push((id.clone(), VerifyingKey::from_bytes(&array).map_err(|e| format!("key {id:?}: {e}"))?));
        }
        Ok(PlanKeys(keys))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("not a signed plan: {0}")]
    Malformed(String),
    #[error("signed with key {0:?}, which this junction does not trust")]
    UnknownKey(String),
    #[error("the signature does not verify")]
    BadSignature,
    #[error("plan is for junction {0:?}")]
    WrongJunction(String),
    #[error("plan expired at {valid_until_ms} (now {now_ms})")]
    Expired { valid_until_ms: i64, now_ms: i64 },
    #[error("version {got} is not newer than {have}, already accepted")]
    Replayed { have: u64, got: u64 },
    #[error("unsafe: {}", .0.iter().map(|v| v.to_string()).collect::<Vec<_>>().join("; "))]
    Unsafe(Vec<Violation>),
}

impl Rejection {
    pub fn code(&self) -> String {
        match self {
            Rejection::Malformed(_) => "malformed".into(),
            Rejection::UnknownKey(_) => "unknown_key".into(),
            Rejection::BadSignature => "bad_signature".into(),
            Rejection::WrongJunction(_) => "wrong_junction".into(),
            Rejection::Expired { .. } => "expired".into(),
            Rejection::Replayed { .. } => "replayed".into(),
            Rejection::Unsafe(v) => format!("unsafe:{}", v.first().map_or("?", |v| v.code())),
        }
    }
}

/// Largest plan message a junction reads (a 16-stage plan is ~4 KB).
pub const MAX_PLAN_BYTES: usize = 64 * 1024;

/// Parses a plan message off the wire; never panics, whatever the bytes (fuzzed:
/// `protocol/fuzz`).
pub fn decode(bytes: &[u8]) -> Result<SignedPlan, Rejection> {
    if bytes.len() > MAX_PLAN_BYTES {
        return Err(Rejection::Malformed(format!("{} bytes, the limit is {MAX_PLAN_BYTES}", bytes.len())));
    }
    serde_json::from_slice(bytes).map_err(|e| Rejection::Malformed(e.to_string()))
}

/// The junction-side check, in the order that keeps unauthenticated input away from the
/// rest: key, signature, then the plan's content.
pub fn accept<'a>(
    signed: &'a SignedPlan,
    keys: &PlanKeys,
    rules: &JunctionRules,
    last_version: Option<u64>,
    now_ms: i64,
) -> Result<&'a TimingPlan, Rejection> {
    let key = keys
        .0
        .iter()
        .find(|(id, _)| *id == signed.key_id)
        .map(|(_, k)| k)
        .ok_or_else(|| Rejection::UnknownKey(signed.key_id.clone()))?;
    let bytes = STANDARD.decode(&signed.signature).map_err(|_| Rejection::BadSignature)?;
    let signature = Signature::from_slice(&bytes).map_err(|_| Rejection::BadSignature)?;
    key.verify_strict(&canonical_bytes(&signed.plan), &signature).map_err(|_| Rejection::BadSignature)?;
    let plan = &signed.plan;
    if plan.junction_id != rules.junction_id {
        return Err(Rejection::WrongJunction(plan.junction_id.clone()));
    }
    if now_ms >= plan.valid_until_ms {
        return Err(Rejection::Expired { valid_until_ms: plan.valid_until_ms, now_ms });
    }
    if let Some(have) = last_version
        && plan.version <= have
    {
        return Err(Rejection::Replayed { have, got: plan.version });
    }
    validate(plan, rules).map_err(Rejection::Unsafe)?;
    Ok(plan)
}
