//! A bounds-checked msgpack reader: one item header at a time, every length checked
//! against the bytes actually present, nothing preallocated from a length on the wire.

use crate::cty::limits::{deep, MAX_DEPTH};

/// One msgpack item header; strings, binaries and extensions come with their payload.
#[derive(Debug, Clone, Copy)]
pub(super) enum Head<'a> {
    Nil,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(&'a [u8]),
    Bin(&'a [u8]),
    Array(usize),
    Map(usize),
    Ext(i8, &'a [u8]),
}

impl Head<'_> {
    pub(super) fn describe(&self) -> &'static str {
        match self {
            Head::Nil => "nil",
            Head::Bool(_) => "bool",
            Head::Int(_) | Head::Uint(_) => "integer",
            Head::Float(_) => "float",
            Head::Str(_) => "string",
            Head::Bin(_) => "binary",
            Head::Array(_) => "array",
            Head::Map(_) => "map",
            Head::Ext(..) => "extension",
        }
    }
}

/// A bounds-checked cursor over msgpack bytes.
pub(super) struct Reader<'a> {
    buf: &'a [u8],
    pub(super) pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// How many bytes are left to read.
    pub(super) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.buf.len())
            .ok_or_else(|| {
                format!(
                    "truncated input: {n} more bytes expected at offset {}",
                    self.pos
                )
            })?;
        let s = self.buf.get(self.pos..end).ok_or("truncated input")?;
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.array::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_be_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    fn len8(&mut self) -> Result<usize, String> {
        Ok(usize::from(self.u8()?))
    }
    fn len16(&mut self) -> Result<usize, String> {
        Ok(usize::from(self.u16()?))
    }
    fn len32(&mut self) -> Result<usize, String> {
        usize::try_from(self.u32()?).map_err(|_| "length does not fit in memory".to_string())
    }

    /// The length of the `nth` (0, 1, 2) form of an 8/16/32-bit sized family (str, bin, ext).
    fn len_of_width(&mut self, nth: u8) -> Result<usize, String> {
        match nth {
            0 => self.len8(),
            1 => self.len16(),
            _ => self.len32(),
        }
    }

    fn ext(&mut self, len: usize) -> Result<Head<'a>, String> {
        let code = i8::from_be_bytes(self.array()?);
        Ok(Head::Ext(code, self.take(len)?))
    }

    /// Reads one header (and the payload of a string, binary or extension).
    pub(super) fn head(&mut self) -> Result<Head<'a>, String> {
        let marker = self.u8()?;
        Ok(match marker {
            0x00..=0x7f => Head::Uint(u64::from(marker)),
            0x80..=0x8f => Head::Map(usize::from(marker & 0x0f)),
            0x90..=0x9f => Head::Array(usize::from(marker & 0x0f)),
            0xa0..=0xbf => Head::Str(self.take(usize::from(marker & 0x1f))?),
            0xc0 => Head::Nil,
            0xc1 => return Err("invalid msgpack marker 0xc1".into()),
            0xc2 => Head::Bool(false),
            0xc3 => Head::Bool(true),
            0xc4..=0xc6 => {
                let n = self.len_of_width(marker - 0xc4)?;
                Head::Bin(self.take(n)?)
            }
            0xc7..=0xc9 => {
                let n = self.len_of_width(marker - 0xc7)?;
                self.ext(n)?
            }
            0xca => Head::Float(f64::from(f32::from_be_bytes(self.array()?))),
            0xcb => Head::Float(f64::from_be_bytes(self.array()?)),
            0xcc => Head::Uint(u64::from(self.u8()?)),
            0xcd => Head::Uint(u64::from(self.u16()?)),
            0xce => Head::Uint(u64::from(self.u32()?)),
            0xcf => Head::Uint(u64::from_be_bytes(self.array()?)),
            0xd0 => Head::Int(i64::from(i8::from_be_bytes(self.array()?))),
            0xd1 => Head::Int(i64::from(i16::from_be_bytes(self.array()?))),
            0xd2 => Head::Int(i64::from(i32::from_be_bytes(self.array()?))),
            0xd3 => Head::Int(i64::from_be_bytes(self.array()?)),
            0xd4 => self.ext(1)?,
            0xd5 => self.ext(2)?,
            0xd6 => self.ext(4)?,
            0xd7 => self.ext(8)?,
            0xd8 => self.ext(16)?,
            0xd9..=0xdb => {
                let n = self.len_of_width(marker - 0xd9)?;
                Head::Str(self.take(n)?)
            }
            0xdc => Head::Array(self.len16()?),
            0xdd => Head::Array(self.len32()?),
            0xde => Head::Map(self.len16()?),
            0xdf => Head::Map(self.len32()?),
            0xe0..=0xff => Head::Int(i64::from(marker as i8)),
        })
    }

    /// Skips one whole item (for refinement keys we do not know).
    pub(super) fn skip(&mut self, depth: usize) -> Result<(), String> {
        deep(|| self.skip_here(depth))
    }

    /// One level of [`Self::skip`], run by it on a stack with room to spare.
    fn skip_here(&mut self, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err("nested too deeply".into());
        }
        match self.head()? {
            Head::Array(n) => {
                for _ in 0..n {
                    self.skip(depth + 1)?;
                }
            }
            Head::Map(n) => {
                for _ in 0..n {
                    self.skip(depth + 1)?;
                    self.skip(depth + 1)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

pub(super) fn utf8(b: &[u8]) -> Result<String, String> {
    std::str::from_utf8(b)
        .map(str::to_owned)
        .map_err(|e| format!("string is not valid UTF-8: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_rejects_truncation_without_panicking() {
        for bytes in [
            &[0xdbu8, 0xff, 0xff, 0xff, 0xff][..],
            &[0xcb, 0],
            &[0xc9, 0, 0],
            &[0xc1],
        ] {
            assert!(Reader::new(bytes).head().is_err(), "{bytes:x?}");
        }
    }

    #[test]
    fn skip_handles_nesting() {
        let mut r = Reader::new(&[0x92, 0x81, 0xa1, b'a', 0x90, 0xc0, 0x07]);
        r.skip(0).unwrap();
        assert_eq!(r.head().unwrap().describe(), "integer");
        assert!(r.at_end());
    }
}
