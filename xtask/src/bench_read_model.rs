//! `cargo xtask bench-read-model`: builds the catalog's in-memory read model from a generated
//! catalog and times its queries, printing a Markdown report for BENCHMARKS.md.
//!
//! The catalog comes from `portico_testkit::catalog_gen`, is parsed and validated with
//! `portico_model`, and each entity becomes a plausible final entity: the validated entity plus
//! `metadata.uid` (a random-looking unique id), `metadata.etag` and `relations` — every
//! relation emitted anywhere in the catalog whose source is that entity, so both directions
//! are present as after Backstage's stitching. The entities are then upserted one by one and
//! the build time, the process's memory (`VmRSS`/`VmHWM` from `/proc/self/status`) and the
//! read model's own estimate are reported, followed by p50/p99 latencies of typical reads.
//! Run it in release mode: `cargo run --release -p xtask -- bench-read-model`.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "progress goes to stderr, the report to stdout"
)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::File;
use std::hint::black_box;
use std::io::{BufRead as _, BufReader, BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use portico_catalog::read_model::{EntityQuery, FullTextFilter, OrderField, Predicate, ReadModel};
use portico_model::{KindRegistry, YamlLimits, parse_documents, validate_entity};
use portico_testkit::catalog_gen::{CatalogSpec, generate};
use serde_json::{Value, json};

/// Options of `bench-read-model`.
#[derive(Debug, Clone)]
pub struct Options {
    pub entities: usize,
    pub iterations: usize,
    pub seed: u64,
    /// Final entities as JSON lines: measure from them (the child process); `None`: generate
    /// them, write them to a temporary file and run a child process on it, so that the
    /// child's memory holds the read model and nothing left over from generation.
    pub input: Option<PathBuf>,
}

/// SplitMix64, for uids and for picking inputs.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A UUID-shaped id, unique per `n`, in no particular order.
fn uid(n: u64) -> String {
    let (a, b) = (mix(n), mix(n ^ 0x5555_5555));
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

/// `/proc/self/status` field in KiB (`VmRSS`, `VmHWM`).
fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

fn mib_of_kib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "?".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0))
}

/// p50 and p99 of samples, in milliseconds.
fn percentiles(samples: &mut [Duration]) -> (f64, f64) {
    samples.sort_unstable();
    let at = |q: f64| {
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    (at(0.50), at(0.99))
}

/// Writes the final entities of a generated catalog to `out`, one compact JSON per line.
fn write_final_entities(options: &Options, out: &mut impl std::io::Write) -> anyhow::Result<()> {
    let catalog = generate(&CatalogSpec {
        entities: options.entities,
        seed: options.seed,
    });
    let kinds = KindRegistry::default();
    let mut validated = Vec::with_capacity(options.entities + 1);
    for file in catalog.all_files() {
        for document in parse_documents(&file.contents, &YamlLimits::default()) {
            let document = document.with_context(|| format!("parsing {}", file.path))?;
            let entity = validate_entity(&document.value, &kinds).map_err(|issues| {
                anyhow::anyhow!("{}: {} validation issue(s)", file.path, issues.len())
            })?;
            validated.push(entity);
        }
    }
    drop(catalog);
    // Relations by source, from every entity's emitted relations (both directions).
    let mut by_source: HashMap<String, Vec<(&'static str, String)>> = HashMap::new();
    for entity in &validated {
        for relation in &entity.relations {
            let list = by_source
                .entry(relation.source.canonical().to_owned())
                .or_default();
            let target = relation.target.canonical().to_owned();
            if !list
                .iter()
                .any(|(t, r)| *t == relation.relation_type && *r == target)
            {
                list.push((relation.relation_type, target));
            }
        }
    }
    for (n, entity) in validated.into_iter().enumerate() {
        let entity_ref = portico_model::EntityRef::new(
            &entity.entity.kind,
            entity.entity.namespace(),
            &entity.entity.metadata.name,
        );
        let mut value = serde_json::to_value(&entity.entity)?;
        value["metadata"]["uid"] = json!(uid(n as u64));
        value["metadata"]["etag"] = json!(format!("{:016x}", mix(n as u64 + 1)));
        let relations: Vec<Value> = by_source
            .remove(entity_ref.canonical())
            .unwrap_or_default()
            .into_iter()
            .map(|(t, target)| json!({"type": t, "targetRef": target}))
            .collect();
        value["relations"] = Value::Array(relations);
        serde_json::to_writer(&mut *out, &value)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

struct Timing {
    name: String,
    samples: Vec<Duration>,
    note: String,
}

fn time_it(
    name: &str,
    iterations: usize,
    mut run: impl FnMut(usize) -> anyhow::Result<String>,
) -> anyhow::Result<Timing> {
    // One warm-up run, whose note is kept.
    let note = run(0)?;
    let mut samples = Vec::with_capacity(iterations);
    for i in 0..iterations {
        let start = Instant::now();
        black_box(run(i + 1)?);
        samples.push(start.elapsed());
    }
    Ok(Timing {
        name: name.to_owned(),
        samples,
        note,
    })
}

/// Runs the benchmark and prints the report.
pub fn run(options: &Options) -> anyhow::Result<()> {
    ensure!(options.iterations > 0, "--iterations must be at least 1");
    match &options.input {
        Some(input) => measure(options, input),
        None => {
            eprintln!(
                "bench-read-model: generating and validating {} entities",
                options.entities
            );
            let started = Instant::now();
            let dir = tempfile::tempdir()?;
            let path = dir.path().join("final-entities.jsonl");
            let mut out = BufWriter::new(File::create(&path)?);
            write_final_entities(options, &mut out)?;
            out.flush()?;
            drop(out);
            eprintln!(
                "bench-read-model: final entities ready in {:.2} s; measuring in a fresh process",
                started.elapsed().as_secs_f64()
            );
            let status = Command::new(std::env::current_exe()?)
                .arg("bench-read-model")
                .arg("--entities")
                .arg(options.entities.to_string())
                .arg("--iterations")
                .arg(options.iterations.to_string())
                .arg("--seed")
                .arg(options.seed.to_string())
                .arg("--input")
                .arg(&path)
                .status()?;
            ensure!(status.success(), "the measuring process failed: {status}");
            Ok(())
        }
    }
}

/// Builds the read model from the JSON lines in `input`, then times the queries.
fn measure(options: &Options, input: &Path) -> anyhow::Result<()> {
    let rss_start = proc_status_kib("VmRSS");
    let mut model = ReadModel::new();
    let mut upsert_time = Duration::ZERO;
    let mut relation_count = 0;
    let mut entity_count = 0;
    let build_started = Instant::now();
    let reader = BufReader::new(File::open(input).with_context(|| input.display().to_string())?);
    for line in reader.lines() {
        let value: Value = serde_json::from_str(&line?)?;
        relation_count += value["relations"].as_array().map_or(0, Vec::len);
        entity_count += 1;
        let start = Instant::now();
        model.upsert(&value)?;
        upsert_time += start.elapsed();
    }
    let build = build_started.elapsed();
    let rss_built = proc_status_kib("VmRSS");
    let hwm = proc_status_kib("VmHWM");
    let stats = model.stats();
    ensure!(
        model.len() == entity_count,
        "duplicate refs in the generated catalog"
    );

    // Inputs.
    let all_refs = model.refs_matching(&Predicate::MatchAll);
    let groups = model.refs_matching(&Predicate::equals("kind", "group"));
    ensure!(!groups.is_empty(), "the catalog has no groups");
    let pick = |list: &[String], i: usize| -> String {
        list.get((mix(i as u64) % list.len().max(1) as u64) as usize)
            .cloned()
            .unwrap_or_default()
    };
    let n = options.iterations;
    let mut timings = Vec::new();

    timings.push(time_it("by_ref", n, |i| {
        let r = pick(&all_refs, i);
        let found = model.by_ref(&r).context("by_ref missed")?;
        Ok(format!("{} bytes", found.len()))
    })?);

    let services = vec!["kind=component,spec.type=service".to_owned()];
    timings.push(time_it(
        "filter `kind=component,spec.type=service`, limit 50",
        n,
        |_| {
            let page = model.query(&EntityQuery {
                filter: Predicate::from_filter_params(&services)?,
                limit: 50,
                ..EntityQuery::default()
            })?;
            Ok(format!("{} of {}", page.items.len(), page.total_items))
        },
    )?);

    timings.push(time_it(
        "filter `kind=component`, order `metadata.name` asc, limit 50",
        n,
        |i| {
            let page = model.query(&EntityQuery {
                filter: Predicate::equals("kind", "component"),
                order: vec![if i % 2 == 0 {
                    OrderField::asc("metadata.name")
                } else {
                    OrderField::desc("metadata.name")
                }],
                limit: 50,
                ..EntityQuery::default()
            })?;
            Ok(format!(
                "{} of {} (asc/desc alternating)",
                page.items.len(),
                page.total_items
            ))
        },
    )?);

    let type_facet = vec!["spec.type".to_owned()];
    timings.push(time_it("facets `spec.type`, no filter", n, |_| {
        let facets = model.facets(&type_facet, &Predicate::MatchAll);
        Ok(format!(
            "{} values",
            facets.get("spec.type").map_or(0, Vec::len)
        ))
    })?);

    let lifecycle_facet = vec!["spec.lifecycle".to_owned()];
    timings.push(time_it(
        "facets `spec.lifecycle`, filter `kind=component`",
        n,
        |_| {
            let facets = model.facets(&lifecycle_facet, &Predicate::equals("kind", "component"));
            Ok(format!(
                "{} values",
                facets.get("spec.lifecycle").map_or(0, Vec::len)
            ))
        },
    )?);

    // Full text: (term, fields, order field). The catalog UI searches name, title and display
    // name; "team" matches names clustered at the end of the name order; "ba" is too short
    // for a trigram.
    let ui_fields = [
        "metadata.name",
        "metadata.title",
        "spec.profile.displayname",
    ];
    let searches: [(&str, &[&str], &str); 6] = [
        ("pay", &["metadata.name"], "metadata.name"),
        ("team", &["metadata.name"], "metadata.name"),
        ("cart-api", &["metadata.name"], "metadata.name"),
        ("ba", &["metadata.name"], "metadata.name"),
        ("cart", &["metadata.title"], "metadata.uid"),
        ("pay", &ui_fields, "metadata.name"),
    ];
    for (term, fields, order) in searches {
        timings.push(time_it(
            &format!(
                "full text '{term}' on `{}`, order `{order}`, limit 50",
                fields.join("`, `")
            ),
            n,
            |_| {
                let page = model.query(&EntityQuery {
                    full_text: Some(FullTextFilter {
                        term: term.to_owned(),
                        fields: fields.iter().map(|f| (*f).to_owned()).collect(),
                    }),
                    order: vec![OrderField::asc(order)],
                    limit: 50,
                    ..EntityQuery::default()
                })?;
                Ok(format!("{} matches", page.total_items))
            },
        )?);
    }

    timings.push(time_it(
        "filter `relations.ownedby=<group>`, limit 50",
        n,
        |i| {
            let group = pick(&groups, i);
            let page = model.query(&EntityQuery {
                filter: Predicate::equals("relations.ownedby", &group),
                limit: 50,
                ..EntityQuery::default()
            })?;
            Ok(format!("{group}: {} matches", page.total_items))
        },
    )?);

    // Cursor walk of every API, pages of 100.
    let mut page_samples = Vec::new();
    let mut walks = Vec::new();
    let mut api_total = 0;
    for _ in 0..5 {
        let walk_started = Instant::now();
        let mut seen = 0;
        let start = Instant::now();
        let mut page = model.query(&EntityQuery {
            filter: Predicate::equals("kind", "api"),
            limit: 100,
            ..EntityQuery::default()
        })?;
        page_samples.push(start.elapsed());
        api_total = page.total_items;
        seen += page.items.len();
        while let Some(cursor) = page.next_cursor.take() {
            let start = Instant::now();
            page = model.query(&EntityQuery {
                cursor: Some(cursor),
                limit: 100,
                ..EntityQuery::default()
            })?;
            page_samples.push(start.elapsed());
            seen += page.items.len();
        }
        ensure!(
            seen == api_total,
            "cursor walk saw {seen} of {api_total} APIs"
        );
        walks.push(walk_started.elapsed());
    }
    let pages_per_walk = page_samples.len() / walks.len().max(1);
    timings.push(Timing {
        name: "cursor walk `kind=api`, pages of 100 (per page)".to_owned(),
        samples: page_samples,
        note: format!("{api_total} APIs, {pages_per_walk} pages per walk"),
    });
    let (walk_p50, _) = percentiles(&mut walks);

    let mut report = String::new();
    writeln!(report, "{}", xtask::bench::machine_info())?;
    writeln!(report)?;
    writeln!(
        report,
        "Read model over {entity_count} entities ({relation_count} relations), seed {}, \
         release build; {} iterations per query.",
        options.seed, options.iterations
    )?;
    writeln!(report)?;
    writeln!(report, "| Build | Value |")?;
    writeln!(report, "|---|---:|")?;
    writeln!(
        report,
        "| index build (read + parse JSON lines + upsert) | {:.2} s |",
        build.as_secs_f64()
    )?;
    writeln!(
        report,
        "| of which `upsert` | {:.2} s ({:.1} µs/entity) |",
        upsert_time.as_secs_f64(),
        upsert_time.as_secs_f64() * 1e6 / entity_count.max(1) as f64
    )?;
    writeln!(
        report,
        "| index contents | {} keys, {} distinct values, {} rows |",
        stats.keys, stats.values, stats.rows
    )?;
    let mib = |bytes: usize| bytes as f64 / (1024.0 * 1024.0);
    writeln!(
        report,
        "| stored JSON / index estimate | {:.1} MiB / {:.1} MiB |",
        mib(stats.json_bytes),
        mib(stats.index_bytes())
    )?;
    let parts: Vec<String> = stats
        .index_parts
        .iter()
        .map(|(part, bytes)| format!("{part} {:.1}", mib(*bytes)))
        .collect();
    writeln!(
        report,
        "| index estimate by part (MiB) | {} |",
        parts.join(", ")
    )?;
    writeln!(
        report,
        "| process RSS before / after the build (VmRSS) | {} / {} MiB |",
        mib_of_kib(rss_start),
        mib_of_kib(rss_built)
    )?;
    writeln!(
        report,
        "| process peak RSS (VmHWM) | {} MiB |",
        mib_of_kib(hwm)
    )?;
    writeln!(
        report,
        "| full cursor walk of `kind=api` (median of {}) | {:.1} ms |",
        walks.len(),
        walk_p50
    )?;
    writeln!(report)?;
    writeln!(report, "| Query | p50 ms | p99 ms | Result |")?;
    writeln!(report, "|---|---:|---:|---|")?;
    for timing in &mut timings {
        let (p50, p99) = percentiles(&mut timing.samples);
        writeln!(
            report,
            "| {} | {p50:.3} | {p99:.3} | {} |",
            timing.name, timing.note
        )?;
    }
    print!("{report}");
    Ok(())
}
