//! Expanding the `{{ ... }}` directives of one template.

use super::error::DocsError;
use super::page::{DocsSource, Subject};
use super::schema_markdown::{schema_markdown, summary};

/// What every directive may draw on besides the page's subject.
pub(super) struct Context<'a> {
    /// The provider's type name.
    pub(super) provider: &'a str,
    /// Version, templates and files.
    pub(super) source: &'a DocsSource<'a>,
}

impl Context<'_> {
    /// Expands the directives of template `name` for `subject` (`None` in a guide).
    pub(super) fn render(
        &self,
        name: &str,
        tpl: &str,
        subject: Option<&Subject>,
    ) -> Result<String, DocsError> {
        let mut out = String::with_capacity(tpl.len() * 2);
        let mut rest = tpl;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find("}}").ok_or_else(|| DocsError::Unterminated {
                template: name.to_string(),
            })?;
            out.push_str(&self.directive(name, after[..end].trim(), subject)?);
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn directive(
        &self,
        template: &str,
        d: &str,
        subject: Option<&Subject>,
    ) -> Result<String, DocsError> {
        let unknown = || DocsError::UnknownDirective {
            template: template.to_string(),
            directive: d.to_string(),
        };
        match d {
            ".ProviderName" => return Ok(self.provider.into()),
            ".ProviderVersion" => return Ok(self.source.version.into()),
            _ => {}
        }
        let args = quoted_args(d);
        let file = |path: &str| {
            self.source
                .file(path)
                .ok_or_else(|| DocsError::UnknownFile {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cty::Type;
    use crate::docs::Kind;
    use crate::schema::{Attribute, Block, Schema};

    const SOURCE: DocsSource<'static> = DocsSource {
        version: "0.9.1",
        templates: &[],
        files: &[("examples/a.tf", "a = 1\n\n"), ("ci.yml", "on: push\n")],
    };

    fn render(tpl: &str, subject: Option<&Subject>) -> Result<String, DocsError> {
        let ctx = Context {
            provider: "example",
            source: &SOURCE,
        };
        ctx.render("t", tpl, subject)
    }

    #[test]
    fn directives_expand_with_or_without_spaces() {
        let thing = Subject {
            kind: Kind::Resource,
            name: "example_thing".into(),
            schema: Schema::new(
                Block::new(vec![Attribute::computed("id", Type::String)])
                    .description("\nMakes  a\nthing.\n\nDetails.\n"),
            ),
        };
        let cases = [
            (
                "{{ .ProviderName }} v{{.ProviderVersion}}",
                "example v0.9.1",
            ),
            (
                "{{ .Name }} is a {{ .Kind }}",
                "example_thing is a Resource",
            ),
            ("{{ .Summary }}", "Makes a thing."),
            ("{{ .Description }}", "Makes  a\nthing.\n\nDetails."),
            (
                "{{ .SchemaMarkdown }}",
                "## Schema\n\n### Read-Only\n\n- `id` (String)",
            ),
            ("{{ tffile \"examples/a.tf\" }}", "```terraform\na = 1\n```"),
            (
                "x{{ codefile \"yaml\" \"ci.yml\" }}y",
                "x```yaml\non: push\n```y",
            ),
            ("no directives", "no directives"),
        ];
        for (tpl, want) in cases {
            assert_eq!(render(tpl, Some(&thing)).as_deref(), Ok(want), "{tpl}");
        }
    }

    #[test]
    fn template_mistakes_are_reported() {
        let unknown = |d: &str| DocsError::UnknownDirective {
            template: "t".into(),
            directive: d.into(),
        };
        let cases = [
            ("a {{ .Nope }}", unknown(".Nope")),
            ("{{ tffile }}", unknown("tffile")),
            ("{{ codefile \"ci.yml\" }}", unknown("codefile \"ci.yml\"")),
            (
                "{{ tffile \"examples/none.tf\" }}",
                DocsError::UnknownFile {
                    template: "t".into(),
                    path: "examples/none.tf".into(),
                },
            ),
            (
                "{{ .Name",
                DocsError::Unterminated {
                    template: "t".into(),
                },
            ),
            (
                "{{ .SchemaMarkdown }}",
                DocsError::NoSubject {
                    template: "t".into(),
                    directive: ".SchemaMarkdown".into(),
                },
            ),
        ];
        for (tpl, want) in cases {
            assert_eq!(render(tpl, None), Err(want), "{tpl}");
        }
        assert_eq!(
            render("{{ .Name", None).map_err(|e| e.to_string()),
            Err("t: `{{` without a closing `}}`".to_string())
        );
    }
}
