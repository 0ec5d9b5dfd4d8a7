//! JSON text to `serde_json::Value`, nested no deeper than [`MAX_DEPTH`]: the parse
//! behind both the JSON codec and JSON type constraints.

use serde_json::Value as J;

use super::limits::MAX_DEPTH;

/// A parsed JSON document that is dropped without recursion: serde_json's own drop
/// recurses once per level, too deep for a small stack at [`MAX_DEPTH`].
#[derive(Debug)]
pub(super) struct Parsed(pub(super) J);

impl Drop for Parsed {
    fn drop(&mut self) {
        let mut pending = vec![std::mem::take(&mut self.0)];
        while let Some(j) = pending.pop() {
            match j {
                J::Array(items) => pending.extend(items),
                J::Object(entries) => pending.extend(entries.into_iter().map(|(_, v)| v)),
                _ => {}
            }
        }
    }
}

/// Parses JSON text nested no deeper than the codecs' limit. serde_json's own guard
/// stops at 128 levels, far below the limit, so it is turned off and replaced by an
/// iterative scan; serde_json's recursion, bounded by the scan, runs under
/// `serde_stacker`, which grows the stack as it goes.
pub(super) fn parse_bounded(bytes: &[u8]) -> Result<Parsed, String> {
    // A value at depth MAX_DEPTH may itself be an (empty) container.
    if container_depth_exceeds(bytes, MAX_DEPTH + 1) {
        return Err(format!(
            "nested more than {MAX_DEPTH} levels deep (recursion limit exceeded)"
        ));
    }
    // Checked first without building anything: serde_json drops what it built of a
    // malformed document recursively, which a deep part of it would overflow.
    parse_as::<serde::de::IgnoredAny>(bytes)?;
    parse_as::<J>(bytes).map(Parsed)
}

fn parse_as<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    de.disable_recursion_limit();
    let t = T::deserialize(serde_stacker::Deserializer::new(&mut de)).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(t)
}

/// Whether arrays and objects in `bytes` nest more than `limit` deep (strings skipped).
fn container_depth_exceeds(bytes: &[u8], limit: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in bytes {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_nests_as_deep_as_msgpack() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(parse_bounded(ok.as_bytes()).is_ok());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 2), "]".repeat(MAX_DEPTH + 2));
        assert!(parse_bounded(deep.as_bytes())
            .unwrap_err()
            .contains("nested"));
        // Brackets inside strings, escaped quotes included, do not count.
        let text = format!("[\"\\\"{}\"]", "[".repeat(1000));
        assert!(parse_bounded(text.as_bytes()).is_ok());
        assert!(parse_bounded(b"[1] x").is_err());
    }
}
