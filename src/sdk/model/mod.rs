//! Typed models: serde over the cty [`Value`], so provider code declares its configuration
//! and state as Rust structs instead of reading attributes by name.
//!
//! Objects map to structs by attribute name; `Option` stands for values that may be null
//! and [`Maybe`] for values that may also be unknown (validation and planning).
//! [`check_model`] lets a unit test prove that a model and its schema agree.

mod de;
mod error;
mod maybe;
mod ser;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::cty::{AttributePath, PathStep, Type, Value};
use super::schema::Block;

pub use error::ModelError;
pub use maybe::Maybe;

/// Reads a model from a value (object -> struct by attribute name).
pub fn from_value<T: DeserializeOwned>(v: &Value) -> Result<T, ModelError> {
    T::deserialize(de::De::new(v, None))
}

/// [`from_value`], with null (no object: the prior state of a create, the plan of a destroy,
/// an absent provider block) read as the model's default.
pub fn from_value_or_default<T: DeserializeOwned + Default>(v: &Value) -> Result<T, ModelError> {
    if v.is_null() {
        return Ok(T::default());
    }
    from_value(v)
}

/// Writes a model as a value of type `ty`, ready for Terraform: object attributes the
/// model does not name become null, lists become sets where `ty` says set, `dynamic`
/// values carry their type, [`Maybe::Unknown`] is unknown. Fails when the result does
/// not conform to `ty`, so a model cannot hand Terraform a value of the wrong shape.
pub fn to_value<T: Serialize + ?Sized>(t: &T, ty: &Type) -> Result<Value, ModelError> {
    let mut v = t.serialize(ser::Ser {
        path: AttributePath::root(),
    })?;
    shape(&mut v, ty, true);
    v.conforms(ty)?;
    Ok(v)
}

/// Writes a model over `base`, the value it was read from: what the model left as it was
/// keeps its original value, including what a model cannot express (the refinements
/// Terraform attaches to unknown values, which a plan must return untouched for every
/// attribute the provider does not decide). Otherwise like [`to_value`].
pub fn update_value<T: Serialize + ?Sized>(
    base: &Value,
    t: &T,
    ty: &Type,
) -> Result<Value, ModelError> {
    let new = to_value(t, ty)?;
    Ok(keep_unchanged(base, new))
}

/// `new`, with every part equal to `base` but for refinements taken from `base`.
fn keep_unchanged(base: &Value, new: Value) -> Value {
    if unrefined(base) == new {
        return base.clone();
    }
    let mut new = new;
    match (base, &mut new) {
        (Value::Map(old), Value::Map(entries)) => Value::Map(
            std::mem::take(entries)
                .into_iter()
                .map(|(k, v)| {
                    let v = match old.get(&k) {
                        Some(o) => keep_unchanged(o, v),
                        None => v,
                    };
                    (k, v)
                })
                .collect(),
        ),
        _ => new,
    }
}

/// The value with the refinements of its unknowns dropped, as a model reads it.
fn unrefined(v: &Value) -> Value {
    match v {
        Value::Unknown(_) => Value::unknown(),
        Value::List(vs) => Value::List(vs.iter().map(unrefined).collect()),
        Value::Set(vs) => Value::Set(vs.iter().map(unrefined).collect()),
        Value::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), unrefined(v))).collect()),
        Value::Dynamic(d) => Value::Dynamic(Box::new((d.0.clone(), unrefined(&d.1)))),
        other => other.clone(),
    }
}

/// For a unit test per resource: checks that model `T` and schema `block` name the same
/// attributes with the same types, nested blocks included.
///
/// Reads a sample value (every attribute known and non-null) as `T` and writes it back;
/// the error lists each mismatching attribute and why, one per line.
pub fn check_model<T: Serialize + DeserializeOwned>(block: &Block) -> Result<(), String> {
    let ty = block.implied_type();
    let sample = sample(&ty);
    let log = de::Log::default();
    let read = T::deserialize(de::De::new(&sample, Some(&log)));
    let mut problems = log.into_inner();
    match read.and_then(|t| {
        t.serialize(ser::Ser {
            path: AttributePath::root(),
        })
    }) {
        Ok(mut back) => {
            shape(&mut back, &ty, false);
            diff(
                &sample,
                &back,
                &ty,
                &mut AttributePath::root(),
                &mut problems,
            );
        }
        Err(e) => problems.push(e),
    }
    // One line per attribute: the first reason found for it.
    let mut by_path = BTreeMap::new();
    for p in problems {
        let at = p.path().map(ToString::to_string).unwrap_or_default();
        by_path.entry(at).or_insert_with(|| p.to_string());
    }
    match by_path.is_empty() {
        true => Ok(()),
        false => Err(by_path.into_values().collect::<Vec<_>>().join("\n")),
    }
}

/// Fits an untyped tree to `ty`: sets where it says set, `dynamic` wrappers, and (with
/// `fill`) null for object attributes the tree lacks.
fn shape(v: &mut Value, ty: &Type, fill: bool) {
    match (&mut *v, ty) {
        (Value::Map(m), Type::Object(attrs)) => {
            for (name, aty) in attrs {
                match m.get_mut(name) {
                    Some(av) => shape(av, aty, fill),
                    None if fill => {
                        m.insert(name.clone(), Value::Null);
                    }
                    None => {}
                }
            }
        }
        (Value::Map(m), Type::Map(ety)) => m.values_mut().for_each(|ev| shape(ev, ety, fill)),
        (Value::List(items), Type::List(ety)) => {
            items.iter_mut().for_each(|ev| shape(ev, ety, fill))
        }
        (Value::List(items), Type::Set(ety)) => {
            items.iter_mut().for_each(|ev| shape(ev, ety, fill));
            *v = Value::Set(std::mem::take(items));
        }
        (Value::List(items), Type::Tuple(etys)) => items
            .iter_mut()
            .zip(etys)
            .for_each(|(ev, ety)| shape(ev, ety, fill)),
        (Value::Null | Value::Unknown(_) | Value::Dynamic(_), Type::Dynamic) => {}
        (_, Type::Dynamic) => {
            let inner = std::mem::replace(v, Value::Null);
            *v = Value::Dynamic(Box::new((implied_type(&inner), inner)));
        }
        _ => {}
    }
}

/// The type a value written under `dynamic` has, as go-cty infers it from JSON.
fn implied_type(v: &Value) -> Type {
    match v {
        Value::String(_) => Type::String,
        Value::Number(_) | Value::Infinity { .. } => Type::Number,
        Value::Bool(_) => Type::Bool,
        Value::List(items) => Type::Tuple(items.iter().map(implied_type).collect()),
        Value::Map(m) => Type::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), implied_type(v)))
                .collect(),
        ),
        _ => Type::Dynamic,
    }
}

/// A value of type `ty` with every part known and non-null.
fn sample(ty: &Type) -> Value {
    match ty {
        Type::String => Value::string("s"),
        // Whole, so that integer and float fields both read it.
        Type::Number => Value::int(1),
        Type::Bool => Value::Bool(true),
        Type::Dynamic => Value::Dynamic(Box::new((Type::String, Value::string("s")))),
        Type::List(ety) => Value::List(vec![sample(ety)].into()),
        Type::Set(ety) => Value::Set(vec![sample(ety)].into()),
        Type::Map(ety) => Value::object([("k", sample(ety))]),
        Type::Tuple(etys) => Value::List(etys.iter().map(sample).collect()),
        Type::Object(attrs) => {
            Value::Map(attrs.iter().map(|(k, t)| (k.clone(), sample(t))).collect())
        }
    }
}

/// Reports where `got` (a model's write-back) differs from `want` (the sample of `ty`).
fn diff(want: &Value, got: &Value, ty: &Type, at: &mut AttributePath, out: &mut Vec<ModelError>) {
    let note = |path: AttributePath, message: &str| ModelError::Custom {
        path,
        message: message.to_string(),
    };
    let children: Vec<(PathStep, &Value, &Value, &Type)> = match (ty, want, got) {
        (Type::Object(attrs), Value::Map(w), Value::Map(g)) => {
            for name in attrs.keys().filter(|k| !g.contains_key(k)) {
                let path = at.clone().at_attr(name.clone());
                out.push(note(path, "in the schema but not in the model"));
            }
            for name in g.keys().filter(|k| !attrs.contains_key(*k)) {
                let path = at.clone().at_attr(name.clone());
                out.push(note(path, "in the model but not in the schema"));
            }
            attrs
                .iter()
                .filter_map(|(k, t)| Some((PathStep::Attr(k.clone()), w.get(k)?, g.get(k)?, t)))
                .collect()
        }
        (Type::List(ety), Value::List(w), Value::List(g))
        | (Type::Set(ety), Value::Set(w), Value::Set(g))
            if w.len() == g.len() =>
        {
            (0..)
                .zip(w.iter().zip(g))
                .map(|(i, (w, g))| (PathStep::Index(i), w, g, &**ety))
                .collect()
        }
        (Type::Map(ety), Value::Map(w), Value::Map(g)) if w.keys().eq(g.keys()) => w
            .iter()
            .zip(g.values())
            .map(|((k, w), g)| (PathStep::Key(k.clone()), w, g, &**ety))
            .collect(),
        _ if want == got => Vec::new(),
        _ => {
            let why = format!("the schema says {ty}; the model writes {}", got.describe());
            out.push(note(at.clone(), &why));
            Vec::new()
        }
    };
    for (step, w, g, t) in children {
        at.push(step);
        diff(w, g, t, at, out);
        at.pop();
    }
}
