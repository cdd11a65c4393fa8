//! Operator logins for the dashboard and the operator API.
//!
//! `[auth]` lists the users, each with a role and an argon2id PHC hash of the password
//! (`central passwd` makes one; central never stores or logs a password). A login gives a
//! random 256-bit session token, kept only as its SHA-256, sent back as an HttpOnly,
//! SameSite=Strict cookie (the dashboard) and in the body (scripts, as a bearer token).
//!
//! Roles are ordered: `viewer` reads, `operator` also overrides plans, acknowledges
//! alerts and reads the audit log, `admin` can do all of it (users themselves are
//! managed in the config file, so a compromised session cannot add one). Without `[auth]` the operator
//! API is open to whoever reaches the listen address (the demo binds loopback) and
//! operator actions need `signals.override_token_env`'s token. The HTTP side (cookies,
//! bearer tokens, the per-route check, login endpoints) is `http::access` and `http::session`.

mod sessions;

use serde::{Deserialize, Serialize};

pub use sessions::{Principal, Sessions};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Operator,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub users: Vec<User>,
    /// How long a login lasts without being used.
    #[serde(default = "default_session_hours")]
    pub session_hours: u64,
    /// Login attempts one client address may make per minute.
    #[serde(default = "default_login_per_minute")]
    pub login_per_minute: u32,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub name: String,
    pub role: Role,
    /// argon2 PHC string (`$argon2id$v=19$…`), from `central passwd`.
    pub password_argon2: String,
}

fn default_session_hours() -> u64 {
    12
}
fn default_login_per_minute() -> u32 {
    10
}

impl AuthSettings {
    pub fn validate(&self, bad: &mut Vec<(String, String)>) {
        if self.users.is_empty() {
            bad.push(("auth.users".into(), "list at least one user (or remove [auth])".into()));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, u) in self.users.iter().enumerate() {
            if protocol::topics::check_id(&u.name).is_err() {
                bad.push((
                    format!("auth.users[{i}].name"),
                    format!("{:?} must be 1-64 letters, digits, '-' or '_'", u.name),
                ));
            }
            if !seen.insert(u.name.as_str()) {
                bad.push((format!("auth.users[{i}].name"), format!("{:?} is listed twice", u.name)));
            }
            if let Err(e) = argon2::PasswordHash::new(&u.password_argon2) {
                bad.push((
                    format!("auth.users[{i}].password_argon2"),
                    format!("not an argon2 PHC string ({e}); make one with `central passwd`"),
                ));
            } else if !u.password_argon2.starts_with("$argon2") {
                bad.push((format!("auth.users[{i}].password_argon2"), "must be an argon2 hash ($argon2id$…)".into()));
            }
        }
        if !(1..=24 * 30).contains(&self.session_hours) {
            bad.push(("auth.session_hours".into(), "must be within 1..=720".into()));
        }
        if self.login_per_minute == 0 {
            bad.push(("auth.login_per_minute".into(), "must be positive".into()));
        }
    }
}

/// argon2id with the crate's default (OWASP-recommended) cost and a random salt.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    use argon2::PasswordHasher;
    let salt = argon2::password_hash::SaltString::generate(&mut rand_core::OsRng);
    Ok(argon2::Argon2::default().hash_password(password.as_bytes(), &salt)?.to_string())
}

/// Constant-time check of a password against a PHC string.
pub fn verify_password(password: &str, phc: &str) -> bool {
    use argon2::PasswordVerifier;
    argon2::PasswordHash::new(phc)
        .is_ok_and(|h| argon2::Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ_by_salt() {
        let a = hash_password("correct horse").unwrap();
        let b = hash_password("correct horse").unwrap();
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &a));
        assert!(!verify_password("correct horse!", &a));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn validate_names_the_field() {
        let s = AuthSettings {
            users: vec![
                User { name: "ops 1".into(), role: Role::Operator, password_argon2: "plain".into() },
                User { name: "a".into(), role: Role::Admin, password_argon2: hash_password("p").unwrap() },
                User { name: "a".into(), role: Role::Viewer, password_argon2: hash_password("p").unwrap() },
            ],
            session_hours: 0,
            login_per_minute: 10,
        };
        let mut bad = Vec::new();
        s.validate(&mut bad);
        let fields: Vec<&str> = bad.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            ["auth.users[0].name", "auth.users[0].password_argon2", "auth.users[2].name", "auth.session_hours"]
        );
    }

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
    }
}
