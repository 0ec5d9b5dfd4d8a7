//! Peak memory of decoding msgpack values, per input byte (Linux only: it reads VmHWM).
//!
//! `cargo run --example cty_memory [MiB]` decodes about that many MiB (default 4) of each
//! shape and prints the peak resident memory the decode added, divided by the input size.
//! The peak is reset before each case through `/proc/self/clear_refs`.

use terraform_provider_defentry::sdk::cty::{from_msgpack, Type};

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn array_header(n: usize) -> Vec<u8> {
    let mut v = vec![0xdd];
    v.extend(u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes());
    v
}

/// `n` copies of `item` in one msgpack array.
fn array_of(item: &[u8], n: usize) -> Vec<u8> {
    let mut v = array_header(n);
    for _ in 0..n {
        v.extend_from_slice(item);
    }
    v
}

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(4);
    let size = mib << 20;
    let object = Type::object([("a", Type::String), ("b", Type::Number)]);
    // {"a": "x", "b": 1}: 8 bytes.
    let object_bytes = [0x82, 0xa1, b'a', 0xa1, b'x', 0xa1, b'b', 0x01];
    let cases: Vec<(&str, Type, Vec<u8>)> = vec![
        ("nulls", Type::list(Type::String), array_of(&[0xc0], size)),
        (
            "short strings (\"abc\")",
            Type::list(Type::String),
            array_of(&[0xa3, b'a', b'b', b'c'], size / 4),
        ),
        (
            "small integers",
            Type::list(Type::Number),
            array_of(&[0x07], size),
        ),
        (
            "decimals (\"0.1\")",
            Type::list(Type::Number),
            array_of(&[0xa3, b'0', b'.', b'1'], size / 4),
        ),
        (
            "objects {a = \"x\", b = 1}",
            Type::list(object.clone()),
            array_of(&object_bytes, size / 8),
        ),
        (
            "one long string",
            Type::String,
            [&[0xdb][..], &(size as u32).to_be_bytes(), &vec![b'x'; size]].concat(),
        ),
    ];
    println!("| input | bytes in | peak added | per input byte |");
    println!("|---|---|---|---|");
    for (name, ty, input) in cases {
        // "5" resets the peak (VmHWM) to the current resident size.
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let before = status_kib("VmHWM:").unwrap_or(0);
        let value = from_msgpack(&input, &ty);
        let after = status_kib("VmHWM:").unwrap_or(0);
        assert!(value.is_ok(), "{name}: {value:?}");
        drop(value);
        let added = after.saturating_sub(before) * 1024;
        println!(
            "| {name} | {} | {} | {:.1} |",
            input.len(),
            added,
            added as f64 / input.len() as f64
        );
    }
}
