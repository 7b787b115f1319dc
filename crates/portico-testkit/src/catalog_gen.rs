//! Deterministic generator of realistic Backstage catalogs of any size, for tests and benchmarks.
//!
//! [`generate`] turns a [`CatalogSpec`] (entity count and seed) into YAML files shaped like a
//! real company's catalog: an org tree of `Group`s and `User`s, `Domain`s, `System`s and the
//! `Component`s, `API`s and `Resource`s of each system, with descriptions, tags, annotations,
//! links and references between them. [`write_to_dir`] puts them on disk under a root
//! [`ROOT_FILE`] (`all.yaml`), a `Location` entity whose `spec.targets` lists every file.
//!
//! Guarantees (the integration tests check them):
//! - the same spec gives byte-identical output, on every platform and with any dependency
//!   versions (the generator has its own SplitMix64 and no dependencies);
//! - the files hold exactly `spec.entities` entities (the root `Location` not counted), split
//!   by kind as [`KindCounts::for_total`] says: about 10% users, 2% groups, 0.5% domains, 2%
//!   systems, 55% components, 20% APIs and 10% resources, every kind at least once from 7
//!   entities on;
//! - names are valid Backstage names (`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`, at most 63
//!   characters) and unique per kind, and every reference (owner, system, domain, parent,
//!   children, memberOf, dependsOn, providesApis, consumesApis) names an entity of the catalog;
//! - `spec.dependsOn` entries always carry a kind prefix (`component:…`, `resource:…`); other
//!   references mix the bare, `kind:name` and `kind:default/name` forms, as real catalogs do.
//!
//! Files: `org/groups-NNNN.yaml`, `org/users-NNNN.yaml` and `domains/domains-NNNN.yaml` hold
//! 100 entities each; `systems/<system>/catalog-info.yaml` holds a system and its components,
//! APIs and resources (about 40 on average, split into `catalog-info-2.yaml`, … past 200).
//! Generating 100,000 entities takes well under a second in a release build.
//!
//! ```
//! use portico_testkit::catalog_gen::{CatalogSpec, generate};
//!
//! let catalog = generate(&CatalogSpec { entities: 1_000, seed: 7 });
//! assert_eq!(catalog.counts.total(), 1_000);
//! assert!(catalog.root.contents.contains("kind: Location"));
//! ```

mod plan;
mod render;
mod rng;
mod words;

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::Path;

use plan::Plan;
use render::{API_VERSION, EntityId, Renderer};

/// Path of the root `Location` file, relative to the catalog directory.
pub const ROOT_FILE: &str = "all.yaml";

/// `metadata.name` of the root `Location` entity.
pub const ROOT_LOCATION_NAME: &str = "generated-catalog";

/// Entities per file for groups, users and domains.
const ENTITIES_PER_ORG_FILE: usize = 100;

/// A system's entities are split over several files past this many.
const MAX_ENTITIES_PER_SYSTEM_FILE: usize = 200;

/// Rough YAML size of one entity, to size buffers up front.
const BYTES_PER_ENTITY: usize = 1_024;

/// What to generate: how many entities, from which seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CatalogSpec {
    /// Number of entities across all files, not counting the root `Location`.
    pub entities: usize,
    /// Seed of the pseudo-random choices; same seed and size, same bytes.
    pub seed: u64,
}

impl CatalogSpec {
    /// The seed benchmarks and `cargo xtask gen-catalog` use unless told otherwise.
    pub const DEFAULT_SEED: u64 = 42;

    /// A spec for `entities` entities with [`Self::DEFAULT_SEED`].
    pub fn new(entities: usize) -> Self {
        Self {
            entities,
            seed: Self::DEFAULT_SEED,
        }
    }
}

/// Number of entities of each kind in a generated catalog.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct KindCounts {
    pub groups: usize,
    pub users: usize,
    pub domains: usize,
    pub systems: usize,
    pub components: usize,
    pub apis: usize,
    pub resources: usize,
}

impl KindCounts {
    /// How `entities` entities are split by kind. Below 7 entities, kinds are added one at a
    /// time in the order Group, User, Domain, System, Component, API, Resource, so that every
    /// reference still has a target; from 7 on, every kind is present at least once and
    /// components take whatever the other proportions leave.
    pub fn for_total(entities: usize) -> Self {
        if entities < 7 {
            let has = |k: usize| usize::from(entities > k);
            return Self {
                groups: has(0),
                users: has(1),
                domains: has(2),
                systems: has(3),
                components: has(4),
                apis: has(5),
                resources: has(6),
            };
        }
        let share = |per_mille: usize| (entities * per_mille / 1000).max(1);
        let mut counts = Self {
            groups: share(20),
            users: share(100),
            domains: share(5),
            systems: share(20),
            components: 0,
            apis: share(200),
            resources: share(100),
        };
        counts.components = entities - counts.total();
        counts
    }

    /// All entities, every kind together.
    pub fn total(&self) -> usize {
        self.iter().map(|(_, n)| n).sum()
    }

    /// `(kind, count)` pairs, kinds spelled as in `kind:` (`"Group"`, `"API"`, …).
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, usize)> + use<> {
        [
            ("Group", self.groups),
            ("User", self.users),
            ("Domain", self.domains),
            ("System", self.systems),
            ("Component", self.components),
            ("API", self.apis),
            ("Resource", self.resources),
        ]
        .into_iter()
    }
}

/// One YAML file of a generated catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// Path relative to the catalog directory, `/`-separated (e.g. `org/groups-0001.yaml`).
    pub path: String,
    /// The YAML text: entities as documents separated by `---` lines.
    pub contents: String,
    /// Number of entities (YAML documents) in the file.
    pub entities: usize,
}

/// The output of [`generate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedCatalog {
    /// The spec it was generated from.
    pub spec: CatalogSpec,
    /// The entity files, in the order the root `Location` lists them.
    pub files: Vec<GeneratedFile>,
    /// [`ROOT_FILE`]: the `Location` whose `spec.targets` lists every file of [`Self::files`].
    pub root: GeneratedFile,
    /// Entities per kind; `counts.total() == spec.entities`.
    pub counts: KindCounts,
}

impl GeneratedCatalog {
    /// The root file first, then every entity file.
    pub fn all_files(&self) -> impl Iterator<Item = &GeneratedFile> {
        std::iter::once(&self.root).chain(&self.files)
    }

    /// Size of all files together, in bytes.
    pub fn total_bytes(&self) -> usize {
        self.all_files().map(|f| f.contents.len()).sum()
    }
}

/// Generates the catalog `spec` describes. Pure and deterministic; see the module docs.
pub fn generate(spec: &CatalogSpec) -> GeneratedCatalog {
    let counts = KindCounts::for_total(spec.entities);
    let plan = Plan::build(&counts, spec.seed);
    let mut renderer = Renderer::new(&plan, spec.seed);
    let files: Vec<GeneratedFile> = layout(&plan)
        .into_iter()
        .map(|(path, ids)| {
            let mut contents = String::with_capacity(ids.len() * BYTES_PER_ENTITY);
            for (k, &id) in ids.iter().enumerate() {
                if k > 0 {
                    contents.push_str("---\n");
                }
                renderer.render(&mut contents, id);
            }
            GeneratedFile {
                path,
                contents,
                entities: ids.len(),
            }
        })
        .collect();
    let root = root_location(spec, &files);
    GeneratedCatalog {
        spec: *spec,
        files,
        root,
        counts,
    }
}

/// Writes every file of `catalog` (root included) under `dir`, creating directories as
/// needed. Existing files of the same name are replaced; other files are left alone.
pub fn write_to_dir(catalog: &GeneratedCatalog, dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let mut created: HashSet<&str> = HashSet::new();
    for file in catalog.all_files() {
        if let Some((parent, _)) = file.path.rsplit_once('/')
            && created.insert(parent)
        {
            fs::create_dir_all(dir.join(parent))?;
        }
        // Each file is already one contiguous buffer, so a single write_all (what fs::write
        // does) is the buffered write: one syscall per file, no BufWriter copy.
        fs::write(dir.join(&file.path), &file.contents)?;
    }
    Ok(())
}

/// Which entities go to which file, in target order.
fn layout(plan: &Plan) -> Vec<(String, Vec<EntityId>)> {
    let mut files = Vec::new();
    let mut chunked = |prefix: &str, ids: Vec<EntityId>| {
        for (k, chunk) in ids.chunks(ENTITIES_PER_ORG_FILE).enumerate() {
            files.push((format!("{prefix}-{:04}.yaml", k + 1), chunk.to_vec()));
        }
    };
    chunked(
        "org/groups",
        (0..plan.groups.len()).map(EntityId::Group).collect(),
    );
    chunked(
        "org/users",
        (0..plan.users.len()).map(EntityId::User).collect(),
    );
    chunked(
        "domains/domains",
        (0..plan.domains.len()).map(EntityId::Domain).collect(),
    );

    // A system first, then its components, APIs and resources.
    let mut by_system: Vec<Vec<EntityId>> = (0..plan.systems.len())
        .map(|s| vec![EntityId::System(s)])
        .collect();
    let mut unassigned = Vec::new();
    let members = (plan
        .components
        .iter()
        .enumerate()
        .map(|(i, c)| (c.system, EntityId::Component(i))))
    .chain(
        plan.apis
            .iter()
            .enumerate()
            .map(|(i, a)| (a.system, EntityId::Api(i))),
    )
    .chain(
        plan.resources
            .iter()
            .enumerate()
            .map(|(i, r)| (r.system, EntityId::Resource(i))),
    );
    for (system, id) in members {
        match system.and_then(|s| by_system.get_mut(s)) {
            Some(list) => list.push(id),
            None => unassigned.push(id),
        }
    }
    chunked("misc/entities", unassigned);
    for (system, ids) in plan.systems.iter().zip(by_system) {
        for (k, chunk) in ids.chunks(MAX_ENTITIES_PER_SYSTEM_FILE).enumerate() {
            let file = if k == 0 {
                "catalog-info.yaml".to_owned()
            } else {
                format!("catalog-info-{}.yaml", k + 1)
            };
            files.push((format!("systems/{}/{file}", system.name), chunk.to_vec()));
        }
    }
    files
}

fn root_location(spec: &CatalogSpec, files: &[GeneratedFile]) -> GeneratedFile {
    let mut contents = String::with_capacity(256 + files.len() * 48);
    contents.push_str("apiVersion: ");
    contents.push_str(API_VERSION);
    contents.push_str("\nkind: Location\nmetadata:\n  name: ");
    contents.push_str(ROOT_LOCATION_NAME);
    contents.push_str(&format!(
        "\n  description: Generated catalog of {} entities (seed {})\nspec:\n",
        spec.entities, spec.seed
    ));
    if files.is_empty() {
        contents.push_str("  targets: []\n");
    } else {
        contents.push_str("  targets:\n");
        for file in files {
            contents.push_str("    - ./");
            contents.push_str(&file.path);
            contents.push('\n');
        }
    }
    GeneratedFile {
        path: ROOT_FILE.to_owned(),
        contents,
        entities: 1,
    }
}
