//! Puts libtorch's lib folder in the RPATH of this package's binaries and test binaries, so
//! that they run without `LD_LIBRARY_PATH`. torch-sys (`links = "tch"`) reports the folder as
//! `DEP_TCH_LIBTORCH_LIB` to every package that depends on it directly. The path is
//! canonicalised, so the RPATH names the cache itself rather than the clone's `.libtorch` link.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        let dir = std::fs::canonicalize(&dir)
            .map(|p| p.display().to_string())
            .unwrap_or(dir);
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
