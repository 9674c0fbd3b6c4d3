//! [`CpuTimed`]: a future that counts the CPU time its own polls take, on whichever worker
//! thread each runs, leaving out the time it waits (for a store write, a timer). The
//! controller runner uses it to pace a key by what reconciling it costs the machine.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// The calling thread's CPU time so far.
fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

/// `future`, finishing with its output and the CPU time spent polling it.
pub fn cpu_timed<F: Future>(future: F) -> CpuTimed<F> {
    CpuTimed {
        future: Box::pin(future),
        spent: Duration::ZERO,
    }
}

/// See [`cpu_timed`].
pub struct CpuTimed<F> {
    future: Pin<Box<F>>,
    spent: Duration,
}

impl<F: Future> Future for CpuTimed<F> {
    type Output = (F::Output, Duration);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let start = thread_cpu();
        let polled = self.future.as_mut().poll(cx);
        let spent = thread_cpu().saturating_sub(start);
        self.spent += spent;
        polled.map(|output| (output, self.spent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_work_not_waiting() {
        let ((), idle) = cpu_timed(tokio::time::sleep(Duration::from_millis(50))).await;
        assert!(
            idle < Duration::from_millis(20),
            "a sleep costs no CPU: {idle:?}"
        );
        let (sum, busy) = cpu_timed(async {
            let mut sum = 0u64;
            for i in 0..20_000_000u64 {
                sum = std::hint::black_box(sum.wrapping_add(i * i));
            }
            tokio::task::yield_now().await;
            sum
        })
        .await;
        assert!(sum > 0);
        assert!(
            busy > idle,
            "work costs more than waiting: {busy:?} vs {idle:?}"
        );
    }
}
