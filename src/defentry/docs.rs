//! Terraform Registry documentation, rendered from the provider's own schemas plus the
//! hand-written templates under `templates/`, so the reference cannot drift from the code.
//!
//! Layout and template syntax follow tfplugindocs (a small subset of it): `docs/index.md`,
//! `docs/{resources,data-sources,ephemeral-resources,actions}/<name>.md` and `docs/guides/*.md`.
//! Templates and every file they include are embedded at compile time, so rendering needs no
//! working directory and is deterministic. `terraform-provider-defentry docs` writes the pages;
//! `tests/docs.rs` fails when the committed ones differ.
//!
//! Template directives, written `{{ ... }}`:
//! - `.Name` (`defentry_token`), `.Kind` (`Resource`, `Data Source`, ...), `.ProviderName`,
//!   `.ProviderVersion` (from Cargo.toml)
//! - `.Description` (the schema's Markdown description), `.Summary` (its first paragraph on
//!   one line, for front matter)
//! - `.SchemaMarkdown`: every argument and attribute with type, mode, sensitivity, default,
//!   environment variable and replacement behaviour
//! - `tffile "examples/..."`: that file in a `terraform` code block;
//!   `codefile "lang" "path"`: any embedded file in a code block

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::sdk::cty::Type;
use crate::sdk::schema::{Attribute, Block, Nesting, Schema};
use crate::sdk::Provider;

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

/// Used for a type that has no template of its own, so a new type still gets a page.
const DEFAULT_TEMPLATE: &str = "---
page_title: \"{{ .Name }} {{ .Kind }} - terraform-provider-{{ .ProviderName }}\"
subcategory: \"\"
description: |-
  {{ .Summary }}
---

# {{ .Name }} ({{ .Kind }})

{{ .Description }}

{{ .SchemaMarkdown }}";

/// Why the documentation could not be rendered (a mistake in a template; never user input).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocsError {
    /// `{{` without `}}`.
    #[error("{template}: `{{{{` without a closing `}}}}`")]
    Unterminated {
        /// The template.
        template: String,
    },
    /// A directive this renderer does not know.
    #[error("{template}: unknown directive `{{{{ {directive} }}}}`")]
    UnknownDirective {
        /// The template.
        template: String,
        /// The directive's text.
        directive: String,
    },
    /// A file that is not embedded.
    #[error("{template}: `{path}` is not embedded; add it to FILES in src/defentry/docs.rs")]
    UnknownFile {
        /// The template.
        template: String,
        /// The requested path.
        path: String,
    },
    /// A type directive in a guide.
    #[error("{template}: `{directive}` only works on a type's page, not in a guide")]
    NoSubject {
        /// The template.
        template: String,
        /// The directive's text.
        directive: String,
    },
}

/// What a page documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Provider,
    Resource,
    DataSource,
    Ephemeral,
    Action,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Provider => "Provider",
            Kind::Resource => "Resource",
            Kind::DataSource => "Data Source",
            Kind::Ephemeral => "Ephemeral Resource",
            Kind::Action => "Action",
        }
    }
    /// Registry directory under `docs/` (and `templates/`).
    fn dir(self) -> &'static str {
        match self {
            Kind::Provider => "",
            Kind::Resource => "resources",
            Kind::DataSource => "data-sources",
            Kind::Ephemeral => "ephemeral-resources",
            Kind::Action => "actions",
        }
    }
}

/// One documented type (or the provider itself).
struct Subject {
    kind: Kind,
    name: String,
    schema: Schema,
}

impl Subject {
    /// Page name: the type name without the provider prefix, as the Registry expects.
    fn short_name(&self, provider: &str) -> String {
        self.name
            .strip_prefix(provider)
            .and_then(|s| s.strip_prefix('_'))
            .unwrap_or(&self.name)
            .to_string()
    }
    fn page_path(&self, provider: &str) -> String {
        match self.kind {
            Kind::Provider => "docs/index.md".into(),
            k => format!("docs/{}/{}.md", k.dir(), self.short_name(provider)),
        }
    }
    fn template_path(&self, provider: &str) -> String {
        match self.kind {
            Kind::Provider => "templates/index.md.tmpl".into(),
            k => format!(
                "templates/{}/{}.md.tmpl",
                k.dir(),
                self.short_name(provider)
            ),
        }
    }
}

fn subjects(p: &DefentryProvider) -> Vec<Subject> {
    let mut out = vec![Subject {
        kind: Kind::Provider,
        name: p.type_name().to_string(),
        schema: p.schema(),
    }];
    let mut add = |kind, name: &str, schema| {
        out.push(Subject {
            kind,
            name: name.to_string(),
            schema,
        })
    };
    for r in p.resources() {
        add(Kind::Resource, r.type_name(), r.schema());
    }
    for d in p.data_sources() {
        add(Kind::DataSource, d.type_name(), d.schema());
    }
    for e in p.ephemeral_resources() {
        add(Kind::Ephemeral, e.type_name(), e.schema());
    }
    for a in p.actions() {
        add(Kind::Action, a.type_name(), a.schema());
    }
    out
}

fn lookup<'a>(table: &[(&str, &'a str)], path: &str) -> Option<&'a str> {
    table.iter().find(|(p, _)| *p == path).map(|(_, c)| *c)
}

/// Every page, as (repository-relative path, Markdown), or the first template mistake.
pub fn try_render_all() -> Result<Vec<(PathBuf, String)>, DocsError> {
    let provider = DefentryProvider::default();
    let prefix = provider.type_name();
    let mut pages = Vec::new();
    for s in subjects(&provider) {
        let tpl_path = s.template_path(prefix);
        let tpl = lookup(TEMPLATES, &tpl_path).unwrap_or(DEFAULT_TEMPLATE);
        let text = render(&tpl_path, tpl, Some(&s))?;
        pages.push((PathBuf::from(s.page_path(prefix)), text));
    }
    for (path, tpl) in TEMPLATES {
        if let Some(name) = path
            .strip_prefix("templates/guides/")
            .and_then(|n| n.strip_suffix(".md.tmpl"))
        {
            let text = render(path, tpl, None)?;
            pages.push((PathBuf::from(format!("docs/guides/{name}.md")), text));
        }
    }
    Ok(pages)
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
    for (rel, text) in pages {
        let path = root.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, text)?;
    }
    Ok(())
}

/// Pages under `root` that are missing or differ from what [`render_all`] produces (for
/// `docs --check`). Empty means the committed docs are up to date.
pub fn stale(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let pages = try_render_all().map_err(std::io::Error::other)?;
    Ok(pages
        .into_iter()
        .filter(|(rel, text)| std::fs::read_to_string(root.join(rel)).ok().as_ref() != Some(text))
        .map(|(rel, _)| rel)
        .collect())
}

/// Expands the directives of one template.
fn render(name: &str, tpl: &str, subject: Option<&Subject>) -> Result<String, DocsError> {
    let mut out = String::with_capacity(tpl.len() * 2);
    let mut rest = tpl;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| DocsError::Unterminated {
            template: name.to_string(),
        })?;
        out.push_str(&directive(name, after[..end].trim(), subject)?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn directive(template: &str, d: &str, subject: Option<&Subject>) -> Result<String, DocsError> {
    let unknown = || DocsError::UnknownDirective {
        template: template.to_string(),
        directive: d.to_string(),
    };
    match d {
        ".ProviderName" => return Ok("defentry".into()),
        ".ProviderVersion" => return Ok(VERSION.into()),
        _ => {}
    }
    let args = quoted_args(d);
    let file = |path: &str| {
        lookup(FILES, path).ok_or_else(|| DocsError::UnknownFile {
            template: template.to_string(),
            path: path.to_string(),
        })
    };
    if d.starts_with("tffile ") {
        let [path] = args.as_slice() else {
            return Err(unknown());
        };
        return Ok(code_block("terraform", file(path)?));
    }
    if d.starts_with("codefile ") {
        let [lang, path] = args.as_slice() else {
            return Err(unknown());
        };
        return Ok(code_block(lang, file(path)?));
    }
    let s = match (d, subject) {
        (".Name" | ".Kind" | ".Description" | ".Summary" | ".SchemaMarkdown", None) => {
            return Err(DocsError::NoSubject {
                template: template.to_string(),
                directive: d.to_string(),
            })
        }
        (_, Some(s)) => s,
        (_, None) => return Err(unknown()),
    };
    Ok(match d {
        ".Name" => s.name.clone(),
        ".Kind" => s.kind.label().to_string(),
        ".Description" => s.schema.block.description.trim().to_string(),
        ".Summary" => summary(&s.schema.block.description),
        ".SchemaMarkdown" => schema_markdown(&s.schema.block, s.kind),
        _ => return Err(unknown()),
    })
}

/// The `"..."` arguments of a directive, in order.
fn quoted_args(d: &str) -> Vec<String> {
    d.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

fn code_block(lang: &str, content: &str) -> String {
    let body = content.trim_end_matches('\n');
    format!("```{lang}\n{body}\n```")
}

/// The first paragraph of a description, on one line.
fn summary(description: &str) -> String {
    description
        .trim()
        .split("\n\n")
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Type name as the Registry writes it (`String`, `Map of String`).
fn type_label(t: &Type) -> String {
    match t {
        Type::String => "String".into(),
        Type::Number => "Number".into(),
        Type::Bool => "Boolean".into(),
        Type::Dynamic => "Dynamic".into(),
        Type::List(e) => format!("List of {}", type_label(e)),
        Type::Set(e) => format!("Set of {}", type_label(e)),
        Type::Map(e) => format!("Map of {}", type_label(e)),
        Type::Tuple(_) => "Tuple".into(),
        Type::Object(_) => "Object".into(),
    }
}

const WRITE_ONLY_LINK: &str =
    "https://developer.hashicorp.com/terraform/language/resources/ephemeral#write-only-arguments";

/// One bullet: name, tags in parentheses, description, then the documented extras.
fn attribute_line(a: &Attribute, kind: Kind) -> String {
    let mut tags = vec![type_label(&a.ty)];
    if a.optional && a.computed {
        tags.push("Computed if unset".into());
    }
    if a.sensitive {
        tags.push("Sensitive".into());
    }
    if a.write_only {
        tags.push(format!("[Write-only]({WRITE_ONLY_LINK}), Terraform 1.11+"));
    }
    if a.requires_replace && kind == Kind::Resource {
        tags.push("Forces replacement".into());
    }
    if a.deprecated.is_some() {
        tags.push("Deprecated".into());
    }
    let mut line = format!("- `{}` ({})", a.name, tags.join(", "));
    let desc = a
        .description
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if !desc.is_empty() {
        line.push(' ');
        line.push_str(&desc);
    }
    if let Some(d) = &a.default_doc {
        let _ = write!(line, " Defaults to `{d}`.");
    }
    if let Some(e) = &a.env_doc {
        let _ = write!(line, " Environment variable: `{e}`.");
    }
    if let Some(m) = &a.deprecated {
        let _ = write!(line, " **Deprecated:** {m}");
    }
    line
}

fn nesting_label(n: Nesting) -> &'static str {
    match n {
        Nesting::Single | Nesting::Group => "Block",
        Nesting::List => "Block List",
        Nesting::Set => "Block Set",
        Nesting::Map => "Block Map",
    }
}

/// The `## Schema` section: arguments grouped as Required, Optional and Read-Only, then one
/// section per nested block.
fn schema_markdown(block: &Block, kind: Kind) -> String {
    let mut out = String::from("## Schema\n");
    block_sections(&mut out, block, kind, None);
    out.trim_end().to_string()
}

fn block_sections(out: &mut String, block: &Block, kind: Kind, parent: Option<&str>) {
    // Nested sections use a bold label instead of a heading level, like tfplugindocs.
    let heading = |title: &str| match parent {
        None => format!("\n### {title}\n\n"),
        Some(_) => format!("\n{title}:\n\n"),
    };
    type Pick = fn(&Attribute) -> bool;
    let groups: [(&str, Pick); 3] = [
        ("Required", |a| a.required),
        ("Optional", |a| a.optional),
        ("Read-Only", |a| a.computed && !a.optional && !a.required),
    ];
    for (title, pick) in groups {
        let attrs: Vec<&Attribute> = block.attributes.iter().filter(|a| pick(a)).collect();
        let blocks: Vec<_> = block
            .blocks
            .iter()
            .filter(|b| match title {
                "Required" => b.min_items > 0,
                "Optional" => b.min_items == 0,
                _ => false,
            })
            .collect();
        if attrs.is_empty() && blocks.is_empty() {
            continue;
        }
        out.push_str(&heading(title));
        for a in attrs {
            out.push_str(&attribute_line(a, kind));
            out.push('\n');
        }
        for b in blocks {
            let mut tags = vec![nesting_label(b.nesting).to_string()];
            if b.min_items > 0 {
                tags.push(format!("Min: {}", b.min_items));
            }
            if b.max_items > 0 {
                tags.push(format!("Max: {}", b.max_items));
            }
            let anchor = nested_anchor(parent, &b.type_name);
            let _ = writeln!(
                out,
                "- `{}` ({}) {} (see [below for nested schema](#{anchor}))",
                b.type_name,
                tags.join(", "),
                b.block
                    .description
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
    }
    for b in &block.blocks {
        let anchor = nested_anchor(parent, &b.type_name);
        let path = match parent {
            Some(p) => format!("{p}.{}", b.type_name),
            None => b.type_name.clone(),
        };
        let _ = write!(
            out,
            "\n<a id=\"{anchor}\"></a>\n### Nested Schema for `{path}`\n"
        );
        block_sections(out, &b.block, kind, Some(&path));
    }
}

fn nested_anchor(parent: Option<&str>, name: &str) -> String {
    match parent {
        Some(p) => format!("nestedblock--{}--{name}", p.replace('.', "--")),
        None => format!("nestedblock--{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdk::schema::NestedBlock;

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
            assert!(lookup(TEMPLATES, &t).is_some(), "{} has no {t}", s.name);
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

    #[test]
    fn template_mistakes_are_reported() {
        assert!(matches!(
            render("t", "a {{ .Nope }}", None),
            Err(DocsError::UnknownDirective { .. })
        ));
        assert!(matches!(
            render("t", "{{ tffile \"examples/none.tf\" }}", None),
            Err(DocsError::UnknownFile { .. })
        ));
        assert!(matches!(
            render("t", "{{ .Name", None),
            Err(DocsError::Unterminated { .. })
        ));
        assert!(matches!(
            render("t", "{{ .SchemaMarkdown }}", None),
            Err(DocsError::NoSubject { .. })
        ));
        assert_eq!(
            render("t", "v{{ .ProviderVersion }}", None).ok(),
            Some(format!("v{VERSION}"))
        );
    }

    #[test]
    fn nested_blocks_get_their_own_section() {
        let block = Block::new(vec![Attribute::required("a", Type::String)]).nested(NestedBlock {
            type_name: "rule".into(),
            block: Block::new(vec![Attribute::optional("n", Type::list(Type::Number))]),
            nesting: Nesting::List,
            min_items: 1,
            max_items: 3,
        });
        let md = schema_markdown(&block, Kind::Resource);
        assert!(md.contains("### Required\n\n- `a` (String)"), "{md}");
        assert!(md.contains("- `rule` (Block List, Min: 1, Max: 3)"), "{md}");
        assert!(md.contains("<a id=\"nestedblock--rule\"></a>"), "{md}");
        assert!(md.contains("### Nested Schema for `rule`\n\nOptional:\n\n- `n` (List of Number)"));
    }
}
