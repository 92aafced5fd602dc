//! How a connection broke before the answer a probe waited for was complete: reset, closed, or
//! silent until the deadline. Every outcome that reads from the server shares these three, so a
//! rule that only cares that the connection broke handles them once.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A connection that broke before a full answer. `P` is the phase type of the outcome that
/// embeds it (the deadline always names its phase); `A` is what a reset or a close records
/// besides the bytes: nothing (`()`) where the phase is implied, or [`InPhase`] where an
/// exchange has several phases a reset or close can hit.
///
/// It serializes with the same internal `kind` tag as the outcomes that embed it, as an
/// untagged variant, so the embedding outcome's JSON reads `{"kind":"reset","bytes":3}` and
/// `{"kind":"timed-out","phase":"x224","bytes":0}`, exactly as before the variants were shared.
///
/// Its `Debug` text, and that of the outcomes embedding it, is the text the separate variants
/// had (`Reset { bytes: 3 }`, `Closed { phase: Challenge, bytes: 0 }`): probes keep such text in
/// saved reasons.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Transport<P, A = ()> {
    /// The connection was reset (RST) after `bytes` bytes of an incomplete answer.
    Reset {
        #[serde(flatten)]
        at: A,
        bytes: usize,
    },
    /// The server closed the connection (FIN) after `bytes` bytes of an incomplete answer.
    Closed {
        #[serde(flatten)]
        at: A,
        bytes: usize,
    },
    /// The deadline passed after `bytes` bytes of an incomplete answer.
    TimedOut { phase: P, bytes: usize },
}

/// The phase a reset or close hit, for exchanges with several phases.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InPhase<P> {
    pub phase: P,
}

impl<P, A> Transport<P, A> {
    /// The bytes of the incomplete answer that arrived before the connection broke.
    pub fn bytes(&self) -> usize {
        match self {
            Transport::Reset { bytes, .. }
            | Transport::Closed { bytes, .. }
            | Transport::TimedOut { bytes, .. } => *bytes,
        }
    }
}

impl<P: Copy> Transport<P, InPhase<P>> {
    /// A reset in `phase`.
    pub fn reset(phase: P, bytes: usize) -> Self {
        Transport::Reset {
            at: InPhase { phase },
            bytes,
        }
    }

    /// A close in `phase`.
    pub fn closed(phase: P, bytes: usize) -> Self {
        Transport::Closed {
            at: InPhase { phase },
            bytes,
        }
    }

    /// The phase the connection broke in.
    pub fn phase(&self) -> P {
        match self {
            Transport::Reset { at, .. } | Transport::Closed { at, .. } => at.phase,
            Transport::TimedOut { phase, .. } => *phase,
        }
    }
}

impl<P: fmt::Debug> fmt::Debug for Transport<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transport::Reset { bytes, .. } => {
                f.debug_struct("Reset").field("bytes", bytes).finish()
            }
            Transport::Closed { bytes, .. } => {
                f.debug_struct("Closed").field("bytes", bytes).finish()
            }
            Transport::TimedOut { phase, bytes } => f
                .debug_struct("TimedOut")
                .field("phase", phase)
                .field("bytes", bytes)
                .finish(),
        }
    }
}

impl<P: fmt::Debug + Copy> fmt::Debug for Transport<P, InPhase<P>> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Transport::Reset { .. } => "Reset",
            Transport::Closed { .. } => "Closed",
            Transport::TimedOut { .. } => "TimedOut",
        };
        f.debug_struct(name)
            .field("phase", &self.phase())
            .field("bytes", &self.bytes())
            .finish()
    }
}

/// `Debug` for an outcome with a `Transport` variant: the other variants as `derive(Debug)`
/// writes them, the transport variant as its inner value (the text the separate variants had),
/// and a shared route or open failure as the variants it replaced (`ConnectFailed { .. }`,
/// the outcome's own name for the X.224 step, `TlsFailed { .. }`).
macro_rules! debug_transparent_transport {
    ($ty:ident { $($var:ident { $($field:ident),* }),* $(,)? }
        $(tuple $tuple:ident)? $(route $route:ident)? $(open $open:ident as $name:literal)?) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self {
                    $ty::Transport(t) => std::fmt::Debug::fmt(t, f),
                    $($ty::$route(r) => std::fmt::Debug::fmt(r, f),)?
                    $($ty::$open(o) => std::fmt::Debug::fmt(&crate::open::Named(o, $name), f),)?
                    $($ty::$var { $($field),* } => f
                        .debug_struct(stringify!($var))
                        $(.field(stringify!($field), $field))*
                        .finish(),)*
                    $($ty::$tuple(x) => f.debug_tuple(stringify!($tuple)).field(x).finish(),)?
                }
            }
        }
    };
}
pub(crate) use debug_transparent_transport;
