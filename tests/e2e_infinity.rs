//! End to end: HCL's `1/0` is +Infinity, which Terraform sends as a msgpack float64. The
//! provider must decode it like go-cty does and answer with the attribute's own error,
//! not "a bug in the provider" (issue 19).

pub mod common;

use common::*;

#[test]
fn an_infinite_max_retries_is_refused_at_validate_with_the_attribute() {
    for tf in terraforms() {
        let ws = Workspace::bare(&tf);
        for expr in ["1/0", "-1/0"] {
            ws.write(
                "main.tf",
                &config(&format!(
                    "provider \"defentry\" {{\n  max_retries = {expr}\n}}\nresource \"defentry_token\" \"t\" {{}}"
                )),
            );
            let text = ws.fails(&["validate"]);
            // The attribute's own error, with its source range.
            for needle in ["Invalid max_retries", "whole number", "main.tf line"] {
                assert!(text.contains(needle), "{tf}: {expr}: no {needle:?}\n{text}");
            }
            assert!(
                !text.contains("bug in the provider"),
                "{tf}: {expr}\n{text}"
            );
        }
    }
}
