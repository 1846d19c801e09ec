//! The `journey-report` binary: a thin shell over the library (see `journey_report::cli`).
fn main() -> std::process::ExitCode {
    journey_report::cli::main()
}
