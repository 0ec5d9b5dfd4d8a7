//! The pieces of a documentation run: what a provider supplies ([`DocsSource`]), what a page
//! documents ([`Subject`], [`Kind`]) and a rendered [`Page`].

use std::path::PathBuf;

use crate::schema::Schema;

/// A rendered page: its repository-relative path (under `docs/`) and its Markdown.
pub type Page = (PathBuf, String);

/// What a provider supplies besides its schemas.
#[derive(Debug, Clone, Copy)]
pub struct DocsSource<'a> {
    /// The provider's version, for `.ProviderVersion`.
    pub version: &'a str,
    /// Page templates as (repository-relative path, text), e.g.
    /// `("templates/resources/thing.md.tmpl", "...")`.
    pub templates: &'a [(&'a str, &'a str)],
    /// Files templates may include with `tffile` or `codefile`, as (repository-relative path,
    /// text).
    pub files: &'a [(&'a str, &'a str)],
}

/// What a page documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The provider block (`docs/index.md`).
    Provider,
    /// A managed resource.
    Resource,
    /// A data source.
    DataSource,
    /// An ephemeral resource.
    Ephemeral,
    /// An action.
    Action,
}

impl Kind {
    /// How the Registry names it (`Data Source`).
    pub fn label(self) -> &'static str {
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
#[derive(Debug, Clone)]
pub struct Subject {
    /// What it is.
    pub kind: Kind,
    /// Its type name (the provider's own for [`Kind::Provider`]).
    pub name: String,
    /// Its schema.
    pub schema: Schema,
}

impl Subject {
    /// Page name: the type name without the provider prefix, as the Registry expects.
    fn short_name(&self, provider: &str) -> &str {
        self.name
            .strip_prefix(provider)
            .and_then(|s| s.strip_prefix('_'))
            .unwrap_or(&self.name)
    }
    /// Where its page goes, e.g. `docs/resources/thing.md` for `example_thing`.
    pub fn page_path(&self, provider: &str) -> String {
        match self.kind {
            Kind::Provider => "docs/index.md".into(),
            k => format!("docs/{}/{}.md", k.dir(), self.short_name(provider)),
        }
    }
    /// Where its template is looked up, e.g. `templates/resources/thing.md.tmpl`.
    pub fn template_path(&self, provider: &str) -> String {
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

fn lookup<'a>(table: &[(&str, &'a str)], path: &str) -> Option<&'a str> {
    table.iter().find(|(p, _)| *p == path).map(|(_, c)| *c)
}

impl<'a> DocsSource<'a> {
    /// The template at `path`, if supplied.
    pub fn template(&self, path: &str) -> Option<&'a str> {
        lookup(self.templates, path)
    }
    /// The file at `path`, if supplied.
    pub fn file(&self, path: &str) -> Option<&'a str> {
        lookup(self.files, path)
    }
}
