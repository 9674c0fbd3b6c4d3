//! [`Outcome`]: how an instance ended. Every ending is distinct and typed, so that the
//! agent can report it as Kubernetes does (exit code, `OOMKilled`, `DeadlineExceeded`...).

use std::fmt;
use std::time::Duration;

/// How an instance ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The guest exited (returned from `main`, or called `exit`) with this code.
    Exited(i32),
    /// The guest trapped.
    Trapped(TrapKind),
    /// The guest failed after growing its memory was refused at the limit.
    MemoryLimitExceeded {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The wall-clock deadline passed before the guest finished.
    DeadlineExceeded {
        /// The deadline.
        deadline: Duration,
    },
    /// The instance was stopped from outside and did not finish within its grace period.
    Stopped,
}

impl Outcome {
    /// Whether the guest ran to completion successfully.
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Exited(0))
    }
}

/// What kind of trap ended an instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrapKind {
    /// `unreachable` executed — also how Rust guests abort after a panic.
    Unreachable,
    /// A load or store outside linear memory.
    MemoryOutOfBounds,
    /// The wasm call stack was exhausted.
    StackOverflow,
    /// Integer division by zero.
    IntegerDivisionByZero,
    /// Integer overflow (e.g. `i32::MIN / -1`) or an invalid float-to-int conversion.
    IntegerOverflow,
    /// An indirect call through a null, mismatched or out-of-bounds table entry.
    BadIndirectCall,
    /// Any other trap, or a fatal error raised by a host call, with its message.
    Other(String),
}

impl TrapKind {
    pub(crate) fn from_error(error: &wasmtime::Error) -> Self {
        use wasmtime::Trap;
        match error.downcast_ref::<Trap>() {
            Some(Trap::UnreachableCodeReached) => TrapKind::Unreachable,
            Some(Trap::MemoryOutOfBounds | Trap::HeapMisaligned) => TrapKind::MemoryOutOfBounds,
            Some(Trap::StackOverflow) => TrapKind::StackOverflow,
            Some(Trap::IntegerDivisionByZero) => TrapKind::IntegerDivisionByZero,
            Some(Trap::IntegerOverflow | Trap::BadConversionToInteger) => TrapKind::IntegerOverflow,
            Some(Trap::IndirectCallToNull | Trap::BadSignature | Trap::TableOutOfBounds) => {
                TrapKind::BadIndirectCall
            }
            // The root cause, without the wasm backtrace that wraps it.
            _ => TrapKind::Other(error.root_cause().to_string().replace('\n', " ")),
        }
    }
}

impl fmt::Display for TrapKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrapKind::Unreachable => f.write_str("unreachable instruction executed"),
            TrapKind::MemoryOutOfBounds => f.write_str("out of bounds memory access"),
            TrapKind::StackOverflow => f.write_str("call stack exhausted"),
            TrapKind::IntegerDivisionByZero => f.write_str("integer divide by zero"),
            TrapKind::IntegerOverflow => f.write_str("integer overflow"),
            TrapKind::BadIndirectCall => f.write_str("bad indirect call"),
            TrapKind::Other(message) => f.write_str(message),
        }
    }
}
