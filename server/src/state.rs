//! The state every HTTP handler shares (the database, the Leptos options, the UI's
//! backend port, authentication, the schedules) — its own module, so the API, auth and
//! page modules depend on it and the router module depends on them, never the reverse.

use app::backend::SharedBackend;
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use sea_orm::DatabaseConnection;
use std::sync::Arc;

/// Shared state of every handler.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub leptos: LeptosOptions,
    pub backend: SharedBackend,
    pub auth: Arc<crate::auth::Auth>,
    /// The schedules this server's workers run.
    pub schedules: crate::work::schedule::ScheduleConfig,
}

impl AppState {
    /// State for a server whose gateway is described by `gateway`.
    pub fn with_gateway(
        db: DatabaseConnection,
        leptos: LeptosOptions,
        gateway: app::models::ServerInfoDto,
    ) -> Self {
        let backend: SharedBackend = Arc::new(crate::backend::ServerBackend {
            db: db.clone(),
            info: gateway,
            schedules: crate::work::schedule::ScheduleConfig::default(),
        });
        Self {
            db,
            leptos,
            backend,
            auth: Arc::new(crate::auth::Auth::new(Default::default())),
            schedules: crate::work::schedule::ScheduleConfig::default(),
        }
    }

    /// The same state with the schedules this server's workers run.
    pub fn with_schedules(
        mut self,
        info: app::models::ServerInfoDto,
        schedules: crate::work::schedule::ScheduleConfig,
    ) -> Self {
        self.backend = Arc::new(crate::backend::ServerBackend {
            db: self.db.clone(),
            info,
            schedules,
        });
        self.schedules = schedules;
        self
    }

    /// The same state with these authentication settings (and setup token slot).
    pub fn with_auth(mut self, auth: Arc<crate::auth::Auth>) -> Self {
        self.auth = auth;
        self
    }

    /// State with the default gateway settings (tests, benchmarks).
    pub fn new(db: DatabaseConnection, leptos: LeptosOptions) -> Self {
        Self::with_gateway(db, leptos, server_info("127.0.0.1", 4002, false))
    }
}

/// What the UI shows about the gateway.
pub fn server_info(host: &str, port: u16, demo: bool) -> app::models::ServerInfoDto {
    app::models::ServerInfoDto {
        gateway: format!("{host}:{port}"),
        demo_gateway: demo,
        version: env!("CARGO_PKG_VERSION").to_string(),
    }
}
