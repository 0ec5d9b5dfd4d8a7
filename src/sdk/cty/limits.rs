//! Limits shared by both codecs, in a file of its own so every codec file can name them.

/// Deepest nesting of collections and dynamic wrappers accepted, the same in both
/// codecs (a value that plans must also survive a JSON state upgrade), so that hostile
/// input cannot overflow the stack. Terraform itself has no such limit (HCL has none; its
/// JSON state reader stops at 10,000 levels); 256 is far beyond any schema, and every
/// codec walk at this depth fits a tokio worker's 2 MiB stack even in a debug build
/// (`tests/cty_conformance.rs`).
pub const MAX_DEPTH: usize = 256;
