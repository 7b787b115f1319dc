//! Walking a tree of locations: read each root, follow the targets of `Location` entities
//! (relative to the file that names them), process every file once, in parallel level by level.
//!
//! Cycles between locations (a → b → a) and entities defined by two files are reported as
//! errors; the walk itself never loops, because each target is read once.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use portico_model::{EntityRef, FieldPath, KindRegistry, Position};
use rayon::prelude::*;

use crate::descriptor::{Diagnostic, ProcessedEntity, Severity, process_descriptor};
use crate::reader::{ReadError, SourceReader, Target};

/// What a walk found.
#[derive(Debug, Default)]
pub struct WalkReport {
    /// Valid entities, in processing order, each defined once (empty from [`walk_with`]).
    pub entities: Vec<ProcessedEntity>,
    /// Problems, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
    /// Files (or URLs) read successfully.
    pub files_read: usize,
    /// Entities (documents) rejected.
    pub rejected: usize,
}

impl WalkReport {
    /// Number of error diagnostics.
    pub fn error_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }
}

/// Why a target is being read: a root, or a Location entity's target.
#[derive(Debug, Clone)]
struct Visit {
    target: Target,
    via: Option<Via>,
}

#[derive(Debug, Clone)]
struct Via {
    parent: Target,
    field: FieldPath,
    position: Position,
    optional: bool,
}

/// Processes `roots` and everything their Location entities lead to, collecting the entities.
pub fn walk(roots: &[Target], reader: &dyn SourceReader, kinds: &KindRegistry) -> WalkReport {
    let mut entities = Vec::new();
    let mut report = walk_with(roots, reader, kinds, &mut |entity| entities.push(entity));
    report.entities = entities;
    report
}

/// Files processed in parallel at a time: enough to keep both cores busy, few enough that the
/// entities in flight stay a small part of a large catalog.
const FILES_PER_BATCH: usize = 64;

/// Like [`walk`], but hands each valid entity to `on_entity` as soon as its file is processed
/// instead of keeping it, so memory stays flat however large the catalog. The returned report
/// has no entities.
///
/// Files are processed breadth-first in the order their Locations list them; when two files
/// define the same entity, the first one processed keeps it and the other gets an error.
pub fn walk_with(
    roots: &[Target],
    reader: &dyn SourceReader,
    kinds: &KindRegistry,
    on_entity: &mut dyn FnMut(ProcessedEntity),
) -> WalkReport {
    let mut report = WalkReport::default();
    let mut visited: HashSet<Target> = HashSet::new();
    let mut defined: HashMap<EntityRef, (Arc<Target>, Position)> = HashMap::new();
    let mut edges: Vec<(Target, Target, Via)> = Vec::new();
    let mut frontier: Vec<Visit> = Vec::new();
    for root in roots.iter().map(Target::normalized) {
        if visited.insert(root.clone()) {
            frontier.push(Visit {
                target: root,
                via: None,
            });
        }
    }
    while !frontier.is_empty() {
        let mut next = Vec::new();
        for batch in frontier.chunks(FILES_PER_BATCH) {
            let results: Vec<_> = batch
                .par_iter()
                .map(|visit| match reader.read(&visit.target) {
                    Ok(bytes) => (
                        visit,
                        Ok(process_descriptor(&bytes, &visit.target, reader, kinds)),
                    ),
                    Err(err) => (visit, Err(err)),
                })
                .collect();
            for (visit, processed) in results {
                let processed = match processed {
                    Ok(processed) => processed,
                    Err(err) => {
                        report.diagnostics.extend(read_failure(visit, &err));
                        continue;
                    }
                };
                report.files_read += 1;
                report.rejected += processed.rejected;
                report.diagnostics.extend(processed.diagnostics);
                let source = Arc::new(visit.target.clone());
                for entity in processed.entities {
                    match claim(&mut defined, &source, &entity) {
                        Ok(()) => on_entity(entity),
                        Err(diagnostic) => {
                            report.rejected += 1;
                            report.diagnostics.push(*diagnostic);
                        }
                    }
                }
                for link in processed.links {
                    let via = Via {
                        parent: visit.target.clone(),
                        field: link.field,
                        position: link.position,
                        optional: link.optional,
                    };
                    edges.push((visit.target.clone(), link.target.clone(), via.clone()));
                    if visited.insert(link.target.clone()) {
                        next.push(Visit {
                            target: link.target,
                            via: Some(via),
                        });
                    }
                }
            }
        }
        frontier = next;
    }
    report_cycles(&edges, &mut report.diagnostics);
    report.diagnostics.sort_by(|a, b| {
        (&a.source, a.position, a.severity).cmp(&(&b.source, b.position, b.severity))
    });
    report
}

/// Records that `source` defines `entity`, or explains that another file already does.
fn claim(
    defined: &mut HashMap<EntityRef, (Arc<Target>, Position)>,
    source: &Arc<Target>,
    entity: &ProcessedEntity,
) -> Result<(), Box<Diagnostic>> {
    let entity_ref = entity.validated.entity.entity_ref();
    if let Some((first_source, first_position)) = defined.get(&entity_ref) {
        return Err(Box::new(Diagnostic {
            severity: Severity::Error,
            source: entity.source.clone(),
            position: Some(entity.position),
            field: Some(FieldPath::dotted("metadata.name")),
            message: format!(
                "entity {entity_ref} is already defined at {first_source}:{first_position}; an entity can come from only one location (names compare case-insensitively)"
            ),
        }));
    }
    defined.insert(entity_ref, (Arc::clone(source), entity.position));
    Ok(())
}

fn read_failure(visit: &Visit, err: &ReadError) -> Option<Diagnostic> {
    match &visit.via {
        None => Some(Diagnostic {
            severity: Severity::Error,
            source: visit.target.clone(),
            position: None,
            field: None,
            message: err.to_string(),
        }),
        Some(via) if via.optional && matches!(err, ReadError::NotFound(_)) => None,
        Some(via) => Some(Diagnostic {
            severity: if matches!(err, ReadError::NotFetched(_)) {
                Severity::Warning
            } else {
                Severity::Error
            },
            source: via.parent.clone(),
            position: Some(via.position),
            field: Some(via.field.clone()),
            message: match err {
                ReadError::NotFetched(_) => {
                    format!("location target {err} (pass --fetch to fetch remote content)")
                }
                ReadError::NotFound(_) => {
                    format!("location target {err}; fix the path or set spec.presence: optional")
                }
                _ => format!("location target: {err}"),
            },
        }),
    }
}

/// Reports every edge that closes a cycle in the location graph.
fn report_cycles(edges: &[(Target, Target, Via)], diagnostics: &mut Vec<Diagnostic>) {
    let mut out: HashMap<&Target, Vec<(&Target, &Via)>> = HashMap::new();
    for (from, to, via) in edges {
        out.entry(from).or_default().push((to, via));
    }
    // Iterative depth-first search: 1 = on the current path, 2 = done.
    let mut state: HashMap<&Target, u8> = HashMap::new();
    let mut starts: Vec<&Target> = out.keys().copied().collect();
    starts.sort();
    for start in starts {
        if state.contains_key(start) {
            continue;
        }
        let mut path: Vec<&Target> = vec![start];
        let mut stack: Vec<(&Target, usize)> = vec![(start, 0)];
        state.insert(start, 1);
        while let Some((node, next_child)) = stack.last_mut() {
            let children = out.get(*node).map_or(&[][..], Vec::as_slice);
            let Some((child, via)) = children.get(*next_child) else {
                state.insert(*node, 2);
                stack.pop();
                path.pop();
                continue;
            };
            *next_child += 1;
            match state.get(child) {
                Some(1) => {
                    let from = path.iter().position(|t| t == child).unwrap_or(0);
                    let cycle: Vec<String> = path[from..]
                        .iter()
                        .chain(std::iter::once(child))
                        .map(ToString::to_string)
                        .collect();
                    diagnostics.push(Diagnostic {
                        severity: Severity::Error,
                        source: via.parent.clone(),
                        position: Some(via.position),
                        field: Some(via.field.clone()),
                        message: format!(
                            "location cycle: {}; remove one of these targets",
                            cycle.join(" → ")
                        ),
                    });
                }
                Some(_) => {}
                None => {
                    state.insert(child, 1);
                    path.push(child);
                    stack.push((child, 0));
                }
            }
        }
    }
}
