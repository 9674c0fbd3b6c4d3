//! Skiff's certificates, shared by the control plane and the node agent.
//!
//! - [`authority`]: the cluster CA — created in the data directory on first start (its key
//!   readable by the owner only), loaded on later ones — and the certificates it issues:
//!   serving certificates for names and addresses, client certificates whose subject is a
//!   Kubernetes identity (CN = user, O = groups), and certificates for a key held elsewhere,
//!   from a certificate signing request (how a node joins without its key leaving it).
//! - [`request`]: a new key and a signing request for it, the side that asks.
//! - [`inspect`]: what a certificate says — subject, names, expiry — read back with
//!   x509-parser.
//! - [`tls`]: rustls configurations from those files: a server that asks for client
//!   certificates without requiring them (the caller's chain is verified after the
//!   handshake, so a bad certificate is a 401 and not a broken connection), a client that
//!   trusts the cluster CA and presents its own identity.
//! - [`keys`]: a signing key kept in a private file (the ServiceAccount token key).
//! - [`files`]: PEM files on disk, private ones created `0600`.
//!
//! The cryptography is rcgen's, ring's and rustls' own; nothing here implements any.

pub mod authority;
pub mod error;
pub mod files;
pub mod inspect;
pub mod keys;
pub mod request;
pub mod tls;

pub use authority::{Authority, Issued, Usage};
pub use error::Error;
pub use inspect::Subject;
