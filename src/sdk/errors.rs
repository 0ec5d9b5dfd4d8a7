//! Walking the cause chain of a `std::error::Error`: one walker for logs and for messages.

use std::error::Error;

/// `e` and then each of its causes. `io::Error::source()` skips the error it wraps (it returns
/// the wrapped error's own source), so the walk descends into the wrapped error explicitly:
/// that is where, for example, a TLS library's error sits inside a connection error.
pub fn causes<'a>(e: &'a (dyn Error + 'static)) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(Some(e), |&err| next_in_chain(err))
}

fn next_in_chain<'a>(e: &'a (dyn Error + 'static)) -> Option<&'a (dyn Error + 'static)> {
    if let Some(inner) = e
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
    {
        let inner: &(dyn Error + 'static) = inner;
        return Some(inner);
    }
    e.source()
}

/// `a: b: c` for the whole chain, leaving out a cause whose text an outer message already
/// includes (as thiserror's `{0}` messages and `io::Error`'s Display do).
pub fn chain_text(e: &(dyn Error + 'static)) -> String {
    let mut text = String::new();
    for cause in causes(e) {
        let msg = cause.to_string();
        if text.is_empty() {
            text = msg;
        } else if !text.contains(&msg) {
            text.push_str(": ");
            text.push_str(&msg);
        }
    }
    text
}

/// The innermost cause's message.
pub fn root_cause(e: &(dyn Error + 'static)) -> String {
    causes(e).last().unwrap_or(e).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("request failed")]
    struct Opaque(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("handshake: bad certificate")]
    struct Tls;

    #[test]
    fn walks_into_wrapped_io_errors_and_skips_repeats() {
        let e = Opaque(std::io::Error::other(Tls));
        let e: &(dyn Error + 'static) = &e;
        assert_eq!(causes(e).count(), 3);
        assert!(causes(e).any(|c| c.downcast_ref::<Tls>().is_some()));
        assert_eq!(chain_text(e), "request failed: handshake: bad certificate");
        assert_eq!(root_cause(e), "handshake: bad certificate");
    }
}
