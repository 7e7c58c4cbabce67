//! The `fillbook` command.

fn main() -> std::process::ExitCode {
    fillbook::cli::main()
}
