//! `fillbook users …` and `fillbook tokens …` as an operator runs them, against a real
//! SQLite file: passwords only from stdin or generated, the token alone on the last line,
//! revocation, disabled users, and the setup link `serve` prints on a fresh database.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Output, Stdio};

fn fillbook(db: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fillbook"))
        .args(args)
        .args(["--database-url", db])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn text(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn temp_db(name: &str) -> (std::path::PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("fillbook-auth-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/f.db", dir.display());
    text(&fillbook(&url, &["migrate"], None));
    (dir, url)
}

#[test]
fn users_and_tokens_from_the_command_line() {
    let (dir, db) = temp_db("users");
    // A password from stdin; a generated one is printed once.
    let added = text(&fillbook(
        &db,
        &["users", "add", "alice", "--admin", "--password-stdin"],
        Some("alice password 1\n"),
    ));
    assert!(
        added.contains("\"is_admin\": true") && !added.contains("alice password 1"),
        "{added}"
    );
    let generated = text(&fillbook(&db, &["users", "add", "bob"], None));
    let bob_password = generated.lines().last().unwrap();
    assert_eq!(bob_password.len(), 24, "{generated}");
    let short = fillbook(
        &db,
        &["users", "add", "carol", "--password-stdin"],
        Some("short\n"),
    );
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 10 characters"));
    let dup = fillbook(
        &db,
        &["users", "add", "alice", "--password-stdin"],
        Some("another password\n"),
    );
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));

    let list = text(&fillbook(&db, &["users", "list"], None));
    let users: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(users.as_array().unwrap().len(), 2);
    assert!(!list.contains("argon2"), "hashes are never printed");
    let disabled = text(&fillbook(&db, &["users", "disable", "bob"], None));
    assert!(disabled.contains("\"disabled\": true"), "{disabled}");
    let reset = text(&fillbook(&db, &["users", "reset-password", "alice"], None));
    assert_eq!(reset.lines().last().unwrap().len(), 24);
    let missing = fillbook(&db, &["users", "disable", "nobody"], None);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("operator `nobody` not found"));

    // Tokens: the token alone on the last line; listed without it; revoked.
    let created = text(&fillbook(
        &db,
        &[
            "tokens",
            "create",
            "--name",
            "bot",
            "--scopes",
            "trades:read,jobs:write",
        ],
        None,
    ));
    let token = created.lines().last().unwrap();
    assert!(token.starts_with("fb_") && token.len() == 67, "{created}");
    let bad = fillbook(
        &db,
        &[
            "tokens",
            "create",
            "--name",
            "x",
            "--scopes",
            "trades:write",
        ],
        None,
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown scope `trades:write`"));
    let listed = text(&fillbook(&db, &["tokens", "list"], None));
    assert!(
        listed.contains("\"bot\"") && !listed.contains(token),
        "{listed}"
    );
    assert!(listed.contains(&token[..10]), "the prefix identifies it");
    let revoked = text(&fillbook(&db, &["tokens", "revoke", "1"], None));
    assert!(revoked.contains("\"revoked_at\": \"20"), "{revoked}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn serve_prints_the_setup_link_on_a_fresh_database() {
    let (dir, db) = temp_db("setup");
    let mut child = Command::new(env!("CARGO_BIN_EXE_fillbook"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--workers",
            "0",
            "--database-url",
            &db,
        ])
        .env("FILLBOOK_SETUP_TOKEN", "cli-test-setup-token")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    while let Some(Ok(line)) = lines.next() {
        let done = line.contains("/setup?token=");
        seen.push(line);
        if done {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let link = seen
        .iter()
        .find(|l| l.contains("/setup?token="))
        .unwrap_or_else(|| panic!("{seen:?}"));
    assert!(
        link.trim().starts_with("http://127.0.0.1:")
            && link.ends_with("/setup?token=cli-test-setup-token"),
        "{link}"
    );
    assert!(seen.iter().any(|l| l.contains("No operator exists yet")));
    let _ = std::fs::remove_dir_all(dir);
}
