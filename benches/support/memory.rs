//! Where a process's resident memory is: its mappings (`/proc/PID/smaps`) grouped by size
//! and name, so that a pool's linear memories (one huge reservation), its stacks (thousands
//! of equal mappings) and the allocator's heap show up as separate lines.

use std::collections::HashMap;

/// Mappings of one size and name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Group {
    /// How many mappings.
    pub count: u64,
    /// Resident KiB over all of them.
    pub rss_kib: u64,
}

/// `(size in KiB, name)` → the group, for process `pid` (empty if it cannot be read).
pub fn mappings(pid: u32) -> HashMap<(u64, String), Group> {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let mut groups: HashMap<(u64, String), Group> = HashMap::new();
    let mut current: Option<(u64, String)> = None;
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let Some(first) = fields.next() else { continue };
        if let Some((start, end)) = first.split_once('-')
            && let (Ok(start), Ok(end)) =
                (u64::from_str_radix(start, 16), u64::from_str_radix(end, 16))
        {
            // address perms offset dev inode [name]
            let name = fields.nth(4).unwrap_or("[anon]").to_string();
            let key = ((end - start) / 1024, name);
            groups.entry(key.clone()).or_default().count += 1;
            current = Some(key);
        } else if first == "Rss:"
            && let (Some(key), Some(kib)) =
                (&current, fields.next().and_then(|k| k.parse::<u64>().ok()))
        {
            groups.entry(key.clone()).or_default().rss_kib += kib;
        }
    }
    groups
}

/// The groups whose resident memory grew most from `before` to `after`, largest first:
/// lines "+X KiB/unit in N mappings of SIZE (NAME)", `per` being the unit count.
pub fn growth(
    before: &HashMap<(u64, String), Group>,
    after: &HashMap<(u64, String), Group>,
    per: u64,
    top: usize,
) -> Vec<String> {
    let mut grown: Vec<(i64, &(u64, String), Group)> = after
        .iter()
        .map(|(key, group)| {
            let was = before.get(key).map_or(0, |g| g.rss_kib);
            (group.rss_kib as i64 - was as i64, key, *group)
        })
        .filter(|(delta, _, _)| *delta > 0)
        .collect();
    grown.sort_by_key(|g| std::cmp::Reverse(g.0));
    grown
        .into_iter()
        .take(top)
        .map(|(delta, (size, name), group)| {
            format!(
                "+{:.1} KiB per pod in {} mappings of {} ({name})",
                delta as f64 / per.max(1) as f64,
                group.count,
                human(*size)
            )
        })
        .collect()
}

fn human(kib: u64) -> String {
    match kib {
        k if k >= 1 << 20 => format!("{:.1} GiB", k as f64 / (1 << 20) as f64),
        k if k >= 1 << 10 => format!("{:.1} MiB", k as f64 / 1024.0),
        k => format!("{k} KiB"),
    }
}
