//! Conversions between SDK types and the generated protocol types.

use super::context::ClientCapabilities;
use super::cty::{self, AttributePath, PathStep, Type, Value};
use super::diag::{Diagnostic, Diagnostics, Severity};
use super::proto::tfplugin6 as pb;
use super::schema::{Attribute, Block, Nesting, Schema};

pub(crate) fn diagnostic(d: Diagnostic) -> pb::Diagnostic {
    pb::Diagnostic {
        severity: match d.severity {
            Severity::Error => pb::diagnostic::Severity::Error as i32,
            Severity::Warning => pb::diagnostic::Severity::Warning as i32,
        },
        summary: d.summary,
        detail: d.detail,
        attribute: d.attribute.map(path),
    }
}

pub(crate) fn diagnostics(d: Diagnostics) -> Vec<pb::Diagnostic> {
    d.into_iter().map(diagnostic).collect()
}

pub(crate) fn path(p: AttributePath) -> pb::AttributePath {
    use pb::attribute_path::step::Selector;
    pb::AttributePath {
        steps: p
            .steps
            .into_iter()
            .map(|s| pb::attribute_path::Step {
                selector: Some(match s {
                    PathStep::Attr(a) => Selector::AttributeName(a),
                    PathStep::Key(k) => Selector::ElementKeyString(k),
                    PathStep::Index(i) => Selector::ElementKeyInt(i),
                }),
            })
            .collect(),
    }
}

pub(crate) fn client_capabilities(c: Option<pb::ClientCapabilities>) -> ClientCapabilities {
    c.map(|c| ClientCapabilities {
        deferral_allowed: c.deferral_allowed,
        write_only_attributes_allowed: c.write_only_attributes_allowed,
    })
    .unwrap_or_default()
}

/// Decodes a DynamicValue; both encodings empty means null.
pub(crate) fn decode(
    dv: Option<&pb::DynamicValue>,
    ty: &Type,
    what: &str,
) -> Result<Value, Diagnostic> {
    let Some(dv) = dv else {
        return Ok(Value::Null);
    };
    let decoded = if !dv.msgpack.is_empty() {
        cty::from_msgpack(&dv.msgpack, ty)
    } else if !dv.json.is_empty() {
        cty::from_json(&dv.json, ty)
    } else {
        return Ok(Value::Null);
    };
    decoded.map_err(|e| {
        Diagnostic::error(
            format!("Invalid {what} from Terraform"),
            format!("The provider could not decode the {what} Terraform sent: {e}. This is a bug in the provider or an incompatible Terraform version; please report it."),
        )
    })
}

/// Encodes a value as msgpack (the only encoding that can carry unknowns).
pub(crate) fn encode(v: &Value, ty: &Type, what: &str) -> Result<pb::DynamicValue, Diagnostic> {
    cty::to_msgpack(v, ty)
        .map(|msgpack| pb::DynamicValue {
            msgpack,
            json: Vec::new(),
        })
        .map_err(|e| {
            Diagnostic::error(
                format!("Provider produced an invalid {what}"),
                format!("The provider could not encode its {what}: {e}. This is a bug in the provider; please report it."),
            )
        })
}

pub(crate) fn schema(s: &Schema) -> pb::Schema {
    pb::Schema {
        version: s.version,
        block: Some(block(&s.block, s.version)),
    }
}

fn block(b: &Block, version: i64) -> pb::schema::Block {
    pb::schema::Block {
        version,
        attributes: b.attributes.iter().map(attribute).collect(),
        block_types: b
            .blocks
            .iter()
            .map(|nb| pb::schema::NestedBlock {
                type_name: nb.type_name.clone(),
                block: Some(block(&nb.block, 0)),
                nesting: match nb.nesting {
                    Nesting::Single => pb::schema::nested_block::NestingMode::Single,
                    Nesting::Group => pb::schema::nested_block::NestingMode::Group,
                    Nesting::List => pb::schema::nested_block::NestingMode::List,
                    Nesting::Set => pb::schema::nested_block::NestingMode::Set,
                    Nesting::Map => pb::schema::nested_block::NestingMode::Map,
                } as i32,
                min_items: nb.min_items,
                max_items: nb.max_items,
            })
            .collect(),
        description: b.description.clone(),
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: b.deprecated,
        deprecation_message: String::new(),
    }
}

fn attribute(a: &Attribute) -> pb::schema::Attribute {
    pb::schema::Attribute {
        name: a.name.clone(),
        r#type: a.ty.to_json_bytes(),
        nested_type: None,
        description: a.description.clone(),
        required: a.required,
        optional: a.optional,
        computed: a.computed,
        sensitive: a.sensitive,
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: a.deprecated.is_some(),
        write_only: a.write_only,
        deprecation_message: a.deprecated.clone().unwrap_or_default(),
    }
}

pub(crate) fn timestamp(t: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostics_always_carry_a_severity() {
        let d = diagnostic(Diagnostic::warning("s", "d").at(AttributePath::attr("a").at_index(1)));
        assert_eq!(d.severity, pb::diagnostic::Severity::Warning as i32);
        assert_eq!(d.attribute.map(|p| p.steps.len()), Some(2));
        let e = diagnostic(Diagnostic::error("s", "d"));
        assert_eq!(e.severity, pb::diagnostic::Severity::Error as i32);
    }

    #[test]
    fn attributes_convert_with_markdown_and_flags() {
        let s = Schema::new(Block::new(vec![Attribute::optional("p", Type::String)
            .sensitive()
            .write_only()]));
        let pb = schema(&s);
        let a = &pb
            .block
            .as_ref()
            .map(|b| b.attributes.clone())
            .unwrap_or_default()[0];
        assert!(a.sensitive && a.write_only && a.optional && !a.required);
        assert_eq!(a.r#type, b"\"string\"");
        assert_eq!(a.description_kind, pb::StringKind::Markdown as i32);
    }
}
