//! The controller machinery, as kube-runtime is to kube-controller code: what the
//! scheduler and every controller are built from and run by.
//!
//! Parts, lowest first:
//! - [`informer`]: an in-memory, indexed copy of one kind, kept by a list and a watch;
//! - [`informers`]: the informers every component shares, and their indexes;
//! - [`client`]: how components write (and the few reads that must be live), through the
//!   API server's own write path — the only way in to the API server's internals;
//! - [`events`]: the event recorder;
//! - [`config`]: the controller manager's timings and switches;
//! - [`context`]: what each component is built from (informers, client, config, events);
//! - [`workqueue`]: the deduplicating, backing-off queue of keys;
//! - [`cputime`]: the CPU time a future's polls take (how the runner paces a hot key);
//! - [`controller`]: the runner every queue-driven controller uses — watches → queue →
//!   reconcile → action.

pub mod client;
pub mod config;
pub mod context;
pub mod controller;
pub mod cputime;
pub mod events;
pub mod informer;
pub mod informers;
pub mod workqueue;
