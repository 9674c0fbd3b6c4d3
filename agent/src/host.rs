//! What the host's kernel must allow for the pods a node is asked to hold. Each pod costs
//! memory mappings, which Linux bounds per process (`vm.max_map_count`, 65,530 by default):
//! its pooled instance slot's stack and guard page (2, reserved at start) and, while it
//! runs, its memory image and the rest (about 4 more; 6.0 per pod measured with 10,000
//! idle pods). [`check_mappings`] refuses a `--max-pods` that would run out part way
//! through filling the node, naming the largest that fits and the setting that raises it.

/// Memory mappings one pod may hold: its slot's 2 and a running instance's 4.
pub const MAPPINGS_PER_POD: u64 = 6;

/// Mappings left for the rest of the process: its libraries, threads and heap.
pub const MAPPINGS_RESERVED: u64 = 1_024;

/// Where Linux says how many mappings a process may have.
const MAX_MAP_COUNT: &str = "/proc/sys/vm/max_map_count";

/// `max_pods` asks for more mappings than the host allows a process.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "--max-pods {requested} is more than this host allows: vm.max_map_count {limit} holds \
     the memory mappings of at most {max} pods (raise it to at least {needed}, e.g. \
     `sysctl -w vm.max_map_count={needed}`, or ask for fewer pods)"
)]
pub struct TooManyMappings {
    /// The pods asked for.
    pub requested: u32,
    /// The most the limit holds.
    pub max: u32,
    /// The host's `vm.max_map_count`.
    pub limit: u64,
    /// The `vm.max_map_count` the pods asked for need.
    pub needed: u64,
}

/// Checks `max_pods` against the host's `vm.max_map_count` (no check where the host does
/// not say, as off Linux).
pub fn check_mappings(max_pods: u32) -> Result<(), TooManyMappings> {
    let Some(limit) = std::fs::read_to_string(MAX_MAP_COUNT)
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok())
    else {
        return Ok(());
    };
    fits(max_pods, limit)
}

/// Whether `max_pods` pods fit under a mapping limit of `limit`.
fn fits(max_pods: u32, limit: u64) -> Result<(), TooManyMappings> {
    let needed = MAPPINGS_RESERVED + u64::from(max_pods) * MAPPINGS_PER_POD;
    if needed <= limit {
        return Ok(());
    }
    let max = limit.saturating_sub(MAPPINGS_RESERVED) / MAPPINGS_PER_POD;
    Err(TooManyMappings {
        requested: max_pods,
        max: u32::try_from(max).unwrap_or(u32::MAX),
        limit,
        needed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_limit_holds_ten_thousand_pods_but_not_thirty() {
        assert_eq!(fits(10_000, 65_530), Ok(()));
        let error = fits(30_000, 65_530).expect_err("too many");
        assert_eq!(error.max, 10_751);
        assert_eq!(error.needed, 181_024);
        assert_eq!(fits(error.max, 65_530), Ok(()));
        assert!(fits(error.max + 1, 65_530).is_err());
        assert_eq!(
            error.to_string(),
            "--max-pods 30000 is more than this host allows: vm.max_map_count 65530 holds \
             the memory mappings of at most 10751 pods (raise it to at least 181024, e.g. \
             `sysctl -w vm.max_map_count=181024`, or ask for fewer pods)"
        );
        assert_eq!(fits(30_000, 262_144), Ok(()));
    }
}
