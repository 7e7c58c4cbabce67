//! One process-wide capture of everything `tracing` writes, at TRACE level, from every
//! thread (a thread-local subscriber misses events: tracing caches per call site whether
//! anyone listens, across threads). Installed on first use; only the `logged` test binary
//! uses it, so the other tests do not pay for TRACE logging.

use std::sync::{Arc, Mutex, OnceLock};

/// The captured bytes, shared with the subscriber's writer.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Everything written so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The process-wide capture, installed on first use.
pub fn captured_logs() -> Captured {
    static CAPTURE: OnceLock<Captured> = OnceLock::new();
    CAPTURE
        .get_or_init(|| {
            let captured = Captured::default();
            let writer = captured.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .finish();
            tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
            captured
        })
        .clone()
}

/// Fails when `secret` appears in anything logged so far (and when nothing was captured:
/// an empty capture proves nothing).
pub fn assert_not_logged(secret: &str) {
    let text = captured_logs().text();
    assert!(!text.is_empty(), "nothing was captured");
    assert!(!text.contains(secret), "a secret appears in the logs");
}
