//! The web UI (web/dist) is embedded in release builds and read from disk in debug
//! builds. rust-embed resolves the folder when this crate compiles, so it must exist
//! then (empty until `make web` builds the UI); rebuild when the UI build changes.
fn main() {
    let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/dist");
    if let Err(e) = std::fs::create_dir_all(&dist) {
        println!("cargo:warning=cannot create {}: {e}", dist.display());
    }
    println!("cargo:rerun-if-changed=../../web/dist");
}
