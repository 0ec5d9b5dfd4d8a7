//! The committed documentation matches what the provider's schemas and templates render, and
//! the hand-maintained files around it agree with Cargo.toml.
//!
//! `UPDATE_DOCS=1 cargo test --test docs` (or `make docs`) rewrites the pages instead.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use terraform_provider_defentry::defentry::docs;

/// Pages under docs/ that are written by hand, not rendered.
const HAND_WRITTEN: &[&str] = &["docs/guides/defentry-mock.md"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn docs_are_up_to_date() {
    let root = root();
    if std::env::var_os("UPDATE_DOCS").is_some_and(|v| v == "1") {
        docs::write_all(&root).expect("write docs");
    }
    let pages = docs::try_render_all().unwrap_or_else(|e| panic!("{e}"));
    let mut problems = Vec::new();
    for (rel, want) in &pages {
        match fs::read_to_string(root.join(rel)) {
            Err(_) => problems.push(format!("{} is missing", rel.display())),
            Ok(have) if have != *want => {
                let line = have
                    .lines()
                    .zip(want.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or(have.lines().count().min(want.lines().count()));
                problems.push(format!(
                    "{} differs from the schema and templates (first at line {})",
                    rel.display(),
                    line + 1
                ));
            }
            Ok(_) => {}
        }
    }
    let rendered: BTreeSet<PathBuf> = pages.iter().map(|(p, _)| p.clone()).collect();
    let mut on_disk = Vec::new();
    files_under(&root.join("docs"), &mut on_disk);
    for p in on_disk {
        let rel = p.strip_prefix(&root).unwrap_or(&p).to_path_buf();
        let hand_written = HAND_WRITTEN.iter().any(|h| Path::new(h) == rel);
        if !rendered.contains(&rel) && !hand_written {
            problems.push(format!(
                "{} is not generated: add a template under templates/ or delete it",
                rel.display()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "the committed docs are stale; run `make docs` (or UPDATE_DOCS=1 cargo test --test docs) \
         and commit the result:\n  {}",
        problems.join("\n  ")
    );
    assert!(docs::stale(&root).expect("compare docs").is_empty());
}

#[test]
fn changelog_and_docs_name_the_cargo_version() {
    let version = env!("CARGO_PKG_VERSION");
    let changelog = fs::read_to_string(root().join("CHANGELOG.md")).expect("CHANGELOG.md");
    let first = changelog
        .lines()
        // Changes merged since the last release are collected under "## Unreleased" on top.
        .find(|l| l.starts_with("## ") && *l != "## Unreleased")
        .expect("a release heading in CHANGELOG.md");
    assert!(
        first.starts_with(&format!("## {version} ")) || first == format!("## {version}"),
        "the newest CHANGELOG.md entry ({first:?}) is not Cargo.toml's version {version}"
    );
    // The rendered page; docs_are_up_to_date ties it to the committed one.
    let index = docs::render_all()
        .into_iter()
        .find(|(p, _)| p == Path::new("docs/index.md"))
        .map(|(_, t)| t)
        .expect("docs/index.md is rendered");
    assert!(index.contains(&format!("provider version {version}.")));
}

#[test]
fn ci_samples_detect_a_due_rotation_and_apply_the_saved_plan() {
    for name in [".github-workflow.yml", ".gitlab-ci.yml"] {
        let p = root().join("examples/scheduled-rotation").join(name);
        let text = fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(
            text.contains("terraform plan -detailed-exitcode -out=tfplan"),
            "{name}"
        );
        assert!(text.contains("terraform apply tfplan"), "{name}");
        assert!(
            !text.contains("-refresh=false"),
            "{name} would skip rotation"
        );
        assert!(!text.contains('\t'), "{name}: YAML must not contain tabs");
    }
}

#[test]
fn every_example_folder_is_described() {
    let readme = fs::read_to_string(root().join("examples/README.md")).expect("examples/README.md");
    let rd = fs::read_dir(root().join("examples")).expect("examples/");
    for e in rd.flatten().filter(|e| e.path().is_dir()) {
        let name = e.file_name().to_string_lossy().into_owned();
        assert!(
            readme.contains(&format!("`{name}/`")),
            "examples/README.md does not describe {name}/"
        );
    }
}

#[test]
fn readme_opens_with_the_two_setup_commands() {
    let readme = fs::read_to_string(root().join("README.md")).expect("README.md");
    let mut lines = readme.lines().filter(|l| !l.trim().is_empty());
    assert!(
        lines.next().is_some_and(|l| l.starts_with("# ")),
        "title first"
    );
    assert_eq!(lines.next(), Some("```shell"));
    assert!(lines.next().is_some_and(|l| l.starts_with("make demo ")));
    assert!(lines.next().is_some_and(|l| l.starts_with("make test ")));
}
