//! Completion indexes of `Indexed` Jobs, and the notation `status.completedIndexes` is
//! written in: ascending ranges and single indexes separated by commas (`"0-2,5,7-8"`).

use std::collections::BTreeSet;

/// Reads `"0-2,5"`; parts that do not parse are skipped (the field is the controller's own).
pub(super) fn parse(text: &str) -> BTreeSet<i32> {
    let mut set = BTreeSet::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (first, last) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse::<i32>(), b.trim().parse::<i32>()),
            None => (part.parse::<i32>(), part.parse::<i32>()),
        };
        if let (Ok(first), Ok(last)) = (first, last) {
            set.extend(first..=last);
        }
    }
    set
}

/// Writes a set as `"0-2,5"`.
pub(super) fn format(set: &BTreeSet<i32>) -> String {
    let mut parts = Vec::new();
    let mut iter = set.iter().copied().peekable();
    while let Some(first) = iter.next() {
        let mut last = first;
        while iter.peek() == Some(&(last + 1)) {
            last += 1;
            iter.next();
        }
        parts.push(if first == last {
            first.to_string()
        } else {
            format!("{first}-{last}")
        });
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_round_trip() {
        let set: BTreeSet<i32> = [0, 1, 2, 5, 7, 8].into();
        assert_eq!(format(&set), "0-2,5,7-8");
        assert_eq!(parse("0-2,5,7-8"), set);
        assert_eq!(format(&BTreeSet::new()), "");
        assert!(parse("").is_empty());
        assert_eq!(parse("3,x,4-"), [3].into());
    }
}
