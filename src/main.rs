fn main() {
    std::process::exit(wiretale::cli::main());
}
