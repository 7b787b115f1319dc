//! `publish:github` and `publish:gitlab`: create the repository through the forge's REST API
//! with the token of its integration (`integrations.github[]` / `integrations.gitlab[]`, or the
//! step's `token`), then commit the workspace (or `sourcePath`) and push it over HTTP(S) with
//! the git CLI, as Backstage's actions do.
//!
//! The token travels to git as an `http.<origin>.extraHeader` set through `GIT_CONFIG_*`
//! variables — never in the remote URL, the command line, a log line or an error message — and
//! only to the origin the forge named for the new repository. Credential helpers are switched
//! off for these pushes, so the operator's own git credentials are never offered to a forge.

use std::sync::Arc;

use portico_plugin_api::{ActionContext, BoxFuture, PluginError, ScaffolderAction};
use serde_json::{Map, Value, json};

use super::input::{Input, failed};
use super::publish_git::{Git, check_branch, http_origin, redact, token_config};
use crate::filters::parse_repo_url;
use crate::forge::{
    ForgeHttp, ForgeMethod, ForgeRequest, ForgeResponse, Integration, PublishSettings,
};
use crate::workspace::resolve_in;

/// Backstage inputs of the two actions that Portico accepts but does not apply yet (branch
/// protection, collaborators, merge settings, …); a step that gives one is told so in its log.
const NOT_YET: &[&str] = &[
    "access",
    "protectDefaultBranch",
    "protectEnforceAdmins",
    "requireCodeOwnerReviews",
    "bypassPullRequestAllowances",
    "requiredApprovingReviewCount",
    "restrictions",
    "requiredStatusCheckContexts",
    "requireBranchesToBeUpToDate",
    "requiredConversationResolution",
    "requiredCommitSigning",
    "deleteBranchOnMerge",
    "allowMergeCommit",
    "allowSquashMerge",
    "allowRebaseMerge",
    "allowAutoMerge",
    "squashMergeCommitTitle",
    "squashMergeCommitMessage",
    "collaborators",
    "hasProjects",
    "hasWiki",
    "hasIssues",
    "topics",
    "repoVariables",
    "secrets",
    "oidcCustomization",
    "customProperties",
    "subscribe",
    "setUserAsOwner",
    "settings",
    "branches",
    "projectVariables",
    "skipExisting",
    "signCommit",
];

/// Which forge an action publishes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Forge {
    GitHub,
    GitLab,
}

impl Forge {
    pub(super) fn action(self) -> &'static str {
        match self {
            Self::GitHub => "publish:github",
            Self::GitLab => "publish:gitlab",
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Self::GitHub => "GitHub",
            Self::GitLab => "GitLab",
        }
    }

    pub(super) fn config_key(self) -> &'static str {
        match self {
            Self::GitHub => "integrations.github",
            Self::GitLab => "integrations.gitlab",
        }
    }

    /// The API root when the integration names none.
    pub(super) fn default_api(self, host: &str) -> String {
        match self {
            Self::GitHub if host.eq_ignore_ascii_case("github.com") => {
                "https://api.github.com".to_owned()
            }
            Self::GitHub => format!("https://{host}/api/v3"),
            Self::GitLab => format!("https://{host}/api/v4"),
        }
    }

    /// The user name git sends with the token (what each forge documents for token pushes).
    pub(super) fn git_user(self) -> &'static str {
        match self {
            Self::GitHub => "x-access-token",
            Self::GitLab => "oauth2",
        }
    }

    fn auth_headers(self, token: &str) -> Vec<(String, String)> {
        match self {
            Self::GitHub => vec![
                ("Authorization".to_owned(), format!("Bearer {token}")),
                (
                    "Accept".to_owned(),
                    "application/vnd.github+json".to_owned(),
                ),
                ("X-GitHub-Api-Version".to_owned(), "2022-11-28".to_owned()),
            ],
            Self::GitLab => vec![("PRIVATE-TOKEN".to_owned(), token.to_owned())],
        }
    }
}

/// `publish:github` or `publish:gitlab`.
#[derive(Debug)]
pub(super) struct PublishForge {
    forge: Forge,
    settings: Arc<PublishSettings>,
}

impl PublishForge {
    pub(super) fn new(forge: Forge, settings: Arc<PublishSettings>) -> Self {
        Self { forge, settings }
    }
}

/// The new repository as the forge reported it.
struct Created {
    clone_url: String,
    web_url: String,
    project_id: Option<Value>,
}

/// A step's call context: which forge, where, with which token.
pub(super) struct Call<'a> {
    pub(super) forge: Forge,
    /// The step's action id, which every error message starts with.
    pub(super) action: &'static str,
    pub(super) http: &'a dyn ForgeHttp,
    pub(super) api: String,
    pub(super) host: String,
    pub(super) token: &'a str,
}

impl Call<'_> {
    pub(super) fn error(&self, message: impl std::fmt::Display) -> PluginError {
        // Forges do not echo tokens, but an error text is built from their answers: scrub it.
        let text = format!("{}: {message}", self.action);
        PluginError::Failed(scrub(&text, self.token))
    }

    pub(super) async fn send(
        &self,
        method: ForgeMethod,
        path: &str,
        body: Option<Value>,
    ) -> Result<ForgeResponse, PluginError> {
        let request = ForgeRequest {
            method,
            url: format!("{}{path}", self.api),
            headers: self.forge.auth_headers(self.token),
            body,
        };
        let response = self.http.send(request).await.map_err(|error| {
            self.error(format!(
                "cannot reach the {} API at {}: {error}",
                self.forge.name(),
                self.api
            ))
        })?;
        if response.status == 401 {
            return Err(self.error(format!(
                "{} refused the token for {} (HTTP 401: {}); check {}[].token for this host or the step's token input",
                self.forge.name(),
                self.host,
                api_message(&response.body),
                self.forge.config_key()
            )));
        }
        Ok(response)
    }

    pub(super) fn unexpected(&self, what: &str, response: &ForgeResponse) -> PluginError {
        self.error(format!(
            "{what} failed: HTTP {} from the {} API: {}",
            response.status,
            self.forge.name(),
            api_message(&response.body)
        ))
    }

    /// GitHub: `GET /users/{owner}` says user or organisation, then `POST /orgs/{owner}/repos`
    /// or — after `GET /user` confirms the token is the owner's — `POST /user/repos`.
    async fn create_github(
        &self,
        owner: &str,
        repo: &str,
        input: &Input<'_>,
    ) -> Result<Created, PluginError> {
        let user = self
            .send(ForgeMethod::Get, &format!("/users/{}", encode(owner)), None)
            .await?;
        let organization = match user.status {
            200 => user.body.get("type").and_then(Value::as_str) == Some("Organization"),
            404 => {
                return Err(self.error(format!(
                    "the owner {owner:?} does not exist on {}",
                    self.host
                )));
            }
            _ => return Err(self.unexpected(&format!("looking up the owner {owner:?}"), &user)),
        };
        if !organization {
            // `POST /user/repos` creates the repository for the token's own user, whoever
            // `owner` names: refuse rather than publish somewhere else than asked.
            let me = self.send(ForgeMethod::Get, "/user", None).await?;
            let login = me.body.get("login").and_then(Value::as_str);
            match login {
                Some(login) if login.eq_ignore_ascii_case(owner) => {}
                Some(login) => {
                    return Err(self.error(format!(
                        "{owner:?} is a user, and the token belongs to {login:?}: GitHub creates user repositories only for the token's own user; use {login:?}'s token or an organisation"
                    )));
                }
                None => return Err(self.unexpected("looking up the token's user", &me)),
            }
        }
        let visibility = input.str("repoVisibility")?.unwrap_or("private");
        let mut body = json!({
            "name": repo,
            "private": visibility != "public",
        });
        if organization {
            // Only organisations know `internal`; `visibility` supersedes `private` there.
            body["visibility"] = json!(visibility);
        }
        if let Some(description) = input.str("description")? {
            body["description"] = json!(description);
        }
        if let Some(homepage) = input.str("homepage")? {
            body["homepage"] = json!(homepage);
        }
        let path = if organization {
            format!("/orgs/{}/repos", encode(owner))
        } else {
            "/user/repos".to_owned()
        };
        let created = self.send(ForgeMethod::Post, &path, Some(body)).await?;
        match created.status {
            200 | 201 => Ok(Created {
                clone_url: field(&created.body, "clone_url")
                    .ok_or_else(|| self.error("the API's answer has no clone_url"))?,
                web_url: field(&created.body, "html_url")
                    .ok_or_else(|| self.error("the API's answer has no html_url"))?,
                project_id: None,
            }),
            422 if mentions_existing(&created.body) => Err(self.error(format!(
                "the repository {owner}/{repo} already exists on {} (HTTP 422: {}); choose another name",
                self.host,
                api_message(&created.body)
            ))),
            _ => Err(self.unexpected(&format!("creating {owner}/{repo}"), &created)),
        }
    }

    /// GitLab: `GET /namespaces?search=` finds the group or user, then `POST /projects`.
    async fn create_gitlab(
        &self,
        owner: &str,
        repo: &str,
        input: &Input<'_>,
    ) -> Result<Created, PluginError> {
        let found = self
            .send(
                ForgeMethod::Get,
                &format!("/namespaces?search={}", encode(owner)),
                None,
            )
            .await?;
        if found.status != 200 {
            return Err(self.unexpected(&format!("looking up the namespace {owner:?}"), &found));
        }
        let namespace_id = found
            .body
            .as_array()
            .into_iter()
            .flatten()
            .find(|namespace| {
                namespace
                    .get("full_path")
                    .and_then(Value::as_str)
                    .is_some_and(|path| path.eq_ignore_ascii_case(owner))
            })
            .and_then(|namespace| namespace.get("id").cloned())
            .ok_or_else(|| {
                self.error(format!(
                    "the namespace (group or user) {owner:?} does not exist on {} or the token cannot see it",
                    self.host
                ))
            })?;
        let mut body = json!({
            "namespace_id": namespace_id,
            "name": repo,
            "path": repo,
            "visibility": input.str("repoVisibility")?.unwrap_or("private"),
        });
        if let Some(description) = input.str("description")? {
            body["description"] = json!(description);
        }
        let created = self
            .send(ForgeMethod::Post, "/projects", Some(body))
            .await?;
        match created.status {
            200 | 201 => Ok(Created {
                clone_url: field(&created.body, "http_url_to_repo")
                    .ok_or_else(|| self.error("the API's answer has no http_url_to_repo"))?,
                web_url: field(&created.body, "web_url")
                    .ok_or_else(|| self.error("the API's answer has no web_url"))?,
                project_id: created.body.get("id").cloned(),
            }),
            400 if mentions_existing(&created.body) => Err(self.error(format!(
                "the project {owner}/{repo} already exists on {} (HTTP 400: {}); choose another name",
                self.host,
                api_message(&created.body)
            ))),
            _ => Err(self.unexpected(&format!("creating {owner}/{repo}"), &created)),
        }
    }
}

pub(super) fn field(body: &Value, key: &str) -> Option<String> {
    body.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Whether a refusal says the name is taken (GitHub: "name already exists on this account";
/// GitLab: "has already been taken").
fn mentions_existing(body: &Value) -> bool {
    let text = body.to_string().to_ascii_lowercase();
    text.contains("already exists") || text.contains("already been taken")
}

/// The forge's own explanation, short: `message` (GitHub, GitLab), `error`, or the body.
fn api_message(body: &Value) -> String {
    let mut text = match body {
        Value::Null => "no details".to_owned(),
        Value::Object(object) => match (object.get("message"), object.get("errors")) {
            (Some(Value::String(message)), Some(errors)) => format!("{message} {errors}"),
            (Some(Value::String(message)), None) => message.clone(),
            (Some(other), _) => other.to_string(),
            (None, _) => object
                .get("error")
                .map_or_else(|| body.to_string(), Value::to_string),
        },
        other => other.to_string(),
    };
    if text.len() > 300 {
        let mut end = 300;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

/// `text` with every occurrence of `secret` replaced.
pub(super) fn scrub(text: &str, secret: &str) -> String {
    if secret.is_empty() {
        text.to_owned()
    } else {
        text.replace(secret, "***")
    }
}

/// Percent-encodes a URL path segment or query value (RFC 3986 unreserved characters kept),
/// so an owner such as `group/sub` stays one segment or one value.
pub(super) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

impl<'a> Call<'a> {
    /// The call context of a step publishing to `host`: the step's `token` input, else its
    /// integration's; the integration's API root, else the forge's default.
    pub(super) fn for_step(
        forge: Forge,
        action: &'static str,
        settings: &'a PublishSettings,
        input: &Input<'a>,
        host: &str,
    ) -> Result<Self, PluginError> {
        let integrations = match forge {
            Forge::GitHub => &settings.integrations.github,
            Forge::GitLab => &settings.integrations.gitlab,
        };
        let integration = integration_for(integrations, host);
        let token = match (input.str("token")?, integration) {
            (Some(token), _) if !token.is_empty() => token,
            (
                _,
                Some(Integration {
                    token: Some(token), ..
                }),
            ) if !token.is_empty() => token.as_str(),
            (_, Some(_)) => {
                return Err(PluginError::Failed(format!(
                    "{action}: the {} entry for {host} has no token; set its token or the step's token input",
                    forge.config_key()
                )));
            }
            (_, None) => {
                return Err(PluginError::Failed(format!(
                    "{action}: no {} entry for the host {host}; add one with a token to app-config.yaml (or give the step a token input)",
                    forge.config_key()
                )));
            }
        };
        let api = integration
            .and_then(|integration| integration.api_base_url.clone())
            .unwrap_or_else(|| forge.default_api(host))
            .trim_end_matches('/')
            .to_owned();
        let http = settings.http.as_deref().ok_or_else(|| {
            PluginError::Failed(format!(
                "{action}: this process has no HTTP client for forge APIs (run the template through `portico`)"
            ))
        })?;
        Ok(Self {
            forge,
            action,
            http,
            api,
            host: host.to_owned(),
            token,
        })
    }
}

/// The integration for `host` (host names compare case-insensitively).
fn integration_for<'a>(integrations: &'a [Integration], host: &str) -> Option<&'a Integration> {
    integrations
        .iter()
        .find(|integration| integration.host.eq_ignore_ascii_case(host))
}

impl ScaffolderAction for PublishForge {
    fn id(&self) -> &str {
        self.forge.action()
    }
    fn description(&self) -> &str {
        match self.forge {
            Forge::GitHub => {
                "Initializes a git repository of contents in workspace and publishes it to GitHub."
            }
            Forge::GitLab => {
                "Initializes a git repository of the content in the workspace, and publishes it to GitLab."
            }
        }
    }
    fn input_schema(&self) -> Value {
        let visibility = match self.forge {
            Forge::GitHub => {
                json!({"type": "string", "enum": ["private", "internal", "public"], "description": "Repository visibility, default private (internal: organisations only)"})
            }
            Forge::GitLab => {
                json!({"type": "string", "enum": ["private", "internal", "public"], "description": "Project visibility, default private"})
            }
        };
        let ignored = format!(
            "Accepted and not applied yet (the step log lists the ones a step gives): {}",
            NOT_YET.join(", ")
        );
        json!({"type": "object", "required": ["repoUrl"], "description": ignored, "properties": {
            "repoUrl": {"type": "string", "description": "Repository location: host?owner=<owner>&repo=<repo> (RepoUrlPicker)"},
            "description": {"type": "string", "description": "Repository description"},
            "homepage": {"type": "string", "description": "Repository homepage (GitHub)"},
            "defaultBranch": {"type": "string", "description": "The branch to push, default main"},
            "repoVisibility": visibility,
            "sourcePath": {"type": "string", "description": "Path within the workspace to publish, default the whole workspace"},
            "gitCommitMessage": {"type": "string", "description": "Commit message, default: initial commit"},
            "gitAuthorName": {"type": "string", "description": "Author name for the commit"},
            "gitAuthorEmail": {"type": "string", "description": "Author email for the commit"},
            "token": {"type": "string", "description": "The token to use instead of the integration's (for example ${{ secrets.USER_OAUTH_TOKEN }})"},
            "allowedHosts": {"type": "array", "items": {"type": "string"}, "description": "When given, repoUrl's host must be one of these"},
        }})
    }
    fn output_schema(&self) -> Value {
        let mut properties = json!({
            "remoteUrl": {"type": "string", "description": "A URL to the repository with the provider"},
            "repoContentsUrl": {"type": "string", "description": "A URL to the root of the repository"},
            "commitHash": {"type": "string", "description": "The git commit hash of the initial commit"},
        });
        if self.forge == Forge::GitLab {
            properties["projectId"] =
                json!({"type": "integer", "description": "The ID of the project"});
        }
        json!({"type": "object", "properties": properties})
    }
    fn handle(&self, ctx: ActionContext) -> BoxFuture<'_, Result<Map<String, Value>, PluginError>> {
        Box::pin(async move {
            let action = self.forge.action();
            let input = Input::new(action, &ctx.input);
            let repo_url = input.required_str("repoUrl")?;
            let parts = parse_repo_url(repo_url)
                .map_err(|error| PluginError::Input(format!("{action}: input.repoUrl: {error}")))?;
            let text = |key: &str| parts.get(key).and_then(Value::as_str).unwrap_or_default();
            let (host, owner, repo) = (text("host"), text("owner"), text("repo"));
            if owner.is_empty() {
                return Err(PluginError::Input(format!(
                    "{action}: input.repoUrl {repo_url:?} names no owner (…?owner=<owner>&repo=<repo>)"
                )));
            }
            let allowed = input.strings("allowedHosts")?;
            if !allowed.is_empty() && !allowed.iter().any(|h| h.eq_ignore_ascii_case(host)) {
                return Err(PluginError::Input(format!(
                    "{action}: the host {host:?} is not in allowedHosts ({})",
                    allowed.join(", ")
                )));
            }
            let branch = input.str("defaultBranch")?.unwrap_or("main");
            check_branch(action, branch)?;
            let source = resolve_in(&ctx.workspace, input.str("sourcePath")?.unwrap_or("./"))
                .map_err(|e| failed(action, e))?;
            if !source.is_dir() {
                return Err(PluginError::Input(format!(
                    "{action}: sourcePath is not a folder of the workspace"
                )));
            }
            let call = Call::for_step(self.forge, action, &self.settings, &input, host)?;
            let token = call.token;

            let ignored: Vec<&str> = NOT_YET
                .iter()
                .copied()
                .filter(|key| input.get(key).is_some())
                .collect();
            if !ignored.is_empty() {
                ctx.log(&format!(
                    "Not supported yet, ignored: {} (the repository is created with the forge's defaults)",
                    ignored.join(", ")
                ));
            }
            ctx.log(&format!(
                "Creating the repository {owner}/{repo} on {host} ({})",
                self.forge.name()
            ));
            let created = match self.forge {
                Forge::GitHub => call.create_github(owner, repo, &input).await?,
                Forge::GitLab => call.create_gitlab(owner, repo, &input).await?,
            };
            if http_origin(&created.clone_url).is_none() {
                return Err(call.error(format!(
                    "the forge gave {:?} as the clone URL; only http(s) URLs without credentials are pushed to",
                    redact(&created.clone_url)
                )));
            }
            let hidden_config =
                token_config(action, &created.clone_url, self.forge.git_user(), token)?;

            let git_dir = tempfile::tempdir().map_err(|e| failed(action, e))?;
            let options = &self.settings.git;
            let git = Git {
                action,
                options,
                git_dir: git_dir.path(),
                work_tree: &source,
                author_name: input.str("gitAuthorName")?.unwrap_or(&options.author_name),
                author_email: input
                    .str("gitAuthorEmail")?
                    .unwrap_or(&options.author_email),
                hidden_config,
            };
            let message = input
                .str("gitCommitMessage")?
                .unwrap_or(&options.commit_message);
            let commit = git
                .commit_all(branch, message)
                .await
                .map_err(|e| call.error(e))?;
            ctx.log(&format!(
                "Pushing {commit} to {} ({branch})",
                created.clone_url
            ));
            let refspec = format!("HEAD:refs/heads/{branch}");
            git.run(&["push", "--quiet", &created.clone_url, &refspec])
                .await
                .map_err(|error| {
                    PluginError::Failed(scrub(
                        &format!(
                            "{error} (the repository was created at {}; delete it or choose another name before retrying)",
                            created.web_url
                        ),
                        token,
                    ))
                })?;

            let contents = match self.forge {
                Forge::GitHub => format!("{}/blob/{branch}", created.web_url),
                Forge::GitLab => format!("{}/-/blob/{branch}", created.web_url),
            };
            let mut output = Map::new();
            output.insert("remoteUrl".to_owned(), Value::String(created.clone_url));
            output.insert("repoContentsUrl".to_owned(), Value::String(contents));
            output.insert("commitHash".to_owned(), Value::String(commit));
            if let Some(id) = created.project_id {
                output.insert("projectId".to_owned(), id);
            }
            Ok(output)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_roots_and_origins() {
        assert_eq!(
            Forge::GitHub.default_api("github.com"),
            "https://api.github.com"
        );
        assert_eq!(
            Forge::GitHub.default_api("ghe.example.com"),
            "https://ghe.example.com/api/v3"
        );
        assert_eq!(
            Forge::GitLab.default_api("gitlab.com"),
            "https://gitlab.com/api/v4"
        );
        assert_eq!(
            http_origin("http://127.0.0.1:8080/git/a/b.git").as_deref(),
            Some("http://127.0.0.1:8080/")
        );
        assert_eq!(
            http_origin("https://github.com/a/b.git").as_deref(),
            Some("https://github.com/")
        );
        assert_eq!(http_origin("https://u:p@github.com/a/b.git"), None);
        assert_eq!(http_origin("ssh://git@github.com/a/b.git"), None);
        assert_eq!(http_origin("ext::sh -c x"), None);
    }

    #[test]
    fn messages_are_short_and_scrubbed() {
        assert_eq!(
            api_message(&json!({"message": "Bad credentials"})),
            "Bad credentials"
        );
        assert!(mentions_existing(
            &json!({"message": "Repository creation failed.", "errors": [{"message": "name already exists on this account"}]})
        ));
        assert!(mentions_existing(
            &json!({"message": {"name": ["has already been taken"]}})
        ));
        assert!(
            api_message(&json!({"message": "x".repeat(1000)}))
                .chars()
                .count()
                <= 301
        );
        assert_eq!(scrub("token t0k is t0k", "t0k"), "token *** is ***");
        assert_eq!(encode("g/sub group"), "g%2Fsub%20group");
    }
}
