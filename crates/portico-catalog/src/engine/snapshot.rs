//! Saving the read model between runs and keeping it in step with the store (ADR 5).
//!
//! The read model is complete up to a *position*: a number of the store's change sequence
//! (every change to final entities is numbered, in commit order). A snapshot file records the
//! database's identity and that position next to the index. At start the engine loads a
//! snapshot only if it is intact (checksum, format, full-text keys) and belongs to this database
//! at a position it has not passed, then applies the changes numbered after it — a snapshot
//! written long ago or before a crash is caught up, not trusted; anything else is rebuilt from
//! the stored entities. [`Engine::sync_read_model`] applies the changes other processes made
//! to the same database (replicas sharing PostgreSQL). Deletions are remembered for
//! `tombstone_retention` only ([`Engine::prune_tombstones`]); a snapshot or replica further
//! behind than that reloads every entity, since catching up could miss a deletion.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use portico_store::{CatalogStore, ChangePosition};

use super::{Engine, EngineError, EngineResult, STITCH_BATCH};
use crate::read_model::{DEFAULT_FULL_TEXT_KEYS, ReadModel, SnapshotPosition};

/// Results of a catch-up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Entities written or replaced in the read model.
    pub upserted: usize,
    /// Entities removed from it.
    pub removed: usize,
}

/// How [`Engine::load`] filled the read model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadModelOrigin {
    /// From every stored entity (no snapshot, or one that could not be used).
    Rebuilt,
    /// From the snapshot file, then these changes made since it was written.
    Snapshot(SyncReport),
}

impl<S: CatalogStore> Engine<S> {
    pub(super) fn set_origin(&self, origin: ReadModelOrigin) {
        *self
            .origin
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(origin);
    }

    /// How the last [`Engine::load`] filled the read model (`None` before it).
    pub fn read_model_origin(&self) -> Option<ReadModelOrigin> {
        *self
            .origin
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keeps the read model in `path` between runs: [`Engine::load`] starts from it when it is
    /// valid, [`Engine::write_snapshot`] writes it.
    #[must_use]
    pub fn with_snapshot_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.snapshot_path = Some(path.into());
        self
    }

    /// The snapshot file, if the engine keeps one.
    pub fn snapshot_file(&self) -> Option<&Path> {
        self.snapshot_path.as_deref()
    }

    pub(super) fn set_position(&self, position: ChangePosition) {
        *self
            .position
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(position);
    }

    /// The store change the read model is complete up to (`None` before [`Engine::load`]).
    pub fn read_model_position(&self) -> Option<ChangePosition> {
        self.position
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Replaces the read model with the snapshot if it is valid for `store` (now at `now`) and
    /// catches it up; `None` (and a log line saying why) when the caller must rebuild.
    pub(super) async fn load_snapshot(
        &self,
        now: &ChangePosition,
    ) -> EngineResult<Option<SyncReport>> {
        let Some(path) = self.snapshot_path.clone() else {
            return Ok(None);
        };
        let started = std::time::Instant::now();
        let read = tokio::task::spawn_blocking(move || -> Result<_, String> {
            let file = match std::fs::File::open(&path) {
                Ok(file) => file,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(err) => return Err(format!("cannot open {}: {err}", path.display())),
            };
            ReadModel::read_snapshot(file, DEFAULT_FULL_TEXT_KEYS)
                .map(Some)
                .map_err(|err| format!("{}: {err}", path.display()))
        })
        .await
        .map_err(|err| EngineError::Internal(format!("reading the snapshot failed: {err}")))?;
        let (model, at) = match read {
            Ok(Some(found)) => found,
            Ok(None) => return Ok(None),
            Err(why) => {
                tracing::warn!(reason = %why, "Read-model snapshot not usable; rebuilding from the store.");
                return Ok(None);
            }
        };
        if at.store_instance != now.instance {
            tracing::warn!(
                snapshot = %at.store_instance, database = %now.instance,
                "Read-model snapshot belongs to another database; rebuilding from the store."
            );
            return Ok(None);
        }
        if at.change_seq < now.pruned_through {
            tracing::warn!(
                snapshot = at.change_seq,
                pruned_through = now.pruned_through,
                "Read-model snapshot is older than the deletions the database remembers; rebuilding from the store."
            );
            return Ok(None);
        }
        if at.change_seq > now.seq {
            tracing::warn!(
                snapshot = at.change_seq,
                database = now.seq,
                "Read-model snapshot is newer than the database (restored from a backup?); rebuilding from the store."
            );
            return Ok(None);
        }
        *self
            .read_model
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = model;
        let report = self.apply_changes_since(at.change_seq, false).await?;
        if report == SyncReport::default() {
            // The file is current: nothing to write until something changes.
            *self
                .snapshot_written
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(now.seq);
        }
        tracing::info!(
            entities = self.read_model().len(),
            snapshot_seq = at.change_seq,
            database_seq = now.seq,
            upserted = report.upserted,
            removed = report.removed,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "Read model loaded from its snapshot and caught up."
        );
        Ok(Some(report))
    }

    /// Applies every change numbered after `since` (only other processes' with
    /// `foreign_only`).
    async fn apply_changes_since(
        &self,
        since: i64,
        foreign_only: bool,
    ) -> EngineResult<SyncReport> {
        let mut report = SyncReport::default();
        let mut after: Option<(i64, String)> = None;
        loop {
            let page = self
                .store
                .final_changes(
                    since,
                    after.as_ref().map(|(seq, r)| (*seq, r.as_str())),
                    foreign_only,
                    STITCH_BATCH,
                )
                .await?;
            let Some(last) = page.last() else {
                return Ok(report);
            };
            after = Some((last.seq, last.entity_ref.clone()));
            let mut upserted = Vec::new();
            let mut removed = Vec::new();
            for change in page {
                match change.entity {
                    Some(entity) => upserted.push(entity),
                    None => removed.push(change.entity_ref),
                }
            }
            report.upserted += upserted.len();
            report.removed += removed.len();
            self.index(&upserted, &removed);
        }
    }

    /// Catches the read model up with changes other processes made to the database since it
    /// was last complete (several replicas on one PostgreSQL; the refresh loop calls this).
    /// Own changes are in the read model already and are skipped.
    pub async fn sync_read_model(&self) -> EngineResult<SyncReport> {
        let Some(since) = self.read_model_position() else {
            return Ok(SyncReport::default());
        };
        let _gate = self.write_gate.write().await;
        let now = self.store.change_position().await?;
        if now.seq == since.seq {
            return Ok(SyncReport::default());
        }
        if since.seq < now.pruned_through {
            // Deletions since our position may be forgotten: only a reload is exact.
            tracing::warn!(
                position = since.seq,
                pruned_through = now.pruned_through,
                "Read model is behind the deletions the database remembers; reloading every entity."
            );
            let rebuilt = self.rebuild_read_model().await?;
            let report = SyncReport {
                upserted: rebuilt,
                removed: 0,
            };
            self.set_position(now);
            return Ok(report);
        }
        let report = self.apply_changes_since(since.seq, true).await?;
        self.set_position(now);
        Ok(report)
    }

    /// Replaces the read model with one built from every stored entity; returns how many.
    pub(super) async fn rebuild_read_model(&self) -> EngineResult<usize> {
        let fresh = Arc::new(RwLock::new(ReadModel::default()));
        let mut after: Option<String> = None;
        let mut count = 0;
        loop {
            let page = self
                .store
                .final_entities(after.as_deref(), STITCH_BATCH)
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.entity_ref.clone());
            count += page.len();
            let model = Arc::clone(&fresh);
            tokio::task::spawn_blocking(move || super::index_into(&model, &page, &[]))
                .await
                .map_err(|err| EngineError::Internal(format!("indexing failed: {err}")))?;
        }
        let fresh = Arc::try_unwrap(fresh)
            .map_err(|_| EngineError::Internal("the rebuilt read model is still shared".into()))?
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *self
            .read_model
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = fresh;
        Ok(count)
    }

    /// Forgets deletions older than the retention (`tombstone_retention`); returns how many.
    pub async fn prune_tombstones(&self) -> EngineResult<u64> {
        let removed = self
            .store
            .prune_tombstones(self.settings.tombstone_retention)
            .await?;
        if removed > 0 {
            tracing::info!(
                removed,
                "Old deletion tombstones pruned from the change feed."
            );
        }
        Ok(removed)
    }

    /// Writes the read model to the snapshot file (atomically: a temporary file renamed over
    /// it), first catching up with other processes' changes. False when the engine keeps no
    /// snapshot, is not loaded, or wrote this position already.
    pub async fn write_snapshot(&self) -> EngineResult<bool> {
        let Some(path) = self.snapshot_path.clone() else {
            return Ok(false);
        };
        self.sync_read_model().await?;
        let Some(position) = self.read_model_position() else {
            return Ok(false);
        };
        let mut written = self
            .snapshot_written
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *written == Some(position.seq) {
            return Ok(false);
        }
        let position = SnapshotPosition {
            store_instance: position.instance,
            change_seq: position.seq,
        };
        let started = std::time::Instant::now();
        let failed = |err: &dyn std::fmt::Display| {
            EngineError::Internal(format!(
                "cannot write the read-model snapshot {}: {err}",
                path.display()
            ))
        };
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|err| failed(&err))?;
        }
        let mut temporary = path.clone().into_os_string();
        temporary.push(".tmp");
        let temporary = PathBuf::from(temporary);
        let result = (|| -> Result<(), String> {
            let mut file = std::fs::File::create(&temporary).map_err(|e| e.to_string())?;
            // Changes applied after `position` may be in it too: catching up applies them again,
            // which changes nothing.
            self.read_model()
                .write_snapshot(&mut file, &position)
                .map_err(|e| e.to_string())?;
            file.sync_all().map_err(|e| e.to_string())?;
            std::fs::rename(&temporary, &path).map_err(|e| e.to_string())
        })();
        if let Err(err) = result {
            let _ = std::fs::remove_file(&temporary);
            return Err(failed(&err));
        }
        *written = Some(position.change_seq);
        tracing::info!(
            path = %path.display(),
            change_seq = position.change_seq,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "Read-model snapshot written."
        );
        Ok(true)
    }
}
