//! Attribute paths: where in a value a diagnostic or error points.

use std::fmt;

/// One step into a value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathStep {
    /// An object attribute.
    Attr(String),
    /// A map key.
    Key(String),
    /// A list or tuple index.
    Index(i64),
}

/// A path from the root of a value, like `tfprotov6.AttributePath`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AttributePath {
    /// The steps, outermost first.
    pub steps: Vec<PathStep>,
}

impl AttributePath {
    /// The empty path (the whole value).
    pub fn root() -> Self {
        Self::default()
    }
    /// A path to a top-level attribute.
    pub fn attr(name: impl Into<String>) -> Self {
        Self {
            steps: vec![PathStep::Attr(name.into())],
        }
    }
    /// This path, one attribute further.
    pub fn at_attr(mut self, name: impl Into<String>) -> Self {
        self.steps.push(PathStep::Attr(name.into()));
        self
    }
    /// This path, at a map key.
    pub fn at_key(mut self, key: impl Into<String>) -> Self {
        self.steps.push(PathStep::Key(key.into()));
        self
    }
    /// This path, at a list index.
    pub fn at_index(mut self, i: i64) -> Self {
        self.steps.push(PathStep::Index(i));
        self
    }
    /// Pushes a step in place (for recursive walkers).
    pub fn push(&mut self, step: PathStep) {
        self.steps.push(step);
    }
    /// Pops the last step (for recursive walkers).
    pub fn pop(&mut self) {
        self.steps.pop();
    }
    /// Whether this is the root path.
    pub fn is_root(&self) -> bool {
        self.steps.is_empty()
    }
}

impl fmt::Display for AttributePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.steps.is_empty() {
            return f.write_str("(root)");
        }
        for (i, s) in self.steps.iter().enumerate() {
            match s {
                PathStep::Attr(a) if i == 0 => write!(f, "{a}")?,
                PathStep::Attr(a) => write!(f, ".{a}")?,
                PathStep::Key(k) => write!(f, "[{k:?}]")?,
                PathStep::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// The step to element `i` of a list or tuple.
pub(super) fn index_step(i: usize) -> PathStep {
    PathStep::Index(i64::try_from(i).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_like_hcl() {
        let p = AttributePath::attr("triggers")
            .at_key("a")
            .at_index(2)
            .at_attr("b");
        assert_eq!(p.to_string(), r#"triggers["a"][2].b"#);
        assert_eq!(AttributePath::root().to_string(), "(root)");
    }
}
