//! Images at `http://` and `https://` URLs: [`client`] builds the node's one HTTP client
//! (after [`install_crypto_provider`]), [`get`] fetches a URL's body, with errors naming the
//! URL and the status or cause.

use std::time::Duration;

use bytes::Bytes;

use super::PullError;
use super::error::root_cause;

/// How long to wait for a TCP (and TLS) connection: long enough for a distant server, short
/// enough that a dead host fails the pull while the user is still watching.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a single read may stall: a server that stops sending mid-body fails the pull
/// instead of holding it (and every pod coalesced onto it) forever.
pub(crate) const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Makes ring rustls' process-wide crypto provider, unless one is installed already. The
/// TLS stack is built without a provider of its own (the default one, aws-lc, needs a C
/// toolchain); ring is already linked for kube.
pub(crate) fn install_crypto_provider() {
    // An error means a provider is already installed, which is all that is needed.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The client for HTTP(S) images (rustls with the process' crypto provider).
pub(crate) fn client() -> Result<reqwest::Client, PullError> {
    install_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(DEFAULT_CONNECT_TIMEOUT)
        .read_timeout(DEFAULT_READ_TIMEOUT)
        .user_agent(concat!("skiff-agent/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| PullError::Client {
            detail: root_cause(&e),
        })
}

/// The body of `url`; any status but 2xx is an error.
pub(crate) async fn get(client: &reqwest::Client, url: &str) -> Result<Bytes, PullError> {
    let connect = |e: reqwest::Error| PullError::Connect {
        url: url.to_owned(),
        detail: if e.is_timeout() {
            "timed out".to_owned()
        } else {
            root_cause(&e)
        },
    };
    let response = client.get(url).send().await.map_err(connect)?;
    let status = response.status();
    if !status.is_success() {
        return Err(PullError::HttpStatus {
            url: url.to_owned(),
            status: status.to_string(),
        });
    }
    response.bytes().await.map_err(connect)
}
