//! The `tenmon-ark` binary.

fn main() -> std::process::ExitCode {
    tenmon_ark::cli::main()
}
