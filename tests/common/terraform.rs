//! Terraform discovery: the CLIs under `.tools/bin`, which of them a suite runs on (oldest and
//! newest by default), and the messages old Terraforms answer with.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;

use super::process::{clean_command, repo_root};

/// One Terraform CLI the suite runs against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Terraform {
    pub path: PathBuf,
    pub version: (u32, u32, u32),
}

impl Terraform {
    /// True if this Terraform is `major.minor` or newer.
    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        (self.version.0, self.version.1) >= (major, minor)
    }

    /// `terraform 1.15.5`, for messages.
    pub fn label(&self) -> String {
        let (a, b, c) = self.version;
        format!("terraform {a}.{b}.{c}")
    }

    /// Ask the binary itself (`terraform version -json`).
    pub fn probe(path: &Path) -> Terraform {
        let mut cmd = clean_command(path);
        let out = cmd
            .args(["version", "-json"])
            .env("CHECKPOINT_DISABLE", "1")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {} version: {e}", path.display()));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{} version -json failed ({}):\n{stdout}\n{}",
            path.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{} version -json: {e}:\n{stdout}", path.display()));
        let ver = v["terraform_version"]
            .as_str()
            .unwrap_or_else(|| panic!("no terraform_version in {stdout}"));
        Terraform {
            path: path.to_path_buf(),
            version: parse_version(ver)
                .unwrap_or_else(|| panic!("{}: bad version {ver:?}", path.display())),
        }
    }
}

impl fmt::Display for Terraform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

pub fn parse_version(s: &str) -> Option<(u32, u32, u32)> {
    let core = s.trim_start_matches('v').split(['-', '+']).next()?;
    let mut it = core.split('.').map(|p| p.parse::<u32>().ok());
    let v = (it.next()??, it.next()??, it.next()??);
    it.next().is_none().then_some(v)
}

/// Terraform before 1.10 on an `ephemeral` block (its own refusal).
pub const NO_EPHEMERAL_BLOCKS: &str = r#"Blocks of type "ephemeral" are not expected here."#;
/// Terraform before 1.10 on `ephemeral = true` in a variable (its own refusal).
pub const NO_EPHEMERAL_VARIABLES: &str = r#"An argument named "ephemeral" is not expected here."#;
/// The provider's refusal of a write-only argument from a Terraform before 1.11, which would
/// store the value in state.
pub const WRITE_ONLY_NOT_ALLOWED: &str = "Write-only attribute not allowed";

/// What a Terraform before 1.11 answers to a configuration with both `ephemeral` blocks and
/// write-only arguments: 1.10 knows ephemeral blocks, so the provider refuses the write-only
/// argument; older ones already refuse the block.
pub fn too_old_for_write_only(tf: &Terraform) -> &'static str {
    if tf.at_least(1, 10) {
        WRITE_ONLY_NOT_ALLOWED
    } else {
        NO_EPHEMERAL_BLOCKS
    }
}

/// Environment variable choosing the Terraforms of the e2e suites: `all`, or a comma-separated
/// list of versions from `.tools/bin` (`1.6.6,1.15.5`). Unset: see `terraforms()`.
pub const TF_VERSIONS_ENV: &str = "DEFENTRY_TF_VERSIONS";

/// The Terraforms the full e2e suites run on, oldest first: the oldest and the newest of
/// `.tools/bin` (the features in between are covered by `all_terraforms()` smoke tests).
/// `$TERRAFORM` (one binary) or `$DEFENTRY_TF_VERSIONS` override it. Panics if there is none.
pub fn terraforms() -> Vec<Terraform> {
    if let Some(chosen) = chosen_terraforms() {
        return chosen;
    }
    let mut all = installed_terraforms();
    if all.len() > 2 {
        all.drain(1..all.len() - 1);
    }
    all
}

/// Every Terraform in `.tools/bin`, oldest first, for the per-version smoke; the same
/// overrides as `terraforms()` apply.
pub fn all_terraforms() -> Vec<Terraform> {
    chosen_terraforms().unwrap_or_else(installed_terraforms)
}

/// What `$TERRAFORM` or `$DEFENTRY_TF_VERSIONS` select, if either is set.
fn chosen_terraforms() -> Option<Vec<Terraform>> {
    if let Some(p) = std::env::var_os("TERRAFORM").filter(|p| !p.is_empty()) {
        return Some(vec![Terraform::probe(Path::new(&p))]);
    }
    let spec = std::env::var(TF_VERSIONS_ENV)
        .ok()
        .filter(|s| !s.trim().is_empty())?;
    let all = installed_terraforms();
    if spec.trim() == "all" {
        return Some(all);
    }
    let chosen = select_versions(&all, &spec).unwrap_or_else(|e| panic!("{TF_VERSIONS_ENV}: {e}"));
    Some(chosen)
}

/// The entries of `all` named by a `1.6.6,1.15.5`-style list, oldest first.
pub fn select_versions(all: &[Terraform], spec: &str) -> Result<Vec<Terraform>, String> {
    let mut chosen = Vec::new();
    for want in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let v = parse_version(want).ok_or_else(|| format!("{want:?} is not X.Y.Z or `all`"))?;
        let tf = all.iter().find(|t| t.version == v).ok_or_else(|| {
            let have: Vec<String> = all.iter().map(|t| t.label()).collect();
            format!(
                "Terraform {want} is not installed (have: {})",
                have.join(", ")
            )
        })?;
        if !chosen.contains(tf) {
            chosen.push(tf.clone());
        }
    }
    chosen.sort_by_key(|t| t.version);
    Ok(chosen)
}

/// Every `.tools/bin/terraform-X.Y.Z`, oldest first. Panics if there is none.
fn installed_terraforms() -> Vec<Terraform> {
    let bin = repo_root().join(".tools/bin");
    let mut found: Vec<Terraform> = fs::read_dir(&bin)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let version = parse_version(name.strip_prefix("terraform-")?)?;
                    let path = e.path();
                    path.exists().then_some(Terraform { path, version })
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort_by_key(|t| t.version);
    assert!(
        !found.is_empty(),
        "no Terraform found in {}: run `make setup` / tools/ensure_terraform.py (or set TERRAFORM)",
        bin.display()
    );
    found
}

/// The newest available Terraform.
pub fn newest_terraform() -> Terraform {
    terraforms().pop().expect("terraforms() is never empty")
}
