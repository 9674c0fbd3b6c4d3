//! The control plane's live metrics: what the agents measure, held in memory for
//! `kubectl top` (`metrics.k8s.io`), the HorizontalPodAutoscaler (resource and
//! `custom.metrics.k8s.io` pod metrics) and the request-driven autoscaler. Nothing here is
//! stored: the figures arrive on each node's stats stream and age out.
//!
//! Parts: [`collector`] ([`Collector`]: follows every node's stats stream and answers
//! windowed rates), [`usage`] (the figures it answers with), [`demand`] ([`DemandHub`]:
//! requests held at agents for Services at zero, and who scales those Services).

pub mod collector;
pub mod demand;
pub mod usage;

pub use collector::Collector;
pub use demand::DemandHub;
