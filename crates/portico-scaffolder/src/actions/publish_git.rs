//! `publish:git` (Portico's own): commits the workspace (or a folder of it) and pushes it to any
//! git remote — `file://`, `https://`, `ssh://` — with the `git` CLI, which handles credentials,
//! proxies and SSH exactly as the operator's git does.
//!
//! The repository's `.git` lives in a temporary directory, not in the workspace, so later steps
//! and a dry-run listing see only the produced files. Git runs with a fixed environment (no
//! terminal prompts, no system config, only the listed transports: `ext::` and friends are
//! refused) and a timeout.

use std::path::{Path, PathBuf};
use std::time::Duration;

use portico_plugin_api::{ActionContext, BoxFuture, PluginError, ScaffolderAction};
use serde_json::{Map, Value, json};
use tokio::process::Command;

use super::input::{Input, failed};
use crate::workspace::resolve_in;

const ACTION: &str = "publish:git";

/// How `publish:git` runs git.
#[derive(Debug, Clone)]
pub struct GitOptions {
    /// The git executable.
    pub git: PathBuf,
    /// Longest a single git command may take.
    pub timeout: Duration,
    /// `scaffolder.defaultAuthor.name`.
    pub author_name: String,
    /// `scaffolder.defaultAuthor.email`.
    pub author_email: String,
    /// `scaffolder.defaultCommitMessage`.
    pub commit_message: String,
}

impl Default for GitOptions {
    fn default() -> Self {
        Self {
            git: PathBuf::from("git"),
            timeout: Duration::from_secs(300),
            author_name: "Scaffolder".to_owned(),
            author_email: "scaffolder@backstage.io".to_owned(),
            commit_message: "initial commit".to_owned(),
        }
    }
}

/// The `publish:git` action.
#[derive(Debug)]
pub(super) struct PublishGit {
    options: GitOptions,
}

impl PublishGit {
    pub(super) fn new(options: GitOptions) -> Self {
        Self { options }
    }
}

/// Whether `url` is a remote git may be pointed at.
fn check_remote(url: &str) -> Result<(), PluginError> {
    let allowed = ["file://", "https://", "http://", "ssh://", "git://"];
    let scp_like = !url.contains("://")
        && url
            .split_once(':')
            .is_some_and(|(host, _)| host.contains('@') && !host.contains('/'));
    if url.starts_with('-') || !(allowed.iter().any(|p| url.starts_with(p)) || scp_like) {
        return Err(PluginError::Input(format!(
            "{ACTION}: remoteUrl {url:?} is not a git remote URL (file://, https://, http://, ssh://, git:// or user@host:path)"
        )));
    }
    Ok(())
}

/// A remote URL without credentials, for logs and outputs.
pub(super) fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// One git repository being published: its `.git` outside the workspace, the folder it
/// commits, and the environment every git command gets.
pub(super) struct Git<'a> {
    pub(super) action: &'static str,
    pub(super) options: &'a GitOptions,
    pub(super) git_dir: &'a Path,
    pub(super) work_tree: &'a Path,
    pub(super) author_name: &'a str,
    pub(super) author_email: &'a str,
    /// Extra configuration passed through `GIT_CONFIG_*` variables, not `-c`, so that values
    /// such as an `Authorization` header never appear in the command line (`ps`).
    pub(super) hidden_config: Vec<(String, String)>,
}

impl Git<'_> {
    pub(super) async fn run(&self, args: &[&str]) -> Result<String, PluginError> {
        let action = self.action;
        let mut command = Command::new(&self.options.git);
        command
            .arg("--git-dir")
            .arg(self.git_dir)
            .arg("--work-tree")
            .arg(self.work_tree)
            .args(["-c", "protocol.allow=never"])
            .args(["-c", "protocol.file.allow=always"])
            .args(["-c", "protocol.https.allow=always"])
            .args(["-c", "protocol.http.allow=always"])
            .args(["-c", "protocol.ssh.allow=always"])
            .args(["-c", "protocol.git.allow=always"])
            .args(["-c", "core.hooksPath=/dev/null"])
            .args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", self.author_name)
            .env("GIT_AUTHOR_EMAIL", self.author_email)
            .env("GIT_COMMITTER_NAME", self.author_name)
            .env("GIT_COMMITTER_EMAIL", self.author_email)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        if !self.hidden_config.is_empty() {
            // Replaces any GIT_CONFIG_COUNT of our own environment, which is what we want:
            // only the entries listed here.
            command.env("GIT_CONFIG_COUNT", self.hidden_config.len().to_string());
            for (index, (key, value)) in self.hidden_config.iter().enumerate() {
                command.env(format!("GIT_CONFIG_KEY_{index}"), key);
                command.env(format!("GIT_CONFIG_VALUE_{index}"), value);
            }
        }
        let what = args.first().copied().unwrap_or("git");
        let output = tokio::time::timeout(self.options.timeout, command.output())
            .await
            .map_err(|_| {
                failed(
                    action,
                    format!("git {what} took longer than {:?}", self.options.timeout),
                )
            })?
            .map_err(|error| {
                failed(
                    action,
                    format!("cannot run git ({}): {error}", self.options.git.display()),
                )
            })?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(failed(
                action,
                format!("git {what} failed: {}", redact_text(stderr.trim())),
            ));
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    /// Commits the whole work tree as the first commit of `branch`; returns its hash.
    pub(super) async fn commit_all(
        &self,
        branch: &str,
        message: &str,
    ) -> Result<String, PluginError> {
        self.run(&["init", "--quiet", "--initial-branch", branch])
            .await?;
        self.run(&["add", "--all"]).await?;
        self.run(&["commit", "--quiet", "--allow-empty", "--message", message])
            .await?;
        self.run(&["rev-parse", "HEAD"]).await
    }
}

/// The git configuration that sends `username:token` as Basic credentials to `remote`'s
/// origin only (set through `GIT_CONFIG_*`, never argv), with credential helpers off so that
/// nothing else is offered or stored, and redirects not followed.
pub(super) fn token_config(
    action: &str,
    remote: &str,
    username: &str,
    token: &str,
) -> Result<Vec<(String, String)>, PluginError> {
    let origin = http_origin(remote).ok_or_else(|| {
        PluginError::Input(format!(
            "{action}: a token is only sent to http(s) remotes without credentials in the URL"
        ))
    })?;
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{username}:{token}"),
    );
    Ok(vec![
        ("credential.helper".to_owned(), String::new()),
        // The header is meant for this origin only; a redirect could lead elsewhere.
        ("http.followRedirects".to_owned(), "false".to_owned()),
        (
            format!("http.{origin}.extraHeader"),
            format!("Authorization: Basic {basic}"),
        ),
    ])
}

/// `scheme://host[:port]/` of an http(s) URL without credentials — the scope of a token
/// header — or `None` for any other kind of URL.
pub(super) fn http_origin(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "http" | "https")
        || !parsed.username().is_empty()
        || parsed.password().is_some()
    {
        return None;
    }
    let host = parsed.host_str()?;
    Some(match parsed.port() {
        Some(port) => format!("{}://{host}:{port}/", parsed.scheme()),
        None => format!("{}://{host}/", parsed.scheme()),
    })
}

/// Refuses branch names git could read as an option or that are not a single ref name.
pub(super) fn check_branch(action: &str, branch: &str) -> Result<(), PluginError> {
    if branch.is_empty()
        || branch.starts_with('-')
        || branch.contains("..")
        || branch.contains(char::is_whitespace)
    {
        return Err(PluginError::Input(format!(
            "{action}: {branch:?} is not a branch name"
        )));
    }
    Ok(())
}

/// Removes `user:password@` from any URL in git's messages.
fn redact_text(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            if word.contains("://") {
                redact(word)
            } else {
                word.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl ScaffolderAction for PublishGit {
    fn id(&self) -> &str {
        ACTION
    }
    fn description(&self) -> &str {
        "Initializes a git repository with the content of the workspace (or sourcePath) and pushes it to any git remote URL."
    }
    fn input_schema(&self) -> Value {
        json!({"type": "object", "required": ["remoteUrl"], "properties": {
            "remoteUrl": {"type": "string", "description": "The git remote to push to (file://, https://, ssh://, user@host:path); the branch is created there"},
            "defaultBranch": {"type": "string", "description": "The branch to push, default main"},
            "sourcePath": {"type": "string", "description": "Path within the workspace to publish, default the whole workspace"},
            "gitCommitMessage": {"type": "string", "description": "Commit message, default: initial commit"},
            "gitAuthorName": {"type": "string", "description": "Author name for the commit"},
            "gitAuthorEmail": {"type": "string", "description": "Author email for the commit"},
            "repoContentsUrl": {"type": "string", "description": "What to report as repoContentsUrl (for catalog:register), default the remote URL"},
            "token": {"type": "string", "description": "A token for an http(s) remote (for example ${{ secrets.token }}), sent by git as Basic credentials; credential helpers are not used then"},
            "tokenUsername": {"type": "string", "description": "The user name sent with token, default x-access-token (GitHub; GitLab and Gitea accept any)"},
        }})
    }
    fn output_schema(&self) -> Value {
        json!({"type": "object", "properties": {
            "remoteUrl": {"type": "string", "description": "The remote the content was pushed to"},
            "repoContentsUrl": {"type": "string", "description": "Where the pushed content can be read"},
            "commitHash": {"type": "string", "description": "The commit that was pushed"},
        }})
    }
    fn handle(&self, ctx: ActionContext) -> BoxFuture<'_, Result<Map<String, Value>, PluginError>> {
        Box::pin(async move {
            let input = Input::new(ACTION, &ctx.input);
            let remote = input.required_str("remoteUrl")?;
            check_remote(remote)?;
            let branch = input.str("defaultBranch")?.unwrap_or("main");
            check_branch(ACTION, branch)?;
            let source = resolve_in(&ctx.workspace, input.str("sourcePath")?.unwrap_or("./"))
                .map_err(|e| failed(ACTION, e))?;
            if !source.is_dir() {
                return Err(PluginError::Input(format!(
                    "{ACTION}: sourcePath is not a folder of the workspace"
                )));
            }
            let git_dir = tempfile::tempdir().map_err(|e| failed(ACTION, e))?;
            let git = Git {
                action: ACTION,
                options: &self.options,
                git_dir: git_dir.path(),
                work_tree: &source,
                author_name: input
                    .str("gitAuthorName")?
                    .unwrap_or(&self.options.author_name),
                author_email: input
                    .str("gitAuthorEmail")?
                    .unwrap_or(&self.options.author_email),
                hidden_config: match input.str("token")?.filter(|t| !t.is_empty()) {
                    None => Vec::new(),
                    Some(token) => {
                        let username = input.str("tokenUsername")?.unwrap_or("x-access-token");
                        token_config(ACTION, remote, username, token)?
                    }
                },
            };
            let message = input
                .str("gitCommitMessage")?
                .unwrap_or(&self.options.commit_message);
            let commit = git.commit_all(branch, message).await?;
            let refspec = format!("HEAD:refs/heads/{branch}");
            ctx.log(&format!(
                "Pushing {commit} to {} ({branch})",
                redact(remote)
            ));
            git.run(&["push", "--quiet", remote, &refspec]).await?;
            let mut output = Map::new();
            let public_remote = redact(remote);
            let contents = input
                .str("repoContentsUrl")?
                .map_or_else(|| public_remote.clone(), str::to_owned);
            output.insert("remoteUrl".to_owned(), Value::String(public_remote));
            output.insert("repoContentsUrl".to_owned(), Value::String(contents));
            output.insert("commitHash".to_owned(), Value::String(commit));
            Ok(output)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_git_remotes() {
        for ok in [
            "file:///tmp/r.git",
            "https://git.example.com/a/b.git",
            "git@github.com:a/b.git",
        ] {
            assert!(check_remote(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ext::sh -c evil",
            "--upload-pack=evil",
            "/tmp/plain/path",
            "fd::3",
        ] {
            assert!(check_remote(bad).is_err(), "{bad}");
        }
        assert_eq!(redact("https://user:tok@host/r.git"), "https://host/r.git");
    }
}
