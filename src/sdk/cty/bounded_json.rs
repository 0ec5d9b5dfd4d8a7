//! JSON text to `serde_json::Value`, nested no deeper than [`MAX_DEPTH`]: the parse
//! behind both the JSON codec and JSON type constraints.

use serde::Deserialize as _;
use serde_json::Value as J;

use super::limits::MAX_DEPTH;

/// Parses JSON text nested no deeper than the codecs' limit. serde_json's own guard
/// stops at 128 levels, below what msgpack carries, so it is turned off and replaced by
/// an iterative scan; serde_json's recursion is then bounded by the scan.
pub(super) fn parse_bounded(bytes: &[u8]) -> Result<J, String> {
    // A value at depth MAX_DEPTH may itself be an (empty) container.
    if container_depth_exceeds(bytes, MAX_DEPTH + 1) {
        return Err(format!(
            "nested more than {MAX_DEPTH} levels deep (recursion limit exceeded)"
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    de.disable_recursion_limit();
    let j = J::deserialize(&mut de).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(j)
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
