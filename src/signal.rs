//! [`shutdown_signal`]: resolves on the first SIGINT or SIGTERM, saying which.

/// The signal that asked the process to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM.
    Terminate,
}

impl Signal {
    /// The conventional exit status of a process ended by this signal (128 + number).
    pub fn exit_status(self) -> u8 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }

    /// The signal's name.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }
}

/// Waits for SIGINT or SIGTERM. If a handler cannot be installed, that signal is
/// simply never reported (the process keeps its default behaviour for it).
pub async fn shutdown_signal() -> Signal {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).ok();
    let mut terminate = signal(SignalKind::terminate()).ok();
    let interrupt = async {
        match &mut interrupt {
            Some(s) => s.recv().await,
            None => std::future::pending().await,
        }
    };
    let terminate = async {
        match &mut terminate {
            Some(s) => s.recv().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = interrupt => Signal::Interrupt,
        _ = terminate => Signal::Terminate,
    }
}
