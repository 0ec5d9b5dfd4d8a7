//! Schemas for providers, resources, data sources, ephemeral resources and actions.
//!
//! Built with small builders, converted to the protocol in `server`, and read back by
//! documentation generators (every field is public).

use std::collections::BTreeMap;

use super::cty::{AttributePath, PathStep, Type, Value};

/// A versioned schema: the top-level block of a resource, provider, etc.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schema {
    /// State schema version (managed resources); bump it when the state shape changes.
    pub version: i64,
    /// The top-level block.
    pub block: Block,
}

/// A block: attributes and nested blocks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Block {
    /// Attributes, in documentation order.
    pub attributes: Vec<Attribute>,
    /// Nested block types.
    pub blocks: Vec<NestedBlock>,
    /// Markdown description.
    pub description: String,
    /// Whether the whole block is deprecated.
    pub deprecated: bool,
}

/// How a nested block repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nesting {
    /// At most one; null when absent.
    Single,
    /// Exactly one, never null.
    Group,
    /// An ordered list.
    List,
    /// An unordered set.
    Set,
    /// A map keyed by the block label.
    Map,
}

/// A nested block type.
#[derive(Debug, Clone, PartialEq)]
pub struct NestedBlock {
    /// The block type name.
    pub type_name: String,
    /// Its contents.
    pub block: Block,
    /// How it repeats.
    pub nesting: Nesting,
    /// Minimum count (0 = no minimum).
    pub min_items: i64,
    /// Maximum count (0 = no maximum).
    pub max_items: i64,
}

/// An attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    /// Name, `[a-z0-9_]`.
    pub name: String,
    /// Its type.
    pub ty: Type,
    /// Markdown description.
    pub description: String,
    /// Must be set in configuration.
    pub required: bool,
    /// May be set in configuration.
    pub optional: bool,
    /// The provider may set it.
    pub computed: bool,
    /// Masked in Terraform's UI.
    pub sensitive: bool,
    /// Never stored in plan or state (Terraform 1.11+).
    pub write_only: bool,
    /// Deprecated; the string says what to use instead.
    pub deprecated: Option<String>,
    /// A change forces replacement (managed resources only; applied by the SDK planner).
    pub requires_replace: bool,
    /// Documented default when unset (documentation only; the resource applies it).
    pub default_doc: Option<String>,
    /// Environment variable that supplies the value when unset (documentation only).
    pub env_doc: Option<String>,
}

impl Attribute {
    fn new(name: &str, ty: Type) -> Self {
        Self {
            name: name.to_string(),
            ty,
            description: String::new(),
            required: false,
            optional: false,
            computed: false,
            sensitive: false,
            write_only: false,
            deprecated: None,
            requires_replace: false,
            default_doc: None,
            env_doc: None,
        }
    }
    /// A required argument.
    pub fn required(name: &str, ty: Type) -> Self {
        Self {
            required: true,
            ..Self::new(name, ty)
        }
    }
    /// An optional argument.
    pub fn optional(name: &str, ty: Type) -> Self {
        Self {
            optional: true,
            ..Self::new(name, ty)
        }
    }
    /// A result the provider sets.
    pub fn computed(name: &str, ty: Type) -> Self {
        Self {
            computed: true,
            ..Self::new(name, ty)
        }
    }
    /// An optional argument the provider fills in when unset.
    pub fn optional_computed(name: &str, ty: Type) -> Self {
        Self {
            optional: true,
            computed: true,
            ..Self::new(name, ty)
        }
    }
    /// Sets the Markdown description.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = d.into();
        self
    }
    /// Marks it sensitive.
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
    /// Marks it write-only (never persisted).
    pub fn write_only(mut self) -> Self {
        self.write_only = true;
        self
    }
    /// A change forces replacement.
    pub fn requires_replace(mut self) -> Self {
        self.requires_replace = true;
        self
    }
    /// Documents the default.
    pub fn default_doc(mut self, d: impl Into<String>) -> Self {
        self.default_doc = Some(d.into());
        self
    }
    /// Documents the environment variable fallback.
    pub fn env_doc(mut self, e: impl Into<String>) -> Self {
        self.env_doc = Some(e.into());
        self
    }
    /// Marks it deprecated.
    pub fn deprecated(mut self, message: impl Into<String>) -> Self {
        self.deprecated = Some(message.into());
        self
    }
}

impl Block {
    /// A block with these attributes.
    pub fn new(attributes: Vec<Attribute>) -> Self {
        Self {
            attributes,
            ..Self::default()
        }
    }
    /// Sets the Markdown description.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = d.into();
        self
    }
    /// Adds a nested block type.
    pub fn nested(mut self, b: NestedBlock) -> Self {
        self.blocks.push(b);
        self
    }

    /// The object type of values of this block, as Terraform derives it.
    pub fn implied_type(&self) -> Type {
        let mut attrs: BTreeMap<String, Type> = self
            .attributes
            .iter()
            .map(|a| (a.name.clone(), a.ty.clone()))
            .collect();
        for b in &self.blocks {
            let inner = b.block.implied_type();
            let t = match b.nesting {
                Nesting::Single | Nesting::Group => inner,
                Nesting::List => Type::list(inner),
                Nesting::Set => Type::set(inner),
                Nesting::Map => Type::map(inner),
            };
            attrs.insert(b.type_name.clone(), t);
        }
        Type::Object(attrs)
    }

    /// Looks up a top-level attribute.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// Sets every write-only attribute (at any depth of single/group blocks) to null.
    pub fn null_write_only(&self, v: &mut Value) {
        if v.is_null() || !v.is_known() {
            return;
        }
        for a in &self.attributes {
            if a.write_only {
                v.set_attr(&a.name, Value::Null);
            }
        }
        for b in &self.blocks {
            if let Some(inner) = v.attr_mut(&b.type_name) {
                match b.nesting {
                    Nesting::Single | Nesting::Group => b.block.null_write_only(inner),
                    Nesting::List | Nesting::Set => {
                        if let Value::List(items) | Value::Set(items) = inner {
                            items.iter_mut().for_each(|i| b.block.null_write_only(i));
                        }
                    }
                    Nesting::Map => {
                        if let Value::Map(items) = inner {
                            items.values_mut().for_each(|i| b.block.null_write_only(i));
                        }
                    }
                }
            }
        }
    }

    /// Paths of the write-only attributes that `v` sets (non-null, unknown included), at any
    /// depth of nested blocks. Elements of a set block are reported at the block: a set has
    /// no index to point at.
    pub fn write_only_set(&self, v: &Value) -> Vec<AttributePath> {
        let mut found = Vec::new();
        self.collect_write_only(v, &mut AttributePath::root(), &mut found);
        found
    }

    fn collect_write_only(
        &self,
        v: &Value,
        at: &mut AttributePath,
        found: &mut Vec<AttributePath>,
    ) {
        if v.is_null() || !v.is_known() {
            return;
        }
        for a in self.attributes.iter().filter(|a| a.write_only) {
            if !v.attr(&a.name).is_null() {
                found.push(at.clone().at_attr(a.name.clone()));
            }
        }
        for b in &self.blocks {
            let inner = v.attr(&b.type_name);
            at.push(PathStep::Attr(b.type_name.clone()));
            match (b.nesting, inner) {
                (Nesting::Single | Nesting::Group, _) => {
                    b.block.collect_write_only(inner, at, found)
                }
                (Nesting::List, Value::List(items)) => {
                    for (i, item) in (0i64..).zip(items) {
                        at.push(PathStep::Index(i));
                        b.block.collect_write_only(item, at, found);
                        at.pop();
                    }
                }
                (Nesting::Set, Value::Set(items))
                    if items.iter().any(|i| !b.block.write_only_set(i).is_empty()) =>
                {
                    found.push(at.clone());
                }
                (Nesting::Map, Value::Map(items)) => {
                    for (k, item) in items {
                        at.push(PathStep::Key(k.clone()));
                        b.block.collect_write_only(item, at, found);
                        at.pop();
                    }
                }
                _ => {}
            }
            at.pop();
        }
    }

    /// Paths of top-level attributes that are sensitive (for documentation and tests).
    pub fn sensitive_paths(&self) -> Vec<AttributePath> {
        self.attributes
            .iter()
            .filter(|a| a.sensitive)
            .map(|a| AttributePath::attr(a.name.clone()))
            .collect()
    }
}

impl Schema {
    /// A version-0 schema with this block.
    pub fn new(block: Block) -> Self {
        Self { version: 0, block }
    }
    /// Sets the version.
    pub fn version(mut self, v: i64) -> Self {
        self.version = v;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implied_type_covers_attributes_and_blocks() {
        let b = Block::new(vec![
            Attribute::required("a", Type::String),
            Attribute::computed("b", Type::Number),
        ])
        .nested(NestedBlock {
            type_name: "n".into(),
            block: Block::new(vec![Attribute::optional("c", Type::Bool)]),
            nesting: Nesting::List,
            min_items: 0,
            max_items: 0,
        });
        assert_eq!(
            b.implied_type(),
            Type::object([
                ("a", Type::String),
                ("b", Type::Number),
                ("n", Type::list(Type::object([("c", Type::Bool)]))),
            ])
        );
    }

    #[test]
    fn write_only_values_are_found_at_any_depth() {
        let mut b = Block::new(vec![
            Attribute::optional("p", Type::String).write_only(),
            Attribute::optional("q", Type::String),
        ]);
        let inner = Block::new(vec![Attribute::optional("s", Type::String).write_only()]);
        for (name, nesting) in [
            ("one", Nesting::Single),
            ("many", Nesting::List),
            ("set", Nesting::Set),
        ] {
            b.blocks.push(NestedBlock {
                type_name: name.into(),
                block: inner.clone(),
                nesting,
                min_items: 0,
                max_items: 0,
            });
        }
        let set = |v: Value| Value::object([("s", v)]);
        let v = Value::object([
            ("p", Value::unknown()),
            ("q", Value::string("x")),
            ("one", set(Value::Null)),
            (
                "many",
                Value::List(vec![set(Value::Null), set(Value::string("secret"))].into()),
            ),
            ("set", Value::Set(vec![set(Value::string("secret"))].into())),
        ]);
        let paths: Vec<String> = b.write_only_set(&v).iter().map(|p| p.to_string()).collect();
        // Unknown counts as set: the value would reach state once known.
        // A set element has no index: the block is pointed at.
        assert_eq!(paths, ["p", "many[1].s", "set"]);
        let unset = Value::object([("q", Value::string("x"))]);
        assert!(b.write_only_set(&unset).is_empty());
        assert!(b.write_only_set(&Value::Null).is_empty());
    }

    #[test]
    fn write_only_is_nulled() {
        let b = Block::new(vec![
            Attribute::optional("p", Type::String).write_only(),
            Attribute::optional("q", Type::String),
        ]);
        let mut v = Value::object([("p", Value::string("secret")), ("q", Value::string("x"))]);
        b.null_write_only(&mut v);
        assert!(v.attr("p").is_null());
        assert_eq!(v.attr("q").as_str(), Some("x"));
    }
}
