//! `fetch:plain`, `fetch:plain:file`, `fetch:template` and `fetch:template:file`: copy (and
//! render) a skeleton from the template's own directory, or from a URL, into the workspace.
//!
//! Local sources are confined to the template's directory. URLs — absolute http(s) ones, and
//! relative ones when the template itself came from a `url` location — are read through
//! [`remote`] from the hosts `backend.reading.allow` lists (directories from GitHub and GitLab
//! archives), into a staging folder the copy then reads as a local tree. In `fetch:template` both file contents and
//! file/folder names are templates; a path that renders empty, absolute or with `//` is skipped,
//! which is how templates leave out optional files (as in Backstage). Binary files and
//! `copyWithoutTemplating` matches are copied byte for byte; the execute bit is kept.

use std::path::{Path, PathBuf};

use portico_plugin_api::{ActionContext, BoxFuture, PluginError, ScaffolderAction};
use serde_json::{Map, Value, json};

use std::sync::Arc;

use super::input::{Input, failed};
use crate::expr::{Limits, Renderer, Syntax};
use crate::forge::PublishSettings;
use crate::remote::{self, Want};
use crate::workspace::{self, TreeEntry, resolve_in};

/// A source to copy from: a path of the template's directory, or a URL's content in a staging
/// folder (kept until the copy is done).
struct Source {
    path: PathBuf,
    _fetched: Option<remote::Fetched>,
}

/// Where `url` points: an absolute http(s) URL, or a relative one against the template's URL
/// when the template came from a `url` location, is read from an allowed host; anything else
/// is a path in the template's directory.
async fn source(
    ctx: &ActionContext,
    settings: &PublishSettings,
    action: &str,
    url: &str,
    want: Want,
) -> Result<Source, PluginError> {
    let remote_url = match url::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Some(parsed),
        Ok(parsed) if parsed.scheme() != "file" && parsed.scheme().len() > 1 => {
            return Err(PluginError::Input(format!(
                "{action}: {url:?}: only http(s) URLs, file: URLs and paths relative to the \
                 template can be fetched"
            )));
        }
        Ok(_) => None,
        Err(_) if ctx.template_dir.is_none() => ctx
            .template_url
            .as_deref()
            .and_then(|base| url::Url::parse(base).ok())
            .map(|base| {
                base.join(url).map_err(|error| {
                    PluginError::Input(format!(
                        "{action}: {url:?} cannot be resolved against the template's URL {base}: {error}"
                    ))
                })
            })
            .transpose()?,
        Err(_) => None,
    };
    if let Some(remote_url) = remote_url {
        let token = ctx.input.get("token").and_then(Value::as_str);
        ctx.log(&format!("Reading {remote_url}"));
        let fetched = remote::fetch(settings, action, &remote_url, want, token).await?;
        return Ok(Source {
            path: fetched.path.clone(),
            _fetched: Some(fetched),
        });
    }
    Ok(Source {
        path: source_path(ctx, action, url)?,
        _fetched: None,
    })
}

/// Where `url` points in the template's directory.
fn source_path(ctx: &ActionContext, action: &str, url: &str) -> Result<PathBuf, PluginError> {
    let local = match url::Url::parse(url) {
        Ok(parsed) if parsed.scheme() == "file" => {
            Some(parsed.to_file_path().map_err(|()| {
                PluginError::Input(format!("{action}: {url:?} is not a file path"))
            })?)
        }
        _ => None,
    };
    let template_dir = ctx.template_dir.as_deref().ok_or_else(|| {
        PluginError::Input(format!(
            "{action}: the template has no local directory, so {url:?} cannot be resolved"
        ))
    })?;
    let path = match local {
        Some(path) => path,
        None => workspace::resolve_source(template_dir, url).map_err(|e| failed(action, e))?,
    };
    // Also catches symlinks above the template directory's entries and absolute file: URLs.
    let canonical_root = std::fs::canonicalize(template_dir).map_err(|e| failed(action, e))?;
    let canonical = std::fs::canonicalize(&path)
        .map_err(|e| failed(action, format!("{url:?} ({}): {e}", path.display())))?;
    if !canonical.starts_with(&canonical_root) {
        return Err(PluginError::Input(format!(
            "{action}: {url:?} is outside the template's directory; only files next to the \
             template can be fetched"
        )));
    }
    Ok(canonical)
}

async fn blocking<T: Send + 'static>(
    action: &'static str,
    work: impl FnOnce() -> Result<T, PluginError> + Send + 'static,
) -> Result<T, PluginError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| failed(action, format!("the copy stopped: {error}")))?
}

fn copy_plain(
    source: &Path,
    target: &Path,
    workspace: &Path,
    action: &str,
) -> Result<usize, PluginError> {
    let relative_target = target.strip_prefix(workspace).unwrap_or(Path::new(""));
    let join = |relative: &str| {
        relative_target
            .join(relative)
            .to_string_lossy()
            .into_owned()
    };
    if source.is_file() {
        let contents = std::fs::read(source).map_err(|e| failed(action, e))?;
        let executable = is_executable(source);
        workspace::write_file(
            workspace,
            &relative_target.to_string_lossy(),
            &contents,
            executable,
        )
        .map_err(|e| failed(action, e))?;
        return Ok(1);
    }
    let mut count = 0;
    for entry in workspace::walk_tree(source).map_err(|e| failed(action, e))? {
        match entry {
            TreeEntry::Dir { relative } => {
                let dir = resolve_in(workspace, &join(&relative)).map_err(|e| failed(action, e))?;
                std::fs::create_dir_all(&dir).map_err(|e| failed(action, e))?;
            }
            TreeEntry::File {
                relative,
                executable,
            } => {
                let contents =
                    std::fs::read(source.join(&relative)).map_err(|e| failed(action, e))?;
                workspace::write_file(workspace, &join(&relative), &contents, executable)
                    .map_err(|e| failed(action, e))?;
                count += 1;
            }
            TreeEntry::Symlink { relative, target } => {
                workspace::write_symlink(workspace, &join(&relative), &target)
                    .map_err(|e| failed(action, e))?;
                count += 1;
            }
        }
    }
    Ok(count)
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

fn target_dir(
    ctx: &ActionContext,
    action: &str,
    target: Option<&str>,
) -> Result<PathBuf, PluginError> {
    resolve_in(&ctx.workspace, target.unwrap_or("./")).map_err(|e| failed(action, e))
}

const URL_SCHEMA: &str = "Relative path (to the template's location) or absolute http(s) URL of the content to fetch; directories from other hosts than the template's folder are read from GitHub and GitLab tree URLs";

/// `fetch:plain`: copies a directory (or file) of the template as it is.
#[derive(Debug)]
pub(super) struct FetchPlain(pub(super) Arc<PublishSettings>);

impl ScaffolderAction for FetchPlain {
    fn id(&self) -> &str {
        "fetch:plain"
    }
    fn description(&self) -> &str {
        "Downloads content and places it in the workspace, or optionally in a subdirectory specified by the targetPath input option."
    }
    fn input_schema(&self) -> Value {
        json!({"type": "object", "required": ["url"], "properties": {
            "url": {"type": "string", "description": URL_SCHEMA},
            "targetPath": {"type": "string", "description": "Target path within the working directory to download the contents to."},
            "token": {"type": "string", "description": "An optional token to use for authentication when reading the resources."},
        }})
    }
    fn supports_dry_run(&self) -> bool {
        true
    }
    fn handle(&self, ctx: ActionContext) -> BoxFuture<'_, Result<Map<String, Value>, PluginError>> {
        Box::pin(async move {
            let input = Input::new("fetch:plain", &ctx.input);
            let url = input.required_str("url")?;
            let target = target_dir(&ctx, "fetch:plain", input.str("targetPath")?)?;
            ctx.log(&format!("Fetching plain content from {url}"));
            let source = source(&ctx, &self.0, "fetch:plain", url, Want::Tree).await?;
            let workspace = ctx.workspace.clone();
            let count = blocking("fetch:plain", move || {
                copy_plain(&source.path, &target, &workspace, "fetch:plain")
            })
            .await?;
            ctx.log(&format!("Copied {count} file(s)"));
            Ok(Map::new())
        })
    }
}

/// `fetch:plain:file`: copies one file of the template as it is.
#[derive(Debug)]
pub(super) struct FetchPlainFile(pub(super) Arc<PublishSettings>);

impl ScaffolderAction for FetchPlainFile {
    fn id(&self) -> &str {
        "fetch:plain:file"
    }
    fn description(&self) -> &str {
        "Downloads single file and places it in the workspace."
    }
    fn input_schema(&self) -> Value {
        json!({"type": "object", "required": ["url", "targetPath"], "properties": {
            "url": {"type": "string", "description": URL_SCHEMA},
            "targetPath": {"type": "string", "description": "Target path within the working directory to download the file as."},
            "token": {"type": "string"},
        }})
    }
    fn supports_dry_run(&self) -> bool {
        true
    }
    fn handle(&self, ctx: ActionContext) -> BoxFuture<'_, Result<Map<String, Value>, PluginError>> {
        Box::pin(async move {
            let input = Input::new("fetch:plain:file", &ctx.input);
            let url = input.required_str("url")?;
            let source = source(&ctx, &self.0, "fetch:plain:file", url, Want::File).await?;
            if !source.path.is_file() {
                return Err(PluginError::Input(format!(
                    "fetch:plain:file: {url:?} is not a file"
                )));
            }
            let target = input.required_str("targetPath")?.to_owned();
            let workspace = ctx.workspace.clone();
            blocking("fetch:plain:file", move || {
                let contents =
                    std::fs::read(&source.path).map_err(|e| failed("fetch:plain:file", e))?;
                workspace::write_file(&workspace, &target, &contents, is_executable(&source.path))
                    .map_err(|e| failed("fetch:plain:file", e))?;
                Ok(())
            })
            .await?;
            ctx.log(&format!("Fetched {url}"));
            Ok(Map::new())
        })
    }
}

/// The options `fetch:template` and `fetch:template:file` share.
struct TemplateOptions {
    values: Value,
    cookiecutter: bool,
    trim_blocks: bool,
    lstrip_blocks: bool,
    replace: bool,
}

impl TemplateOptions {
    fn read(input: &Input<'_>) -> Result<Self, PluginError> {
        let values = match input.get("values") {
            None => Value::Object(Map::new()),
            Some(values @ Value::Object(_)) => values.clone(),
            Some(_) => return Err(PluginError::Input("input.values must be an object".into())),
        };
        Ok(Self {
            values,
            cookiecutter: input.bool("cookiecutterCompat")?,
            trim_blocks: input.bool("trimBlocks")?,
            lstrip_blocks: input.bool("lstripBlocks")?,
            replace: input.bool("replace")?,
        })
    }

    fn renderer(&self) -> Renderer {
        Renderer::with_syntax(
            Syntax {
                cookiecutter: self.cookiecutter,
                trim_blocks: self.trim_blocks,
                lstrip_blocks: self.lstrip_blocks,
            },
            Limits::default(),
        )
    }

    fn context(&self) -> Value {
        if self.cookiecutter {
            json!({ "cookiecutter": self.values })
        } else {
            json!({ "values": self.values })
        }
    }
}

fn template_schema(extra: Value) -> Value {
    let mut properties = json!({
        "url": {"type": "string", "description": URL_SCHEMA},
        "targetPath": {"type": "string", "description": "Target path within the working directory to generate contents to. Defaults to the working directory root."},
        "values": {"type": "object", "description": "Values to pass on to the templating engine"},
        "cookiecutterCompat": {"type": "boolean", "description": "Enable features to maximise compatibility with templates built for fetch:cookiecutter"},
        "replace": {"type": "boolean", "description": "If set, replace files in targetPath instead of skipping existing ones."},
        "trimBlocks": {"type": "boolean", "description": "If set, the first newline after a block is removed (block, not variable tag!)."},
        "lstripBlocks": {"type": "boolean", "description": "If set, leading spaces and tabs are stripped from the start of a line to a block."},
        "token": {"type": "string"},
    });
    if let (Some(properties), Value::Object(extra)) = (properties.as_object_mut(), extra) {
        properties.extend(extra);
    }
    json!({"type": "object", "required": ["url"], "properties": properties})
}

/// Whether a file may be rendered as text: valid UTF-8 without NUL bytes.
fn as_text(contents: &[u8]) -> Option<&str> {
    if contents.contains(&0) {
        return None;
    }
    std::str::from_utf8(contents).ok()
}

/// Whether a relative path (or a folder above it) matches one of the globs.
fn matches_any(patterns: &[glob::Pattern], relative: &str) -> bool {
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: false,
        require_literal_leading_dot: false,
    };
    let mut prefix = String::new();
    for (index, part) in relative.split('/').enumerate() {
        if index > 0 {
            prefix.push('/');
        }
        prefix.push_str(part);
        if patterns
            .iter()
            .any(|pattern| pattern.matches_with(&prefix, options))
        {
            return true;
        }
    }
    false
}

/// A rendered path that names nothing: Backstage skips these entries.
fn skipped_path(rendered: &str) -> bool {
    rendered.trim().is_empty() || rendered.starts_with('/') || rendered.contains("//")
}

struct TreePlan {
    source: PathBuf,
    target_relative: PathBuf,
    workspace: PathBuf,
    options: TemplateOptions,
    without_templating: Vec<glob::Pattern>,
    extension: Option<String>,
}

/// Renders a skeleton tree into the workspace; returns the log lines.
fn render_tree(plan: TreePlan) -> Result<Vec<String>, PluginError> {
    const ACTION: &str = "fetch:template";
    let renderer = plan.options.renderer();
    let context = plan.options.context();
    let mut log = Vec::new();
    let mut written = 0usize;
    for entry in workspace::walk_tree(&plan.source).map_err(|e| failed(ACTION, e))? {
        let (relative, executable, symlink) = match &entry {
            TreeEntry::Dir { relative } => (relative, false, None),
            TreeEntry::File {
                relative,
                executable,
            } => (relative, *executable, None),
            TreeEntry::Symlink { relative, target } => (relative, false, Some(target)),
        };
        let mut rendered = renderer
            .render_str(relative, &context)
            .map_err(|e| failed(ACTION, format!("in the path {relative:?}: {e}")))?;
        if skipped_path(&rendered) {
            log.push(format!(
                "Skipping {relative:?}: its path renders to {rendered:?}"
            ));
            continue;
        }
        let templated = match &plan.extension {
            Some(extension) => {
                let rendered_ext = rendered.strip_suffix(extension.as_str()).map(str::to_owned);
                match rendered_ext {
                    Some(stripped) if !matches!(entry, TreeEntry::Dir { .. }) => {
                        rendered = stripped;
                        true
                    }
                    _ => false,
                }
            }
            None => !matches_any(&plan.without_templating, relative),
        };
        let out = plan
            .target_relative
            .join(&rendered)
            .to_string_lossy()
            .into_owned();
        let out_path = resolve_in(&plan.workspace, &out).map_err(|e| failed(ACTION, e))?;
        match entry {
            TreeEntry::Dir { .. } => {
                std::fs::create_dir_all(&out_path).map_err(|e| failed(ACTION, e))?;
                continue;
            }
            _ if std::fs::symlink_metadata(&out_path).is_ok() && !plan.options.replace => {
                log.push(format!(
                    "Skipping {out:?}: it exists already (set replace to overwrite)"
                ));
                continue;
            }
            _ => {}
        }
        if let Some(target) = symlink {
            if std::fs::symlink_metadata(&out_path).is_ok() {
                std::fs::remove_file(&out_path).map_err(|e| failed(ACTION, e))?;
            }
            workspace::write_symlink(&plan.workspace, &out, target)
                .map_err(|e| failed(ACTION, e))?;
            written += 1;
            continue;
        }
        let raw = std::fs::read(plan.source.join(relative)).map_err(|e| failed(ACTION, e))?;
        let contents = match (templated, as_text(&raw)) {
            (true, Some(text)) => renderer
                .render_str(text, &context)
                .map_err(|e| failed(ACTION, format!("in {relative}: {e}")))?
                .into_bytes(),
            _ => raw,
        };
        workspace::write_file(&plan.workspace, &out, &contents, executable)
            .map_err(|e| failed(ACTION, e))?;
        written += 1;
    }
    log.push(format!("Wrote {written} file(s)"));
    Ok(log)
}

/// `fetch:template`: renders a skeleton directory (contents and names) into the workspace.
#[derive(Debug)]
pub(super) struct FetchTemplate(pub(super) Arc<PublishSettings>);

impl ScaffolderAction for FetchTemplate {
    fn id(&self) -> &str {
        "fetch:template"
    }
    fn description(&self) -> &str {
        "Downloads a skeleton, templates variables into file and directory names and content, and places the result in the workspace, or optionally in a subdirectory specified by the targetPath input option."
    }
    fn input_schema(&self) -> Value {
        template_schema(json!({
            "copyWithoutTemplating": {"type": "array", "items": {"type": "string"}, "description": "An array of glob patterns. Contents of matched files or directories are copied without being processed, but paths are subject to rendering."},
            "copyWithoutRender": {"type": "array", "items": {"type": "string"}, "description": "Deprecated: use copyWithoutTemplating."},
            "templateFileExtension": {"type": ["string", "boolean"], "description": "If set, only files with the given extension will be templated. If set to true, the default extension .njk is used."},
        }))
    }
    fn supports_dry_run(&self) -> bool {
        true
    }
    fn handle(&self, ctx: ActionContext) -> BoxFuture<'_, Result<Map<String, Value>, PluginError>> {
        Box::pin(async move {
            const ACTION: &str = "fetch:template";
            let input = Input::new(ACTION, &ctx.input);
            let url = input.required_str("url")?;
            let options = TemplateOptions::read(&input)?;
            let without = input.strings("copyWithoutTemplating")?;
            let without_render = input.strings("copyWithoutRender")?;
            if !without.is_empty() && !without_render.is_empty() {
                return Err(PluginError::Input(
                    "fetch:template: copyWithoutTemplating and copyWithoutRender are mutually exclusive".into(),
                ));
            }
            if !without_render.is_empty() {
                ctx.log("copyWithoutRender is deprecated; use copyWithoutTemplating");
            }
            let extension =
                match input.get("templateFileExtension") {
                    None | Some(Value::Bool(false)) => None,
                    Some(Value::Bool(true)) => Some(".njk".to_owned()),
                    Some(Value::String(ext)) if ext.starts_with('.') => Some(ext.clone()),
                    Some(Value::String(ext)) => Some(format!(".{ext}")),
                    Some(_) => return Err(PluginError::Input(
                        "fetch:template: input.templateFileExtension must be a string or a boolean"
                            .into(),
                    )),
                };
            let patterns: Vec<String> = without.into_iter().chain(without_render).collect();
            if extension.is_some() && (!patterns.is_empty() || options.cookiecutter) {
                return Err(PluginError::Input(
                    "fetch:template: templateFileExtension cannot be combined with copyWithoutTemplating, copyWithoutRender or cookiecutterCompat".into(),
                ));
            }
            let without_templating = patterns
                .iter()
                .map(|pattern| {
                    glob::Pattern::new(pattern.trim_start_matches("./")).map_err(|error| {
                        PluginError::Input(format!(
                            "fetch:template: copyWithoutTemplating {pattern:?}: {error}"
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let source = source(&ctx, &self.0, ACTION, url, Want::Tree).await?;
            if !source.path.is_dir() {
                return Err(PluginError::Input(format!(
                    "fetch:template: {url:?} is not a directory (use fetch:template:file for one file)"
                )));
            }
            let target = target_dir(&ctx, ACTION, input.str("targetPath")?)?;
            let target_relative = target
                .strip_prefix(&ctx.workspace)
                .unwrap_or(Path::new(""))
                .to_path_buf();
            ctx.log(&format!("Fetching template content from {url}"));
            let plan = TreePlan {
                source: source.path.clone(),
                target_relative,
                workspace: ctx.workspace.clone(),
                options,
                without_templating,
                extension,
            };
            for line in blocking(ACTION, move || render_tree(plan)).await? {
                ctx.log(&line);
            }
            drop(source);
            Ok(Map::new())
        })
    }
}

/// `fetch:template:file`: renders one file of the template into the workspace.
#[derive(Debug)]
pub(super) struct FetchTemplateFile(pub(super) Arc<PublishSettings>);

impl ScaffolderAction for FetchTemplateFile {
    fn id(&self) -> &str {
        "fetch:template:file"
    }
    fn description(&self) -> &str {
        "Downloads a single file and templates variables into the file, then places the result in the workspace."
    }
    fn input_schema(&self) -> Value {
        let mut schema = template_schema(json!({}));
        schema["required"] = json!(["url", "targetPath"]);
        schema
    }
    fn supports_dry_run(&self) -> bool {
        true
    }
    fn handle(&self, ctx: ActionContext) -> BoxFuture<'_, Result<Map<String, Value>, PluginError>> {
        Box::pin(async move {
            const ACTION: &str = "fetch:template:file";
            let input = Input::new(ACTION, &ctx.input);
            let url = input.required_str("url")?;
            let target = input.required_str("targetPath")?.to_owned();
            let options = TemplateOptions::read(&input)?;
            let source = source(&ctx, &self.0, ACTION, url, Want::File).await?;
            if !source.path.is_file() {
                return Err(PluginError::Input(format!(
                    "{ACTION}: {url:?} is not a file"
                )));
            }
            let out_path = resolve_in(&ctx.workspace, &target).map_err(|e| failed(ACTION, e))?;
            if out_path.exists() && !options.replace {
                ctx.log(&format!(
                    "Skipping {target:?}: it exists already (set replace to overwrite)"
                ));
                return Ok(Map::new());
            }
            let workspace = ctx.workspace.clone();
            blocking(ACTION, move || {
                let raw = std::fs::read(&source.path).map_err(|e| failed(ACTION, e))?;
                let contents = match as_text(&raw) {
                    Some(text) => options
                        .renderer()
                        .render_str(text, &options.context())
                        .map_err(|e| failed(ACTION, e))?
                        .into_bytes(),
                    None => raw,
                };
                workspace::write_file(&workspace, &target, &contents, is_executable(&source.path))
                    .map_err(|e| failed(ACTION, e))?;
                Ok(())
            })
            .await?;
            ctx.log(&format!("Fetched and rendered {url}"));
            Ok(Map::new())
        })
    }
}
