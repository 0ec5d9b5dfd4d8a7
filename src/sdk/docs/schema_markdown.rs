//! The `## Schema` section of a page, in tfplugindocs' layout.

use std::fmt::Write as _;

use super::page::Kind;
use crate::cty::Type;
use crate::schema::{Attribute, Block, Nesting};

/// Words on one line, separated by single spaces.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first paragraph of a description, on one line.
pub fn summary(description: &str) -> String {
    one_line(description.trim().split("\n\n").next().unwrap_or_default())
}

/// Type name as the Registry writes it (`String`, `Map of String`).
pub fn type_label(t: &Type) -> String {
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
    let desc = one_line(&a.description);
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

/// The `## Schema` section of a `kind` page: arguments grouped as Required, Optional and
/// Read-Only, then one section per nested block. Each attribute's line shows its type and the
/// tags `Computed if unset`, `Sensitive`, `Write-only`, `Forces replacement` (resources only)
/// and `Deprecated`, then its description and, from [`Attribute::default_doc`] and
/// [`Attribute::env_doc`], its default and environment variable.
pub fn schema_markdown(block: &Block, kind: Kind) -> String {
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
                one_line(&b.block.description)
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
    use crate::schema::NestedBlock;

    #[test]
    fn attributes_are_grouped_by_mode_with_their_properties() {
        let block = Block::new(vec![
            Attribute::computed("id", Type::String).description("The  id."),
            Attribute::required("name", Type::String).requires_replace(),
            Attribute::optional("secret", Type::String)
                .sensitive()
                .write_only()
                .env_doc("EXAMPLE_SECRET"),
            Attribute::optional_computed("ttl", Type::Number)
                .default_doc("60")
                .deprecated("Use `lifetime`."),
            Attribute::optional("tags", Type::map(Type::String)),
        ]);
        let want = "## Schema\n\n### Required\n\n\
             - `name` (String, Forces replacement)\n\n\
             ### Optional\n\n\
             - `secret` (String, Sensitive, [Write-only](https://developer.hashicorp.com/terraform/language/resources/ephemeral#write-only-arguments), Terraform 1.11+) Environment variable: `EXAMPLE_SECRET`.\n\
             - `ttl` (Number, Computed if unset, Deprecated) Defaults to `60`. **Deprecated:** Use `lifetime`.\n\
             - `tags` (Map of String)\n\n\
             ### Read-Only\n\n\
             - `id` (String) The id.";
        assert_eq!(schema_markdown(&block, Kind::Resource), want);
        // Replacement only means something for managed resources.
        let md = schema_markdown(&block, Kind::Action);
        assert!(md.contains("- `name` (String)\n"), "{md}");
    }

    #[test]
    fn nested_blocks_get_their_own_section() {
        let inner = NestedBlock {
            type_name: "match".into(),
            block: Block::new(vec![Attribute::required("x", Type::Bool)]),
            nesting: Nesting::Single,
            min_items: 0,
            max_items: 0,
        };
        let block = Block::new(vec![Attribute::required("a", Type::String)]).nested(NestedBlock {
            type_name: "rule".into(),
            block: Block::new(vec![Attribute::optional("n", Type::list(Type::Number))])
                .description("A rule.")
                .nested(inner),
            nesting: Nesting::List,
            min_items: 1,
            max_items: 3,
        });
        let md = schema_markdown(&block, Kind::Resource);
        assert!(md.contains("### Required\n\n- `a` (String)"), "{md}");
        assert!(
            md.contains("- `rule` (Block List, Min: 1, Max: 3) A rule. (see [below for nested schema](#nestedblock--rule))"),
            "{md}"
        );
        assert!(md.contains("<a id=\"nestedblock--rule\"></a>"), "{md}");
        assert!(md.contains("### Nested Schema for `rule`\n\nOptional:\n\n- `n` (List of Number)"));
        assert!(
            md.contains("<a id=\"nestedblock--rule--match\"></a>\n### Nested Schema for `rule.match`\n\nRequired:\n\n- `x` (Boolean)"),
            "{md}"
        );
    }

    #[test]
    fn summary_is_the_first_paragraph_on_one_line() {
        assert_eq!(summary("\n  One\n two.\n\nThree.\n"), "One two.");
        assert_eq!(summary(""), "");
    }
}
