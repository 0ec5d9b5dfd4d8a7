//! The layering rules of the workspace's crates under `src/`, checked on the source itself so
//! they cannot erode: in no crate does a file import a file that, directly or through others,
//! imports it back. The walls between crates are the compiler's (the SDK in `src/sdk` cannot
//! name the provider that depends on it); what is checked here is what it cannot see: the SDK
//! depends on no other member and does not even name Defentry.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// Every library `.rs` file under `dir`, with the module path it defines
/// (`src/sdk/server/mod.rs` -> `["sdk", "server"]`). Binaries (`main.rs`, `src/bin`) and
/// folders with a `Cargo.toml` (workspace members such as `src/mock`) are crates of their own,
/// whose walls the compiler keeps, and are left out.
fn modules(root: &Path, dir: &Path, out: &mut BTreeMap<Vec<String>, PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.file_name().is_some_and(|n| n == "main.rs" || n == "bin") {
            continue;
        }
        // A folder with its own manifest is another crate of the workspace.
        if p.is_dir() && p.join("Cargo.toml").is_file() {
            continue;
        }
        if p.is_dir() {
            if p.join("Cargo.toml").is_file() {
                continue;
            }
            modules(root, &p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            let rel = p.strip_prefix(root).expect("under src");
            let mut segs: Vec<String> = rel
                .with_extension("")
                .iter()
                .map(|s| s.to_string_lossy().into_owned())
                .collect();
            if matches!(
                segs.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                segs.pop();
            }
            out.insert(segs, p);
        }
    }
}

/// Collects the crate-relative paths a file refers to (`use` trees and paths in code), with
/// `self`/`super` resolved. Test modules are skipped: they may import what they test.
struct Refs<'a> {
    module: Vec<String>,
    /// Every module of the crate, to tell `child::x` (a relative path) from `serde::x`.
    modules: &'a BTreeMap<Vec<String>, PathBuf>,
    found: &'a mut BTreeSet<Vec<String>>,
}

impl Refs<'_> {
    fn resolve(&self, segs: &[String]) -> Option<Vec<String>> {
        let (first, rest) = segs.split_first()?;
        let mut base = match first.as_str() {
            "crate" => Vec::new(),
            "self" => self.module.clone(),
            "super" => {
                let mut m = self.module.clone();
                m.pop();
                m
            }
            child => {
                let mut m = self.module.clone();
                m.push(child.to_string());
                if !self.modules.contains_key(&m) {
                    return None;
                }
                m.pop();
                m
            }
        };
        let rest = if matches!(first.as_str(), "crate" | "self" | "super") {
            rest
        } else {
            segs
        };
        let mut rest = rest;
        while let Some((s, r)) = rest.split_first() {
            if s != "super" {
                break;
            }
            base.pop();
            rest = r;
        }
        base.extend(rest.iter().cloned());
        Some(base)
    }

    fn tree(&mut self, prefix: &mut Vec<String>, t: &syn::UseTree) {
        match t {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => self.add(prefix, Some(n.ident.to_string())),
            syn::UseTree::Rename(r) => self.add(prefix, Some(r.ident.to_string())),
            syn::UseTree::Glob(_) => self.add(prefix, None),
            syn::UseTree::Group(g) => g.items.iter().for_each(|i| self.tree(prefix, i)),
        }
    }

    fn add(&mut self, prefix: &[String], last: Option<String>) {
        let mut segs = prefix.to_vec();
        segs.extend(last.filter(|l| l != "self"));
        if let Some(p) = self.resolve(&segs) {
            self.found.insert(p);
        }
    }
}

impl<'ast> Visit<'ast> for Refs<'_> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        let is_test = m.attrs.iter().any(|a| {
            a.path().is_ident("cfg") && a.parse_args::<syn::Ident>().is_ok_and(|i| i == "test")
        });
        if is_test || m.content.is_none() {
            return;
        }
        self.module.push(m.ident.to_string());
        syn::visit::visit_item_mod(self, m);
        self.module.pop();
    }
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.tree(&mut Vec::new(), &u.tree);
    }
    // `pub(crate)` and `pub(super)` name a module without depending on it.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}
    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segs: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        // A one-segment path is a local name (a variable may be called like a module).
        if segs.len() > 1 {
            self.add(&segs, None);
        }
        syn::visit::visit_path(self, p);
    }
}

/// The source folders of the workspace's crates: `src/` itself and every `src/*/` with a manifest.
fn crate_dirs() -> Vec<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut dirs: Vec<PathBuf> = fs::read_dir(&src)
        .expect("read src")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    dirs.sort();
    dirs.insert(0, src);
    dirs
}

/// File-level import graph of the crate whose sources are in `root` (edges between distinct
/// files, paths relative to `root`).
fn graph(root: &Path) -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let root = root.to_path_buf();
    let mut mods = BTreeMap::new();
    modules(&root, &root, &mut mods);
    let mut g = BTreeMap::new();
    for (module, file) in &mods {
        let text = fs::read_to_string(file).expect("read source");
        let ast = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let mut found = BTreeSet::new();
        Refs {
            module: module.clone(),
            modules: &mods,
            found: &mut found,
        }
        .visit_file(&ast);
        let targets = found
            .into_iter()
            .filter_map(|p| {
                // The longest prefix that is a file's module.
                (0..=p.len()).rev().find_map(|n| mods.get(&p[..n]))
            })
            .filter(|t| *t != file)
            .map(|t| t.strip_prefix(&root).expect("under src").to_path_buf())
            .collect();
        g.insert(
            file.strip_prefix(&root).expect("under src").to_path_buf(),
            targets,
        );
    }
    g
}

/// One cycle through `start`, if any (a path of files that leads back to it).
fn cycle_through(
    g: &BTreeMap<PathBuf, BTreeSet<PathBuf>>,
    start: &PathBuf,
) -> Option<Vec<PathBuf>> {
    let mut stack = vec![(start.clone(), vec![start.clone()])];
    let mut seen = BTreeSet::new();
    while let Some((at, path)) = stack.pop() {
        for next in g.get(&at).into_iter().flatten() {
            if next == start {
                let mut cycle = path.clone();
                cycle.push(start.clone());
                return Some(cycle);
            }
            if seen.insert(next.clone()) {
                let mut p = path.clone();
                p.push(next.clone());
                stack.push((next.clone(), p));
            }
        }
    }
    None
}

#[test]
fn no_file_imports_a_file_that_imports_it_back() {
    let dirs = crate_dirs();
    assert!(
        dirs.iter().any(|d| d.ends_with("src/sdk")),
        "the SDK crate was not found: {dirs:?}"
    );
    for dir in dirs {
        let g = graph(&dir);
        assert!(
            g.len() > 10,
            "{}: the source tree was not found: {g:?}",
            dir.display()
        );
        let cycles: Vec<String> = g
            .keys()
            .filter_map(|f| cycle_through(&g, f))
            .map(|c| {
                c.iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" -> ")
            })
            .collect();
        assert!(
            cycles.is_empty(),
            "{}: import cycles:\n{}",
            dir.display(),
            cycles.join("\n")
        );
    }
}

#[test]
fn the_sdk_depends_on_no_other_member_and_never_names_the_vendor() {
    let manifest =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sdk/Cargo.toml"))
            .expect("read src/sdk/Cargo.toml");
    // Only workspace dependencies (crates.io, versions kept in the root manifest): a `path`
    // dependency would be another member of this workspace.
    let mut section = "";
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
        } else if section.ends_with("dependencies]") {
            assert!(
                !line.contains("path"),
                "src/sdk/Cargo.toml {section} names another crate by path: {line}"
            );
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sdk");
    let mut mods = BTreeMap::new();
    modules(&root, &root, &mut mods);
    for file in mods.values() {
        let text = fs::read_to_string(file).expect("read source");
        let code = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            !code.to_lowercase().contains("defentry"),
            "{} names Defentry",
            file.display()
        );
    }
}

/// The checker itself: a cycle planted in a tiny graph is found, a chain is not.
#[test]
fn the_cycle_check_finds_a_planted_cycle() {
    let p = |s: &str| PathBuf::from(s);
    let mut g = BTreeMap::new();
    g.insert(p("a.rs"), BTreeSet::from([p("b.rs")]));
    g.insert(p("b.rs"), BTreeSet::from([p("c.rs")]));
    g.insert(p("c.rs"), BTreeSet::new());
    assert_eq!(cycle_through(&g, &p("a.rs")), None);
    g.insert(p("c.rs"), BTreeSet::from([p("a.rs")]));
    assert_eq!(
        cycle_through(&g, &p("a.rs")),
        Some(vec![p("a.rs"), p("b.rs"), p("c.rs"), p("a.rs")])
    );
}

/// Every dependency the root crate declares is named in its own sources. cargo-machete (`make
/// lint`) checks each crate, but it reads a package's whole folder, and the root's `src/` holds
/// the other members' folders too, so their uses would hide an unused dependency of the root.
#[test]
fn the_root_crate_uses_every_dependency_it_declares() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = fs::read_to_string(dir.join("Cargo.toml")).expect("read Cargo.toml");
    let mut section = "";
    let mut declared = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
        } else if section == "[dependencies]" && !line.is_empty() && !line.starts_with('#') {
            let name = line.split(['=', '.']).next().unwrap_or("").trim();
            declared.push(name.replace('-', "_"));
        }
    }
    assert!(declared.len() > 5, "no dependencies found in Cargo.toml");
    let mut mods = BTreeMap::new();
    let src = dir.join("src");
    modules(&src, &src, &mut mods);
    let mut sources: String = mods
        .values()
        .map(|f| fs::read_to_string(f).expect("read source"))
        .collect();
    // Binaries are crates of their own that `modules` leaves out, but use the same manifest.
    let bins = fs::read_dir(src.join("bin"))
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_else(|_| Vec::new());
    for bin in bins.into_iter().chain([src.join("main.rs")]) {
        sources.push_str(&fs::read_to_string(&bin).expect("read a binary's source"));
    }
    let unused: Vec<&String> = declared
        .iter()
        .filter(|d| !sources.contains(&format!("{d}::")) && !sources.contains(&format!("use {d}")))
        .collect();
    assert!(
        unused.is_empty(),
        "Cargo.toml [dependencies] the root crate never names (move them to the member that \
         uses them, to [dev-dependencies], or drop them): {unused:?}"
    );
}
