//! [`Modules`]: the compiled wasm modules, by image digest, shared by every pod on the node.
//!
//! The runtime keeps one template per module; this map in front of it saves hashing and
//! looking up the bytes again for every pod, and makes a burst of pods using one new image
//! compile it once (the first caller compiles on a blocking thread; the others wait for
//! it). A module that fails to compile fails the same way for every pod that uses it.

use skiff_runtime::{Module, Runtime};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

type Slot = Arc<OnceCell<Result<Module, String>>>;

/// Compiled modules by digest. Cheap to clone.
#[derive(Clone)]
pub struct Modules {
    runtime: Runtime,
    loaded: Arc<Mutex<HashMap<String, Slot>>>,
}

impl Modules {
    /// An empty map in front of `runtime`.
    pub fn new(runtime: Runtime) -> Self {
        Self {
            runtime,
            loaded: Arc::default(),
        }
    }

    /// The runtime modules are loaded into.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The module of `bytes`, whose digest is `digest`: compiled (or read precompiled) on
    /// first use, then shared. The error is the runtime's reason, one line.
    pub async fn load(&self, digest: &str, bytes: &bytes::Bytes) -> Result<Module, String> {
        let slot = {
            let mut loaded = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
            loaded.entry(digest.to_string()).or_default().clone()
        };
        slot.get_or_init(|| {
            let runtime = self.runtime.clone();
            let bytes = bytes.clone();
            async move {
                tokio::task::spawn_blocking(move || runtime.load(&bytes))
                    .await
                    .map_err(|e| format!("compilation task failed: {e}"))?
                    .map_err(|e| e.to_string())
            }
        })
        .await
        .clone()
    }
}
