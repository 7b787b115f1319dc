//! A small binary codec for read-model snapshots: little-endian integers, length-prefixed
//! byte strings and `u32` arrays, roaring bitmaps in their portable format.
//!
//! The decoder never trusts a length: every count is checked against the bytes the snapshot
//! still holds before anything is allocated, so a truncated or corrupt file fails with an error
//! instead of an enormous allocation or a panic (the checksum is only known at the end).

use std::io::{self, Read, Write};

use roaring::RoaringBitmap;

/// Writes snapshot values.
pub(crate) struct Encoder<W: Write> {
    out: W,
}

impl<W: Write> Encoder<W> {
    pub fn new(out: W) -> Self {
        Self { out }
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    pub fn u8(&mut self, v: u8) -> io::Result<()> {
        self.out.write_all(&[v])
    }

    pub fn u16(&mut self, v: u16) -> io::Result<()> {
        self.out.write_all(&v.to_le_bytes())
    }

    pub fn u32(&mut self, v: u32) -> io::Result<()> {
        self.out.write_all(&v.to_le_bytes())
    }

    pub fn u64(&mut self, v: u64) -> io::Result<()> {
        self.out.write_all(&v.to_le_bytes())
    }

    pub fn len(&mut self, n: usize) -> io::Result<()> {
        self.u64(n as u64)
    }

    pub fn bytes(&mut self, v: &[u8]) -> io::Result<()> {
        self.len(v.len())?;
        self.out.write_all(v)
    }

    pub fn str(&mut self, v: &str) -> io::Result<()> {
        self.bytes(v.as_bytes())
    }

    pub fn u32s(&mut self, v: &[u32]) -> io::Result<()> {
        self.len(v.len())?;
        let mut buf = Vec::with_capacity(v.len() * 4);
        for x in v {
            buf.extend_from_slice(&x.to_le_bytes());
        }
        self.out.write_all(&buf)
    }

    pub fn bitmap(&mut self, v: &RoaringBitmap) -> io::Result<()> {
        self.len(v.serialized_size())?;
        v.serialize_into(&mut self.out)
    }
}

/// Reads snapshot values, counting the bytes left.
pub(crate) struct Decoder<R: Read> {
    input: R,
    remaining: u64,
}

fn corrupt(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("corrupt snapshot: {what}"),
    )
}

impl<R: Read> Decoder<R> {
    /// Reads at most `len` bytes from `input`.
    pub fn new(input: R, len: u64) -> Self {
        Self {
            input,
            remaining: len,
        }
    }

    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    pub fn into_inner(self) -> R {
        self.input
    }

    fn take(&mut self, n: u64) -> io::Result<()> {
        self.remaining = self
            .remaining
            .checked_sub(n)
            .ok_or_else(|| corrupt("a length runs past the end"))?;
        Ok(())
    }

    fn array<const N: usize>(&mut self) -> io::Result<[u8; N]> {
        self.take(N as u64)?;
        let mut buf = [0u8; N];
        self.input.read_exact(&mut buf)?;
        Ok(buf)
    }

    pub fn u8(&mut self) -> io::Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    pub fn u16(&mut self) -> io::Result<u16> {
        self.array().map(u16::from_le_bytes)
    }

    pub fn u32(&mut self) -> io::Result<u32> {
        self.array().map(u32::from_le_bytes)
    }

    pub fn u64(&mut self) -> io::Result<u64> {
        self.array().map(u64::from_le_bytes)
    }

    /// A count of items of at least `item_bytes` each, checked against what is left.
    pub fn len(&mut self, item_bytes: u64) -> io::Result<usize> {
        let n = self.u64()?;
        if n.saturating_mul(item_bytes.max(1)) > self.remaining {
            return Err(corrupt("a count exceeds the snapshot's size"));
        }
        usize::try_from(n).map_err(|_| corrupt("a count does not fit in memory"))
    }

    pub fn bytes(&mut self) -> io::Result<Vec<u8>> {
        let n = self.len(1)?;
        self.take(n as u64)?;
        let mut buf = vec![0u8; n];
        self.input.read_exact(&mut buf)?;
        Ok(buf)
    }

    pub fn string(&mut self) -> io::Result<String> {
        String::from_utf8(self.bytes()?).map_err(|_| corrupt("text is not UTF-8"))
    }

    pub fn u32s(&mut self) -> io::Result<Vec<u32>> {
        let n = self.len(4)?;
        self.take(n as u64 * 4)?;
        let mut buf = vec![0u8; n * 4];
        self.input.read_exact(&mut buf)?;
        Ok(buf
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    pub fn bitmap(&mut self) -> io::Result<RoaringBitmap> {
        let n = self.len(1)?;
        self.take(n as u64)?;
        let mut limited = (&mut self.input).take(n as u64);
        let bitmap = RoaringBitmap::deserialize_from(&mut limited)?;
        if limited.limit() != 0 {
            return Err(corrupt("a bitmap is shorter than its length"));
        }
        Ok(bitmap)
    }
}
