//! [`Runtime`]: the process's wasm runtime — the [`SharedEngine`] (the one wasmtime engine
//! and its epoch ticker) with the linkers for each kind of module, the precompiled-artifact
//! cache and the in-memory templates. It loads modules, and hands them to the command
//! runner ([`Instance`]) or to an [`HttpHandler`].

use crate::artifacts::ArtifactCache;
use crate::command::{self, CommandSpec, Instance};
use crate::config::{MemoryLayout, RuntimeConfig};
use crate::engine::SharedEngine;
use crate::error::{Error, Result, one_line};
use crate::http::handler::{HttpConfig, HttpHandler};
use crate::module::{
    Digest, Format, LoadSource, Module, ModuleInner, ModuleKind, Template, inspect,
};
use crate::store_data::{HttpState, P1State, P2State};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use wasmtime::Engine;
use wasmtime::Linker;
use wasmtime::component::{Component, Linker as ComponentLinker};
use wasmtime_wasi::p2::bindings::CommandPre;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

/// Interface a component exports to be a command.
const WASI_CLI_RUN: &str = "wasi:cli/run@0.2";
/// Interface a component exports to be an HTTP proxy.
const WASI_HTTP_HANDLER: &str = "wasi:http/incoming-handler@0.2";

/// The process's wasm runtime. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    engine: SharedEngine,
    p1: Linker<P1State>,
    p2: ComponentLinker<P2State>,
    http: ComponentLinker<HttpState>,
    cache: Option<ArtifactCache>,
    templates: Mutex<HashMap<Digest, Arc<ModuleInner>>>,
}

impl Runtime {
    /// Creates the engine, its pool and ticker, and the linkers.
    pub fn new(config: RuntimeConfig) -> Result<Self> {
        let shared = SharedEngine::new(config)?;
        let engine = shared.engine();
        let engine_err = |e: wasmtime::Error| Error::Engine(one_line(&e));

        let mut p1 = Linker::new(engine);
        wasmtime_wasi::p1::add_to_linker_async(&mut p1, |s: &mut P1State| &mut s.wasi)
            .map_err(engine_err)?;
        let mut p2 = ComponentLinker::new(engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut p2).map_err(engine_err)?;
        let mut http = ComponentLinker::new(engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut http).map_err(engine_err)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut http).map_err(engine_err)?;

        let cache = shared
            .config()
            .cache_dir
            .as_deref()
            .map(|dir| ArtifactCache::new(dir, engine));
        Ok(Self {
            inner: Arc::new(Inner {
                engine: shared,
                p1,
                p2,
                http,
                cache,
                templates: Mutex::default(),
            }),
        })
    }

    /// Loads a module from a file.
    pub fn load_file(&self, path: impl AsRef<Path>) -> Result<Module> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        self.load(&bytes)
    }

    /// Loads a module from its bytes: from memory if this process has it, else from the
    /// precompiled cache, else by compiling it (and caching the result). Compiling is CPU
    /// work; call this from a blocking context in async code.
    pub fn load(&self, bytes: &[u8]) -> Result<Module> {
        let digest = Digest::of(bytes);
        if let Some(inner) = self.templates().get(&digest) {
            return Ok(Module::new(inner.clone(), LoadSource::Memory));
        }
        let format = inspect(bytes)?;
        let (compiled, source) = self.compile(&digest, bytes, format)?;
        let (template, kind) = match compiled {
            Compiled::Core(module) => self.core_template(&module)?,
            Compiled::Component(component) => self.component_template(&component)?,
        };
        let inner = Arc::new(ModuleInner {
            digest,
            kind,
            template,
        });
        self.templates()
            .entry(digest)
            .or_insert_with(|| inner.clone());
        tracing::debug!(module = %digest, %kind, ?source, "module loaded");
        Ok(Module::new(inner, source))
    }

    fn core_template(&self, module: &wasmtime::Module) -> Result<(Template, ModuleKind)> {
        if module.get_export("_start").is_none() {
            return Err(Error::UnsupportedModule(
                "a core module must export `_start` to run as a WASI command".into(),
            ));
        }
        let pre = self
            .inner
            .p1
            .instantiate_pre(module)
            .map_err(|e| Error::Link(one_line(&e)))?;
        Ok((Template::P1(pre), ModuleKind::P1Command))
    }

    fn component_template(&self, component: &Component) -> Result<(Template, ModuleKind)> {
        let exports: Vec<String> = component
            .component_type()
            .exports(self.engine())
            .map(|(name, _)| name.to_string())
            .collect();
        let link = |e: wasmtime::Error| Error::Link(one_line(&e));
        if exports.iter().any(|e| e.starts_with(WASI_HTTP_HANDLER)) {
            let pre = self.inner.http.instantiate_pre(component).map_err(link)?;
            let pre = ProxyPre::new(pre).map_err(link)?;
            Ok((Template::Http(pre), ModuleKind::HttpProxy))
        } else if exports.iter().any(|e| e.starts_with(WASI_CLI_RUN)) {
            let pre = self.inner.p2.instantiate_pre(component).map_err(link)?;
            let pre = CommandPre::new(pre).map_err(link)?;
            Ok((Template::P2(pre), ModuleKind::P2Command))
        } else {
            Err(Error::UnsupportedWorld { exports })
        }
    }

    /// Finds compiled code for `bytes` in the disk cache, or compiles and caches it.
    fn compile(
        &self,
        digest: &Digest,
        bytes: &[u8],
        format: Format,
    ) -> Result<(Compiled, LoadSource)> {
        let engine = self.engine();
        if let Some(cache) = &self.inner.cache {
            let path = cache.path(digest);
            if path.exists() {
                match Compiled::deserialize_file(engine, format, &path) {
                    Ok(compiled) => return Ok((compiled, LoadSource::DiskCache)),
                    Err(e) => tracing::warn!(
                        path = %path.display(), error = %one_line(&e),
                        "unusable precompiled artifact; recompiling"
                    ),
                }
            }
        }
        let artifact = match format {
            Format::Core => engine.precompile_module(bytes),
            Format::Component => engine.precompile_component(bytes),
        }
        .map_err(|e| Error::Invalid(one_line(&e)))?;
        if let Some(cache) = &self.inner.cache {
            match cache.store(digest, &artifact) {
                // Loading from the file lets the engine map it copy-on-write.
                Ok(path) => match Compiled::deserialize_file(engine, format, &path) {
                    Ok(compiled) => return Ok((compiled, LoadSource::Compiled)),
                    Err(e) => tracing::warn!(error = %one_line(&e), "cannot map cached artifact"),
                },
                Err(e) => tracing::warn!(error = %e, "cannot cache precompiled module"),
            }
        }
        Compiled::deserialize(engine, format, &artifact)
            .map(|c| (c, LoadSource::Compiled))
            .map_err(|e| Error::Invalid(one_line(&e)))
    }

    /// Starts a command instance. Must be called within a tokio runtime.
    pub fn spawn(&self, module: &Module, spec: CommandSpec) -> Result<Instance> {
        command::spawn(&self.inner.engine, module, spec)
    }

    /// Builds a handler serving HTTP requests with `module`, a `wasi:http/proxy`
    /// component.
    pub fn http_handler(&self, module: &Module, config: HttpConfig) -> Result<HttpHandler> {
        HttpHandler::new(&self.inner.engine, module, config)
    }

    /// The configuration the runtime was built with.
    pub fn config(&self) -> &RuntimeConfig {
        self.inner.engine.config()
    }

    /// How the pool lays out linear memories (chosen at start when the configuration left it
    /// open).
    pub fn memory_layout(&self) -> MemoryLayout {
        self.inner.engine.layout()
    }

    fn engine(&self) -> &Engine {
        self.inner.engine.engine()
    }

    fn templates(&self) -> std::sync::MutexGuard<'_, HashMap<Digest, Arc<ModuleInner>>> {
        // The map is only ever inserted into; a panic elsewhere cannot leave it torn.
        self.inner
            .templates
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

/// Compiled code of either format.
enum Compiled {
    Core(wasmtime::Module),
    Component(Component),
}

impl Compiled {
    fn deserialize_file(engine: &Engine, format: Format, path: &Path) -> wasmtime::Result<Self> {
        // SAFETY: artifacts in the cache directory are written only by this runtime, from
        // `Engine::precompile_*`, atomically (temp file + rename), and never modified in
        // place; wasmtime checks the header and engine compatibility before use.
        #[allow(unsafe_code)]
        unsafe {
            Ok(match format {
                Format::Core => Compiled::Core(wasmtime::Module::deserialize_file(engine, path)?),
                Format::Component => {
                    Compiled::Component(Component::deserialize_file(engine, path)?)
                }
            })
        }
    }

    fn deserialize(engine: &Engine, format: Format, artifact: &[u8]) -> wasmtime::Result<Self> {
        // SAFETY: `artifact` was produced by `Engine::precompile_*` of this same engine
        // a moment ago, in this process.
        #[allow(unsafe_code)]
        unsafe {
            Ok(match format {
                Format::Core => Compiled::Core(wasmtime::Module::deserialize(engine, artifact)?),
                Format::Component => Compiled::Component(Component::deserialize(engine, artifact)?),
            })
        }
    }
}
