fn main() {
    std::process::exit(wego::cli::main());
}
