//! A dependency that panics on hostile input, contained at its boundary: [`call`] runs one call
//! into it and turns a panic into an error value, so a server's bytes can never end the process
//! with exit 101 and no output.
//!
//! Why this exists: `sspi` 0.23.0 panics in `CredSspClient::process` when the server's pubKeyAuth
//! is shorter than an NTLM signature (16 bytes): `CredSspContext::decrypt_message`
//! (src/credssp/mod.rs:1390) calls `split_at_mut(16)` on it ("mid > len"). The probes validate
//! what they hand to `sspi` first (credssp.rs), and contain whatever else may hide in it, and in
//! the other parsers of server bytes they do not own, with this.
//!
//! While a contained call runs, the process-wide panic hook stays quiet for this thread and keeps
//! the message and place for the error value instead of printing them to stderr; every other
//! panic reaches the previous hook unchanged. The workspace builds with `panic = "unwind"` (the
//! default), which `catch_unwind` needs.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// Whether this thread is inside [`call`] (nested calls keep it set).
    static CONTAINED: Cell<bool> = const { Cell::new(false) };
    /// What the last contained panic said, and where.
    static LAST: RefCell<Option<(String, Option<String>)>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// A panic inside a dependency, caught at the boundary.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{call} panicked: {message}{}", place.as_deref().map(|p| format!(" (at {p})")).unwrap_or_default())]
pub struct Panicked {
    /// The call that panicked, e.g. `sspi CredSspClient::process`.
    pub call: &'static str,
    /// The panic message.
    pub message: String,
    /// `crate-version/src/file.rs:line:column`, when the panic said where.
    pub place: Option<String>,
}

/// Runs `f`, a call into a dependency on untrusted input. A panic inside it is returned as
/// [`Panicked`]; the state `f` touched must not be used again after that (the caller drops it).
pub fn call<T>(name: &'static str, f: impl FnOnce() -> T) -> Result<T, Panicked> {
    install_hook();
    let outer = CONTAINED.with(|c| c.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    CONTAINED.with(|c| c.set(outer));
    result.map_err(|payload| {
        let (message, place) = LAST
            .with(|l| l.borrow_mut().take())
            .unwrap_or_else(|| (message_of(payload.as_ref()), None));
        Panicked {
            call: name,
            message,
            place,
        }
    })
}

fn install_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !CONTAINED.with(Cell::get) {
                previous(info);
                return;
            }
            let message = message_of(info.payload());
            let place = info
                .location()
                .map(|l| format!("{}:{}:{}", short_path(l.file()), l.line(), l.column()));
            LAST.with(|l| *l.borrow_mut() = Some((message, place)));
        }));
    });
}

/// The text of a panic payload (`panic!` with a literal or a formatted message).
fn message_of(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

/// `sspi-0.23.0/src/credssp/mod.rs` out of a path into Cargo's registry (the rest names the
/// machine that built the binary, not the code).
fn short_path(file: &str) -> &str {
    match file.find("/registry/src/") {
        Some(at) => {
            let rest = file.get(at + "/registry/src/".len()..).unwrap_or(file);
            rest.split_once('/')
                .map_or(rest, |(_, crate_path)| crate_path)
        }
        None => file,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_with_its_message() {
        let r: Result<u8, _> = call("test slice", || {
            let v = [1u8, 2, 3];
            let cut = v.len() + usize::from(v.first().copied().unwrap_or(0));
            v.split_at(cut).0.len() as u8
        });
        let e = r.expect_err("the split panics");
        assert_eq!(e.call, "test slice");
        assert!(e.message.contains("mid > len"), "{e}");
        assert!(
            e.place
                .as_deref()
                .is_some_and(|p| p.contains("contain.rs") || p.contains("slice")),
            "{e:?}"
        );
        assert!(e.to_string().starts_with("test slice panicked: "), "{e}");
        // No panic: the value, and the hook leaves the thread as it was.
        assert_eq!(call("fine", || 7), Ok(7));
        assert!(!CONTAINED.with(Cell::get));
    }

    #[test]
    fn nested_calls_stay_contained() {
        let r = call("outer", || call("inner", || panic!("deep")).map(|_| 1));
        let inner = r.expect("the outer call did not panic").expect_err("inner");
        assert_eq!(inner.call, "inner");
        assert_eq!(inner.message, "deep");
    }

    #[test]
    fn registry_paths_are_shortened() {
        assert_eq!(
            short_path("/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/sspi-0.23.0/src/credssp/mod.rs"),
            "sspi-0.23.0/src/credssp/mod.rs"
        );
        assert_eq!(
            short_path("crates/wire/src/contain.rs"),
            "crates/wire/src/contain.rs"
        );
    }
}
