//! Private data: what a provider keeps beside an object's state, opaque to Terraform and never
//! shown to users. Typed through serde (stored as JSON), so each object type declares its own
//! struct instead of handling bytes.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// An object's private data, as Terraform stores and returns it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Private(Vec<u8>);

impl Private {
    /// Private data holding `value` (JSON). Serialising plain data cannot fail; if a custom
    /// `Serialize` impl does, the result is empty, which reads back as the default.
    pub fn of<T: Serialize>(value: &T) -> Self {
        Self(serde_json::to_vec(value).unwrap_or_default())
    }

    /// The stored value; the default when there is none or when it was written by another
    /// version in a shape `T` cannot read (private data is advisory: the state is the truth).
    pub fn get<T: DeserializeOwned + Default>(&self) -> T {
        serde_json::from_slice(&self.0).unwrap_or_default()
    }

    /// Whether there is nothing stored.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Wraps the bytes Terraform sent.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The bytes to send to Terraform.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// Never prints the content: a provider may keep something sensitive there.
impl std::fmt::Debug for Private {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Private({} bytes)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Marks {
        #[serde(default)]
        due: bool,
    }

    #[test]
    fn round_trips_and_tolerates_what_it_cannot_read() {
        let p = Private::of(&Marks { due: true });
        assert_eq!(p.get::<Marks>(), Marks { due: true });
        assert_eq!(Private::default().get::<Marks>(), Marks::default());
        assert_eq!(
            Private::from_bytes(b"\xff not json".to_vec()).get::<Marks>(),
            Marks::default()
        );
        // Fields a later version added are ignored by an earlier reader.
        let newer = Private::from_bytes(br#"{"due":true,"extra":1}"#.to_vec());
        assert!(newer.get::<Marks>().due);
        assert_eq!(format!("{newer:?}"), "Private(22 bytes)");
    }
}
