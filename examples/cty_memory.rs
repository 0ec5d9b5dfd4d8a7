//! Peak memory of decoding msgpack values, per input byte (Linux only: it reads VmHWM).
//!
//! `cargo run --example cty_memory [MiB]` decodes about that many MiB (default 4) of each
//! shape, each in a fresh process of its own (so memory freed by one case cannot hide the
//! next one's), and prints the peak resident memory the decode added (VmHWM after minus
//! resident memory before), divided by the input size.

use tfsdk::cty::{from_msgpack, Type};

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

fn cases(size: usize) -> Vec<(&'static str, Type, Vec<u8>)> {
    let object = Type::object([("a", Type::String), ("b", Type::Number)]);
    // {"a": "x", "b": 1}: 8 bytes.
    let object_bytes = [0x82, 0xa1, b'a', 0xa1, b'x', 0xa1, b'b', 0x01];
    // Ten levels of single-attribute objects around a null: 31 bytes.
    let mut nested_ty = Type::String;
    let mut nested = vec![];
    for _ in 0..10 {
        nested_ty = Type::object([("n", nested_ty)]);
        nested.extend([0x81, 0xa1, b'n']);
    }
    nested.push(0xc0);
    vec![
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
            Type::list(object),
            array_of(&object_bytes, size / 8),
        ),
        (
            "objects nested 10 deep",
            Type::list(nested_ty),
            array_of(&nested, size / nested.len()),
        ),
    ]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mib: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(4);
    let size = mib << 20;
    if let Some(case) = args.get(2).and_then(|a| a.parse::<usize>().ok()) {
        let Some((name, ty, input)) = cases(size).into_iter().nth(case) else {
            return;
        };
        let before = status_kib("VmRSS:").unwrap_or(0);
        let value = from_msgpack(&input, &ty);
        let after = status_kib("VmHWM:").unwrap_or(0);
        assert!(value.is_ok(), "{name}: {value:?}");
        let added = after.saturating_sub(before) * 1024;
        println!(
            "| {name} | {} | {} | {:.1} |",
            input.len(),
            added,
            added as f64 / input.len() as f64
        );
        return;
    }
    println!("| input | bytes in | peak added | per input byte |");
    println!("|---|---|---|---|");
    let exe = std::env::current_exe().expect("own path");
    for case in 0..cases(0).len() {
        let out = std::process::Command::new(&exe)
            .args([mib.to_string(), case.to_string()])
            .output()
            .expect("run a case");
        print!("{}", String::from_utf8_lossy(&out.stdout));
    }
}
