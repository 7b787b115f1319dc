//! `publish:github:pull-request` and `publish:gitlab:merge-request`: propose the workspace (or
//! `sourcePath`) as a change to an existing repository, as Backstage's actions do — look the
//! repository up through the forge's REST API, fetch its target branch with git, lay the files
//! over it at `targetPath`, commit them on a new branch, push that branch over HTTP(S), and open
//! the pull (merge) request through the API.
//!
//! People and labels: GitHub takes them after the pull request exists (`requested_reviewers`,
//! `issues/{n}/assignees`, `issues/{n}/labels`, one call each, a refusal only warned about since
//! the request is open); GitLab takes them in the merge request itself (`assignee_ids` and
//! `reviewer_ids` from `GET /users?username=`, `labels` as one field). Inputs that would need
//! more than that are accepted and named in a warning.
//!
//! The token reaches git exactly as for `publish:github` (an `extraHeader` for the repository's
//! origin through `GIT_CONFIG_*`, credential helpers off) and is scrubbed from every error.

use std::path::Path;
use std::sync::Arc;

use portico_plugin_api::{ActionContext, BoxFuture, PluginError, ScaffolderAction};
use serde_json::{Map, Value, json};

use super::input::{Input, failed};
use super::publish_forge::{Call, Forge, encode, field, scrub};
use super::publish_git::{Git, check_branch, http_origin, redact, token_config};
use crate::filters::parse_repo_url;
use crate::forge::{ForgeMethod, PublishSettings};
use crate::workspace::{self, TreeEntry, resolve_in};

/// Backstage inputs accepted and not applied (they need more than a REST call each: updating an
/// existing request, forks, commit actions); a step that gives one is told so in its log.
/// `labels` and the people on the request are applied, each forge its own way.
fn not_applied(forge: Forge) -> &'static [&'static str] {
    match forge {
        // GitHub names people with `assignees` (a list); `assignee` is GitLab's.
        Forge::GitHub => &[
            "assignee",
            "update",
            "forceFork",
            "forceEmptyGitAuthor",
            "createWhenEmpty",
            "commitAction",
            "gitCommitMessage",
            "filesToDelete",
            "projectid",
        ],
        // GitLab has no team reviewers, and one `assignee`.
        Forge::GitLab => &[
            "teamReviewers",
            "assignees",
            "assignReviewersFromApprovalRules",
            "update",
            "forceFork",
            "forceEmptyGitAuthor",
            "createWhenEmpty",
            "commitAction",
            "gitCommitMessage",
            "filesToDelete",
            "projectid",
        ],
    }
}

/// Reads `key` as a list of strings, also from one string (GitLab's `labels` may be either);
/// repeats dropped, order kept.
fn list_or_string(input: &Input<'_>, key: &str) -> Result<Vec<String>, PluginError> {
    let items = match input.str(key) {
        Ok(Some(text)) => text
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect(),
        Ok(None) => Vec::new(),
        Err(_) => input.strings(key)?,
    };
    let mut seen = std::collections::HashSet::new();
    Ok(items
        .into_iter()
        .filter(|item| seen.insert(item.clone()))
        .collect())
}

/// The repository a change is proposed to.
struct Target {
    clone_url: String,
    default_branch: String,
    /// GitLab's project id (merge requests are created under it).
    project_id: Option<Value>,
    /// GitLab's `path_with_namespace`.
    project_path: Option<String>,
}

/// The request as the forge reported it.
struct Opened {
    url: String,
    number: Value,
}

/// `publish:github:pull-request` or `publish:gitlab:merge-request`.
#[derive(Debug)]
pub(super) struct PublishChange {
    forge: Forge,
    settings: Arc<PublishSettings>,
}

impl PublishChange {
    pub(super) fn new(forge: Forge, settings: Arc<PublishSettings>) -> Self {
        Self { forge, settings }
    }

    fn id(&self) -> &'static str {
        match self.forge {
            Forge::GitHub => "publish:github:pull-request",
            Forge::GitLab => "publish:gitlab:merge-request",
        }
    }
}

impl Call<'_> {
    async fn target(&self, owner: &str, repo: &str) -> Result<Target, PluginError> {
        let path = match self.forge {
            Forge::GitHub => format!("/repos/{}/{}", encode(owner), encode(repo)),
            Forge::GitLab => format!("/projects/{}", encode(&format!("{owner}/{repo}"))),
        };
        let found = self.send(ForgeMethod::Get, &path, None).await?;
        match found.status {
            200 => {}
            404 => {
                return Err(self.error(format!(
                    "the repository {owner}/{repo} does not exist on {} or the token cannot see it",
                    self.host
                )));
            }
            _ => return Err(self.unexpected(&format!("looking up {owner}/{repo}"), &found)),
        }
        let clone_key = match self.forge {
            Forge::GitHub => "clone_url",
            Forge::GitLab => "http_url_to_repo",
        };
        Ok(Target {
            clone_url: field(&found.body, clone_key)
                .ok_or_else(|| self.error(format!("the API's answer has no {clone_key}")))?,
            default_branch: field(&found.body, "default_branch").unwrap_or_else(|| "main".into()),
            project_id: found.body.get("id").cloned(),
            project_path: field(&found.body, "path_with_namespace"),
        })
    }

    async fn open(
        &self,
        owner: &str,
        repo: &str,
        target: &Target,
        body: Value,
    ) -> Result<Opened, PluginError> {
        let path = match (self.forge, &target.project_id) {
            (Forge::GitHub, _) => format!("/repos/{}/{}/pulls", encode(owner), encode(repo)),
            (Forge::GitLab, Some(id)) => {
                let id = id.as_str().map_or_else(|| id.to_string(), str::to_owned);
                format!("/projects/{}/merge_requests", encode(&id))
            }
            (Forge::GitLab, None) => format!(
                "/projects/{}/merge_requests",
                encode(&format!("{owner}/{repo}"))
            ),
        };
        let opened = self.send(ForgeMethod::Post, &path, Some(body)).await?;
        let what = match self.forge {
            Forge::GitHub => "opening the pull request",
            Forge::GitLab => "opening the merge request",
        };
        if !matches!(opened.status, 200 | 201) {
            return Err(self.unexpected(what, &opened));
        }
        let (url_key, number_key) = match self.forge {
            Forge::GitHub => ("html_url", "number"),
            Forge::GitLab => ("web_url", "iid"),
        };
        Ok(Opened {
            url: field(&opened.body, url_key)
                .ok_or_else(|| self.error(format!("the API's answer has no {url_key}")))?,
            number: opened.body.get(number_key).cloned().unwrap_or(Value::Null),
        })
    }
}

impl Call<'_> {
    /// GitHub: after the pull request exists, one call each for reviewers (users and teams
    /// together), assignees and labels. The request is open already, so a refused call is a
    /// warning in the log, not a failed step (as Backstage treats reviewers).
    async fn decorate_pull_request(
        &self,
        ctx: &ActionContext,
        owner: &str,
        repo: &str,
        number: &Value,
        people: &People,
    ) {
        if number.is_null() {
            ctx.log("Warning: GitHub did not say the pull request's number; reviewers, assignees and labels are not added");
            return;
        }
        let base = format!("/repos/{}/{}", encode(owner), encode(repo));
        let mut calls = Vec::new();
        if !people.reviewers.is_empty() || !people.team_reviewers.is_empty() {
            let mut body = Map::new();
            if !people.reviewers.is_empty() {
                body.insert("reviewers".into(), json!(people.reviewers));
            }
            if !people.team_reviewers.is_empty() {
                body.insert("team_reviewers".into(), json!(people.team_reviewers));
            }
            calls.push((
                "reviewers",
                format!("{base}/pulls/{number}/requested_reviewers"),
                Value::Object(body),
            ));
        }
        if !people.assignees.is_empty() {
            calls.push((
                "assignees",
                format!("{base}/issues/{number}/assignees"),
                json!({"assignees": people.assignees}),
            ));
        }
        if !people.labels.is_empty() {
            calls.push((
                "labels",
                format!("{base}/issues/{number}/labels"),
                json!({"labels": people.labels}),
            ));
        }
        for (what, path, body) in calls {
            let listed = body
                .as_object()
                .map(|object| {
                    object
                        .values()
                        .filter_map(Value::as_array)
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            match self.send(ForgeMethod::Post, &path, Some(body)).await {
                Ok(response) if matches!(response.status, 200 | 201) => {
                    ctx.log(&format!("Added {what} [{listed}] to pull request {number}"));
                }
                Ok(response) => ctx.log(&format!(
                    "Warning: could not add {what} to pull request {number}: {}",
                    self.unexpected(&format!("adding {what}"), &response)
                )),
                Err(error) => ctx.log(&format!(
                    "Warning: could not add {what} to pull request {number}: {error}"
                )),
            }
        }
    }

    /// GitLab takes people by user id: `GET /users?username=` for each name. A name GitLab does
    /// not know is left out with a warning, and the merge request is opened without it (as
    /// Backstage does).
    async fn gitlab_user_ids(
        &self,
        ctx: &ActionContext,
        role: &str,
        names: &[String],
    ) -> Vec<Value> {
        let mut ids = Vec::new();
        for name in names {
            let path = format!("/users?username={}", encode(name));
            let found = match self.send(ForgeMethod::Get, &path, None).await {
                Ok(found) if found.status == 200 => found
                    .body
                    .as_array()
                    .and_then(|users| users.first())
                    .and_then(|user| user.get("id"))
                    .cloned(),
                Ok(_) | Err(_) => None,
            };
            match found {
                Some(id) => ids.push(id),
                None => ctx.log(&format!(
                    "Warning: no GitLab user {name:?} on {}; the merge request is opened without this {role}",
                    self.host
                )),
            }
        }
        ids
    }
}

/// Who and what a request is decorated with, from the step's input.
struct People {
    reviewers: Vec<String>,
    team_reviewers: Vec<String>,
    assignees: Vec<String>,
    labels: Vec<String>,
}

impl People {
    fn read(forge: Forge, input: &Input<'_>) -> Result<Self, PluginError> {
        let dedup = |items: Vec<String>| {
            let mut seen = std::collections::HashSet::new();
            items
                .into_iter()
                .filter(|item| seen.insert(item.clone()))
                .collect::<Vec<_>>()
        };
        Ok(match forge {
            Forge::GitHub => Self {
                reviewers: dedup(input.strings("reviewers")?),
                team_reviewers: dedup(input.strings("teamReviewers")?),
                assignees: dedup(input.strings("assignees")?),
                labels: dedup(input.strings("labels")?),
            },
            Forge::GitLab => Self {
                reviewers: dedup(input.strings("reviewers")?),
                team_reviewers: Vec::new(),
                assignees: input
                    .str("assignee")?
                    .map(str::to_owned)
                    .into_iter()
                    .collect(),
                labels: list_or_string(input, "labels")?,
            },
        })
    }
}

/// Lays the files of `source` over `checkout` at `target` (a path inside it).
fn overlay(
    source: &Path,
    checkout: &Path,
    target: &str,
    action: &str,
) -> Result<usize, PluginError> {
    let join = |relative: &str| {
        Path::new(target)
            .join(relative)
            .to_string_lossy()
            .into_owned()
    };
    let mut count = 0;
    for entry in workspace::walk_tree(source).map_err(|e| failed(action, e))? {
        match entry {
            TreeEntry::Dir { .. } => {}
            TreeEntry::File {
                relative,
                executable,
            } => {
                let contents =
                    std::fs::read(source.join(&relative)).map_err(|e| failed(action, e))?;
                workspace::write_file(checkout, &join(&relative), &contents, executable)
                    .map_err(|e| failed(action, e))?;
                count += 1;
            }
            TreeEntry::Symlink { relative, target } => {
                let path = resolve_in(checkout, &join(&relative)).map_err(|e| failed(action, e))?;
                if std::fs::symlink_metadata(&path).is_ok() {
                    std::fs::remove_file(&path).map_err(|e| failed(action, e))?;
                }
                workspace::write_symlink(checkout, &join(&relative), &target)
                    .map_err(|e| failed(action, e))?;
                count += 1;
            }
        }
    }
    Ok(count)
}

impl ScaffolderAction for PublishChange {
    fn id(&self) -> &str {
        PublishChange::id(self)
    }
    fn description(&self) -> &str {
        match self.forge {
            Forge::GitHub => "Creates a pull request on GitHub with the content of the workspace.",
            Forge::GitLab => "Creates a merge request on GitLab with the content of the workspace.",
        }
    }
    fn input_schema(&self) -> Value {
        let mut properties = json!({
            "repoUrl": {"type": "string", "description": "Repository location: host?owner=<owner>&repo=<repo> (RepoUrlPicker)"},
            "branchName": {"type": "string", "description": "The name of the branch the change is pushed to"},
            "targetBranchName": {"type": "string", "description": "The branch the change is proposed for, default the repository's default branch"},
            "title": {"type": "string", "description": "The title of the request"},
            "description": {"type": "string", "description": "The description of the request"},
            "sourcePath": {"type": "string", "description": "Path within the workspace whose files are proposed, default the whole workspace"},
            "targetPath": {"type": "string", "description": "Path within the repository the files are written to, default its root"},
            "gitAuthorName": {"type": "string", "description": "Author name for the commit"},
            "gitAuthorEmail": {"type": "string", "description": "Author email for the commit"},
            "commitMessage": {"type": "string", "description": "The commit message, default the title"},
            "token": {"type": "string", "description": "The token to use instead of the integration's"},
            "allowedHosts": {"type": "array", "items": {"type": "string"}, "description": "When given, repoUrl's host must be one of these"},
        });
        let ignored = format!(
            "Accepted and not applied (the step log says so): {}",
            not_applied(self.forge).join(", ")
        );
        let names =
            |what: &str| json!({"type": "array", "items": {"type": "string"}, "description": what});
        if let Some(object) = properties.as_object_mut() {
            match self.forge {
                Forge::GitHub => {
                    object.insert("draft".into(), json!({"type": "boolean", "description": "Create the pull request as a draft"}));
                    object.insert(
                        "reviewers".into(),
                        names("Users (logins) asked to review the pull request"),
                    );
                    object.insert(
                        "teamReviewers".into(),
                        names("Teams (slugs) asked to review the pull request"),
                    );
                    object.insert(
                        "assignees".into(),
                        names("Users (logins) the pull request is assigned to"),
                    );
                    object.insert("labels".into(), names("Labels put on the pull request"));
                }
                Forge::GitLab => {
                    object.insert("removeSourceBranch".into(), json!({"type": "boolean", "description": "Delete the source branch when the request is merged"}));
                    object.insert("draft".into(), json!({"type": "boolean", "description": "Mark the merge request as a draft"}));
                    object.insert("assignee".into(), json!({"type": "string", "description": "The GitLab username the merge request is assigned to"}));
                    object.insert(
                        "reviewers".into(),
                        names("GitLab usernames asked to review the merge request"),
                    );
                    object.insert("labels".into(), json!({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}], "description": "Labels put on the merge request (a list, or one comma-separated string)"}));
                }
            }
        }
        json!({"type": "object", "required": ["repoUrl", "branchName", "title"], "description": ignored, "properties": properties})
    }
    fn output_schema(&self) -> Value {
        match self.forge {
            Forge::GitHub => json!({"type": "object", "properties": {
                "remoteUrl": {"type": "string", "description": "A URL to the pull request with the provider"},
                "pullRequestNumber": {"type": "number", "description": "The pull request number"},
                "targetBranchName": {"type": "string", "description": "Target branch name of the pull request"},
            }}),
            Forge::GitLab => json!({"type": "object", "properties": {
                "projectid": {"type": "string", "description": "GitLab project id or path"},
                "projectPath": {"type": "string", "description": "GitLab project path"},
                "mergeRequestUrl": {"type": "string", "description": "Link to the merge request in GitLab"},
                "targetBranchName": {"type": "string", "description": "Target branch name of the merge request"},
            }}),
        }
    }
    fn handle(&self, ctx: ActionContext) -> BoxFuture<'_, Result<Map<String, Value>, PluginError>> {
        Box::pin(async move {
            let action = PublishChange::id(self);
            let input = Input::new(action, &ctx.input);
            let repo_url = input.required_str("repoUrl")?;
            let parts = parse_repo_url(repo_url)
                .map_err(|error| PluginError::Input(format!("{action}: input.repoUrl: {error}")))?;
            let text = |key: &str| parts.get(key).and_then(Value::as_str).unwrap_or_default();
            let (host, owner, repo) = (text("host"), text("owner"), text("repo"));
            if owner.is_empty() || repo.is_empty() {
                return Err(PluginError::Input(format!(
                    "{action}: input.repoUrl {repo_url:?} must name an owner and a repository (…?owner=<owner>&repo=<repo>)"
                )));
            }
            let allowed = input.strings("allowedHosts")?;
            if !allowed.is_empty() && !allowed.iter().any(|h| h.eq_ignore_ascii_case(host)) {
                return Err(PluginError::Input(format!(
                    "{action}: the host {host:?} is not in allowedHosts ({})",
                    allowed.join(", ")
                )));
            }
            let branch = input.required_str("branchName")?;
            check_branch(action, branch)?;
            let title = input.required_str("title")?;
            let description = input.str("description")?.unwrap_or_default();
            let source = resolve_in(&ctx.workspace, input.str("sourcePath")?.unwrap_or("./"))
                .map_err(|e| failed(action, e))?;
            if !source.is_dir() {
                return Err(PluginError::Input(format!(
                    "{action}: sourcePath is not a folder of the workspace"
                )));
            }
            let target_path = input.str("targetPath")?.unwrap_or("./").to_owned();
            if workspace::normalize(&target_path).is_none() {
                return Err(PluginError::Input(format!(
                    "{action}: targetPath {target_path:?} must be a relative path inside the repository"
                )));
            }
            let people = People::read(self.forge, &input)?;
            let ignored: Vec<&str> = not_applied(self.forge)
                .iter()
                .copied()
                .filter(|key| input.get(key).is_some())
                .collect();
            if !ignored.is_empty() {
                ctx.log(&format!(
                    "Warning: not supported, ignored: {}",
                    ignored.join(", ")
                ));
            }
            let call = Call::for_step(self.forge, action, &self.settings, &input, host)?;
            let token = call.token;
            let found = call.target(owner, repo).await?;
            let base = input
                .str("targetBranchName")?
                .map_or_else(|| found.default_branch.clone(), str::to_owned);
            check_branch(action, &base)?;
            if http_origin(&found.clone_url).is_none() {
                return Err(call.error(format!(
                    "the forge gave {:?} as the clone URL; only http(s) URLs without credentials are used",
                    redact(&found.clone_url)
                )));
            }
            let hidden_config =
                token_config(action, &found.clone_url, self.forge.git_user(), token)?;
            let git_dir = tempfile::tempdir().map_err(|e| failed(action, e))?;
            let checkout = tempfile::tempdir().map_err(|e| failed(action, e))?;
            let options = &self.settings.git;
            let git = Git {
                action,
                options,
                git_dir: git_dir.path(),
                work_tree: checkout.path(),
                author_name: input.str("gitAuthorName")?.unwrap_or(&options.author_name),
                author_email: input
                    .str("gitAuthorEmail")?
                    .unwrap_or(&options.author_email),
                hidden_config,
            };
            let scrubbed =
                |error: PluginError| PluginError::Failed(scrub(&error.to_string(), token));
            ctx.log(&format!("Fetching {base} of {owner}/{repo} from {host}"));
            git.run(&["init", "--quiet"]).await.map_err(scrubbed)?;
            let fetch_ref = format!("refs/heads/{base}");
            git.run(&[
                "fetch",
                "--quiet",
                "--depth",
                "1",
                &found.clone_url,
                &fetch_ref,
            ])
            .await
            .map_err(scrubbed)?;
            git.run(&["checkout", "--quiet", "-B", branch, "FETCH_HEAD"])
                .await
                .map_err(scrubbed)?;
            let copied = {
                let source = source.clone();
                let checkout = checkout.path().to_path_buf();
                let target_path = target_path.clone();
                tokio::task::spawn_blocking(move || {
                    overlay(&source, &checkout, &target_path, action)
                })
                .await
                .map_err(|e| failed(action, e))??
            };
            git.run(&["add", "--all"]).await.map_err(scrubbed)?;
            if git
                .run(&["status", "--porcelain"])
                .await
                .map_err(scrubbed)?
                .is_empty()
            {
                return Err(PluginError::Failed(format!(
                    "{action}: the {copied} file(s) of the workspace change nothing in {base} of {owner}/{repo}; there is nothing to propose"
                )));
            }
            let message = input.str("commitMessage")?.unwrap_or(title);
            git.run(&["commit", "--quiet", "--message", message])
                .await
                .map_err(scrubbed)?;
            let commit = git.run(&["rev-parse", "HEAD"]).await.map_err(scrubbed)?;
            ctx.log(&format!(
                "Pushing {commit} to the branch {branch} of {}",
                found.clone_url
            ));
            let refspec = format!("HEAD:refs/heads/{branch}");
            git.run(&["push", "--quiet", &found.clone_url, &refspec])
                .await
                .map_err(scrubbed)?;
            let draft = input.bool("draft")?;
            let body = match self.forge {
                Forge::GitHub => json!({
                    "title": title, "body": description, "head": branch, "base": base, "draft": draft,
                }),
                Forge::GitLab => {
                    let mut body = json!({
                        "source_branch": branch,
                        "target_branch": base,
                        // GitLab marks drafts by the title.
                        "title": if draft { format!("Draft: {title}") } else { title.to_owned() },
                        "description": description,
                        "remove_source_branch": input.bool("removeSourceBranch")?,
                    });
                    // People go in by id, labels as one comma-separated field.
                    let assignees = call
                        .gitlab_user_ids(&ctx, "assignee", &people.assignees)
                        .await;
                    if !assignees.is_empty() {
                        body["assignee_ids"] = Value::Array(assignees);
                    }
                    let reviewers = call
                        .gitlab_user_ids(&ctx, "reviewer", &people.reviewers)
                        .await;
                    if !reviewers.is_empty() {
                        body["reviewer_ids"] = Value::Array(reviewers);
                    }
                    if !people.labels.is_empty() {
                        body["labels"] = Value::String(people.labels.join(","));
                    }
                    body
                }
            };
            let opened = call.open(owner, repo, &found, body).await?;
            ctx.log(&format!("Opened {}", opened.url));
            if self.forge == Forge::GitHub {
                call.decorate_pull_request(&ctx, owner, repo, &opened.number, &people)
                    .await;
            }
            let mut output = Map::new();
            output.insert("targetBranchName".into(), Value::String(base));
            match self.forge {
                Forge::GitHub => {
                    output.insert("remoteUrl".into(), Value::String(opened.url));
                    output.insert("pullRequestNumber".into(), opened.number);
                }
                Forge::GitLab => {
                    let id = found.project_id.clone().map_or_else(
                        || Value::String(format!("{owner}/{repo}")),
                        |id| {
                            Value::String(id.as_str().map_or_else(|| id.to_string(), str::to_owned))
                        },
                    );
                    output.insert("projectid".into(), id);
                    output.insert(
                        "projectPath".into(),
                        Value::String(
                            found
                                .project_path
                                .clone()
                                .unwrap_or_else(|| format!("{owner}/{repo}")),
                        ),
                    );
                    output.insert("mergeRequestUrl".into(), Value::String(opened.url));
                }
            }
            Ok(output)
        })
    }
}
