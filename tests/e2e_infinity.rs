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
            let args = ["validate"];
            let out = ws.run(&args);
            assert_ne!(out.code, 0, "{tf}: {}", ws.failure(&args, &out));
            let text = out.combined();
            assert!(text.contains("Invalid max_retries"), "{tf}: {expr}\n{text}");
            assert!(text.contains("whole number"), "{tf}: {expr}\n{text}");
            assert!(
                text.contains("main.tf line"),
                "{tf}: no source range\n{text}"
            );
            assert!(
                !text.contains("bug in the provider"),
                "{tf}: {expr}\n{text}"
            );
        }
    }
}
