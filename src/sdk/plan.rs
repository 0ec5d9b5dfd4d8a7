//! The standard planning rules every managed resource gets before its own `modify_plan`
//! (see the protocol's plan_valid rules): computed values unknown on create, write-only
//! values null, and schema-level `requires_replace`.

use super::cty::{AttributePath, Value};
use super::schema::Block;

/// Applies the create/update rules to `planned`, which starts as Terraform's proposed new state.
pub fn apply_standard_rules(block: &Block, prior: &Value, config: &Value, planned: &mut Value) {
    if planned.is_null() || !planned.is_known() {
        return;
    }
    let creating = prior.is_null();
    for a in &block.attributes {
        if a.write_only {
            planned.set_attr(&a.name, Value::Null);
            continue;
        }
        // Terraform proposes the prior value for an unset computed attribute; on create there is
        // none, so the provider will decide at apply.
        if a.computed && creating && config.attr(&a.name).is_null() {
            planned.set_attr(&a.name, Value::unknown());
        }
    }
}

/// Paths of `requires_replace` attributes whose planned value differs from the prior one.
pub fn replace_paths(block: &Block, prior: &Value, planned: &Value) -> Vec<AttributePath> {
    if prior.is_null() || planned.is_null() {
        return Vec::new();
    }
    block
        .attributes
        .iter()
        .filter(|a| a.requires_replace && !a.write_only)
        .filter(|a| prior.attr(&a.name) != planned.attr(&a.name))
        .map(|a| AttributePath::attr(a.name.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cty::Type;
    use crate::schema::Attribute;

    fn block() -> Block {
        Block::new(vec![
            Attribute::required("name", Type::String).requires_replace(),
            Attribute::optional("note", Type::String),
            Attribute::computed("id", Type::String),
            Attribute::optional("secret_wo", Type::String).write_only(),
        ])
    }

    #[test]
    fn create_marks_computed_unknown_and_nulls_write_only() {
        let config = Value::object([
            ("name", Value::string("a")),
            ("note", Value::Null),
            ("id", Value::Null),
            ("secret_wo", Value::string("s")),
        ]);
        let mut planned = config.clone();
        apply_standard_rules(&block(), &Value::Null, &config, &mut planned);
        assert!(!planned.attr("id").is_known());
        assert!(planned.attr("secret_wo").is_null());
        assert_eq!(planned.attr("name").as_str(), Some("a"));
    }

    #[test]
    fn update_keeps_prior_computed_and_flags_replacement() {
        let prior = Value::object([
            ("name", Value::string("a")),
            ("note", Value::Null),
            ("id", Value::string("1")),
            ("secret_wo", Value::Null),
        ]);
        let mut planned = prior.clone();
        planned.set_attr("name", Value::string("b"));
        let config = planned.clone();
        apply_standard_rules(&block(), &prior, &config, &mut planned);
        assert_eq!(planned.attr("id").as_str(), Some("1"));
        assert_eq!(
            replace_paths(&block(), &prior, &planned),
            vec![AttributePath::attr("name")]
        );
        assert!(replace_paths(&block(), &prior, &prior).is_empty());
    }
}
