//! Proptest strategies for cty types, shared by the codec suite (`cty_codec.rs`) and the
//! bounded fuzzing of `cty_conformance.rs`.
//!
//! Declared with `pub mod common_cty;`, so the helpers a test file leaves unused are not
//! dead code (see `tests/common/mod.rs`).

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use terraform_provider_defentry::sdk::cty::Type;

/// How [`arb_type`] names object attributes.
#[derive(Clone, Copy)]
pub enum AttrNames {
    /// Random `[a-z_]{1,6}` names.
    Random,
    /// `a0`, `a1`, ... in order.
    Indexed,
}

/// Arbitrary cty types: primitives and `Dynamic` at the leaves, nested at most `depth` deep
/// in lists, sets, maps, tuples and objects of fewer than `width` elements; `size` is
/// proptest's desired number of nodes.
pub fn arb_type(
    depth: u32,
    size: u32,
    width: usize,
    names: AttrNames,
) -> impl Strategy<Value = Type> {
    let leaf = prop_oneof![
        Just(Type::String),
        Just(Type::Number),
        Just(Type::Bool),
        Just(Type::Dynamic),
    ];
    leaf.prop_recursive(depth, size, width as u32, move |inner| {
        let object = match names {
            AttrNames::Random => btree_map("[a-z_]{1,6}", inner.clone(), 0..width)
                .prop_map(Type::Object)
                .boxed(),
            AttrNames::Indexed => vec(inner.clone(), 0..width)
                .prop_map(|ts| {
                    Type::object(
                        ts.into_iter()
                            .enumerate()
                            .map(|(i, t)| (format!("a{i}"), t)),
                    )
                })
                .boxed(),
        };
        prop_oneof![
            inner.clone().prop_map(Type::list),
            inner.clone().prop_map(Type::set),
            inner.clone().prop_map(Type::map),
            vec(inner, 0..width).prop_map(Type::Tuple),
            object,
        ]
    })
}
