//! [`DemandHub`]: where the activation of a Service at zero meets the autoscaler that scales
//! it. The request-driven autoscaler publishes which Services it can scale from zero; an
//! agent holding a request for such a Service activates it through the API
//! (`Activation`), which lands here and wakes the autoscaler at once.

/// A Service with requests waiting for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Demand {
    /// The Service's namespace.
    pub namespace: String,
    /// The Service's name.
    pub service: String,
    /// Requests held for it by the agent that asked.
    pub held: u32,
}

/// Shared by the API server (activations in) and the autoscaler (Services out, demand in).
#[derive(Default)]
pub struct DemandHub {}
