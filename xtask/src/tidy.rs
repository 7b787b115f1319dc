//! Tidy checks that keep the workspace in shape; `xtask/tests/tidy.rs` runs them as tests
//! and `cargo xtask tidy` from the command line.
//!
//! - [`check_dependencies`]: crate dependency directions (architecture guide §2) and where
//!   some external crates may be used, read from `cargo metadata`.
//! - [`check_module_docs`]: every `.rs` file under `crates/` and `xtask/` opens with a `//!`
//!   module doc line.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use serde_json::Value;

use crate::cargo;

// ----- dependency directions ------------------------------------------------------------

/// Which workspace crates a crate may depend on (normal and build dependencies; dev-
/// dependencies are not checked).
#[derive(Debug, Clone, Copy)]
pub enum Allowed {
    Only(&'static [&'static str]),
    Anything,
}

/// One row of the dependency-direction table.
#[derive(Debug, Clone, Copy)]
pub struct CrateRule {
    pub name: &'static str,
    pub allowed: Allowed,
    /// The rule in words, quoted in failure messages.
    pub rule: &'static str,
}

const TRAITS: &[&str] = &["portico-plugin-api", "portico-store", "portico-model"];
const SERVER_DEPS: &[&str] = &[
    "portico-catalog",
    "portico-scaffolder",
    "portico-techdocs",
    "portico-search",
    "portico-plugin-api",
    "portico-store",
    "portico-model",
];
const ENGINE_RULE: &str = "engines (catalog, scaffolder, techdocs, search) depend only on \
                           plugin-api, store and model, never on each other";

/// Every workspace crate and the workspace crates it may depend on. A new crate must be
/// added here, or the tidy test fails.
pub const CRATE_RULES: &[CrateRule] = &[
    CrateRule {
        name: "portico-model",
        allowed: Allowed::Only(&[]),
        rule: "portico-model is pure: it depends on no workspace crate",
    },
    CrateRule {
        name: "portico-plugin-api",
        allowed: Allowed::Only(&["portico-model"]),
        rule: "portico-plugin-api depends only on portico-model",
    },
    CrateRule {
        name: "portico-store",
        allowed: Allowed::Only(&["portico-model"]),
        rule: "portico-store (storage traits) depends only on portico-model",
    },
    CrateRule {
        name: "portico-store-sql",
        allowed: Allowed::Only(&["portico-store", "portico-model"]),
        rule: "portico-store-sql depends only on portico-store and portico-model",
    },
    CrateRule {
        name: "portico-catalog",
        allowed: Allowed::Only(TRAITS),
        rule: ENGINE_RULE,
    },
    CrateRule {
        name: "portico-scaffolder",
        allowed: Allowed::Only(TRAITS),
        rule: ENGINE_RULE,
    },
    CrateRule {
        name: "portico-techdocs",
        allowed: Allowed::Only(TRAITS),
        rule: ENGINE_RULE,
    },
    CrateRule {
        name: "portico-search",
        allowed: Allowed::Only(TRAITS),
        rule: ENGINE_RULE,
    },
    CrateRule {
        name: "portico-server",
        allowed: Allowed::Only(SERVER_DEPS),
        rule: "portico-server depends on engines, plugin-api, store and model, never on portico-store-sql",
    },
    CrateRule {
        name: "portico-ui",
        allowed: Allowed::Only(SERVER_DEPS),
        rule: "portico-ui (web pages) depends on engines, plugin-api, store and model, never on portico-store-sql or portico-server",
    },
    CrateRule {
        name: "portico",
        allowed: Allowed::Anything,
        rule: "the binary wires everything together",
    },
    CrateRule {
        name: "portico-testkit",
        allowed: Allowed::Anything,
        rule: "test helpers may use anything",
    },
    CrateRule {
        name: "xtask",
        allowed: Allowed::Anything,
        rule: "repository tooling may use anything",
    },
];

/// The test-helper crate, which may only be a dev-dependency (of anything but xtask).
pub const TESTKIT: &str = "portico-testkit";

/// Where an external crate (and its `<name>-*` family, e.g. `axum-extra`, `sqlx-core`) may
/// appear as a normal or build dependency. xtask is exempt.
#[derive(Debug, Clone, Copy)]
pub struct ExternalRule {
    pub family: &'static str,
    pub only_in: Option<&'static [&'static str]>,
    pub never_in: &'static [&'static str],
    pub rule: &'static str,
}

pub const EXTERNAL_RULES: &[ExternalRule] = &[
    ExternalRule {
        family: "sqlx",
        only_in: Some(&["portico-store-sql"]),
        never_in: &[],
        rule: "sqlx is used only in portico-store-sql",
    },
    ExternalRule {
        family: "axum",
        only_in: Some(&["portico-server", "portico-ui", "portico"]),
        never_in: &[],
        rule: "axum is used only in portico-server, portico-ui and the portico binary",
    },
    ExternalRule {
        family: "tower",
        only_in: Some(&["portico-server", "portico-ui", "portico"]),
        never_in: &[],
        rule: "tower is used only in portico-server, portico-ui and the portico binary",
    },
    ExternalRule {
        family: "tower-http",
        only_in: Some(&["portico-server", "portico-ui", "portico"]),
        never_in: &[],
        rule: "tower-http is used only in portico-server, portico-ui and the portico binary",
    },
    ExternalRule {
        family: "reqwest",
        only_in: None,
        never_in: &["portico-model"],
        rule: "portico-model is pure: no HTTP client",
    },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepKind {
    Normal,
    Dev,
    Build,
}

impl fmt::Display for DepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Normal => "dependency",
            Self::Dev => "dev-dependency",
            Self::Build => "build-dependency",
        })
    }
}

/// A dependency edge as `cargo metadata` reports it (`name` is the package name, even when
/// the dependency is renamed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    pub name: String,
    pub kind: DepKind,
}

/// A workspace package and its dependencies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub dependencies: Vec<Dependency>,
}

/// `cargo metadata --format-version 1 --no-deps` of the workspace at `root`, parsed.
pub fn cargo_metadata(root: &Path) -> anyhow::Result<Value> {
    let output = Command::new(cargo())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root)
        .output()
        .context("running cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    serde_json::from_slice(&output.stdout).context("parsing cargo metadata output")
}

/// The workspace packages of a `cargo metadata` document.
pub fn workspace_packages(metadata: &Value) -> anyhow::Result<Vec<Package>> {
    let packages = metadata
        .get("packages")
        .and_then(Value::as_array)
        .context("cargo metadata: no `packages` array")?;
    let members: Vec<&str> = metadata
        .get("workspace_members")
        .and_then(Value::as_array)
        .context("cargo metadata: no `workspace_members` array")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut out = Vec::new();
    for package in packages {
        let id = package
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !members.contains(&id) {
            continue;
        }
        let name = package
            .get("name")
            .and_then(Value::as_str)
            .context("package without name")?;
        let mut dependencies = Vec::new();
        for dep in package
            .get("dependencies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let dep_name = dep
                .get("name")
                .and_then(Value::as_str)
                .with_context(|| format!("{name}: dependency without name"))?;
            let kind = match dep.get("kind").and_then(Value::as_str) {
                None => DepKind::Normal,
                Some("dev") => DepKind::Dev,
                Some("build") => DepKind::Build,
                Some(other) => bail!("{name}: unknown dependency kind {other:?} of {dep_name}"),
            };
            dependencies.push(Dependency {
                name: dep_name.to_owned(),
                kind,
            });
        }
        out.push(Package {
            name: name.to_owned(),
            dependencies,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn in_family(dependency: &str, family: &str) -> bool {
    dependency
        .strip_prefix(family)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
}

/// Checks the dependency-direction table, the testkit rule and the external crate rules;
/// returns one message per violation (empty: all good).
pub fn check_dependencies(packages: &[Package]) -> Vec<String> {
    let workspace: Vec<&str> = packages.iter().map(|p| p.name.as_str()).collect();
    let mut problems = Vec::new();
    for package in packages {
        let name = package.name.as_str();
        let Some(rule) = CRATE_RULES.iter().find(|r| r.name == name) else {
            problems.push(format!(
                "crate `{name}` is not in the dependency-direction table: add it to CRATE_RULES in \
                 xtask/src/tidy.rs with the workspace crates it may depend on"
            ));
            continue;
        };
        for dep in package
            .dependencies
            .iter()
            .filter(|d| d.kind != DepKind::Dev)
        {
            let kind = dep.kind;
            let dep_name = dep.name.as_str();
            if workspace.contains(&dep_name) {
                if dep_name == TESTKIT && name != "xtask" {
                    problems.push(format!(
                        "{name} -> {dep_name} ({kind}): not allowed; rule: {TESTKIT} may only be a \
                         dev-dependency (xtask excepted)"
                    ));
                    continue;
                }
                if let Allowed::Only(allowed) = rule.allowed
                    && !allowed.contains(&dep_name)
                {
                    let allowed = if allowed.is_empty() {
                        "none".to_owned()
                    } else {
                        allowed.join(", ")
                    };
                    problems.push(format!(
                        "{name} -> {dep_name} ({kind}): not allowed; rule: {} (allowed workspace \
                             dependencies of {name}: {allowed})",
                        rule.rule
                    ));
                }
                continue;
            }
            if name == "xtask" {
                continue;
            }
            for external in EXTERNAL_RULES
                .iter()
                .filter(|e| in_family(dep_name, e.family))
            {
                let allowed_here = external.only_in.is_none_or(|only| only.contains(&name))
                    && !external.never_in.contains(&name);
                if !allowed_here {
                    problems.push(format!(
                        "{name} -> {dep_name} ({kind}): external crate not allowed here; rule: {}",
                        external.rule
                    ));
                }
            }
        }
    }
    problems
}

// ----- module docs ----------------------------------------------------------------------

/// Why a Rust source text does not open with a `//!` module doc line, if it doesn't.
pub fn module_doc_problem(text: &str) -> Option<String> {
    let first = text.lines().next();
    match first {
        None => Some("the file is empty".to_owned()),
        Some(line) if line.starts_with("//!") => {
            if line.trim_start_matches("//!").trim().is_empty() {
                Some("the first `//!` line is empty: say what the module is for".to_owned())
            } else {
                None
            }
        }
        Some(line) if line.starts_with('\u{feff}') => {
            Some("the file starts with a byte-order mark".to_owned())
        }
        Some(line) if line.trim().is_empty() => {
            Some("the file starts with a blank line".to_owned())
        }
        Some(line) => {
            let mut shown: String = line.chars().take(60).collect();
            if shown.len() < line.len() {
                shown.push('…');
            }
            Some(format!("the first line is `{shown}`"))
        }
    }
}

/// All `.rs` files under `dir`, skipping `target` and hidden directories; sorted.
pub fn rust_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries =
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?;
        for entry in entries {
            let entry = entry?;
            let path = entry.path();
            let file_name = entry.file_name();
            let file_name = file_name.to_string_lossy();
            let file_type = entry.file_type()?;
            if file_type.is_dir() {
                if file_name != "target" && !file_name.starts_with('.') {
                    pending.push(path);
                }
            } else if file_type.is_file() && file_name.ends_with(".rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Every `.rs` file under `<root>/crates` and `<root>/xtask` that does not open with a `//!`
/// line, as `path: reason` relative to `root`.
pub fn check_module_docs(root: &Path) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    for top in ["crates", "xtask"] {
        let dir = root.join(top);
        if !dir.is_dir() {
            continue;
        }
        for file in rust_files(&dir)? {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            if let Some(problem) = module_doc_problem(&text) {
                let shown = file.strip_prefix(root).unwrap_or(&file);
                problems.push(format!(
                    "{}: must start with a `//!` module doc line saying what the module is for; {problem}",
                    shown.display()
                ));
            }
        }
    }
    Ok(problems)
}

/// Both checks on the workspace at `root`.
pub fn run_all(root: &Path) -> anyhow::Result<Vec<String>> {
    let packages = workspace_packages(&cargo_metadata(root)?)?;
    let mut problems = check_dependencies(&packages);
    problems.extend(check_module_docs(root)?);
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(name: &str, deps: &[(&str, DepKind)]) -> Package {
        Package {
            name: name.to_owned(),
            dependencies: deps
                .iter()
                .map(|&(n, kind)| Dependency {
                    name: n.to_owned(),
                    kind,
                })
                .collect(),
        }
    }

    fn workspace(extra: Vec<Package>) -> Vec<Package> {
        let mut packages: Vec<Package> = CRATE_RULES.iter().map(|r| package(r.name, &[])).collect();
        for p in extra {
            packages.retain(|q| q.name != p.name);
            packages.push(p);
        }
        packages
    }

    #[test]
    fn a_layered_workspace_passes() {
        let packages = workspace(vec![
            package(
                "portico-catalog",
                &[
                    ("portico-model", DepKind::Normal),
                    ("portico-store", DepKind::Normal),
                    ("portico-testkit", DepKind::Dev),
                    ("serde", DepKind::Normal),
                ],
            ),
            package(
                "portico-server",
                &[
                    ("portico-catalog", DepKind::Normal),
                    ("axum", DepKind::Normal),
                    ("tower-http", DepKind::Normal),
                ],
            ),
            package(
                "portico-store-sql",
                &[
                    ("portico-store", DepKind::Normal),
                    ("sqlx", DepKind::Normal),
                ],
            ),
            package(
                "portico",
                &[
                    ("portico-store-sql", DepKind::Normal),
                    ("axum", DepKind::Normal),
                    ("reqwest", DepKind::Normal),
                ],
            ),
            package(
                "portico-model",
                &[("reqwest", DepKind::Dev), ("portico-testkit", DepKind::Dev)],
            ),
            package(
                "xtask",
                &[
                    ("portico-testkit", DepKind::Normal),
                    ("sqlx", DepKind::Normal),
                ],
            ),
        ]);
        assert_eq!(check_dependencies(&packages), Vec::<String>::new());
    }

    #[test]
    fn engine_to_engine_edge_is_reported_with_crate_edge_and_rule() {
        let packages = workspace(vec![package(
            "portico-catalog",
            &[("portico-search", DepKind::Normal)],
        )]);
        let problems = check_dependencies(&packages);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("portico-catalog -> portico-search (dependency): not allowed"),
            "{}",
            problems[0]
        );
        assert!(
            problems[0].contains("never on each other"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn server_may_not_use_store_sql_and_model_nothing() {
        let packages = workspace(vec![
            package("portico-server", &[("portico-store-sql", DepKind::Normal)]),
            package("portico-model", &[("portico-store", DepKind::Build)]),
        ]);
        let problems = check_dependencies(&packages);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("portico-server -> portico-store-sql"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("portico-model -> portico-store (build-dependency)"))
        );
    }

    #[test]
    fn testkit_only_as_dev_dependency() {
        let packages = workspace(vec![package(
            "portico",
            &[("portico-testkit", DepKind::Normal)],
        )]);
        let problems = check_dependencies(&packages);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("portico -> portico-testkit (dependency)"),
            "{}",
            problems[0]
        );
        assert!(
            problems[0].contains("may only be a dev-dependency"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn external_crates_are_confined() {
        let packages = workspace(vec![
            package(
                "portico-catalog",
                &[("sqlx-core", DepKind::Normal), ("axum", DepKind::Normal)],
            ),
            package("portico-model", &[("reqwest", DepKind::Normal)]),
            package("portico-store-sql", &[("tower", DepKind::Normal)]),
        ]);
        let problems = check_dependencies(&packages);
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("portico-catalog -> sqlx-core")
                    && p.contains("only in portico-store-sql"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("portico-catalog -> axum"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("portico-model -> reqwest") && p.contains("no HTTP client"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("portico-store-sql -> tower"))
        );
        assert!(!in_family("towers", "tower"));
    }

    #[test]
    fn unknown_crate_must_be_added_to_the_table() {
        let packages = workspace(vec![package(
            "portico-notifications",
            &[("portico-model", DepKind::Normal)],
        )]);
        let problems = check_dependencies(&packages);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0]
                .contains("`portico-notifications` is not in the dependency-direction table"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn reads_workspace_packages_from_metadata() {
        let metadata = serde_json::json!({
            "workspace_members": ["path+file:///w/crates/a#portico-catalog@0.1.0"],
            "packages": [
                {
                    "id": "path+file:///w/crates/a#portico-catalog@0.1.0",
                    "name": "portico-catalog",
                    "dependencies": [
                        {"name": "portico-scaffolder", "kind": null, "rename": "scaffold"},
                        {"name": "tempfile", "kind": "dev"},
                        {"name": "cc", "kind": "build"}
                    ]
                },
                {"id": "registry+https://x#serde@1.0.0", "name": "serde", "dependencies": []}
            ]
        });
        let packages = workspace_packages(&metadata).unwrap();
        assert_eq!(packages.len(), 1);
        assert_eq!(
            packages[0]
                .dependencies
                .iter()
                .map(|d| d.kind)
                .collect::<Vec<_>>(),
            [DepKind::Normal, DepKind::Dev, DepKind::Build]
        );
        let problems = check_dependencies(&workspace(packages));
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("portico-catalog -> portico-scaffolder")),
            "{problems:?}"
        );
    }

    #[test]
    fn module_doc_rules() {
        assert_eq!(
            module_doc_problem("//! Parses things.\n\nfn f() {}\n"),
            None
        );
        assert!(module_doc_problem("").is_some());
        assert!(
            module_doc_problem("\n//! Late doc.\n")
                .unwrap()
                .contains("blank line")
        );
        assert!(
            module_doc_problem("#![allow(dead_code)]\n//! Doc.\n")
                .unwrap()
                .contains("#![allow(dead_code)]")
        );
        assert!(module_doc_problem("// plain comment\n").is_some());
        assert!(module_doc_problem("/// item doc\nfn f() {}\n").is_some());
        assert!(
            module_doc_problem("//!\n//! Doc on the second line.\n")
                .unwrap()
                .contains("empty")
        );
        assert!(
            module_doc_problem("\u{feff}//! Doc.\n")
                .unwrap()
                .contains("byte-order mark")
        );
    }

    #[test]
    fn module_doc_check_lists_every_offending_file() {
        let root = tempfile::tempdir().unwrap();
        let write = |rel: &str, text: &str| {
            let path = root.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("crates/a/src/lib.rs", "//! Good.\n");
        write("crates/a/src/bad.rs", "use std::fs;\n");
        write("crates/a/tests/it/main.rs", "\n//! Late.\n");
        write("xtask/src/main.rs", "#![allow(clippy::all)]\n//! Doc.\n");
        write("crates/a/target/debug/build/out.rs", "generated\n");
        write("crates/a/src/notes.txt", "not rust\n");
        let problems = check_module_docs(root.path()).unwrap();
        let files: Vec<&str> = problems
            .iter()
            .map(|p| p.split(':').next().unwrap())
            .collect();
        assert_eq!(
            files,
            [
                "crates/a/src/bad.rs",
                "crates/a/tests/it/main.rs",
                "xtask/src/main.rs"
            ]
        );
    }
}
