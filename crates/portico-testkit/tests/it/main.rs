//! Integration tests of `portico_testkit::catalog_gen`: determinism, exact counts, valid names
//! and tags, references that resolve, and a root `Location` that lists every written file.
//!
//! The generated YAML is read back and validated with Portico's own reader and validator
//! (`portico-model`), so these tests check the bytes consumers see, not the generator's plan.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

use portico_model::{KindRegistry, YamlLimits, parse_documents, validate_entity};
use portico_testkit::catalog_gen::{
    CatalogSpec, GeneratedCatalog, KindCounts, ROOT_FILE, ROOT_LOCATION_NAME, generate,
    write_to_dir,
};
use serde_json::Value;

/// Every document of a multi-document YAML text, read by the catalog's own YAML reader.
fn load_all(text: &str) -> Result<Vec<Value>, String> {
    parse_documents(text, &YamlLimits::default())
        .into_iter()
        .map(|doc| {
            doc.map(|d| d.value)
                .map_err(|e| format!("{e} at {}", e.position()))
        })
        .collect()
}

/// Parses every entity file of a catalog; returns `(file path, entity)` pairs.
fn entities(catalog: &GeneratedCatalog) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for file in &catalog.files {
        let docs = load_all(&file.contents)
            .unwrap_or_else(|e| panic!("{} does not parse: {e}", file.path));
        assert_eq!(docs.len(), file.entities, "{}: entity count", file.path);
        out.extend(docs.into_iter().map(|d| (file.path.clone(), d)));
    }
    out
}

fn str_at<'a>(entity: &'a Value, pointer: &str) -> Option<&'a str> {
    entity.pointer(pointer).and_then(Value::as_str)
}

fn kind_and_name(entity: &Value) -> (String, String) {
    let kind = str_at(entity, "/kind").expect("kind").to_owned();
    let name = str_at(entity, "/metadata/name")
        .expect("metadata.name")
        .to_owned();
    (kind, name)
}

/// `^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`, at most 63 characters.
fn is_valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let edge_ok = |b: Option<&u8>| b.is_some_and(u8::is_ascii_alphanumeric);
    !name.is_empty()
        && name.len() <= 63
        && edge_ok(bytes.first())
        && edge_ok(bytes.last())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Lowercase `[a-z0-9]` words joined by single `-`, at most 63 characters.
fn is_valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 63
        && tag.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// Resolves an entity reference to `(lowercase kind, name)`; `None` if it has no kind and
/// there is no default, or a namespace other than `default`.
fn resolve(reference: &str, default_kind: Option<&str>) -> Option<(String, String)> {
    let (kind, rest) = match reference.split_once(':') {
        Some((kind, rest)) => (kind.to_ascii_lowercase(), rest),
        None => (default_kind?.to_owned(), reference),
    };
    let name = match rest.split_once('/') {
        Some(("default", name)) => name,
        Some(_) => return None,
        None => rest,
    };
    Some((kind, name.to_owned()))
}

#[test]
fn same_spec_gives_identical_bytes() {
    for entities in [0, 1, 6, 7, 150, 5_000] {
        let spec = CatalogSpec { entities, seed: 99 };
        assert_eq!(generate(&spec), generate(&spec), "{entities} entities");
    }
}

#[test]
fn different_seeds_give_different_catalogs() {
    let a = generate(&CatalogSpec {
        entities: 500,
        seed: 1,
    });
    let b = generate(&CatalogSpec {
        entities: 500,
        seed: 2,
    });
    assert_eq!(a.counts, b.counts);
    assert_ne!(a.files, b.files);
}

/// Pins the exact output, so an unintended change to the generator (which would make
/// benchmark numbers incomparable across commits) fails here. When changing the generator
/// on purpose, update the expected hash.
#[test]
fn output_is_pinned() {
    let catalog = generate(&CatalogSpec {
        entities: 777,
        seed: 2024,
    });
    // FNV-1a over every path and content, in order.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in catalog.all_files() {
        for byte in file
            .path
            .bytes()
            .chain([0])
            .chain(file.contents.bytes())
            .chain([0])
        {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    assert_eq!(
        hash, 0xe97f_e80a_ec51_c3b8,
        "generator output changed (hash {hash:#018x})"
    );
}

#[test]
fn entity_count_is_exact() {
    let sizes = (0..=40).chain([49, 50, 99, 100, 101, 199, 200, 1_000, 4_321]);
    for entities in sizes {
        let catalog = generate(&CatalogSpec { entities, seed: 5 });
        assert_eq!(catalog.counts.total(), entities);
        assert_eq!(
            catalog.files.iter().map(|f| f.entities).sum::<usize>(),
            entities
        );
        let parsed = self::entities(&catalog);
        assert_eq!(parsed.len(), entities);
        let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
        for (_, entity) in &parsed {
            *by_kind.entry(kind_and_name(entity).0).or_default() += 1;
        }
        for (kind, expected) in catalog.counts.iter() {
            assert_eq!(
                by_kind.get(kind).copied().unwrap_or(0),
                expected,
                "{kind} in {entities}"
            );
        }
        if entities >= 7 {
            assert!(
                catalog.counts.iter().all(|(_, n)| n >= 1),
                "{:?}",
                catalog.counts
            );
        }
    }
}

#[test]
fn counts_follow_the_documented_proportions() {
    for entities in [10_000, 100_000, 1_000_000] {
        let counts = KindCounts::for_total(entities);
        assert_eq!(counts.total(), entities);
        let share = |n: usize| n as f64 / entities as f64;
        let close = |n: usize, target: f64| (share(n) - target).abs() < 0.006;
        assert!(close(counts.users, 0.10), "{counts:?}");
        assert!(close(counts.groups, 0.02), "{counts:?}");
        assert!(close(counts.domains, 0.005), "{counts:?}");
        assert!(close(counts.systems, 0.02), "{counts:?}");
        assert!(close(counts.components, 0.55), "{counts:?}");
        assert!(close(counts.apis, 0.20), "{counts:?}");
        assert!(close(counts.resources, 0.10), "{counts:?}");
    }
}

#[test]
fn names_tags_links_and_required_fields_are_valid() {
    for entities in [7, 3_000] {
        let catalog = generate(&CatalogSpec { entities, seed: 11 });
        let mut seen: HashSet<(String, String)> = HashSet::new();
        for (path, entity) in self::entities(&catalog) {
            let (kind, name) = kind_and_name(&entity);
            assert_eq!(
                str_at(&entity, "/apiVersion"),
                Some("backstage.io/v1alpha1")
            );
            assert!(is_valid_name(&name), "{path}: invalid name {name:?}");
            assert!(
                seen.insert((kind.clone(), name.clone())),
                "{path}: duplicate {kind} {name}"
            );
            for tag in entity
                .pointer("/metadata/tags")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let tag = tag.as_str().unwrap_or_default();
                assert!(is_valid_tag(tag), "{path}: {name} has invalid tag {tag:?}");
            }
            for link in entity
                .pointer("/metadata/links")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let url = str_at(link, "/url").unwrap_or_default();
                assert!(
                    url.starts_with("https://") && url.len() > 8,
                    "{path}: {name} link {url:?}"
                );
                assert!(
                    str_at(link, "/title").is_some_and(|t| !t.is_empty()),
                    "{path}: {name}"
                );
            }
            if let Some(annotations) = entity.pointer("/metadata/annotations") {
                for (key, value) in annotations.as_object().expect("annotations map") {
                    assert!(
                        key.contains('/') && value.is_string(),
                        "{path}: {name} {key}"
                    );
                }
            }
            let required: &[&str] = match kind.as_str() {
                "Component" => &["/spec/type", "/spec/lifecycle", "/spec/owner"],
                "API" => &[
                    "/spec/type",
                    "/spec/lifecycle",
                    "/spec/owner",
                    "/spec/definition",
                ],
                "Resource" => &["/spec/type", "/spec/owner"],
                "System" | "Domain" => &["/spec/owner"],
                "Group" => &["/spec/type", "/spec/children", "/spec/profile/displayName"],
                "User" => &["/spec/memberOf", "/spec/profile/email"],
                other => panic!("{path}: unexpected kind {other}"),
            };
            for pointer in required {
                assert!(
                    entity.pointer(pointer).is_some(),
                    "{path}: {kind} {name} lacks {pointer}"
                );
            }
            if kind == "API" {
                let definition = str_at(&entity, "/spec/definition").unwrap_or_default();
                assert!(
                    definition.lines().count() >= 5,
                    "{path}: {name} definition too short"
                );
            }
        }
    }
}

#[test]
fn every_reference_points_to_an_existing_entity() {
    for entities in (1..=12).chain([250, 4_000]) {
        let catalog = generate(&CatalogSpec { entities, seed: 3 });
        let parsed = self::entities(&catalog);
        let existing: HashSet<(String, String)> = parsed
            .iter()
            .map(|(_, e)| {
                let (kind, name) = kind_and_name(e);
                (kind.to_ascii_lowercase(), name)
            })
            .collect();
        // (pointer, default kind); `None`: the reference must carry its kind.
        let single: &[(&str, Option<&str>)] = &[
            ("/spec/owner", Some("group")),
            ("/spec/system", Some("system")),
            ("/spec/domain", Some("domain")),
            ("/spec/parent", Some("group")),
        ];
        let lists: &[(&str, Option<&str>)] = &[
            ("/spec/children", Some("group")),
            ("/spec/memberOf", Some("group")),
            ("/spec/dependsOn", None),
            ("/spec/providesApis", Some("api")),
            ("/spec/consumesApis", Some("api")),
        ];
        let mut checked = 0;
        for (path, entity) in &parsed {
            let (kind, name) = kind_and_name(entity);
            let mut refs: Vec<(&str, &str, Option<&str>)> = Vec::new();
            for &(pointer, default) in single {
                if let Some(r) = entity.pointer(pointer) {
                    refs.push((pointer, r.as_str().expect("reference is a string"), default));
                }
            }
            for &(pointer, default) in lists {
                for r in entity
                    .pointer(pointer)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    refs.push((pointer, r.as_str().expect("reference is a string"), default));
                }
            }
            for (pointer, reference, default) in refs {
                let target = resolve(reference, default).unwrap_or_else(|| {
                    panic!("{path}: {kind} {name} {pointer} {reference:?} lacks a kind")
                });
                assert!(
                    existing.contains(&target),
                    "{path}: {kind} {name} {pointer} {reference:?} names no entity"
                );
                if pointer == "/spec/dependsOn" {
                    assert!(
                        matches!(target.0.as_str(), "component" | "resource"),
                        "{reference}"
                    );
                }
                checked += 1;
            }
        }
        if entities >= 250 {
            assert!(
                checked > entities,
                "only {checked} references in {entities} entities"
            );
        }
    }
}

#[test]
fn group_tree_is_consistent() {
    let catalog = generate(&CatalogSpec {
        entities: 5_000,
        seed: 8,
    });
    let groups: HashMap<String, Value> = entities(&catalog)
        .into_iter()
        .map(|(_, e)| e)
        .filter(|e| str_at(e, "/kind") == Some("Group"))
        .map(|e| (kind_and_name(&e).1, e))
        .collect();
    let mut roots = 0;
    for (name, group) in &groups {
        match str_at(group, "/spec/parent") {
            None => roots += 1,
            Some(parent) => {
                let children = groups[parent]["spec"]["children"]
                    .as_array()
                    .expect("children");
                assert!(
                    children.iter().any(|c| c == name.as_str()),
                    "{parent} lacks child {name}"
                );
            }
        }
        for child in group["spec"]["children"].as_array().expect("children") {
            let child = child.as_str().expect("child name");
            assert_eq!(str_at(&groups[child], "/spec/parent"), Some(name.as_str()));
        }
    }
    assert_eq!(roots, 1, "exactly one organization at the root");
}

#[test]
fn files_are_split_for_parallel_reading() {
    let catalog = generate(&CatalogSpec {
        entities: 20_000,
        seed: 4,
    });
    assert!(catalog.files.len() >= 400, "{} files", catalog.files.len());
    for file in &catalog.files {
        assert!(
            (1..=200).contains(&file.entities),
            "{}: {}",
            file.path,
            file.entities
        );
        let shape_ok = file.path.starts_with("org/groups-")
            || file.path.starts_with("org/users-")
            || file.path.starts_with("domains/domains-")
            || (file.path.starts_with("systems/") && file.path.contains("/catalog-info"));
        assert!(shape_ok && file.path.ends_with(".yaml"), "{}", file.path);
    }
    let paths: BTreeSet<&str> = catalog.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths.len(), catalog.files.len(), "file paths are unique");
}

#[test]
fn root_location_targets_every_written_file() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = generate(&CatalogSpec {
        entities: 2_000,
        seed: 21,
    });
    write_to_dir(&catalog, dir.path()).unwrap();

    let root_text = std::fs::read_to_string(dir.path().join(ROOT_FILE)).unwrap();
    let root = load_all(&root_text).unwrap();
    assert_eq!(root.len(), 1);
    let root = &root[0];
    assert_eq!(str_at(root, "/kind"), Some("Location"));
    assert_eq!(str_at(root, "/metadata/name"), Some(ROOT_LOCATION_NAME));
    let targets: Vec<&str> = root["spec"]["targets"]
        .as_array()
        .expect("spec.targets")
        .iter()
        .map(|t| t.as_str().expect("target"))
        .collect();
    assert_eq!(targets.len(), catalog.files.len());
    for target in &targets {
        let relative = target.strip_prefix("./").expect("targets start with ./");
        let written = std::fs::read_to_string(dir.path().join(relative))
            .unwrap_or_else(|e| panic!("{target}: {e}"));
        let file = catalog
            .files
            .iter()
            .find(|f| f.path == relative)
            .expect("listed file");
        assert_eq!(written, file.contents);
    }
    // Nothing on disk that all.yaml does not list.
    let mut on_disk = Vec::new();
    collect_files(dir.path(), dir.path(), &mut on_disk);
    on_disk.sort();
    let mut expected: Vec<String> = targets
        .iter()
        .map(|t| t.trim_start_matches("./").to_owned())
        .collect();
    expected.push(ROOT_FILE.to_owned());
    expected.sort();
    assert_eq!(on_disk, expected);
}

#[test]
fn empty_catalog_has_a_valid_root() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = generate(&CatalogSpec {
        entities: 0,
        seed: 1,
    });
    assert!(catalog.files.is_empty());
    write_to_dir(&catalog, dir.path()).unwrap();
    let root = load_all(&std::fs::read_to_string(dir.path().join(ROOT_FILE)).unwrap()).unwrap();
    assert_eq!(root[0]["spec"]["targets"], serde_json::json!([]));
}

fn collect_files(base: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_files(base, &path, out);
        } else {
            let relative = path.strip_prefix(base).unwrap();
            out.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}

#[test]
fn every_generated_entity_passes_catalog_validation() {
    let catalog = generate(&CatalogSpec::new(3_000));
    let kinds = KindRegistry::builtin();
    for (path, entity) in entities(&catalog) {
        if let Err(issues) = validate_entity(&entity, &kinds) {
            panic!(
                "{path}: {} is invalid: {issues:#?}",
                entity["metadata"]["name"]
            );
        }
    }
}
