//! The `fillbook` command.

/// mimalloc instead of the system allocator: the ledger writer and the API build and free
/// many small values per record and per request, and the system allocator was 8–14% of
/// their profiles (measured with mimalloc: `/trades` rendered 55% faster, the JSON list
/// 18%, a first sync 5–10%).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its option enum in `mimalloc.h`, version 3).
const PURGE_DELAY_OPTION: libmimalloc_sys::mi_option_t = 15;

fn main() -> std::process::ExitCode {
    // Freed memory goes back to the system at once instead of after mimalloc's default
    // 10 ms: with the delay a 100,000-execution sync peaked 40–90 MiB higher (292–318 MiB
    // against 207–260 MiB), with it at or under the system allocator's peak, for the same
    // speed. `MIMALLOC_PURGE_DELAY` in the environment still wins.
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one integer option of the allocator; no memory is touched.
        unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY_OPTION, 0) };
    }
    fillbook::cli::main()
}
