//! [`Context`]: what the scheduler and every controller are built from — the shared
//! [`Informers`], the API state their [`Client`]s write to, the manager's [`Config`] and
//! the event [`Recorder`].

use crate::apiserver::ApiState;
use crate::machinery::client::Client;
use crate::machinery::config::Config;
use crate::machinery::events::start_recorder;
use crate::machinery::informers::Informers;
use skiff_model::events::Recorder;
use tokio_util::sync::CancellationToken;

/// What every component is built from.
#[derive(Clone)]
pub struct Context {
    /// The shared informers.
    pub informers: Informers,
    /// The API state (for the few direct reads a component needs).
    pub state: ApiState,
    /// The manager's configuration.
    pub config: Config,
    /// The event recorder (use [`Recorder::component`] to name yourself).
    pub events: Recorder,
}

impl Context {
    /// The context of components over `state`, with fresh informers (not started) and an
    /// event recorder writing until `shutdown`.
    pub fn new(state: ApiState, config: Config, shutdown: &CancellationToken) -> Self {
        Self {
            informers: Informers::new(),
            events: start_recorder(Client::new(state.clone(), "skiff-events"), shutdown.clone()),
            state,
            config,
        }
    }

    /// A client writing as `manager`.
    pub fn client(&self, manager: &'static str) -> Client {
        Client::new(self.state.clone(), manager)
    }
}
