//! Imports a function the host does not provide, so loading it must fail naming the
//! import. (Only the preview 1 build has the import: a component's imports come from WIT.)
#[cfg(target_env = "p1")]
#[link(wasm_import_module = "skiff_test")]
unsafe extern "C" {
    fn mystery() -> i32;
}

fn main() {
    #[cfg(target_env = "p1")]
    // SAFETY: the host never provides `mystery`; instantiation fails before this runs.
    println!("{}", unsafe { mystery() });
}
