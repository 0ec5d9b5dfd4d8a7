//! The type-conformance check behind [`Value::conforms`], which every encoder runs first.

use super::limits::{deep, MAX_DEPTH};
use super::path::{index_step, AttributePath, PathStep};
use super::value::{CtyError, Type, Value};

impl Value {
    /// Checks that the value conforms to `ty` (objects must carry exactly their attributes).
    pub fn conforms(&self, ty: &Type) -> Result<(), CtyError> {
        check_conforms(self, ty, &mut AttributePath::root())
    }
}

/// Checks that `v` conforms to `ty`: shapes match, objects carry exactly their
/// attributes, dynamic values carry their concrete type, and refinements of unknowns
/// suit the type. Null and unknown conform to any type. Errors are reported at `path`
/// plus the steps into `v`; `path` is left as it was given.
pub(super) fn check_conforms(
    v: &Value,
    ty: &Type,
    path: &mut AttributePath,
) -> Result<(), CtyError> {
    let base = path.steps.len();
    let result = check(v, ty, path, 0);
    path.steps.truncate(base);
    result
}

fn check(v: &Value, ty: &Type, path: &mut AttributePath, depth: usize) -> Result<(), CtyError> {
    deep(|| check_here(v, ty, path, depth))
}

/// One level of [`check`], run by it on a stack with room to spare.
fn check_here(
    v: &Value,
    ty: &Type,
    path: &mut AttributePath,
    depth: usize,
) -> Result<(), CtyError> {
    let fail = |path: &AttributePath, reason: String| CtyError::mismatch(path, ty, reason);
    if depth > MAX_DEPTH {
        return Err(fail(
            path,
            format!("nested more than {MAX_DEPTH} levels deep"),
        ));
    }
    let each = |path: &mut AttributePath,
                items: &mut dyn Iterator<Item = (PathStep, &Value, &Type)>|
     -> Result<(), CtyError> {
        for (step, ev, ety) in items {
            path.push(step);
            check(ev, ety, path, depth + 1)?;
            path.pop();
        }
        Ok(())
    };
    match (v, ty) {
        (Value::Null, _) | (Value::Unknown(_), Type::Dynamic) => Ok(()),
        (Value::Unknown(rf), _) => {
            let misplaced = if rf.string_prefix.is_some() && *ty != Type::String {
                Some("a string prefix")
            } else if (rf.number_lower.is_some() || rf.number_upper.is_some())
                && *ty != Type::Number
            {
                Some("number bounds")
            } else if (rf.length_min.is_some() || rf.length_max.is_some())
                && !matches!(ty, Type::List(_) | Type::Set(_) | Type::Map(_))
            {
                Some("length bounds")
            } else {
                None
            };
            if let Some(what) = misplaced {
                return Err(fail(
                    path,
                    format!(
                        "an unknown {} cannot be refined with {what}",
                        ty.friendly_name()
                    ),
                ));
            }
            match rf.contradiction() {
                Some(why) => Err(fail(path, format!("inconsistent refinements: {why}"))),
                None => Ok(()),
            }
        }
        (Value::Dynamic(d), Type::Dynamic) => check(&d.1, &d.0, path, depth + 1),
        (_, Type::Dynamic) => Err(fail(
            path,
            format!(
                "found {} without its concrete type (use Value::Dynamic)",
                v.describe()
            ),
        )),
        (Value::String(_), Type::String)
        | (Value::Number(_) | Value::Infinity { .. }, Type::Number)
        | (Value::Bool(_), Type::Bool) => Ok(()),
        (Value::List(vs), Type::List(ety)) | (Value::Set(vs), Type::Set(ety)) => each(
            path,
            &mut vs
                .iter()
                .enumerate()
                .map(|(i, ev)| (index_step(i), ev, &**ety)),
        ),
        (Value::List(vs), Type::Tuple(etys)) => {
            if vs.len() != etys.len() {
                return Err(fail(
                    path,
                    format!("{} elements where the tuple has {}", vs.len(), etys.len()),
                ));
            }
            each(
                path,
                &mut vs
                    .iter()
                    .zip(etys)
                    .enumerate()
                    .map(|(i, (ev, ety))| (index_step(i), ev, ety)),
            )
        }
        (Value::Map(m), Type::Map(ety)) => each(
            path,
            &mut m
                .iter()
                .map(|(k, ev)| (PathStep::Key(k.clone()), ev, &**ety)),
        ),
        (Value::Map(m), Type::Object(atys)) => {
            if let Some(name) = atys.keys().find(|k| !m.contains_key(k)) {
                return Err(fail(path, format!("missing attribute {name:?}")));
            }
            if let Some(name) = m.keys().find(|k| !atys.contains_key(*k)) {
                return Err(fail(path, format!("unexpected attribute {name:?}")));
            }
            each(
                path,
                &mut atys.iter().filter_map(|(name, aty)| {
                    m.get(name)
                        .map(|av| (PathStep::Attr(name.clone()), av, aty))
                }),
            )
        }
        _ => Err(fail(path, format!("found {}", v.describe()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cty::Refinements;

    #[test]
    fn conformance_errors_carry_the_path() {
        let ty = Type::object([("a", Type::list(Type::map(Type::Bool)))]);
        let v = Value::object([(
            "a",
            Value::List(vec![Value::object([("k", Value::string("x"))])].into()),
        )]);
        let err = v.conforms(&ty).unwrap_err();
        let CtyError::TypeMismatch { path, expected, .. } = err else {
            panic!("{err:?}")
        };
        assert_eq!(path.to_string(), r#"a[0]["k"]"#);
        assert_eq!(expected, "bool");
    }

    #[test]
    fn misplaced_refinements_do_not_conform() {
        let rf = Refinements {
            string_prefix: Some("x".into()),
            ..Default::default()
        };
        let v = Value::Unknown(Box::new(rf));
        assert!(v.conforms(&Type::String).is_ok());
        assert!(v.conforms(&Type::Number).is_err());
        // Under dynamic, refinements are dropped on the wire and never wrong.
        assert!(v.conforms(&Type::Dynamic).is_ok());
    }
}
