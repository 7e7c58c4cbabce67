//! Pages under concurrency: every server render completes (no request runs into the request
//! timeout), also while another router is being built in the same process and while
//! operators sign in.

use crate::support;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use fillbook::state::AppState;
use fillbook::web::{leptos_options, router};
use sea_orm::DatabaseConnection;
use std::time::Duration;
use tower::ServiceExt;

const PAGES: [&str; 4] = ["/jobs", "/audit", "/trades", "/tokens"];

fn app(db: &DatabaseConnection, request_timeout: Duration) -> Router {
    let options = leptos_options(
        std::path::Path::new("target/site"),
        "127.0.0.1:3000".parse().unwrap(),
    );
    router(AppState::new(db.clone(), options), request_timeout)
}

fn page(path: &str, cookie: &str) -> Request<Body> {
    Request::get(path)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

/// Building a router lists the page routes, and Leptos suppresses resource loading in the
/// whole process while it does (leptos#4773): a render that started its resource inside
/// that window never finished. Routers are now built from one listing made once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_render_while_another_router_is_built() {
    let t = support::sqlite().await;
    let app = app(&t.db, Duration::from_secs(5));
    let admin = support::operator(&t.db, "root", true).await;
    let builder = {
        let db = t.db.clone();
        tokio::task::spawn_blocking(move || {
            for _ in 0..200 {
                drop(self::app(&db, Duration::from_secs(5)));
            }
        })
    };
    let mut renders = Vec::new();
    for i in 0..120 {
        let request = page(PAGES[i % PAGES.len()], &admin.cookie);
        let app = app.clone();
        renders.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(5 * i as u64)).await;
            let path = request.uri().path().to_string();
            (path, app.oneshot(request).await.unwrap().status())
        }));
    }
    for render in renders {
        let (path, status) = render.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{path}");
    }
    builder.await.unwrap();
}

/// Page renders for two operators while a third signs in over and over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_render_completes_under_load() {
    let t = support::sqlite().await;
    let app = app(&t.db, Duration::from_secs(10));
    let admin = support::operator(&t.db, "root", true).await;
    let plain = support::operator(&t.db, "frank", false).await;
    fillbook::auth::operators::add(&t.db, "dana", "danas password", false)
        .await
        .unwrap();
    let mut requests = Vec::new();
    for i in 0..200 {
        let request = if i % 5 == 0 {
            Request::post("/login")
                .header(header::HOST, "127.0.0.1:3000")
                .header(header::ORIGIN, "http://127.0.0.1:3000")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("username=dana&password=danas+password"))
                .unwrap()
        } else {
            let cookie = if i % 2 == 0 {
                &admin.cookie
            } else {
                &plain.cookie
            };
            page(PAGES[i % PAGES.len()], cookie)
        };
        let app = app.clone();
        let path = request.uri().path().to_string();
        requests.push(tokio::spawn(async move {
            (path, app.oneshot(request).await.unwrap().status())
        }));
    }
    for request in requests {
        let (path, status) = request.await.unwrap();
        let expected = if path == "/login" {
            StatusCode::SEE_OTHER
        } else {
            StatusCode::OK
        };
        assert_eq!(status, expected, "{path}");
    }
}
