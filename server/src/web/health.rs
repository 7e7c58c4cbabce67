//! `/healthz` (the process is alive) and `/readyz` (database reachable, migrations current;
//! the live fill subscriptions' state as details, which do not decide readiness).

use crate::db;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{json, Value};

pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

pub async fn readyz(State(db): State<DatabaseConnection>) -> (StatusCode, Json<Value>) {
    let database = db
        .execute_unprepared("SELECT 1")
        .await
        .map_err(|e| e.to_string());
    let pending = match &database {
        Ok(_) => db::pending_migrations(&db).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match (database, pending) {
        (Ok(_), Ok(0)) => {
            let live = match crate::live::lease::list(&db).await {
                Ok(rows) => json!(rows),
                Err(e) => json!({ "error": e.to_string() }),
            };
            (
                StatusCode::OK,
                Json(json!({
                    "status": "ready",
                    "database": "ok",
                    "pending_migrations": 0,
                    "live": live,
                })),
            )
        }
        (Ok(_), Ok(n)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not_ready", "database": "ok", "pending_migrations": n })),
        ),
        (Err(e), _) | (Ok(_), Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "not_ready", "database": "unreachable" })),
            )
        }
    }
}
