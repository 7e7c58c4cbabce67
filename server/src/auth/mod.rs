//! Who may use Fillbook. Operators sign in with a password (argon2id) and get a server-side
//! session behind an `HttpOnly` cookie; bots send `Authorization: Bearer <token>` with a
//! scoped API token. Side effects and sign-ins are written to the audit log. This module
//! holds who and what (operators, sessions, tokens, scopes, the audit log); the HTTP side
//! (the request gate, CSRF, the sign-in pages) is `crate::web::auth`.

pub mod audit;
pub mod login;
pub mod operators;
pub mod password;
pub mod recent;
pub mod secret;
pub mod sessions;
pub mod tokens;

use crate::error::{Error, Result as AppResult};
use app::models::Actor;
use recent::Recent;
use std::time::Duration;

/// What an API token may do. Operators may do everything; admins also read the audit log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Trades, executions, accounts (and job and order status).
    TradesRead,
    /// Positions.
    PositionsRead,
    /// Enqueue, retry and cancel jobs such as `trades.sync`.
    JobsWrite,
    /// Prepare and submit orders (still behind the confirmation guard).
    OrdersWrite,
    /// Read the audit log.
    AuditRead,
    /// Upload statements (`POST /imports/flex`), which queues their import.
    ImportsWrite,
}

impl Scope {
    pub const ALL: [Scope; 6] = [
        Scope::TradesRead,
        Scope::PositionsRead,
        Scope::JobsWrite,
        Scope::OrdersWrite,
        Scope::AuditRead,
        Scope::ImportsWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::TradesRead => "trades:read",
            Scope::PositionsRead => "positions:read",
            Scope::JobsWrite => "jobs:write",
            Scope::OrdersWrite => "orders:write",
            Scope::AuditRead => "audit:read",
            Scope::ImportsWrite => "imports:write",
        }
    }

    /// Parses a comma-separated list such as `trades:read,jobs:write`.
    pub fn parse_list(text: &str) -> AppResult<Vec<Scope>> {
        let mut scopes = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let scope = Scope::ALL
                .into_iter()
                .find(|s| s.as_str() == part)
                .ok_or_else(|| {
                    Error::invalid(
                        "scopes",
                        format!(
                            "unknown scope `{part}`; scopes are {}",
                            Scope::ALL.map(Scope::as_str).join(", ")
                        ),
                    )
                })?;
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        if scopes.is_empty() {
            return Err(Error::invalid("scopes", "give at least one scope"));
        }
        Ok(scopes)
    }
}

impl serde::Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Who a request comes from, once authenticated.
#[derive(Clone, Debug)]
pub enum Principal {
    /// A signed-in operator (session cookie).
    Operator(sessions::SessionUser),
    /// A bot with an API token.
    Token(tokens::TokenUser),
    /// The local command line (`fillbook mcp` over stdio): the machine's own user.
    Local,
}

impl Principal {
    /// Whether this principal may act within `scope`.
    pub fn allows(&self, scope: Scope) -> bool {
        match self {
            Principal::Operator(user) => scope != Scope::AuditRead || user.is_admin,
            Principal::Token(token) => token.scopes.contains(&scope),
            Principal::Local => true,
        }
    }

    /// `Ok` when allowed, else the 403 naming the missing scope.
    pub fn require(&self, scope: Scope) -> AppResult<()> {
        if self.allows(scope) {
            return Ok(());
        }
        Err(Error::Forbidden(match self {
            Principal::Operator(_) => "this needs an administrator".to_string(),
            _ => format!("this token lacks the `{}` scope", scope.as_str()),
        }))
    }

    /// The audit log's view of this principal, seen from `ip`.
    pub fn actor(&self, ip: Option<String>) -> Actor {
        let (kind, name) = match self {
            Principal::Operator(user) => ("operator", user.username.clone()),
            Principal::Token(token) => ("token", token.name.clone()),
            Principal::Local => ("cli", "local".to_string()),
        };
        Actor {
            kind: kind.to_string(),
            name,
            ip,
        }
    }
}

/// Who asks for an effect: what they may do (the principal) and how the audit log names
/// them. The services (`crate::audited`) decide with it; every front door (API, tools,
/// pages, command line) hands one over.
#[derive(Clone, Debug)]
pub struct Caller {
    pub principal: Principal,
    pub actor: Actor,
}

impl Caller {
    /// An authenticated request's caller, seen from `ip`.
    pub fn new(principal: Principal, ip: Option<String>) -> Caller {
        let actor = principal.actor(ip);
        Caller { principal, actor }
    }

    /// The machine's own user at the command line: every right, named `cli:<user>`.
    pub fn local() -> Caller {
        let user = std::env::var("USER").unwrap_or_else(|_| "local".into());
        Caller {
            principal: Principal::Local,
            actor: Actor::new("cli", user),
        }
    }

    /// `Ok` when allowed, else the 403 naming the missing scope.
    pub fn require(&self, scope: Scope) -> AppResult<()> {
        self.principal.require(scope)
    }

    /// `Ok` for an administrator or the command line, else a 403 saying what only they may do.
    pub fn require_admin(&self, what: &str) -> AppResult<()> {
        match &self.principal {
            Principal::Local => Ok(()),
            Principal::Operator(user) if user.is_admin => Ok(()),
            _ => Err(Error::Forbidden(format!("only administrators can {what}"))),
        }
    }

    /// Whose tokens this caller manages: `None` for all (administrators, the command line),
    /// else only those they made.
    pub fn token_owner(&self) -> Option<String> {
        match &self.principal {
            Principal::Local => None,
            Principal::Operator(user) if user.is_admin => None,
            _ => Some(self.actor.name.clone()),
        }
    }
}

/// When the `Secure` flag goes on the session cookie.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SecureCookies {
    /// When the request came over https (directly or per `X-Forwarded-Proto` from a
    /// trusted proxy).
    Auto,
    Always,
    Never,
}

/// How authentication behaves (from the command line / environment).
#[derive(Clone, Debug)]
pub struct AuthSettings {
    /// A session ends after this long without a request.
    pub idle_timeout: Duration,
    /// A session ends this long after sign-in, however active.
    pub absolute_timeout: Duration,
    pub secure_cookies: SecureCookies,
    /// Take the client address from `X-Forwarded-For` and the scheme from
    /// `X-Forwarded-Proto` (only behind a reverse proxy that sets them).
    pub trust_proxy: bool,
    /// Failed sign-ins per user name per minute before further tries are refused.
    pub max_failures_per_user: i64,
    /// Failed sign-ins per client address per minute before further tries are refused.
    pub max_failures_per_ip: i64,
    /// How long a verified API token or session is trusted without asking the database
    /// again. One revoked or ended through this process stops at once; one revoked or ended
    /// by another process (the CLI, another server) within this time. Zero asks the database
    /// on every request.
    pub credential_cache: Duration,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(60 * 60),
            absolute_timeout: Duration::from_secs(12 * 60 * 60),
            secure_cookies: SecureCookies::Auto,
            trust_proxy: false,
            max_failures_per_user: 5,
            max_failures_per_ip: 20,
            credential_cache: Duration::from_secs(2),
        }
    }
}

/// Authentication settings, the one-time setup token of an instance without operators, and
/// the recently verified API tokens (by SHA-256).
#[derive(Debug)]
pub struct Auth {
    pub settings: AuthSettings,
    setup_token: std::sync::Mutex<Option<String>>,
    verified: Recent<tokens::TokenUser>,
}

impl Auth {
    pub fn new(settings: AuthSettings) -> Self {
        Self {
            settings,
            setup_token: std::sync::Mutex::new(None),
            verified: Recent::default(),
        }
    }

    /// The bot behind `token`: from the cache while it is fresh, else from the database.
    pub async fn token_user(
        &self,
        db: &sea_orm::DatabaseConnection,
        token: &str,
    ) -> AppResult<Option<tokens::TokenUser>> {
        let ttl = self.settings.credential_cache;
        let key = secret::digest(token);
        if let Some(user) = self.verified.get(&key, ttl) {
            return Ok(Some(user));
        }
        let stamp = self.verified.stamp();
        let user = tokens::authenticate(db, token).await?;
        if let Some(u) = &user {
            self.verified.remember(key, u.clone(), stamp, ttl);
        }
        Ok(user)
    }

    /// Forgets a revoked token at once, and keeps lookups already under way from
    /// remembering it.
    pub fn forget_token(&self, id: i32) {
        self.verified.forget(|_, user| user.id == id);
    }

    /// Arms first-run setup with `token` (given, or a fresh one); returns the token.
    pub fn arm_setup(&self, token: Option<String>) -> String {
        let token = token.unwrap_or_else(|| secret::generate(""));
        *self.setup_token.lock().unwrap_or_else(|e| e.into_inner()) = Some(token.clone());
        token
    }

    /// Takes the setup token if `offered` matches it: setup can succeed once.
    pub fn take_setup(&self, offered: &str) -> bool {
        let mut slot = self.setup_token.lock().unwrap_or_else(|e| e.into_inner());
        match slot.as_deref() {
            Some(token) if secret::same(token, offered) => {
                *slot = None;
                true
            }
            _ => false,
        }
    }

    /// Puts a taken setup token back (the setup failed after taking it).
    pub fn restore_setup(&self, token: String) {
        let mut slot = self.setup_token.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(token);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_lists_parse_and_name_the_bad_one() {
        assert_eq!(
            Scope::parse_list("trades:read, jobs:write,trades:read").unwrap(),
            vec![Scope::TradesRead, Scope::JobsWrite]
        );
        let err = Scope::parse_list("trades:read,orders:delete").unwrap_err();
        assert!(err.to_string().contains("orders:delete"), "{err}");
        assert!(Scope::parse_list(" , ").is_err());
    }

    #[test]
    fn setup_token_works_once() {
        let auth = Auth::new(AuthSettings::default());
        let token = auth.arm_setup(None);
        assert!(!auth.take_setup("wrong"));
        assert!(auth.take_setup(&token));
        assert!(!auth.take_setup(&token), "second use refused");
    }
}
