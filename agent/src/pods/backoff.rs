//! [`Backoff`]: the delay before a container restarts — the kubelet's crash-loop backoff,
//! starting at a base (10 s), doubling per restart up to a cap (5 min), and starting over
//! once a run lasted long enough (10 min).

use crate::config::BackoffConfig;
use std::time::Duration;

/// One container's restart backoff.
#[derive(Clone, Debug)]
pub struct Backoff {
    config: BackoffConfig,
    next: Duration,
}

impl Backoff {
    /// A backoff at its base.
    pub fn new(config: BackoffConfig) -> Self {
        Self {
            config,
            next: config.base,
        }
    }

    /// The delay before restarting a container whose run lasted `ran`; advances the
    /// backoff for the restart after it.
    pub fn delay(&mut self, ran: Duration) -> Duration {
        if ran >= self.config.reset_after {
            self.next = self.config.base;
        }
        let delay = self.next.min(self.config.max);
        self.next = (delay * 2).min(self.config.max);
        delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> BackoffConfig {
        BackoffConfig {
            base: Duration::from_secs(10),
            max: Duration::from_secs(300),
            reset_after: Duration::from_secs(600),
        }
    }

    #[test]
    fn doubles_to_the_cap() {
        let mut backoff = Backoff::new(config());
        let delays: Vec<u64> = (0..7)
            .map(|_| backoff.delay(Duration::ZERO).as_secs())
            .collect();
        assert_eq!(delays, [10, 20, 40, 80, 160, 300, 300]);
    }

    #[test]
    fn resets_after_a_long_run() {
        let mut backoff = Backoff::new(config());
        backoff.delay(Duration::ZERO);
        backoff.delay(Duration::ZERO);
        assert_eq!(
            backoff.delay(Duration::from_secs(601)),
            Duration::from_secs(10)
        );
        assert_eq!(backoff.delay(Duration::ZERO), Duration::from_secs(20));
    }
}
