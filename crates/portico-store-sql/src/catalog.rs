//! [`CatalogStore`] on SQL: applying processed sources, orphan handling, deferred stitching,
//! leases and lookups. Each public operation is one transaction.

use std::collections::{BTreeSet, HashSet};

use portico_store::{
    ApplyOutcome, CatalogStore, ChangePosition, EntityInput, ErrorItem, FinalChange,
    LocationOrigin, LocationRecord, NewLocation, OrphanStrategy, PendingStitch, Removal,
    SourceRecord, SourceUpdate, Stitched, StoreError, StoreResult, StoredEntity,
};
use sqlx::any::AnyRow;
use sqlx::{Any, AssertSqlSafe, Row, Transaction};

use crate::{Dialect, SqlStore, database_error};

pub(crate) type Tx = Transaction<'static, Any>;

const SOURCE_COLUMNS: &str =
    "source_key, location_id, parent_key, named_by, content_hash, errors, next_refresh_at";

fn errors_json(errors: &[ErrorItem]) -> String {
    serde_json::to_string(errors).unwrap_or_else(|_| "[]".to_owned())
}

fn parse_errors(text: &str) -> StoreResult<Vec<ErrorItem>> {
    serde_json::from_str(text).map_err(|err| StoreError::Corrupt(format!("errors column: {err}")))
}

fn location_from_row(row: &AnyRow) -> StoreResult<LocationRecord> {
    let origin: String = row.try_get("origin").map_err(database_error)?;
    Ok(LocationRecord {
        id: row.try_get("id").map_err(database_error)?,
        location_type: row.try_get("type").map_err(database_error)?,
        target: row.try_get("target").map_err(database_error)?,
        origin: LocationOrigin::parse(&origin)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown location origin {origin:?}")))?,
    })
}

fn source_from_row(row: &AnyRow) -> StoreResult<SourceRecord> {
    let errors: String = row.try_get("errors").map_err(database_error)?;
    Ok(SourceRecord {
        key: row.try_get("source_key").map_err(database_error)?,
        location_id: row.try_get("location_id").map_err(database_error)?,
        parent_key: row.try_get("parent_key").map_err(database_error)?,
        named_by: row.try_get("named_by").map_err(database_error)?,
        content_hash: row.try_get("content_hash").map_err(database_error)?,
        errors: parse_errors(&errors)?,
        next_refresh_at: row.try_get("next_refresh_at").map_err(database_error)?,
    })
}

fn stored_from_row(row: &AnyRow) -> StoreResult<StoredEntity> {
    Ok(StoredEntity {
        entity_ref: row.try_get("entity_ref").map_err(database_error)?,
        uid: row.try_get("uid").map_err(database_error)?,
        final_json: row.try_get("final_json").map_err(database_error)?,
        etag: row.try_get("etag").map_err(database_error)?,
    })
}

/// Rows per statement when a batch travels as one JSON parameter.
const JSON_BATCH: usize = 1_000;

/// A column of a JSON batch: its position in each row array and whether it is an integer.
#[derive(Clone, Copy)]
enum JsonColumn {
    Text,
    Integer,
}

/// `SELECT <columns> FROM <rows of the JSON array $1>`: each row is a JSON array whose items
/// are the columns, in order. One parameter however many rows, so a batch is one statement
/// with one constant text (prepared once) instead of one per chunk of a few dozen rows — on
/// PostgreSQL each statement is a round trip. SQLite walks the rows with `jsonb_each`, which
/// hands each row over in binary form: `json_each` renders it back to JSON text that every
/// column extraction parses again (7% of a first load's instructions; entity JSON is most of
/// the bytes).
fn json_rows_select(dialect: Dialect, columns: &[JsonColumn]) -> String {
    let items: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, column)| match (dialect, column) {
            (Dialect::Postgres, JsonColumn::Text) => format!("r->>{i} AS c{i}"),
            (Dialect::Postgres, JsonColumn::Integer) => {
                format!("CAST(r->>{i} AS BIGINT) AS c{i}")
            }
            (Dialect::Sqlite, _) => format!("value->>{i} AS c{i}"),
        })
        .collect();
    let from = match dialect {
        Dialect::Postgres => "json_array_elements(CAST($1 AS JSON)) AS batch(r)",
        Dialect::Sqlite => "jsonb_each($1)",
    };
    // `WHERE true` lets SQLite parse an `ON CONFLICT` after the `SELECT`.
    format!("SELECT {} FROM {from} WHERE true", items.join(", "))
}

/// `(SELECT <each string of the JSON array $1>)`, for `IN`.
fn json_list(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => "(SELECT json_array_elements_text(CAST($1 AS JSON)))",
        Dialect::Sqlite => "(SELECT value FROM json_each($1))",
    }
}

fn batch_error(err: serde_json::Error) -> StoreError {
    StoreError::Database(format!("cannot encode a batch: {err}"))
}

/// Marks entities for stitching (refs that do not exist are ignored).
async fn mark_for_stitch(
    tx: &mut Tx,
    dialect: Dialect,
    refs: &BTreeSet<String>,
) -> StoreResult<()> {
    let refs: Vec<&String> = refs.iter().collect();
    let sql = format!(
        "INSERT INTO stitch_queue (entity_ref, ticket) SELECT entity_ref, 1 FROM entities WHERE entity_ref IN {} \
         ON CONFLICT (entity_ref) DO UPDATE SET ticket = stitch_queue.ticket + 1",
        json_list(dialect)
    );
    for chunk in refs.chunks(JSON_BATCH) {
        sqlx::query(AssertSqlSafe(sql.clone()))
            .bind(serde_json::to_string(chunk).map_err(batch_error)?)
            .execute(&mut **tx)
            .await
            .map_err(database_error)?;
    }
    Ok(())
}

/// What the store holds about an entity when a source emits it again.
struct ExistingEntity {
    source_key: String,
    orphan: bool,
    input_hash: String,
    errors: String,
}

async fn existing_entities(
    tx: &mut Tx,
    dialect: Dialect,
    refs: &[String],
) -> StoreResult<std::collections::HashMap<String, ExistingEntity>> {
    let mut found = std::collections::HashMap::new();
    let sql = format!(
        "SELECT entity_ref, source_key, orphan, input_hash, errors FROM entities WHERE entity_ref IN {}",
        json_list(dialect)
    );
    for chunk in refs.chunks(JSON_BATCH) {
        let query = sqlx::query(AssertSqlSafe(sql.clone()))
            .bind(serde_json::to_string(chunk).map_err(batch_error)?);
        for row in query.fetch_all(&mut **tx).await.map_err(database_error)? {
            found.insert(
                row.try_get("entity_ref").map_err(database_error)?,
                ExistingEntity {
                    source_key: row.try_get("source_key").map_err(database_error)?,
                    orphan: row.try_get::<i64, _>("orphan").map_err(database_error)? != 0,
                    input_hash: row.try_get("input_hash").map_err(database_error)?,
                    errors: row.try_get("errors").map_err(database_error)?,
                },
            );
        }
    }
    Ok(found)
}

async fn insert_entities(
    tx: &mut Tx,
    dialect: Dialect,
    entities: &[&EntityInput],
    source_key: &str,
    location_id: &str,
) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO entities (entity_ref, uid, source_key, location_id, input_hash, entity_json) {}",
        json_rows_select(dialect, &[JsonColumn::Text; 6])
    );
    for chunk in entities.chunks(JSON_BATCH) {
        let uids: Vec<String> = chunk
            .iter()
            .map(|_| uuid::Uuid::new_v4().to_string())
            .collect();
        let mut rows: Vec<[&str; 6]> = Vec::with_capacity(chunk.len());
        for (entity, uid) in chunk.iter().zip(&uids) {
            rows.push([
                &entity.entity_ref,
                uid,
                source_key,
                location_id,
                &entity.input_hash,
                &entity.entity_json,
            ]);
        }
        sqlx::query(AssertSqlSafe(sql.clone()))
            .bind(serde_json::to_string(&rows).map_err(batch_error)?)
            .execute(&mut **tx)
            .await
            .map_err(database_error)?;
    }
    Ok(())
}

async fn insert_relations(
    tx: &mut Tx,
    dialect: Dialect,
    relations: &[(&str, &portico_store::RelationRow)],
) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO relations (originating_ref, source_ref, type, target_ref) {}",
        json_rows_select(dialect, &[JsonColumn::Text; 4])
    );
    for chunk in relations.chunks(JSON_BATCH) {
        let rows: Vec<[&str; 4]> = chunk
            .iter()
            .map(|(originating, relation)| {
                [
                    *originating,
                    relation.source_ref.as_str(),
                    relation.relation_type.as_str(),
                    relation.target_ref.as_str(),
                ]
            })
            .collect();
        sqlx::query(AssertSqlSafe(sql.clone()))
            .bind(serde_json::to_string(&rows).map_err(batch_error)?)
            .execute(&mut **tx)
            .await
            .map_err(database_error)?;
    }
    Ok(())
}

/// Both ends of the relations an entity originated.
async fn relation_endpoints(
    tx: &mut Tx,
    originating_ref: &str,
    into: &mut BTreeSet<String>,
) -> StoreResult<()> {
    let rows =
        sqlx::query("SELECT source_ref, target_ref FROM relations WHERE originating_ref = $1")
            .bind(originating_ref)
            .fetch_all(&mut **tx)
            .await
            .map_err(database_error)?;
    for row in rows {
        into.insert(row.try_get("source_ref").map_err(database_error)?);
        into.insert(row.try_get("target_ref").map_err(database_error)?);
    }
    Ok(())
}

/// Takes the next number of the change sequence for this transaction's changes to final
/// entities; the row lock it takes orders concurrent writers (see migration 0002).
async fn next_change(tx: &mut Tx) -> StoreResult<i64> {
    sqlx::query(
        "UPDATE catalog_state SET change_seq = change_seq + 1 WHERE id = 1 RETURNING change_seq",
    )
    .fetch_one(&mut **tx)
    .await
    .and_then(|row| row.try_get::<i64, _>("change_seq"))
    .map_err(database_error)
}

/// Deletes an entity and the relations it originated; the other ends go into `affected`.
async fn delete_entity_row(
    tx: &mut Tx,
    entity_ref: &str,
    affected: &mut BTreeSet<String>,
) -> StoreResult<()> {
    relation_endpoints(tx, entity_ref, affected).await?;
    sqlx::query("DELETE FROM relations WHERE originating_ref = $1")
        .bind(entity_ref)
        .execute(&mut **tx)
        .await
        .map_err(database_error)?;
    sqlx::query("DELETE FROM entities WHERE entity_ref = $1")
        .bind(entity_ref)
        .execute(&mut **tx)
        .await
        .map_err(database_error)?;
    sqlx::query("DELETE FROM stitch_queue WHERE entity_ref = $1")
        .bind(entity_ref)
        .execute(&mut **tx)
        .await
        .map_err(database_error)?;
    let deleted = sqlx::query("DELETE FROM final_entities WHERE entity_ref = $1")
        .bind(entity_ref)
        .execute(&mut **tx)
        .await
        .map_err(database_error)?;
    if deleted.rows_affected() > 0 {
        let seq = next_change(tx).await?;
        sqlx::query(
            "INSERT INTO final_entity_tombstones (entity_ref, change_seq, deleted_at) VALUES ($1, $2, $3) \
             ON CONFLICT (entity_ref) DO UPDATE SET change_seq = excluded.change_seq, deleted_at = excluded.deleted_at",
        )
        .bind(entity_ref)
        .bind(seq)
        .bind(epoch_millis())
        .execute(&mut **tx)
        .await
        .map_err(database_error)?;
    }
    affected.remove(entity_ref);
    Ok(())
}

/// Entities no location emits any more: orphaned or deleted, per strategy.
async fn retire_entities(
    tx: &mut Tx,
    refs: &[String],
    strategy: OrphanStrategy,
    affected: &mut BTreeSet<String>,
    removed: &mut Vec<String>,
) -> StoreResult<()> {
    for entity_ref in refs {
        match strategy {
            OrphanStrategy::Keep => {
                sqlx::query("UPDATE entities SET orphan = 1 WHERE entity_ref = $1 AND orphan = 0")
                    .bind(entity_ref)
                    .execute(&mut **tx)
                    .await
                    .map_err(database_error)?;
                affected.insert(entity_ref.clone());
            }
            OrphanStrategy::Delete => {
                delete_entity_row(tx, entity_ref, affected).await?;
                removed.push(entity_ref.clone());
            }
        }
    }
    Ok(())
}

/// Removes a source and everything below it; their entities are retired per strategy.
async fn remove_source_tree(
    tx: &mut Tx,
    key: &str,
    strategy: OrphanStrategy,
    affected: &mut BTreeSet<String>,
    removed: &mut Vec<String>,
) -> StoreResult<()> {
    let mut pending = vec![key.to_owned()];
    let mut seen = HashSet::new();
    while let Some(key) = pending.pop() {
        if !seen.insert(key.clone()) {
            continue;
        }
        let children = sqlx::query("SELECT source_key FROM sources WHERE parent_key = $1")
            .bind(&key)
            .fetch_all(&mut **tx)
            .await
            .map_err(database_error)?;
        for row in children {
            pending.push(row.try_get("source_key").map_err(database_error)?);
        }
        let refs: Vec<String> =
            sqlx::query("SELECT entity_ref FROM entities WHERE source_key = $1 AND orphan = 0")
                .bind(&key)
                .fetch_all(&mut **tx)
                .await
                .map_err(database_error)?
                .iter()
                .map(|row| row.try_get("entity_ref"))
                .collect::<Result<_, _>>()
                .map_err(database_error)?;
        retire_entities(tx, &refs, strategy, affected, removed).await?;
        if let Some(named_by) = sqlx::query("SELECT named_by FROM sources WHERE source_key = $1")
            .bind(&key)
            .fetch_optional(&mut **tx)
            .await
            .map_err(database_error)?
            .and_then(|row| row.try_get::<Option<String>, _>("named_by").ok().flatten())
        {
            affected.insert(named_by);
        }
        sqlx::query("DELETE FROM sources WHERE source_key = $1")
            .bind(&key)
            .execute(&mut **tx)
            .await
            .map_err(database_error)?;
    }
    Ok(())
}

/// Whether `candidate` is `key` or one of its ancestors (a location cycle).
async fn is_ancestor(tx: &mut Tx, key: &str, candidate: &str) -> StoreResult<bool> {
    let mut current = Some(key.to_owned());
    let mut steps = 0;
    while let Some(key) = current {
        if key == candidate {
            return Ok(true);
        }
        steps += 1;
        if steps > 10_000 {
            // A corrupt parent chain; refuse to follow it further.
            return Ok(true);
        }
        current = sqlx::query("SELECT parent_key FROM sources WHERE source_key = $1")
            .bind(&key)
            .fetch_optional(&mut **tx)
            .await
            .map_err(database_error)?
            .and_then(|row| {
                row.try_get::<Option<String>, _>("parent_key")
                    .ok()
                    .flatten()
            });
    }
    Ok(false)
}

async fn apply_in(
    tx: &mut Tx,
    dialect: Dialect,
    update: SourceUpdate,
    strategy: OrphanStrategy,
) -> StoreResult<ApplyOutcome> {
    let mut outcome = ApplyOutcome::default();
    let Some(source) = sqlx::query(AssertSqlSafe(format!(
        "SELECT {SOURCE_COLUMNS} FROM sources WHERE source_key = $1"
    )))
    .bind(&update.key)
    .fetch_optional(&mut **tx)
    .await
    .map_err(database_error)?
    else {
        // The location was unregistered while the source was being processed.
        return Ok(outcome);
    };
    let source = source_from_row(&source)?;
    let mut affected = BTreeSet::new();

    if !update.read_errors.is_empty() {
        // A source that cannot be read keeps everything it produced; the error is shown.
        let text = errors_json(&update.read_errors);
        sqlx::query(
            "UPDATE entities SET errors = $1 WHERE source_key = $2 AND orphan = 0 AND errors <> $1",
        )
        .bind(&text)
        .bind(&update.key)
        .execute(&mut **tx)
        .await
        .map_err(database_error)?;
        let refs = sqlx::query("SELECT entity_ref FROM entities WHERE source_key = $1")
            .bind(&update.key)
            .fetch_all(&mut **tx)
            .await
            .map_err(database_error)?;
        for row in refs {
            affected.insert(row.try_get("entity_ref").map_err(database_error)?);
        }
        if source.errors != update.read_errors
            && let Some(named_by) = &source.named_by
        {
            affected.insert(named_by.clone());
        }
        sqlx::query(
            "UPDATE sources SET errors = $1, next_refresh_at = $2, lease_owner = NULL, lease_until = NULL WHERE source_key = $3",
        )
        .bind(&text)
        .bind(update.next_refresh_at)
        .bind(&update.key)
        .execute(&mut **tx)
        .await
        .map_err(database_error)?;
        outcome.changed = source.errors != update.read_errors;
        mark_for_stitch(tx, dialect, &affected).await?;
        return Ok(outcome);
    }

    let mut source_errors = update.source_errors.clone();
    let owned: Vec<String> =
        sqlx::query("SELECT entity_ref FROM entities WHERE source_key = $1 AND orphan = 0")
            .bind(&update.key)
            .fetch_all(&mut **tx)
            .await
            .map_err(database_error)?
            .iter()
            .map(|row| row.try_get("entity_ref"))
            .collect::<Result<_, _>>()
            .map_err(database_error)?;
    // A partial update only retires what it names; a full one everything it no longer emits.
    let previously: Vec<String> = if update.partial {
        owned
            .into_iter()
            .filter(|r| update.removed.contains(r))
            .collect()
    } else {
        owned
    };
    let mut kept: HashSet<String> = HashSet::new();
    let refs: Vec<String> = update
        .entities
        .iter()
        .map(|e| e.entity_ref.clone())
        .collect();
    let existing = existing_entities(tx, dialect, &refs).await?;
    let mut inserted: Vec<&EntityInput> = Vec::new();
    let mut rewritten: Vec<&EntityInput> = Vec::new();
    for entity in &update.entities {
        if kept.contains(&entity.entity_ref) {
            source_errors.push(ErrorItem {
                name: "ConflictError".to_owned(),
                message: format!(
                    "entity {} is defined more than once in {}; only the first definition is used",
                    entity.entity_ref, update.key
                ),
            });
            continue;
        }
        match existing.get(&entity.entity_ref) {
            None => inserted.push(entity),
            Some(row) => {
                if row.source_key != update.key && !row.orphan {
                    outcome
                        .conflicts
                        .push((entity.entity_ref.clone(), row.source_key.clone()));
                    source_errors.push(ErrorItem {
                        name: "ConflictError".to_owned(),
                        message: format!(
                            "entity {} is already provided by {}; an entity can come from only one location, so this definition is ignored",
                            entity.entity_ref, row.source_key
                        ),
                    });
                    continue;
                }
                kept.insert(entity.entity_ref.clone());
                if row.source_key == update.key
                    && !row.orphan
                    && row.input_hash == entity.input_hash
                    && row.errors == "[]"
                {
                    continue; // unchanged: no write
                }
                sqlx::query(
                    "UPDATE entities SET source_key = $1, location_id = $2, input_hash = $3, entity_json = $4, errors = '[]', orphan = 0 WHERE entity_ref = $5",
                )
                .bind(&update.key)
                .bind(&source.location_id)
                .bind(&entity.input_hash)
                .bind(&entity.entity_json)
                .bind(&entity.entity_ref)
                .execute(&mut **tx)
                .await
                .map_err(database_error)?;
                rewritten.push(entity);
            }
        }
        kept.insert(entity.entity_ref.clone());
        outcome.changed = true;
        affected.insert(entity.entity_ref.clone());
    }
    // Relations of rewritten entities are replaced; the old other ends need stitching too.
    let rewritten_refs: Vec<String> = rewritten.iter().map(|e| e.entity_ref.clone()).collect();
    let list = json_list(dialect);
    for chunk in rewritten_refs.chunks(JSON_BATCH) {
        let refs = serde_json::to_string(chunk).map_err(batch_error)?;
        let query = sqlx::query(AssertSqlSafe(format!(
            "SELECT source_ref, target_ref FROM relations WHERE originating_ref IN {list}"
        )))
        .bind(&refs);
        for row in query.fetch_all(&mut **tx).await.map_err(database_error)? {
            affected.insert(row.try_get("source_ref").map_err(database_error)?);
            affected.insert(row.try_get("target_ref").map_err(database_error)?);
        }
        sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM relations WHERE originating_ref IN {list}"
        )))
        .bind(&refs)
        .execute(&mut **tx)
        .await
        .map_err(database_error)?;
    }
    insert_entities(tx, dialect, &inserted, &update.key, &source.location_id).await?;
    let relations: Vec<(&str, &portico_store::RelationRow)> = inserted
        .iter()
        .chain(rewritten.iter())
        .flat_map(|e| e.relations.iter().map(move |r| (e.entity_ref.as_str(), r)))
        .collect();
    for (_, relation) in &relations {
        affected.insert(relation.source_ref.clone());
        affected.insert(relation.target_ref.clone());
    }
    insert_relations(tx, dialect, &relations).await?;

    for (entity_ref, errors) in &update.failed {
        let owned =
            sqlx::query("SELECT errors FROM entities WHERE entity_ref = $1 AND source_key = $2")
                .bind(entity_ref)
                .bind(&update.key)
                .fetch_optional(&mut **tx)
                .await
                .map_err(database_error)?;
        match owned {
            Some(row) => {
                kept.insert(entity_ref.clone());
                let text = errors_json(errors);
                let old: String = row.try_get("errors").map_err(database_error)?;
                if old != text {
                    sqlx::query(
                        "UPDATE entities SET errors = $1, orphan = 0 WHERE entity_ref = $2",
                    )
                    .bind(&text)
                    .bind(entity_ref)
                    .execute(&mut **tx)
                    .await
                    .map_err(database_error)?;
                    affected.insert(entity_ref.clone());
                    outcome.changed = true;
                }
            }
            // Never valid here: nothing to keep, so the errors belong to the source.
            None => source_errors.extend(errors.iter().cloned()),
        }
    }

    let vanished: Vec<String> = previously
        .into_iter()
        .filter(|r| !kept.contains(r))
        .collect();
    if !vanished.is_empty() {
        outcome.changed = true;
        retire_entities(tx, &vanished, strategy, &mut affected, &mut outcome.removed).await?;
    }

    let existing_children: Vec<String> =
        sqlx::query("SELECT source_key FROM sources WHERE parent_key = $1")
            .bind(&update.key)
            .fetch_all(&mut **tx)
            .await
            .map_err(database_error)?
            .iter()
            .map(|row| row.try_get("source_key"))
            .collect::<Result<_, _>>()
            .map_err(database_error)?;
    let mut wanted = HashSet::new();
    for child in &update.children {
        wanted.insert(child.key.clone());
        if existing_children.contains(&child.key) {
            continue;
        }
        if is_ancestor(tx, &update.key, &child.key).await? {
            source_errors.push(ErrorItem {
                name: "InputError".to_owned(),
                message: format!(
                    "location cycle: {} leads back to {}; remove that target from {}",
                    update.key, child.key, child.named_by
                ),
            });
            continue;
        }
        let inserted = sqlx::query(
            "INSERT INTO sources (source_key, location_id, parent_key, named_by, next_refresh_at) VALUES ($1, $2, $3, $4, 0) ON CONFLICT (source_key) DO NOTHING",
        )
        .bind(&child.key)
        .bind(&source.location_id)
        .bind(&update.key)
        .bind(&child.named_by)
        .execute(&mut **tx)
        .await
        .map_err(database_error)?;
        if inserted.rows_affected() > 0 {
            outcome.new_children.push(child.key.clone());
            outcome.changed = true;
        }
    }
    for child in existing_children
        .iter()
        .filter(|c| !update.partial && !wanted.contains(*c))
    {
        outcome.changed = true;
        remove_source_tree(tx, child, strategy, &mut affected, &mut outcome.removed).await?;
    }

    if source.errors != source_errors {
        outcome.changed = true;
        if let Some(named_by) = &source.named_by {
            affected.insert(named_by.clone());
        }
    }
    sqlx::query(
        "UPDATE sources SET content_hash = $1, errors = $2, next_refresh_at = $3, lease_owner = NULL, lease_until = NULL WHERE source_key = $4",
    )
    .bind(&update.content_hash)
    .bind(errors_json(&source_errors))
    .bind(update.next_refresh_at)
    .bind(&update.key)
    .execute(&mut **tx)
    .await
    .map_err(database_error)?;
    mark_for_stitch(tx, dialect, &affected).await?;
    Ok(outcome)
}

impl SqlStore {
    /// A write transaction. On SQLite it takes the write lock up front (`BEGIN IMMEDIATE`):
    /// these transactions read before they write, and a deferred one whose snapshot another
    /// connection has committed past fails its first write at once with SQLITE_BUSY_SNAPSHOT
    /// ("database is locked", code 517), which `busy_timeout` does not wait out — seen when
    /// a scaffolder task's `catalog:register` ran while the task worker wrote its events.
    pub(crate) async fn begin(&self) -> StoreResult<Tx> {
        match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Dialect::Postgres => self.pool.begin().await,
        }
        .map_err(database_error)
    }
}

impl CatalogStore for SqlStore {
    async fn add_location(&self, location: NewLocation) -> StoreResult<LocationRecord> {
        let mut tx = self.begin().await?;
        let exists = sqlx::query("SELECT id FROM locations WHERE type = $1 AND target = $2")
            .bind(&location.location_type)
            .bind(&location.target)
            .fetch_optional(&mut *tx)
            .await
            .map_err(database_error)?;
        if exists.is_some() {
            return Err(StoreError::Conflict(format!(
                "Location {}:{} already exists",
                location.location_type, location.target
            )));
        }
        sqlx::query("INSERT INTO locations (id, type, target, origin, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&location.id)
            .bind(&location.location_type)
            .bind(&location.target)
            .bind(location.origin.as_str())
            .bind(location.now)
            .execute(&mut *tx)
            .await
            .map_err(database_error)?;
        let record = LocationRecord {
            id: location.id,
            location_type: location.location_type,
            target: location.target,
            origin: location.origin,
        };
        sqlx::query(
            "INSERT INTO sources (source_key, location_id, next_refresh_at) VALUES ($1, $2, 0)",
        )
        .bind(record.source_key())
        .bind(&record.id)
        .execute(&mut *tx)
        .await
        .map_err(database_error)?;
        tx.commit().await.map_err(database_error)?;
        Ok(record)
    }

    async fn update_location(
        &self,
        id: &str,
        location_type: &str,
        target: &str,
    ) -> StoreResult<LocationRecord> {
        let mut tx = self.begin().await?;
        let Some(row) = sqlx::query("SELECT id, type, target, origin FROM locations WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(database_error)?
        else {
            return Err(StoreError::NotFound(format!(
                "Found no location with ID {id}"
            )));
        };
        let mut record = location_from_row(&row)?;
        let taken =
            sqlx::query("SELECT id FROM locations WHERE type = $1 AND target = $2 AND id <> $3")
                .bind(location_type)
                .bind(target)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(database_error)?;
        if taken.is_some() {
            return Err(StoreError::Conflict(format!(
                "Location {location_type}:{target} already exists"
            )));
        }
        sqlx::query("UPDATE locations SET type = $1, target = $2 WHERE id = $3")
            .bind(location_type)
            .bind(target)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(database_error)?;
        sqlx::query(
            "UPDATE sources SET next_refresh_at = 0, content_hash = NULL WHERE source_key = $1",
        )
        .bind(record.source_key())
        .execute(&mut *tx)
        .await
        .map_err(database_error)?;
        tx.commit().await.map_err(database_error)?;
        record.location_type = location_type.to_owned();
        record.target = target.to_owned();
        Ok(record)
    }

    async fn locations(&self) -> StoreResult<Vec<LocationRecord>> {
        sqlx::query("SELECT id, type, target, origin FROM locations ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await
            .map_err(database_error)?
            .iter()
            .map(location_from_row)
            .collect()
    }

    async fn location(&self, id: &str) -> StoreResult<Option<LocationRecord>> {
        sqlx::query("SELECT id, type, target, origin FROM locations WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(database_error)?
            .as_ref()
            .map(location_from_row)
            .transpose()
    }

    async fn remove_location(&self, id: &str) -> StoreResult<Removal> {
        let mut tx = self.begin().await?;
        let found = sqlx::query("DELETE FROM locations WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(database_error)?;
        if found.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!(
                "Found no location with ID {id}"
            )));
        }
        let mut affected = BTreeSet::new();
        let mut removal = Removal::default();
        let refs: Vec<String> =
            sqlx::query("SELECT entity_ref FROM entities WHERE location_id = $1")
                .bind(id)
                .fetch_all(&mut *tx)
                .await
                .map_err(database_error)?
                .iter()
                .map(|row| row.try_get("entity_ref"))
                .collect::<Result<_, _>>()
                .map_err(database_error)?;
        for entity_ref in refs {
            delete_entity_row(&mut tx, &entity_ref, &mut affected).await?;
            removal.removed.push(entity_ref);
        }
        for entity_ref in &removal.removed {
            affected.remove(entity_ref);
        }
        sqlx::query("DELETE FROM sources WHERE location_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(database_error)?;
        mark_for_stitch(&mut tx, self.dialect, &affected).await?;
        tx.commit().await.map_err(database_error)?;
        Ok(removal)
    }

    async fn source(&self, key: &str) -> StoreResult<Option<SourceRecord>> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {SOURCE_COLUMNS} FROM sources WHERE source_key = $1"
        )))
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(database_error)?
        .as_ref()
        .map(source_from_row)
        .transpose()
    }

    async fn apply_source(
        &self,
        update: SourceUpdate,
        strategy: OrphanStrategy,
    ) -> StoreResult<ApplyOutcome> {
        let mut tx = self.begin().await?;
        let outcome = apply_in(&mut tx, self.dialect, update, strategy).await?;
        tx.commit().await.map_err(database_error)?;
        Ok(outcome)
    }

    async fn apply_sources(
        &self,
        updates: Vec<SourceUpdate>,
        strategy: OrphanStrategy,
    ) -> StoreResult<Vec<ApplyOutcome>> {
        let mut tx = self.begin().await?;
        let mut outcomes = Vec::with_capacity(updates.len());
        for update in updates {
            outcomes.push(apply_in(&mut tx, self.dialect, update, strategy).await?);
        }
        tx.commit().await.map_err(database_error)?;
        Ok(outcomes)
    }

    async fn pending_stitches(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<PendingStitch>> {
        // A plain (deferred) transaction for one consistent snapshot: on SQLite it reads in WAL
        // mode beside the writer instead of waiting for the write lock.
        let mut tx = self.pool.begin().await.map_err(database_error)?;
        let columns = "SELECT q.entity_ref, q.ticket, e.uid, e.entity_json, e.errors, e.orphan, COALESCE(f.etag, '') AS etag \
             FROM stitch_queue q JOIN entities e ON e.entity_ref = q.entity_ref \
             LEFT JOIN final_entities f ON f.entity_ref = q.entity_ref";
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = match after {
            None => {
                sqlx::query(AssertSqlSafe(format!(
                    "{columns} ORDER BY q.entity_ref LIMIT $1"
                )))
                .bind(limit)
                .fetch_all(&mut *tx)
                .await
            }
            Some(after) => {
                sqlx::query(AssertSqlSafe(format!(
                    "{columns} WHERE q.entity_ref > $1 ORDER BY q.entity_ref LIMIT $2"
                )))
                .bind(after)
                .bind(limit)
                .fetch_all(&mut *tx)
                .await
            }
        }
        .map_err(database_error)?;
        let refs: Vec<String> = rows
            .iter()
            .map(|row| row.try_get("entity_ref"))
            .collect::<Result<_, _>>()
            .map_err(database_error)?;
        // Everything the batch needs, in a few queries rather than a few per entity.
        let mut relations_by_ref: std::collections::HashMap<String, BTreeSet<(String, String)>> =
            std::collections::HashMap::new();
        let mut named_errors: std::collections::HashMap<String, Vec<ErrorItem>> =
            std::collections::HashMap::new();
        let list = json_list(self.dialect);
        for chunk in refs.chunks(JSON_BATCH) {
            let chunk_refs = serde_json::to_string(chunk).map_err(batch_error)?;
            let query = sqlx::query(AssertSqlSafe(format!(
                "SELECT source_ref, type, target_ref FROM relations WHERE source_ref IN {list}"
            )))
            .bind(&chunk_refs);
            for row in query.fetch_all(&mut *tx).await.map_err(database_error)? {
                relations_by_ref
                    .entry(row.try_get("source_ref").map_err(database_error)?)
                    .or_default()
                    .insert((
                        row.try_get("type").map_err(database_error)?,
                        row.try_get("target_ref").map_err(database_error)?,
                    ));
            }
            // Problems of the files an entity (a Location) points at show on it.
            let query = sqlx::query(AssertSqlSafe(format!(
                "SELECT named_by, errors FROM sources WHERE named_by IN {list} ORDER BY source_key"
            )))
            .bind(&chunk_refs);
            for row in query.fetch_all(&mut *tx).await.map_err(database_error)? {
                let errors =
                    parse_errors(&row.try_get::<String, _>("errors").map_err(database_error)?)?;
                named_errors
                    .entry(row.try_get("named_by").map_err(database_error)?)
                    .or_default()
                    .extend(errors);
            }
        }
        tx.commit().await.map_err(database_error)?;
        let mut pending = Vec::with_capacity(rows.len());
        for row in rows {
            let entity_ref: String = row.try_get("entity_ref").map_err(database_error)?;
            let mut errors =
                parse_errors(&row.try_get::<String, _>("errors").map_err(database_error)?)?;
            errors.extend(named_errors.remove(&entity_ref).unwrap_or_default());
            pending.push(PendingStitch {
                uid: row.try_get("uid").map_err(database_error)?,
                entity_json: row.try_get("entity_json").map_err(database_error)?,
                errors,
                orphan: row.try_get::<i64, _>("orphan").map_err(database_error)? != 0,
                current_etag: row.try_get("etag").map_err(database_error)?,
                ticket: row.try_get("ticket").map_err(database_error)?,
                relations: relations_by_ref
                    .remove(&entity_ref)
                    .map(|set| set.into_iter().collect())
                    .unwrap_or_default(),
                entity_ref,
            });
        }
        Ok(pending)
    }

    async fn write_stitched(&self, stitched: Vec<Stitched>) -> StoreResult<Vec<StoredEntity>> {
        if stitched.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin().await?;
        let (changed, unchanged): (Vec<Stitched>, Vec<Stitched>) = stitched
            .into_iter()
            .partition(|s| s.entity.etag != s.current_etag);
        let seq = if changed.is_empty() {
            0
        } else {
            next_change(&mut tx).await?
        };
        // Only rows whose ticket is still the queue's are written: a result built from inputs
        // that changed since they were read (or of an entity deleted since) would be stale.
        let upsert = format!(
            "INSERT INTO final_entities (entity_ref, uid, final_json, etag, change_seq, changed_by) \
             SELECT b.c0, b.c1, b.c2, b.c3, b.c4, b.c5 FROM ({}) b \
             JOIN stitch_queue q ON q.entity_ref = b.c0 AND q.ticket = b.c6 WHERE true \
             ON CONFLICT (entity_ref) DO UPDATE SET uid = excluded.uid, final_json = excluded.final_json, etag = excluded.etag, \
             change_seq = excluded.change_seq, changed_by = excluded.changed_by \
             RETURNING entity_ref",
            json_rows_select(
                self.dialect,
                &[
                    JsonColumn::Text,
                    JsonColumn::Text,
                    JsonColumn::Text,
                    JsonColumn::Text,
                    JsonColumn::Integer,
                    JsonColumn::Text,
                    JsonColumn::Integer,
                ]
            )
        );
        // An entity written again is no longer deleted.
        let revive = format!(
            "DELETE FROM final_entity_tombstones WHERE entity_ref IN {}",
            json_list(self.dialect)
        );
        let mut written: HashSet<String> = HashSet::new();
        for chunk in changed.chunks(JSON_BATCH) {
            let rows: Vec<(&str, &str, &str, &str, i64, &str, i64)> = chunk
                .iter()
                .map(|s| {
                    (
                        s.entity.entity_ref.as_str(),
                        s.entity.uid.as_str(),
                        s.entity.final_json.as_str(),
                        s.entity.etag.as_str(),
                        seq,
                        &*self.writer,
                        s.ticket,
                    )
                })
                .collect();
            let rows = sqlx::query(AssertSqlSafe(upsert.clone()))
                .bind(serde_json::to_string(&rows).map_err(batch_error)?)
                .fetch_all(&mut *tx)
                .await
                .map_err(database_error)?;
            let refs: Vec<String> = rows
                .iter()
                .map(|row| row.try_get("entity_ref"))
                .collect::<Result<_, _>>()
                .map_err(database_error)?;
            if !refs.is_empty() {
                sqlx::query(AssertSqlSafe(revive.clone()))
                    .bind(serde_json::to_string(&refs).map_err(batch_error)?)
                    .execute(&mut *tx)
                    .await
                    .map_err(database_error)?;
            }
            written.extend(refs);
        }
        // An entity leaves the queue only if its ticket is unchanged, so one marked again while
        // it was being stitched is stitched again.
        let done: Vec<(&str, i64)> = changed
            .iter()
            .chain(&unchanged)
            .map(|s| (s.entity.entity_ref.as_str(), s.ticket))
            .collect();
        let dequeue = format!(
            "DELETE FROM stitch_queue WHERE (entity_ref, ticket) IN ({})",
            json_rows_select(self.dialect, &[JsonColumn::Text, JsonColumn::Integer])
        );
        for chunk in done.chunks(JSON_BATCH) {
            sqlx::query(AssertSqlSafe(dequeue.clone()))
                .bind(serde_json::to_string(chunk).map_err(batch_error)?)
                .execute(&mut *tx)
                .await
                .map_err(database_error)?;
        }
        tx.commit().await.map_err(database_error)?;
        Ok(changed
            .into_iter()
            .map(|s| s.entity)
            .filter(|e| written.contains(&e.entity_ref))
            .collect())
    }

    async fn reschedule_source(&self, key: &str, next_refresh_at: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE sources SET next_refresh_at = $1, lease_owner = NULL, lease_until = NULL WHERE source_key = $2",
        )
        .bind(next_refresh_at)
        .bind(key)
        .execute(&self.pool)
        .await
        .map_err(database_error)?;
        Ok(())
    }

    async fn claim_due_sources(
        &self,
        owner: &str,
        now: i64,
        lease_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<SourceRecord>> {
        let lock = self.dialect.claim_lock();
        let sql = format!(
            "UPDATE sources SET lease_owner = $1, lease_until = $2 WHERE source_key IN \
             (SELECT source_key FROM sources WHERE next_refresh_at <= $3 AND (lease_until IS NULL OR lease_until < $3) \
             ORDER BY next_refresh_at, source_key LIMIT $4{lock}) RETURNING {SOURCE_COLUMNS}"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(owner)
            .bind(now.saturating_add(lease_ms))
            .bind(now)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(database_error)?
            .iter()
            .map(source_from_row)
            .collect()
    }

    async fn request_refresh(&self, entity_ref: &str, now: i64) -> StoreResult<bool> {
        let updated = sqlx::query(
            "UPDATE sources SET next_refresh_at = $1 WHERE source_key = (SELECT source_key FROM entities WHERE entity_ref = $2)",
        )
        .bind(now)
        .bind(entity_ref)
        .execute(&self.pool)
        .await
        .map_err(database_error)?;
        Ok(updated.rows_affected() > 0)
    }

    async fn final_entities(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<StoredEntity>> {
        sqlx::query(
            "SELECT entity_ref, uid, final_json, etag FROM final_entities WHERE entity_ref > $1 ORDER BY entity_ref LIMIT $2",
        )
        .bind(after.unwrap_or(""))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(database_error)?
        .iter()
        .map(stored_from_row)
        .collect()
    }

    async fn change_position(&self) -> StoreResult<ChangePosition> {
        let row = sqlx::query(
            "SELECT instance, change_seq, tombstones_pruned_through FROM catalog_state WHERE id = 1",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(database_error)?;
        Ok(ChangePosition {
            instance: row.try_get("instance").map_err(database_error)?,
            seq: row.try_get("change_seq").map_err(database_error)?,
            pruned_through: row
                .try_get("tombstones_pruned_through")
                .map_err(database_error)?,
        })
    }

    async fn final_changes(
        &self,
        since: i64,
        after: Option<(i64, &str)>,
        foreign_only: bool,
        limit: usize,
    ) -> StoreResult<Vec<FinalChange>> {
        let (after_seq, after_ref) = after.unwrap_or((since, ""));
        // Parameters appear in the order of their numbers (SQLite numbers them as they appear).
        // No writer is named "-" (they are UUIDs, or empty for rows older than migration 0002).
        let skipped = if foreign_only { &*self.writer } else { "-" };
        let rows = sqlx::query(
            "SELECT change_seq, entity_ref, uid, final_json, etag FROM ( \
             SELECT change_seq, entity_ref, uid, final_json, etag FROM final_entities WHERE change_seq > $1 AND changed_by <> $2 \
             UNION ALL \
             SELECT change_seq, entity_ref, NULL AS uid, NULL AS final_json, NULL AS etag FROM final_entity_tombstones WHERE change_seq > $1 \
             ) changes WHERE change_seq > $3 OR (change_seq = $4 AND entity_ref > $5) \
             ORDER BY change_seq, entity_ref LIMIT $6",
        )
            .bind(since)
            .bind(skipped)
            .bind(after_seq)
            .bind(after_seq)
            .bind(after_ref)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(database_error)?;
        rows.iter()
            .map(|row| {
                let entity_ref: String = row.try_get("entity_ref").map_err(database_error)?;
                let final_json: Option<String> =
                    row.try_get("final_json").map_err(database_error)?;
                let entity = match final_json {
                    None => None,
                    Some(final_json) => Some(StoredEntity {
                        entity_ref: entity_ref.clone(),
                        uid: row
                            .try_get::<Option<String>, _>("uid")
                            .map_err(database_error)?
                            .unwrap_or_default(),
                        final_json,
                        etag: row
                            .try_get::<Option<String>, _>("etag")
                            .map_err(database_error)?
                            .unwrap_or_default(),
                    }),
                };
                Ok(FinalChange {
                    seq: row.try_get("change_seq").map_err(database_error)?,
                    entity_ref,
                    entity,
                })
            })
            .collect()
    }

    async fn final_entity(&self, entity_ref: &str) -> StoreResult<Option<StoredEntity>> {
        sqlx::query(
            "SELECT entity_ref, uid, final_json, etag FROM final_entities WHERE entity_ref = $1",
        )
        .bind(entity_ref)
        .fetch_optional(&self.pool)
        .await
        .map_err(database_error)?
        .as_ref()
        .map(stored_from_row)
        .transpose()
    }

    async fn delete_entity(&self, uid: &str) -> StoreResult<Option<Removal>> {
        let mut tx = self.begin().await?;
        let Some(row) = sqlx::query("SELECT entity_ref FROM entities WHERE uid = $1")
            .bind(uid)
            .fetch_optional(&mut *tx)
            .await
            .map_err(database_error)?
        else {
            return Ok(None);
        };
        let entity_ref: String = row.try_get("entity_ref").map_err(database_error)?;
        let mut affected = BTreeSet::new();
        delete_entity_row(&mut tx, &entity_ref, &mut affected).await?;
        mark_for_stitch(&mut tx, self.dialect, &affected).await?;
        tx.commit().await.map_err(database_error)?;
        Ok(Some(Removal {
            removed: vec![entity_ref],
        }))
    }

    async fn entity_origin(
        &self,
        entity_ref: &str,
    ) -> StoreResult<Option<(LocationRecord, String)>> {
        let row = sqlx::query(
            "SELECT l.id, l.type, l.target, l.origin, e.source_key FROM entities e JOIN locations l ON l.id = e.location_id WHERE e.entity_ref = $1",
        )
        .bind(entity_ref)
        .fetch_optional(&self.pool)
        .await
        .map_err(database_error)?;
        row.map(|row| {
            Ok((
                location_from_row(&row)?,
                row.try_get("source_key").map_err(database_error)?,
            ))
        })
        .transpose()
    }

    async fn queue_depth(&self, now: i64) -> StoreResult<(u64, u64)> {
        let due: i64 = sqlx::query("SELECT COUNT(*) AS n FROM sources WHERE next_refresh_at <= $1")
            .bind(now)
            .fetch_one(&self.pool)
            .await
            .and_then(|row| row.try_get("n"))
            .map_err(database_error)?;
        let stitch: i64 = sqlx::query("SELECT COUNT(*) AS n FROM stitch_queue")
            .fetch_one(&self.pool)
            .await
            .and_then(|row| row.try_get("n"))
            .map_err(database_error)?;
        Ok((
            u64::try_from(due).unwrap_or(0),
            u64::try_from(stitch).unwrap_or(0),
        ))
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(database_error)?;
        Ok(())
    }

    async fn recently_changed(&self, limit: usize) -> StoreResult<Vec<StoredEntity>> {
        // `final_entities_change` (change_seq) serves the order: no scan however large.
        sqlx::query(
            "SELECT entity_ref, uid, final_json, etag FROM final_entities \
             ORDER BY change_seq DESC, entity_ref LIMIT $1",
        )
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(database_error)?
        .iter()
        .map(stored_from_row)
        .collect()
    }

    async fn prune_tombstones(&self, retention: std::time::Duration) -> StoreResult<u64> {
        let retention = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
        let deleted_before = epoch_millis().saturating_sub(retention);
        let mut tx = self.begin().await?;
        let newest: Option<i64> = sqlx::query(
            "SELECT MAX(change_seq) AS newest FROM final_entity_tombstones WHERE deleted_at < $1",
        )
        .bind(deleted_before)
        .fetch_one(&mut *tx)
        .await
        .and_then(|row| row.try_get("newest"))
        .map_err(database_error)?;
        let Some(newest) = newest else {
            return Ok(0);
        };
        // Everything up to the newest expired one goes, so that "pruned through N" is exact
        // even where clocks of several replicas disagree a little.
        let removed = sqlx::query("DELETE FROM final_entity_tombstones WHERE change_seq <= $1")
            .bind(newest)
            .execute(&mut *tx)
            .await
            .map_err(database_error)?
            .rows_affected();
        sqlx::query(
            "UPDATE catalog_state SET tombstones_pruned_through = $1 \
             WHERE id = 1 AND tombstones_pruned_through < $2",
        )
        .bind(newest)
        .bind(newest)
        .execute(&mut *tx)
        .await
        .map_err(database_error)?;
        tx.commit().await.map_err(database_error)?;
        Ok(removed)
    }
}

/// Now, in milliseconds since the epoch (when a tombstone was written).
fn epoch_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}
