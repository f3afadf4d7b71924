//! Release builds embed web/dist: rebuild when the UI build changes.
fn main() {
    println!("cargo:rerun-if-changed=../../web/dist");
}
