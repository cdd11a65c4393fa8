//! Login sessions: who holds which token, until when. Tokens live only in memory and only
//! as SHA-256 digests; a restart of central logs everyone out (operators log in again,
//! nothing else is lost). A session slides: each use pushes its expiry forward.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use parking_lot::Mutex;

use governor::{DefaultKeyedRateLimiter, Quota};
use rand_core::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{AuthSettings, Role, verify_password};

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    pub name: String,
    pub role: Role,
}

struct Session {
    principal: Principal,
    expires_ms: i64,
}

pub struct Sessions {
    /// name → (role, PHC hash).
    users: HashMap<String, (Role, String)>,
    live: Mutex<HashMap<[u8; 32], Session>>,
    ttl_ms: i64,
    pub(crate) login_limiter: DefaultKeyedRateLimiter<IpAddr>,
    /// A hash to verify against when the user does not exist, so a wrong name costs the
    /// same time as a wrong password.
    decoy: String,
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Sessions {
    pub fn new(settings: &AuthSettings) -> Arc<Sessions> {
        let users = settings.users.iter().map(|u| (u.name.clone(), (u.role, u.password_argon2.clone()))).collect();
        let per_minute = NonZeroU32::new(settings.login_per_minute).unwrap_or(NonZeroU32::MIN);
        Arc::new(Sessions {
            users,
            live: Mutex::default(),
            ttl_ms: settings.session_hours as i64 * 3_600_000,
            login_limiter: DefaultKeyedRateLimiter::keyed(Quota::per_minute(per_minute)),
            decoy: super::hash_password("decoy").unwrap_or_default(),
        })
    }

    pub fn ttl_ms(&self) -> i64 {
        self.ttl_ms
    }

    /// Checks the password (argon2: tens of milliseconds, so call off the async threads)
    /// and opens a session; the token is returned once and kept only as its digest.
    pub fn login(&self, name: &str, password: &str, now_ms: i64) -> Option<(String, Principal)> {
        let (role, phc) = match self.users.get(name) {
            Some((role, phc)) => (Some(*role), phc.as_str()),
            None => (None, self.decoy.as_str()),
        };
        let ok = verify_password(password, phc);
        let role = role.filter(|_| ok)?;
        let mut bytes = [0u8; 32];
        rand_core::OsRng.fill_bytes(&mut bytes);
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let principal = Principal { name: name.to_string(), role };
        let mut live = self.live.lock();
        live.retain(|_, s| s.expires_ms > now_ms);
        live.insert(digest(&token), Session { principal: principal.clone(), expires_ms: now_ms + self.ttl_ms });
        Some((token, principal))
    }

    /// The principal of a live session, its expiry pushed forward.
    pub fn check(&self, token: &str, now_ms: i64) -> Option<Principal> {
        let mut live = self.live.lock();
        let key = digest(token);
        match live.get_mut(&key) {
            Some(s) if s.expires_ms > now_ms => {
                s.expires_ms = now_ms + self.ttl_ms;
                Some(s.principal.clone())
            }
            Some(_) => {
                live.remove(&key);
                None
            }
            None => None,
        }
    }

    pub fn logout(&self, token: &str) -> Option<Principal> {
        self.live.lock().remove(&digest(token)).map(|s| s.principal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{User, hash_password};

    fn sessions() -> Arc<Sessions> {
        Sessions::new(&AuthSettings {
            users: vec![User {
                name: "lan".into(),
                role: Role::Operator,
                password_argon2: hash_password("s3cret").unwrap(),
            }],
            session_hours: 1,
            login_per_minute: 10,
        })
    }

    #[test]
    fn login_check_expire_logout() {
        let s = sessions();
        assert!(s.login("lan", "wrong", 0).is_none());
        assert!(s.login("nobody", "s3cret", 0).is_none());
        let (token, p) = s.login("lan", "s3cret", 0).unwrap();
        assert_eq!((p.name.as_str(), p.role), ("lan", Role::Operator));
        assert_eq!(token.len(), 64);
        assert_eq!(s.check(&token, 1_000).unwrap().name, "lan");
        // Sliding: used at 1 s, still valid just under an hour later.
        assert!(s.check(&token, 3_600_999).is_some());
        assert!(s.check(&token, 3_600_999 + 3_600_001).is_none(), "expired after an hour unused");
        let (token, _) = s.login("lan", "s3cret", 0).unwrap();
        assert!(s.logout(&token).is_some());
        assert!(s.check(&token, 1).is_none());
        assert!(s.check("", 1).is_none());
    }
}
