//! Defentry's Registry documentation: the templates under `templates/` and the files they
//! include, embedded at compile time and rendered with the SDK's renderer ([`crate::sdk::docs`])
//! over [`DefentryProvider`]'s schemas. `terraform-provider-defentry docs` writes the pages;
//! `tests/docs.rs` fails when the committed ones differ.

use std::path::{Path, PathBuf};

use crate::sdk::docs::{self as sdk_docs, DocsError, DocsSource};

use super::provider::{DefentryProvider, VERSION};

/// Embeds a repository file under its repository-relative path.
macro_rules! embed {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!("../../", $path)))),*]
    };
}

/// Files templates may include (examples, CI samples).
const FILES: &[(&str, &str)] = embed![
    "examples/provider/provider.tf",
    "examples/resources/defentry_token/resource.tf",
    "examples/resources/defentry_token/write-only-password.tf",
    "examples/resources/defentry_token/overlap.tf",
    "examples/data-sources/defentry_session/data-source.tf",
    "examples/ephemeral-resources/defentry_session/ephemeral-resource.tf",
    "examples/actions/defentry_logout/action.tf",
    "examples/actions/defentry_password_forgot/action.tf",
    "examples/actions/defentry_password_reset/action.tf",
    "examples/quickstart/main.tf",
    "examples/scheduled-rotation/main.tf",
    "examples/scheduled-rotation/.github-workflow.yml",
    "examples/scheduled-rotation/.gitlab-ci.yml",
    "examples/zero-downtime-rotation/main.tf",
    "examples/vault/main.tf",
    "examples/aws-secrets-manager/main.tf",
    "examples/kubernetes-secret/main.tf",
    "examples/local-exec/main.tf",
    "examples/interactive-login/main.tf",
    "tests/terraform/main.tf",
    "tests/terraform/defentry_token.tftest.hcl",
];

/// Page templates. Type pages are found by path; every `templates/guides/*.md.tmpl` becomes
/// `docs/guides/*.md`.
const TEMPLATES: &[(&str, &str)] = embed![
    "templates/index.md.tmpl",
    "templates/resources/token.md.tmpl",
    "templates/data-sources/session.md.tmpl",
    "templates/ephemeral-resources/session.md.tmpl",
    "templates/actions/logout.md.tmpl",
    "templates/actions/password_forgot.md.tmpl",
    "templates/actions/password_reset.md.tmpl",
    "templates/guides/scheduled-rotation.md.tmpl",
    "templates/guides/secret-stores.md.tmpl",
    "templates/guides/interactive-logins.md.tmpl",
    "templates/guides/testing.md.tmpl",
];

const SOURCE: DocsSource<'static> = DocsSource {
    version: VERSION,
    templates: TEMPLATES,
    files: FILES,
};

/// Every page, as (repository-relative path, Markdown), or the first template mistake.
pub fn try_render_all() -> Result<Vec<(PathBuf, String)>, DocsError> {
    SOURCE.render(&DefentryProvider::default())
}

/// Every page, as (repository-relative path, Markdown). A template mistake (caught by this
/// module's tests) yields a single page stating it, so `docs --check` reports it as a difference.
pub fn render_all() -> Vec<(PathBuf, String)> {
    try_render_all().unwrap_or_else(|e| {
        vec![(
            PathBuf::from("docs/index.md"),
            format!("documentation could not be rendered: {e}\n"),
        )]
    })
}

/// Writes every page under `root` (the repository), creating directories as needed.
pub fn write_all(root: &Path) -> std::io::Result<()> {
    let pages = try_render_all().map_err(std::io::Error::other)?;
    sdk_docs::write_pages(root, &pages)
}

/// Pages under `root` that are missing or differ from what [`render_all`] produces (for
/// `docs --check`). Empty means the committed docs are up to date.
pub fn stale(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let pages = try_render_all().map_err(std::io::Error::other)?;
    Ok(sdk_docs::stale_pages(root, &pages))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdk::docs::{subjects, summary, type_label, Kind};
    use crate::sdk::object::ObjectType;

    fn pages() -> Vec<(PathBuf, String)> {
        match try_render_all() {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        }
    }

    fn page(path: &str) -> String {
        pages()
            .into_iter()
            .find(|(p, _)| p == Path::new(path))
            .map(|(_, t)| t)
            .unwrap_or_else(|| panic!("no page {path}"))
    }

    #[test]
    fn renders_the_registry_layout() {
        let paths: Vec<String> = pages()
            .iter()
            .map(|(p, _)| p.display().to_string())
            .collect();
        for want in [
            "docs/index.md",
            "docs/resources/token.md",
            "docs/data-sources/session.md",
            "docs/ephemeral-resources/session.md",
            "docs/actions/logout.md",
            "docs/actions/password_forgot.md",
            "docs/actions/password_reset.md",
        ] {
            assert!(paths.iter().any(|p| p == want), "{want} missing: {paths:?}");
        }
        assert!(paths.iter().any(|p| p.starts_with("docs/guides/")));
    }

    #[test]
    fn every_type_has_its_own_template() {
        let provider = DefentryProvider::default();
        for s in subjects(&provider) {
            let t = s.template_path(provider.type_name());
            assert!(SOURCE.template(&t).is_some(), "{} has no {t}", s.name);
        }
    }

    #[test]
    fn every_schema_attribute_is_documented_with_its_properties() {
        let provider = DefentryProvider::default();
        let all = pages();
        for s in subjects(&provider) {
            let path = s.page_path(provider.type_name());
            let text = &all
                .iter()
                .find(|(p, _)| p == Path::new(&path))
                .unwrap_or_else(|| panic!("no page {path}"))
                .1;
            assert!(text.contains("## Schema"), "{path}");
            for a in &s.schema.block.attributes {
                let line = text
                    .lines()
                    .find(|l| l.starts_with(&format!("- `{}` (", a.name)))
                    .unwrap_or_else(|| panic!("{path}: attribute {} is not documented", a.name));
                assert!(line.contains(&type_label(&a.ty)), "{path}: {line}");
                assert_eq!(a.sensitive, line.contains("Sensitive"), "{path}: {line}");
                assert_eq!(a.write_only, line.contains("Write-only"), "{path}: {line}");
                if s.kind == Kind::Resource {
                    assert_eq!(
                        a.requires_replace,
                        line.contains("Forces replacement"),
                        "{path}: {line}"
                    );
                }
                if let Some(d) = &a.default_doc {
                    assert!(
                        line.contains(&format!("Defaults to `{d}`")),
                        "{path}: {line}"
                    );
                }
                if let Some(e) = &a.env_doc {
                    assert!(line.contains(e.as_str()), "{path}: {line}");
                }
                if !a.description.is_empty() {
                    assert!(line.contains(&summary(&a.description)), "{path}: {line}");
                }
                // Each attribute sits under the heading of its mode.
                let section = text[..text.find(line).unwrap_or(0)]
                    .rfind("\n### ")
                    .map(|i| text[i + 5..].lines().next().unwrap_or_default())
                    .unwrap_or_default();
                let want = if a.required {
                    "Required"
                } else if a.optional {
                    "Optional"
                } else {
                    "Read-Only"
                };
                assert_eq!(section, want, "{path}: {}", a.name);
            }
        }
    }

    #[test]
    fn pages_carry_front_matter_examples_and_caveats() {
        for (path, text) in pages() {
            let p = path.display();
            assert!(text.starts_with("---\npage_title: "), "{p}");
            for d in ["{{ .", "{{ tffile", "{{ codefile"] {
                assert!(!text.contains(d), "{p}: unexpanded directive");
            }
            assert!(
                text.ends_with('\n') && !text.ends_with("\n\n"),
                "{p}: trailing lines"
            );
        }
        let token = page("docs/resources/token.md");
        for needle in [
            "resource \"defentry_token\"",
            "-refresh=false",
            "shorter than the token lifetime",
            "Import",
            "1.11",
        ] {
            assert!(token.contains(needle), "token page lacks {needle:?}");
        }
        let data = page("docs/data-sources/session.md");
        assert!(data.contains("never logged out"), "{data}");
        assert!(page("docs/ephemeral-resources/session.md").contains("1.10"));
        for a in ["logout", "password_forgot", "password_reset"] {
            let text = page(&format!("docs/actions/{a}.md"));
            assert!(text.contains("1.14"), "{a}");
            assert!(text.contains(&format!("action \"defentry_{a}\"")), "{a}");
        }
        assert!(page("docs/index.md").contains(VERSION));
    }

    #[test]
    fn every_embedded_file_is_used() {
        let all: String = TEMPLATES.iter().map(|(_, t)| *t).collect();
        for (path, _) in FILES {
            assert!(
                all.contains(&format!("\"{path}\"")),
                "{path} is embedded but never included"
            );
        }
    }
}
