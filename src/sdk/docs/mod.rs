//! Terraform Registry documentation, rendered from a provider's own schemas plus hand-written
//! templates, so the reference cannot drift from the code.
//!
//! Layout and template syntax follow tfplugindocs (a small subset of it): `docs/index.md`,
//! `docs/{resources,data-sources,ephemeral-resources,actions}/<name>.md` and `docs/guides/*.md`,
//! from `templates/index.md.tmpl`, `templates/<same dir>/<name>.md.tmpl` and
//! `templates/guides/*.md.tmpl`; `<name>` is the type name without the provider prefix. A type
//! without a template of its own gets a default page. The provider hands over its templates and
//! the files they include as (repository-relative path, text) pairs in a [`DocsSource`],
//! typically embedded with `include_str!`, so rendering needs no working directory and is
//! deterministic.
//!
//! Template directives, written `{{ ... }}`:
//! - `.Name` (the type name, e.g. `example_thing`), `.Kind` (`Resource`, `Data Source`, ...),
//!   `.ProviderName` ([`ObjectType::type_name`](crate::object::ObjectType::type_name)), `.ProviderVersion` ([`DocsSource::version`])
//! - `.Description` (the schema's Markdown description), `.Summary` (its first paragraph on
//!   one line, for front matter)
//! - `.SchemaMarkdown`: every argument and attribute with type, mode, sensitivity, default,
//!   environment variable and replacement behaviour (see [`schema_markdown`])
//! - `tffile "examples/..."`: that file in a `terraform` code block;
//!   `codefile "lang" "path"`: any of [`DocsSource::files`] in a code block

mod error;
mod page;
mod schema_markdown;
mod template;

use std::path::{Path, PathBuf};

use super::Provider;

pub use error::DocsError;
pub use page::{DocsSource, Kind, Page, Subject};
pub use schema_markdown::{schema_markdown, summary, type_label};

/// The provider and every type it offers, in the order the provider lists them.
pub fn subjects<P: Provider>(p: &P) -> Vec<Subject> {
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

impl<'a> DocsSource<'a> {
    /// Every page of `provider`'s documentation: the index, one page per type, then one per
    /// guide template; or the first template mistake.
    pub fn render<P: Provider>(&self, provider: &P) -> Result<Vec<Page>, DocsError> {
        self.render_subjects(provider.type_name(), &subjects(provider))
    }

    /// [`DocsSource::render`] for a provider named `provider` documenting `subjects`.
    fn render_subjects(
        &self,
        provider: &str,
        subjects: &[Subject],
    ) -> Result<Vec<Page>, DocsError> {
        let ctx = template::Context {
            provider,
            source: self,
        };
        let mut pages = Vec::new();
        for s in subjects {
            let tpl_path = s.template_path(provider);
            let tpl = self.template(&tpl_path).unwrap_or(DEFAULT_TEMPLATE);
            let text = ctx.render(&tpl_path, tpl, Some(s))?;
            pages.push((PathBuf::from(s.page_path(provider)), text));
        }
        for (path, tpl) in self.templates {
            if let Some(name) = path
                .strip_prefix("templates/guides/")
                .and_then(|n| n.strip_suffix(".md.tmpl"))
            {
                let text = ctx.render(path, tpl, None)?;
                pages.push((PathBuf::from(format!("docs/guides/{name}.md")), text));
            }
        }
        Ok(pages)
    }
}

/// Writes `pages` under `root` (the repository), creating directories as needed.
pub fn write_pages(root: &Path, pages: &[Page]) -> std::io::Result<()> {
    for (rel, text) in pages {
        let path = root.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, text)?;
    }
    Ok(())
}

/// Those of `pages` that are missing under `root` or differ from the file there. Empty means
/// the committed docs are up to date.
pub fn stale_pages(root: &Path, pages: &[Page]) -> Vec<PathBuf> {
    pages
        .iter()
        .filter(|(rel, text)| std::fs::read_to_string(root.join(rel)).ok().as_ref() != Some(text))
        .map(|(rel, _)| rel.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cty::Type;
    use crate::schema::{Attribute, Block, Schema};

    fn subject(kind: Kind, name: &str, description: &str) -> Subject {
        Subject {
            kind,
            name: name.into(),
            schema: Schema::new(
                Block::new(vec![Attribute::required("id", Type::String)]).description(description),
            ),
        }
    }

    fn example() -> Vec<Subject> {
        vec![
            subject(Kind::Provider, "example", "The example provider."),
            subject(
                Kind::Resource,
                "example_thing",
                "A thing.\n\nMore about it.",
            ),
            subject(Kind::DataSource, "example_thing", "Reads a thing."),
            subject(Kind::Ephemeral, "example_lease", "A lease."),
            subject(Kind::Action, "example_poke", "Pokes."),
        ]
    }

    const TEMPLATES: &[(&str, &str)] = &[
        (
            "templates/index.md.tmpl",
            "# {{ .ProviderName }} {{ .ProviderVersion }}\n\n{{ tffile \"examples/p.tf\" }}\n",
        ),
        (
            "templates/resources/thing.md.tmpl",
            "# {{.Name}} ({{ .Kind }}): {{ .Summary }}\n",
        ),
        (
            "templates/guides/start.md.tmpl",
            "Guide for {{ .ProviderName }}.\n",
        ),
    ];

    const SOURCE: DocsSource<'static> = DocsSource {
        version: "1.2.3",
        templates: TEMPLATES,
        files: &[("examples/p.tf", "provider \"example\" {}\n")],
    };

    #[test]
    fn pages_follow_the_registry_layout_with_a_default_for_types_without_a_template() {
        let pages = SOURCE
            .render_subjects("example", &example())
            .expect("renders");
        let paths: Vec<String> = pages.iter().map(|(p, _)| p.display().to_string()).collect();
        assert_eq!(
            paths,
            [
                "docs/index.md",
                "docs/resources/thing.md",
                "docs/data-sources/thing.md",
                "docs/ephemeral-resources/lease.md",
                "docs/actions/poke.md",
                "docs/guides/start.md",
            ]
        );
        let text = |i: usize| pages[i].1.as_str();
        assert_eq!(
            text(0),
            "# example 1.2.3\n\n```terraform\nprovider \"example\" {}\n```\n"
        );
        assert_eq!(text(1), "# example_thing (Resource): A thing.\n");
        assert_eq!(
            text(2),
            "---\npage_title: \"example_thing Data Source - terraform-provider-example\"\n\
             subcategory: \"\"\ndescription: |-\n  Reads a thing.\n---\n\n\
             # example_thing (Data Source)\n\nReads a thing.\n\n\
             ## Schema\n\n### Required\n\n- `id` (String)"
        );
        assert!(text(3).contains("# example_lease (Ephemeral Resource)"));
        assert!(text(4).contains("# example_poke (Action)"));
        assert_eq!(text(5), "Guide for example.\n");
    }

    #[test]
    fn a_template_mistake_stops_rendering() {
        let source = DocsSource {
            templates: &[("templates/guides/bad.md.tmpl", "{{ .Name }}")],
            ..SOURCE
        };
        assert!(matches!(
            source.render_subjects("example", &example()),
            Err(DocsError::NoSubject { template, .. }) if template == "templates/guides/bad.md.tmpl"
        ));
    }

    #[test]
    fn stale_pages_are_the_missing_and_the_different_ones() {
        let dir = tempfile::tempdir().expect("temp dir");
        let page = |p: &str, t: &str| (PathBuf::from(p), t.to_string());
        let pages = vec![
            page("docs/index.md", "a\n"),
            page("docs/guides/g.md", "b\n"),
        ];
        assert_eq!(stale_pages(dir.path(), &pages).len(), 2);
        write_pages(dir.path(), &pages).expect("write");
        assert!(stale_pages(dir.path(), &pages).is_empty());
        let changed = vec![
            page("docs/index.md", "a\n"),
            page("docs/guides/g.md", "c\n"),
        ];
        assert_eq!(
            stale_pages(dir.path(), &changed),
            [PathBuf::from("docs/guides/g.md")]
        );
    }
}
