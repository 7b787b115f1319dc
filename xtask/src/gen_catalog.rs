//! `cargo xtask gen-catalog`: writes a generated catalog to a directory and prints what it
//! wrote (per-kind counts, file count, size and time).

use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use portico_testkit::catalog_gen::{self, CatalogSpec, GeneratedCatalog, ROOT_FILE};

/// What [`generate_into`] did, for reports.
#[derive(Debug)]
pub struct Written {
    pub catalog: GeneratedCatalog,
    pub generate_time: Duration,
    pub write_time: Duration,
}

/// Generates the catalog for `spec` and writes it under `out`.
pub fn generate_into(spec: &CatalogSpec, out: &Path) -> anyhow::Result<Written> {
    let start = Instant::now();
    let catalog = catalog_gen::generate(spec);
    let generate_time = start.elapsed();
    let start = Instant::now();
    catalog_gen::write_to_dir(&catalog, out)
        .with_context(|| format!("writing the catalog to {}", out.display()))?;
    Ok(Written {
        catalog,
        generate_time,
        write_time: start.elapsed(),
    })
}

/// Generates, writes and reports on stdout.
pub fn run(spec: &CatalogSpec, out: &Path) -> anyhow::Result<()> {
    let written = generate_into(spec, out)?;
    report(&mut io::stdout().lock(), spec, out, &written)?;
    Ok(())
}

fn report(w: &mut dyn Write, spec: &CatalogSpec, out: &Path, written: &Written) -> io::Result<()> {
    let catalog = &written.catalog;
    writeln!(
        w,
        "Generated {} entities (seed {}) in {} files, {:.1} MiB: {} (generate {:.2} s, write {:.2} s)",
        catalog.counts.total(),
        spec.seed,
        catalog.files.len(),
        mib(catalog.total_bytes()),
        out.join(ROOT_FILE).display(),
        written.generate_time.as_secs_f64(),
        written.write_time.as_secs_f64(),
    )?;
    writeln!(w)?;
    writeln!(w, "| Kind | Entities |")?;
    writeln!(w, "|---|---:|")?;
    for (kind, count) in catalog.counts.iter() {
        writeln!(w, "| {kind} | {count} |")?;
    }
    writeln!(w, "| **Total** | **{}** |", catalog.counts.total())?;
    writeln!(w)?;
    writeln!(
        w,
        "Files: {} entity files + {ROOT_FILE}",
        catalog.files.len()
    )
}

/// Bytes to MiB, for display.
pub fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
