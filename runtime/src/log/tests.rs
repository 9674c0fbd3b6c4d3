//! Unit tests of [`ContainerLog`](super::ContainerLog): encoding, rotation, bounds,
//! followers and their boundary with snapshots, closing, and what an idle log costs.

use super::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts the bytes each thread has allocated and not freed, so a test can measure what
/// the objects it creates keep, undisturbed by tests running on other threads.
struct Counting;

thread_local! {
    static NET_BYTES: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    // `try_with`: no counting while the thread's locals are being torn down.
    let _ = NET_BYTES.try_with(|n| n.set(n.get() + delta));
}

fn net_bytes() -> isize {
    NET_BYTES.with(Cell::get)
}

// SAFETY: every call forwards to `System` with the caller's arguments unchanged; the
// counting touches only a const-initialized thread-local `Cell`, which never allocates.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract, which `System.alloc` shares.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            count(layout.size() as isize);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above, i.e. from `System`, with this layout.
        unsafe { System.dealloc(ptr, layout) };
        count(-(layout.size() as isize));
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn line(text: &str) -> LogLine {
    LogLine {
        time: SystemTime::now(),
        stream: LogStream::Stdout,
        partial: false,
        text: Bytes::copy_from_slice(text.as_bytes()),
    }
}

fn texts(lines: impl IntoIterator<Item = LogLine>) -> Vec<String> {
    lines
        .into_iter()
        .map(|l| String::from_utf8_lossy(&l.text).into_owned())
        .collect()
}

fn file_log(dir: &Path, max_file_bytes: u64, max_files: usize) -> ContainerLog {
    ContainerLog::open(LogConfig {
        file: Some(dir.join("0.log")),
        max_file_bytes,
        max_files,
    })
    .expect("open")
}

#[test]
fn encode_decode_round_trip() {
    let original = LogLine {
        partial: true,
        stream: LogStream::Stderr,
        ..line("with spaces in it")
    };
    let encoded = original.encode();
    assert_eq!(encoded.len() as u64, encoded_len(&original));
    let decoded = LogLine::decode(&encoded[..encoded.len() - 1]).expect("decodes");
    assert_eq!(decoded, original);
}

#[test]
fn files_rotate_and_stay_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = file_log(dir.path(), 1024, 3);
    log.append((0..1000).map(|i| line(&format!("line {i}"))));
    let total: u64 = std::fs::read_dir(dir.path())
        .expect("read dir")
        .map(|e| e.expect("entry").metadata().expect("meta").len())
        .sum();
    assert!(total <= 3 * 1024 + 100, "{total} bytes on disk");
    let lines = log.lines().expect("lines");
    assert_eq!(
        lines.last().map(|l| l.text.clone()),
        Some(Bytes::from("line 999"))
    );
    assert!(
        lines.len() < 1000 && lines.len() > 20,
        "{} lines kept",
        lines.len()
    );
    // Kept lines are contiguous and in order.
    let numbers: Vec<u32> = texts(lines)
        .iter()
        .map(|t| t[5..].parse().expect("n"))
        .collect();
    assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1));
}

#[test]
fn memory_log_is_bounded() {
    let log = ContainerLog::open(LogConfig {
        file: None,
        max_file_bytes: 512,
        max_files: 2,
    })
    .expect("open");
    log.append((0..500).map(|i| line(&format!("line {i}"))));
    let lines = log.lines().expect("lines");
    let bytes: usize = lines.iter().map(|l| l.encode().len()).sum();
    assert!(bytes <= 1024, "{bytes}");
    assert_eq!(
        lines.last().map(|l| l.text.clone()),
        Some(Bytes::from("line 499"))
    );
}

#[test]
fn reopening_appends_to_the_current_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    file_log(dir.path(), 1 << 20, 2).append([line("first")]);
    let log = file_log(dir.path(), 1 << 20, 2);
    log.append([line("second")]);
    assert_eq!(texts(log.lines().expect("lines")), ["first", "second"]);
}

#[tokio::test]
async fn followers_see_new_lines() {
    let log = ContainerLog::in_memory();
    let mut follower = log.follow();
    log.append([line("hello")]);
    let got = follower.recv().await.expect("a line");
    assert_eq!(got.text, Bytes::from("hello"));
}

fn has_followers(log: &ContainerLog) -> bool {
    match &log.lock().store {
        Store::Memory { live, .. } => live.is_some(),
        Store::Files { changed, .. } => changed.is_some(),
    }
}

#[tokio::test]
async fn a_snapshot_and_its_follower_split_the_lines_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Small files: the appends after the snapshot rotate every file it opened away, and
    // the follower follows several rotations.
    let log = file_log(dir.path(), 256, 3);
    log.append((0..5).map(|i| line(&format!("before {i}"))));
    let (snapshot, mut follower) = log.snapshot_and_follow().expect("snapshot");
    for i in 0..40 {
        log.append([line(&format!("after {i}"))]);
        if i % 3 == 2 {
            // Several appends (and a rotation, at times) between reads.
            for j in i - 2..=i {
                let got = follower.recv().await.expect("a live line");
                assert_eq!(got.text, Bytes::from(format!("after {j}")));
            }
        }
    }
    let before = texts(snapshot.collect::<std::io::Result<Vec<_>>>().expect("read"));
    let kept_before: Vec<String> = (0..5).map(|i| format!("before {i}")).collect();
    assert_eq!(before, kept_before);
    assert_eq!(follower.recv().await.expect("a line").text, "after 39");
    assert_eq!(follower.try_recv(), Ok(None), "no line twice");
}

#[tokio::test]
async fn a_follower_behind_rotated_away_files_skips_to_the_oldest_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = file_log(dir.path(), 256, 2);
    let mut follower = log.follow();
    log.append((0..100).map(|i| line(&format!("line {i}"))));
    // It still reads the file it has open (rotated away or not), then skips.
    let mut read = Vec::new();
    loop {
        match follower.recv().await {
            Ok(line) => read.push(line),
            Err(e) => {
                assert_eq!(e, FollowError::Lagged);
                break;
            }
        }
    }
    assert_eq!(texts(read.clone()), texts(log_lines(0..read.len())));
    let kept = log.lines().expect("lines");
    assert!(
        kept[0].text != format!("line {}", read.len()),
        "lines were skipped"
    );
    assert_eq!(follower.recv().await, Ok(kept[0].clone()));
}

fn log_lines(numbers: std::ops::Range<usize>) -> Vec<LogLine> {
    numbers.map(|i| line(&format!("line {i}"))).collect()
}

#[tokio::test]
async fn closing_ends_followers_after_their_remaining_lines() {
    let log = ContainerLog::in_memory();
    let mut follower = log.follow();
    log.append([line("one"), line("two")]);
    log.close();
    assert!(log.is_closed());
    assert_eq!(follower.recv().await.expect("one").text, "one");
    assert_eq!(follower.recv().await.expect("two").text, "two");
    assert_eq!(follower.recv().await, Err(FollowError::Closed));
    // A follower arriving after the end ends at once; the lines are still readable.
    assert_eq!(log.follow().recv().await, Err(FollowError::Closed));
    assert_eq!(texts(log.lines().expect("lines")), ["one", "two"]);
}

#[test]
fn a_closed_file_log_still_stores_later_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = file_log(dir.path(), 1 << 20, 2);
    log.append([line("during")]);
    log.close();
    log.append([line("after")]);
    assert_eq!(texts(log.lines().expect("lines")), ["during", "after"]);
}

#[test]
fn an_idle_log_costs_under_a_kibibyte_and_followers_release_their_channel() {
    const LOGS: usize = 200;
    let dir = tempfile::tempdir().expect("tempdir");
    let paths: Vec<PathBuf> = (0..LOGS).map(|i| dir.path().join(i.to_string())).collect();
    let start = net_bytes();
    let logs: Vec<ContainerLog> = paths
        .iter()
        .map(|p| {
            let log = file_log(p, DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_FILES);
            log.append([line("started")]);
            log
        })
        .collect();
    let per_log = (net_bytes() - start) / LOGS as isize;
    assert!(per_log <= 1024, "an idle log keeps {per_log} bytes");

    let idle = net_bytes();
    let followers = [logs[0].follow(), logs[0].follow()];
    logs[0].append([line("followed")]);
    assert!(has_followers(&logs[0]));
    assert!(net_bytes() - idle > 8 * 1024, "followers have read buffers");
    let [first, second] = followers;
    drop(first);
    assert!(has_followers(&logs[0]), "one follower is left");
    drop(second);
    assert!(
        !has_followers(&logs[0]),
        "the last follower drops the channel"
    );
    assert!(
        net_bytes() - idle <= 256,
        "{} bytes kept after following",
        net_bytes() - idle
    );

    let memory = ContainerLog::in_memory();
    let idle = net_bytes();
    let follower = memory.follow();
    assert!(
        net_bytes() - idle > 16 * 1024,
        "a memory log's channel has slots"
    );
    drop(follower);
    assert!(!has_followers(&memory));
    assert!(net_bytes() - idle <= 256);
}
