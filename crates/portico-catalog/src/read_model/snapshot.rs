//! Read-model snapshots: the whole index in one file, so that a restart loads it instead of
//! rebuilding it from every stored entity (ADR 5).
//!
//! Layout: a fixed header — magic `PORTICO\x01`, format version, body length, SHA-256 of the
//! body — then the body: the [`SnapshotPosition`] it was taken at, then the index (see
//! `index/snapshot.rs`). Reading streams the body through the hash with bounded buffers and
//! checks it at the end; any mismatch (truncated, corrupt, other version, other full-text keys)
//! is an error and the caller rebuilds. The position tells the engine which store changes the
//! snapshot may lack.

use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use sha2::{Digest, Sha256};

use super::ReadModel;
use super::codec::{Decoder, Encoder};
use super::index::Index;

const MAGIC: &[u8; 8] = b"PORTICO\x01";
/// Bumped whenever the body's layout changes: an older snapshot is then rebuilt, never misread.
pub const SNAPSHOT_FORMAT: u32 = 2;
const HEADER_LEN: usize = 8 + 4 + 8 + 32;

/// Where in the store's history a snapshot was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotPosition {
    /// Identity of the database (a snapshot of another database is never used).
    pub store_instance: String,
    /// The store's change sequence: every change up to it is in the snapshot.
    pub change_seq: i64,
}

/// Why a snapshot could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Reading or writing failed, or the bytes are not a valid snapshot.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// Not a snapshot, or one of another format version.
    #[error("not a read-model snapshot of format {SNAPSHOT_FORMAT}: {0}")]
    Format(String),
    /// The body's checksum does not match: the file is corrupt.
    #[error("the snapshot's checksum does not match its contents (corrupt file)")]
    Checksum,
    /// The snapshot was built with other full-text keys than asked for.
    #[error("the snapshot indexes other full-text keys ({found:?}, expected {expected:?})")]
    FullTextKeys {
        /// Keys in the snapshot.
        found: Vec<String>,
        /// Keys asked for.
        expected: Vec<String>,
    },
}

struct HashingWriter<W> {
    inner: W,
    hash: Sha256,
    written: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(buf.get(..n).unwrap_or_default());
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

struct HashingReader<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(buf.get(..n).unwrap_or_default());
        Ok(n)
    }
}

impl ReadModel {
    /// Writes the read model as a snapshot taken at `position` to `out` (from its start).
    pub fn write_snapshot<W: Write + Seek>(
        &self,
        mut out: W,
        position: &SnapshotPosition,
    ) -> Result<(), SnapshotError> {
        out.seek(SeekFrom::Start(0))?;
        out.write_all(&[0u8; HEADER_LEN])?;
        let hashing = HashingWriter {
            inner: &mut out,
            hash: Sha256::new(),
            written: 0,
        };
        let mut enc = Encoder::new(BufWriter::with_capacity(1 << 16, hashing));
        enc.str(&position.store_instance)?;
        enc.u64(position.change_seq as u64)?;
        self.index.encode(&mut enc)?;
        let hashing = enc
            .into_inner()
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        let (len, digest) = (hashing.written, hashing.hash.finalize());
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&SNAPSHOT_FORMAT.to_le_bytes());
        header.extend_from_slice(&len.to_le_bytes());
        header.extend_from_slice(&digest);
        out.seek(SeekFrom::Start(0))?;
        out.write_all(&header)?;
        out.flush()?;
        Ok(())
    }

    /// Reads a snapshot written by [`ReadModel::write_snapshot`] whose trigram-indexed keys must
    /// be `full_text_keys`; returns it with the position it was taken at.
    pub fn read_snapshot<R: Read>(
        mut input: R,
        full_text_keys: &[&str],
    ) -> Result<(ReadModel, SnapshotPosition), SnapshotError> {
        let mut header = [0u8; HEADER_LEN];
        input
            .read_exact(&mut header)
            .map_err(|_| SnapshotError::Format("the file is shorter than a header".to_owned()))?;
        let (magic, rest) = header.split_at(8);
        let (version, rest) = rest.split_at(4);
        let (len, digest) = rest.split_at(8);
        if magic != MAGIC {
            return Err(SnapshotError::Format("wrong magic bytes".to_owned()));
        }
        let version = u32::from_le_bytes(version.try_into().unwrap_or_default());
        if version != SNAPSHOT_FORMAT {
            return Err(SnapshotError::Format(format!("format version {version}")));
        }
        let len = u64::from_le_bytes(len.try_into().unwrap_or_default());
        let hashing = HashingReader {
            inner: input.take(len),
            hash: Sha256::new(),
        };
        let mut dec = Decoder::new(BufReader::with_capacity(1 << 16, hashing), len);
        let store_instance = dec.string()?;
        let change_seq = dec.u64()? as i64;
        let index = Index::decode(&mut dec)?;
        if dec.remaining() != 0 {
            return Err(SnapshotError::Format(
                "bytes left after the index".to_owned(),
            ));
        }
        let hashing = dec.into_inner().into_inner();
        if hashing.hash.finalize().as_slice() != digest {
            return Err(SnapshotError::Checksum);
        }
        let expected: Vec<String> = full_text_keys.iter().map(|k| k.to_lowercase()).collect();
        if index.ngram_keys() != expected.as_slice() {
            return Err(SnapshotError::FullTextKeys {
                found: index.ngram_keys().to_vec(),
                expected,
            });
        }
        Ok((
            ReadModel { index },
            SnapshotPosition {
                store_instance,
                change_seq,
            },
        ))
    }
}
