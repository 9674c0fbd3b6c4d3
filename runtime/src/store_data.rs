//! What a wasmtime `Store` holds, one type per [`ModuleKind`](crate::ModuleKind): the WASI
//! context the instance sees and its [`Guard`] — [`P1State`] (preview 1 command),
//! [`P2State`] (preview 2 command), [`HttpState`] (one HTTP request) — and
//! [`bounded_table`], the capped resource table they share.

use crate::guard::{Guard, Guarded};
use crate::http::outbound::Outbound;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// Cap on host resources (streams, fields, pollables...) one instance may hold open.
pub const MAX_RESOURCES_PER_INSTANCE: usize = 10_000;

/// Data of a store running a WASI preview 1 command.
pub(crate) struct P1State {
    pub(crate) wasi: WasiP1Ctx,
    pub(crate) guard: Guard,
}

/// Data of a store running a WASI preview 2 command.
pub(crate) struct P2State {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) guard: Guard,
}

/// Data of a store serving one HTTP request.
pub(crate) struct HttpState {
    pub(crate) wasi: WasiCtx,
    pub(crate) http: WasiHttpCtx,
    pub(crate) table: ResourceTable,
    pub(crate) guard: Guard,
    pub(crate) outbound: Outbound,
}

/// A resource table capped at [`MAX_RESOURCES_PER_INSTANCE`].
pub(crate) fn bounded_table() -> ResourceTable {
    let mut table = ResourceTable::new();
    table.set_max_capacity(MAX_RESOURCES_PER_INSTANCE);
    table
}

impl Guarded for P1State {
    fn guard(&mut self) -> &mut Guard {
        &mut self.guard
    }
}

impl Guarded for P2State {
    fn guard(&mut self) -> &mut Guard {
        &mut self.guard
    }
}

impl Guarded for HttpState {
    fn guard(&mut self) -> &mut Guard {
        &mut self.guard
    }
}

impl WasiView for P2State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiView for HttpState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HttpState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound,
        }
    }
}
