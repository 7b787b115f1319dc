//! End-to-end tests of `publish:github` and `publish:gitlab` through `portico scaffold`: the real
//! binary reads the integrations from an app-config.yaml, creates the repository through the
//! forge's REST API, and pushes the rendered workspace with the real git CLI over smart HTTP.
//!
//! THE FORGE API IS THE ONLY FAKE: a local HTTP server on 127.0.0.1:0 answers the handful of
//! GitHub / GitLab REST calls the actions make (checking the token on each), creates a real bare
//! repository on disk for each repository it is asked to create, and serves git over HTTP by
//! running the real `git http-backend` CGI — after checking the Authorization header git sends.
//! The pushed commits are then read back with git itself. One test runs Backstage's own
//! software templates that publish to GitHub as tasks of `portico serve`, including
//! `catalog:register` of the pushed catalog-info.yaml (the fake also answers raw file reads of
//! its repositories); another runs Backstage's pull-request and gitlab-merge-request templates
//! through `portico scaffold`. The fake also answers the archive (tarball) and file-contents
//! endpoints `fetch:*` reads remote skeletons with, from `git archive` and `git show` of its
//! repositories.

// Test code: a failed unwrap is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};

const TOKEN: &str = "forge-token-s3cr3t";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    GitHub,
    GitLab,
}

/// What the fake forge knows and saw.
#[derive(Debug)]
struct Fake {
    kind: Kind,
    addr: SocketAddr,
    /// Bare repositories live under `<root>/<owner path>/<repo>.git`.
    root: PathBuf,
    /// Every API call as `METHOD path` and its JSON body.
    calls: Mutex<Vec<(String, Value)>>,
    created: Mutex<BTreeSet<String>>,
}

impl Fake {
    fn api_token_ok(&self, headers: &HeaderMap) -> bool {
        let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        match self.kind {
            Kind::GitHub => value("authorization") == Some(&format!("Bearer {TOKEN}")),
            Kind::GitLab => value("private-token") == Some(TOKEN),
        }
    }

    fn git_user(&self) -> &'static str {
        match self.kind {
            Kind::GitHub => "x-access-token",
            Kind::GitLab => "oauth2",
        }
    }

    /// Creates `<owner>/<repo>.git` as a bare repository; `false` when it exists.
    fn create(&self, owner: &str, repo: &str) -> bool {
        let key = format!("{owner}/{repo}");
        if !self.created.lock().unwrap().insert(key.clone()) {
            return false;
        }
        // "ghost" repositories are announced but never created, so that pushing to them fails.
        if owner != "ghost" {
            let dir = self.root.join(format!("{key}.git"));
            std::fs::create_dir_all(&dir).unwrap();
            git(&["init", "--bare", "--quiet"], &dir);
        }
        true
    }

    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn handle(
    State(fake): State<Arc<Fake>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    if let Some(rest) = path.strip_prefix("/git/") {
        return git_http(&fake, &method, rest, uri.query(), &headers, body).await;
    }
    if let Some(response) = raw_file(&fake, &path) {
        return response;
    }
    let body_json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let call = match uri.query() {
        Some(query) => format!("{method} {path}?{query}"),
        None => format!("{method} {path}"),
    };
    fake.calls.lock().unwrap().push((call, body_json.clone()));
    if !fake.api_token_ok(&headers) {
        return json_response(
            StatusCode::UNAUTHORIZED,
            json!({"message": match fake.kind { Kind::GitHub => "Bad credentials", Kind::GitLab => "401 Unauthorized" }}),
        );
    }
    if let Some(response) = repository_read(&fake, &method, &path, uri.query()) {
        return response;
    }
    match fake.kind {
        Kind::GitHub => github_api(&fake, &method, &path, &body_json),
        Kind::GitLab => gitlab_api(&fake, &method, &path, uri.query(), &body_json),
    }
}

/// `GET /<owner>/<repo>/blob/<branch>/<path>` (the `repoContentsUrl` the actions report, plus
/// a file path) answers the file's raw bytes from the bare repository, as a public repository
/// would, so that `catalog:register` can read the pushed catalog-info.yaml.
fn raw_file(fake: &Fake, path: &str) -> Option<Response> {
    let (repo, rest) = path.trim_start_matches('/').split_once("/blob/")?;
    let (branch, file) = rest.split_once('/')?;
    let dir = fake.root.join(format!("{repo}.git"));
    let output = Command::new("git")
        .arg("--git-dir")
        .arg(&dir)
        .args(["show", &format!("{branch}:{file}")])
        .output()
        .ok()?;
    Some(if output.status.success() {
        (StatusCode::OK, output.stdout).into_response()
    } else {
        (StatusCode::NOT_FOUND, "no such file").into_response()
    })
}

/// `key` from a query string (values percent-decoded, which is all the fetch calls need).
fn query_value(query: Option<&str>, key: &str) -> String {
    let raw = query
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix(&format!("{key}=")))
        .unwrap_or_default();
    decode(raw)
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// Reads of repository content: GitHub's `GET /repos/{o}/{r}/tarball/{ref}` and
/// `GET /repos/{o}/{r}/contents/{path}?ref=`, GitLab's
/// `GET /projects/{id}/repository/archive.tar.gz?sha=&path=` and
/// `GET /projects/{id}/repository/files/{path}/raw?ref=` — answered with `git archive` (one
/// top folder, as the forges do) and `git show`.
fn repository_read(
    fake: &Fake,
    method: &Method,
    path: &str,
    query: Option<&str>,
) -> Option<Response> {
    if method != Method::GET {
        return None;
    }
    let segments: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(decode)
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let (repo, git_ref, file, tree) = match (fake.kind, segments.as_slice()) {
        (Kind::GitHub, ["api", "v3", "repos", owner, repo, "tarball", git_ref]) => (
            format!("{owner}/{repo}"),
            (*git_ref).to_owned(),
            String::new(),
            true,
        ),
        (Kind::GitHub, ["api", "v3", "repos", owner, repo, "contents", rest @ ..]) => (
            format!("{owner}/{repo}"),
            query_value(query, "ref"),
            rest.join("/"),
            false,
        ),
        (
            Kind::GitLab,
            [
                "api",
                "v4",
                "projects",
                project,
                "repository",
                "archive.tar.gz",
            ],
        ) => (
            (*project).to_owned(),
            query_value(query, "sha"),
            query_value(query, "path"),
            true,
        ),
        (
            Kind::GitLab,
            [
                "api",
                "v4",
                "projects",
                project,
                "repository",
                "files",
                file,
                "raw",
            ],
        ) => (
            (*project).to_owned(),
            query_value(query, "ref"),
            (*file).to_owned(),
            false,
        ),
        _ => return None,
    };
    let dir = fake.root.join(format!("{repo}.git"));
    let mut command = Command::new("git");
    command.arg("--git-dir").arg(&dir);
    if tree {
        command.args([
            "archive",
            "--format=tar.gz",
            &format!("--prefix={}-{git_ref}/", repo.replace('/', "-")),
            &git_ref,
        ]);
        if !file.is_empty() {
            command.arg(&file);
        }
    } else {
        command.args(["show", &format!("{git_ref}:{file}")]);
    }
    let output = command.output().unwrap();
    Some(if output.status.success() {
        (StatusCode::OK, output.stdout).into_response()
    } else {
        json_response(StatusCode::NOT_FOUND, json!({"message": "Not Found"}))
    })
}

/// The GitHub REST subset: `GET /users/{owner}`, `POST /orgs/{org}/repos`, `POST /user/repos`,
/// `GET /repos/{o}/{r}`, `POST /repos/{o}/{r}/pulls` and the pull request's reviewers,
/// assignees and labels.
fn github_api(fake: &Fake, method: &Method, path: &str, body: &Value) -> Response {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let not_found = || json_response(StatusCode::NOT_FOUND, json!({"message": "Not Found"}));
    let create = |owner: &str| {
        let name = body["name"].as_str().unwrap_or_default();
        if !fake.create(owner, name) {
            return json_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"message": "Repository creation failed.", "errors": [{"resource": "Repository", "code": "custom", "field": "name", "message": "name already exists on this account"}]}),
            );
        }
        json_response(
            StatusCode::CREATED,
            json!({
                "name": name,
                "full_name": format!("{owner}/{name}"),
                "clone_url": format!("{}/git/{owner}/{name}.git", fake.base()),
                "html_url": format!("{}/{owner}/{name}", fake.base()),
            }),
        )
    };
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["api", "v3", "users", owner]) => match *owner {
            "acme" | "ghost" => json_response(
                StatusCode::OK,
                json!({"login": owner, "type": "Organization"}),
            ),
            "dev" | "alice" => {
                json_response(StatusCode::OK, json!({"login": owner, "type": "User"}))
            }
            _ => not_found(),
        },
        ("GET", ["api", "v3", "user"]) => json_response(StatusCode::OK, json!({"login": "dev"})),
        ("GET", ["api", "v3", "repos", owner, repo])
            if fake
                .created
                .lock()
                .unwrap()
                .contains(&format!("{owner}/{repo}")) =>
        {
            json_response(
                StatusCode::OK,
                json!({
                    "full_name": format!("{owner}/{repo}"),
                    "default_branch": "main",
                    "clone_url": format!("{}/git/{owner}/{repo}.git", fake.base()),
                    "html_url": format!("{}/{owner}/{repo}", fake.base()),
                }),
            )
        }
        ("POST", ["api", "v3", "repos", owner, repo, "pulls"]) => json_response(
            StatusCode::CREATED,
            json!({"number": 7, "html_url": format!("{}/{owner}/{repo}/pull/7", fake.base())}),
        ),
        // Only collaborators can be asked for a review; "mallory" is not one.
        (
            "POST",
            [
                "api",
                "v3",
                "repos",
                _,
                _,
                "pulls",
                "7",
                "requested_reviewers",
            ],
        ) => {
            if body["reviewers"]
                .as_array()
                .is_some_and(|r| r.contains(&json!("mallory")))
            {
                return json_response(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"message": "Reviews may only be requested from collaborators."}),
                );
            }
            json_response(
                StatusCode::CREATED,
                json!({"number": 7, "requested_reviewers": body["reviewers"], "requested_teams": body["team_reviewers"]}),
            )
        }
        ("POST", ["api", "v3", "repos", _, _, "issues", "7", "assignees"]) => json_response(
            StatusCode::CREATED,
            json!({"number": 7, "assignees": body["assignees"]}),
        ),
        ("POST", ["api", "v3", "repos", _, _, "issues", "7", "labels"]) => {
            json_response(StatusCode::OK, body["labels"].clone())
        }
        ("POST", ["api", "v3", "orgs", org, "repos"]) => create(org),
        // The token belongs to the user "dev".
        ("POST", ["api", "v3", "user", "repos"]) => create("dev"),
        _ => not_found(),
    }
}

/// The GitLab REST subset: `GET /namespaces?search=`, `POST /projects`, `GET /projects/{id}`,
/// `GET /users?username=`, `POST /projects/{id}/merge_requests`.
fn gitlab_api(
    fake: &Fake,
    method: &Method,
    path: &str,
    query: Option<&str>,
    body: &Value,
) -> Response {
    let namespaces = [(7, "platform/backend"), (8, "platform")];
    match (method.as_str(), path) {
        ("GET", "/api/v4/namespaces") => {
            let search = query
                .and_then(|q| q.strip_prefix("search="))
                .unwrap_or_default()
                .replace("%2F", "/");
            let found: Vec<Value> = namespaces
                .iter()
                .filter(|(_, full_path)| full_path.contains(search.as_str()))
                .map(|(id, full_path)| json!({"id": id, "full_path": full_path, "kind": "group"}))
                .collect();
            json_response(StatusCode::OK, Value::Array(found))
        }
        ("POST", "/api/v4/projects") => {
            let Some((_, owner)) = namespaces
                .iter()
                .find(|(id, _)| body["namespace_id"] == json!(id))
            else {
                return json_response(
                    StatusCode::NOT_FOUND,
                    json!({"message": "404 Namespace Not Found"}),
                );
            };
            let name = body["path"].as_str().unwrap_or_default();
            if !fake.create(owner, name) {
                return json_response(
                    StatusCode::BAD_REQUEST,
                    json!({"message": {"name": ["has already been taken"], "path": ["has already been taken"]}}),
                );
            }
            json_response(
                StatusCode::CREATED,
                json!({
                    "id": 42,
                    "path_with_namespace": format!("{owner}/{name}"),
                    "http_url_to_repo": format!("{}/git/{owner}/{name}.git", fake.base()),
                    "web_url": format!("{}/{owner}/{name}", fake.base()),
                }),
            )
        }
        ("GET", _) if path.starts_with("/api/v4/projects/") => {
            let project = decode(path.trim_start_matches("/api/v4/projects/"));
            if !fake.created.lock().unwrap().contains(&project) {
                return json_response(
                    StatusCode::NOT_FOUND,
                    json!({"message": "404 Project Not Found"}),
                );
            }
            json_response(
                StatusCode::OK,
                json!({
                    "id": 42,
                    "path_with_namespace": project,
                    "default_branch": "main",
                    "http_url_to_repo": format!("{}/git/{project}.git", fake.base()),
                    "web_url": format!("{}/{project}", fake.base()),
                }),
            )
        }
        ("GET", "/api/v4/users") => {
            let name = query
                .and_then(|q| q.strip_prefix("username="))
                .unwrap_or_default();
            let users = match name {
                "alice" => json!([{"id": 11, "username": "alice"}]),
                "bob" => json!([{"id": 12, "username": "bob"}]),
                _ => json!([]),
            };
            json_response(StatusCode::OK, users)
        }
        ("POST", "/api/v4/projects/42/merge_requests") => json_response(
            StatusCode::CREATED,
            json!({"iid": 3, "web_url": format!("{}/platform/skel/-/merge_requests/3", fake.base())}),
        ),
        _ => json_response(StatusCode::NOT_FOUND, json!({"message": "404 Not Found"})),
    }
}

/// Git smart HTTP through the real `git http-backend` CGI, for requests that carry the token
/// as Basic credentials; 401 otherwise.
async fn git_http(
    fake: &Fake,
    method: &Method,
    rest: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{TOKEN}", fake.git_user()))
    );
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(expected.as_str());
    if !authorized {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Basic realm=\"fake forge\"")],
            "authentication required",
        )
            .into_response();
    }
    let header_text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let mut command = Command::new("git");
    command
        .arg("http-backend")
        .env("GIT_PROJECT_ROOT", &fake.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", method.as_str())
        .env("PATH_INFO", format!("/{rest}"))
        .env("QUERY_STRING", query.unwrap_or_default())
        .env("CONTENT_TYPE", header_text(header::CONTENT_TYPE))
        .env("CONTENT_LENGTH", body.len().to_string())
        .env(
            "HTTP_CONTENT_ENCODING",
            header_text(header::CONTENT_ENCODING),
        )
        .env(
            "GIT_PROTOCOL",
            header_text(header::HeaderName::from_static("git-protocol")),
        )
        // Set by the web server after authentication; it enables receive-pack (push).
        .env("REMOTE_USER", fake.git_user())
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let output = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = command.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&body).unwrap();
        drop(stdin);
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    cgi_response(&output.stdout)
}

/// A CGI answer (headers, blank line, body) as an HTTP response.
fn cgi_response(stdout: &[u8]) -> Response {
    // http-backend ends its headers with a blank line ("\r\n" line ends, "\n" tolerated).
    let (head, body) = match find(stdout, b"\r\n\r\n") {
        Some(at) => (&stdout[..at], &stdout[at + 4..]),
        None => match find(stdout, b"\n\n") {
            Some(at) => (&stdout[..at], &stdout[at + 2..]),
            None => (stdout, &[][..]),
        },
    };
    let mut status = StatusCode::OK;
    let mut response_headers = HeaderMap::new();
    for line in String::from_utf8_lossy(head).lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split(' ').next().unwrap_or("200");
            status = StatusCode::from_u16(code.parse().unwrap_or(200)).unwrap();
        } else if let (Ok(name), Ok(value)) = (
            header::HeaderName::from_bytes(name.trim().as_bytes()),
            header::HeaderValue::from_str(value),
        ) {
            response_headers.insert(name, value);
        }
    }
    (status, response_headers, body.to_vec()).into_response()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// Starts the fake forge on 127.0.0.1:0 in a thread of its own (the test drives the binary
/// synchronously); it lives until the test process ends.
fn start(kind: Kind) -> (Arc<Fake>, tempfile::TempDir) {
    let root = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let fake = Arc::new(Fake {
        kind,
        addr: listener.local_addr().unwrap(),
        root: root.path().to_path_buf(),
        calls: Mutex::new(Vec::new()),
        created: Mutex::new(BTreeSet::new()),
    });
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(Arc::clone(&fake));
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    (fake, root)
}

fn git(args: &[&str], cwd: &Path) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// A template folder: a skeleton rendered by fetch:template, then the forge's publish action.
fn template(dir: &Path, action: &str) -> PathBuf {
    std::fs::create_dir_all(dir.join("skeleton/src")).unwrap();
    std::fs::write(dir.join("skeleton/README.md"), "# ${{ values.name }}\n").unwrap();
    std::fs::write(
        dir.join("skeleton/src/main.txt"),
        "main of ${{ values.name }}\n",
    )
    .unwrap();
    let path = dir.join("template.yaml");
    std::fs::write(
        &path,
        format!(
            "apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: publish-demo
spec:
  type: service
  parameters:
    - required: [name, repoUrl]
      properties:
        name: {{type: string}}
        repoUrl: {{type: string}}
  steps:
    - id: fetch
      action: fetch:template
      input:
        url: ./skeleton
        values:
          name: ${{{{ parameters.name }}}}
    - id: publish
      action: {action}
      input:
        repoUrl: ${{{{ parameters.repoUrl }}}}
        description: The ${{{{ parameters.name }}}} service
        gitAuthorName: Template Bot
        gitCommitMessage: Create ${{{{ parameters.name }}}}
        topics: [demo]
  output:
    remoteUrl: ${{{{ steps.publish.output.remoteUrl }}}}
    repoContentsUrl: ${{{{ steps.publish.output.repoContentsUrl }}}}
    commitHash: ${{{{ steps.publish.output.commitHash }}}}
    projectId: ${{{{ steps.publish.output.projectId }}}}
"
        ),
    )
    .unwrap();
    path
}

/// An app-config.yaml whose integration for `host` points at the fake forge; the token comes
/// from `FORGE_TOKEN` in the environment, as Backstage configs write it.
fn config(dir: &Path, fake: &Fake, host: &str) -> PathBuf {
    let (section, api) = match fake.kind {
        Kind::GitHub => ("github", "api/v3"),
        Kind::GitLab => ("gitlab", "api/v4"),
    };
    let path = dir.join("app-config.yaml");
    std::fs::write(
        &path,
        format!(
            "integrations:\n  {section}:\n    - host: {host}\n      token: ${{FORGE_TOKEN}}\n      apiBaseUrl: {}/{api}\n",
            fake.base()
        ),
    )
    .unwrap();
    path
}

struct Scaffolded {
    output: Output,
    report: Value,
    stderr: String,
}

fn scaffold(template: &Path, config: &Path, repo_url: &str, token: &str) -> Scaffolded {
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_portico"))
        .args(["scaffold", template.to_str().unwrap(), "--config"])
        .arg(config)
        .args(["--set", "name=orders", "--set"])
        .arg(format!("repoUrl={repo_url}"))
        .arg("--out")
        .arg(out.path().join("ws"))
        .arg("--json")
        .env("FORGE_TOKEN", token)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let report = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    let stdout = String::from_utf8_lossy(&output.stdout);
    for text in [stdout.as_ref(), stderr.as_str()] {
        assert!(!text.contains(TOKEN), "the token leaked: {text}");
    }
    Scaffolded {
        output,
        report,
        stderr,
    }
}

/// The files of the pushed branch and their content, read from the bare repository.
fn pushed(fake: &Fake, repo: &str, branch: &str) -> (Vec<String>, String, String, String) {
    let dir = fake.root.join(format!("{repo}.git"));
    let files = git(&["ls-tree", "-r", "--name-only", branch], &dir);
    let readme = git(&["show", &format!("{branch}:README.md")], &dir);
    let log = git(&["log", "--format=%s|%an", branch], &dir);
    let head = git(&["rev-parse", branch], &dir);
    (
        files.lines().map(str::to_owned).collect(),
        readme,
        log,
        head,
    )
}

#[test]
fn publish_github_creates_the_repository_and_pushes_the_workspace() {
    let (fake, _root) = start(Kind::GitHub);
    let dir = tempfile::tempdir().unwrap();
    let template = template(dir.path(), "publish:github");
    let config = config(dir.path(), &fake, "github.fake.test");

    let run = scaffold(
        &template,
        &config,
        "github.fake.test?owner=acme&repo=orders",
        TOKEN,
    );
    assert!(run.output.status.success(), "{}", run.stderr);
    assert!(
        run.stderr.contains("Not supported yet, ignored: topics"),
        "{}",
        run.stderr
    );
    let output = &run.report["output"];
    let base = fake.base();
    assert_eq!(output["remoteUrl"], format!("{base}/git/acme/orders.git"));
    assert_eq!(
        output["repoContentsUrl"],
        format!("{base}/acme/orders/blob/main")
    );
    let (files, readme, log, head) = pushed(&fake, "acme/orders", "main");
    assert_eq!(files, ["README.md", "src/main.txt"]);
    assert_eq!(readme, "# orders");
    assert_eq!(log, "Create orders|Template Bot");
    assert_eq!(output["commitHash"], head.as_str());
    // acme is an organisation: the repository was created under it, private, described.
    let calls = fake.calls.lock().unwrap().clone();
    let names: Vec<&str> = calls.iter().map(|(call, _)| call.as_str()).collect();
    assert_eq!(
        names,
        ["GET /api/v3/users/acme", "POST /api/v3/orgs/acme/repos"]
    );
    assert_eq!(
        calls[1].1,
        json!({"name": "orders", "private": true, "visibility": "private", "description": "The orders service"})
    );

    // A user's repository goes through POST /user/repos.
    let run = scaffold(
        &template,
        &config,
        "github.fake.test?owner=dev&repo=tool",
        TOKEN,
    );
    assert!(run.output.status.success(), "{}", run.stderr);
    assert_eq!(pushed(&fake, "dev/tool", "main").0.len(), 2);
    assert!(
        fake.calls
            .lock()
            .unwrap()
            .iter()
            .any(|(call, _)| call == "POST /api/v3/user/repos")
    );

    // The git endpoint really requires the token: without it, git is refused.
    let clone = tempfile::tempdir().unwrap();
    let refused = Command::new("git")
        .args([
            "clone",
            "--quiet",
            &format!("{base}/git/acme/orders.git"),
            "c",
        ])
        .current_dir(clone.path())
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(!clone.path().join("c/README.md").exists());
}

#[test]
fn publish_github_failures_are_clear_and_never_show_the_token() {
    let (fake, _root) = start(Kind::GitHub);
    let dir = tempfile::tempdir().unwrap();
    let template = template(dir.path(), "publish:github");
    let config = config(dir.path(), &fake, "github.fake.test");

    // A wrong token: the API answers 401.
    let run = scaffold(
        &template,
        &config,
        "github.fake.test?owner=acme&repo=a",
        "not-the-token",
    );
    assert_eq!(run.output.status.code(), Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "publish:github: GitHub refused the token for github.fake.test (HTTP 401: Bad credentials)"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("not-the-token"), "{}", run.stderr);

    // The repository exists already: 422, said so.
    let first = scaffold(
        &template,
        &config,
        "github.fake.test?owner=acme&repo=b",
        TOKEN,
    );
    assert!(first.output.status.success(), "{}", first.stderr);
    let again = scaffold(
        &template,
        &config,
        "github.fake.test?owner=acme&repo=b",
        TOKEN,
    );
    assert_eq!(again.output.status.code(), Some(1));
    assert!(
        again
            .stderr
            .contains("the repository acme/b already exists on github.fake.test (HTTP 422"),
        "{}",
        again.stderr
    );

    // A user's repository with another user's token: refused before anything is created.
    let run = scaffold(
        &template,
        &config,
        "github.fake.test?owner=alice&repo=e",
        TOKEN,
    );
    assert!(
        run.stderr
            .contains("\"alice\" is a user, and the token belongs to \"dev\""),
        "{}",
        run.stderr
    );
    assert!(!fake.root.join("dev/e.git").exists() && !fake.root.join("alice/e.git").exists());

    // No integration for the host.
    let run = scaffold(
        &template,
        &config,
        "other.example.com?owner=acme&repo=c",
        TOKEN,
    );
    assert!(
        run.stderr
            .contains("no integrations.github entry for the host other.example.com"),
        "{}",
        run.stderr
    );

    // The push fails (the forge announced a repository git cannot reach).
    let run = scaffold(
        &template,
        &config,
        "github.fake.test?owner=ghost&repo=d",
        TOKEN,
    );
    assert_eq!(run.output.status.code(), Some(1));
    assert!(
        run.stderr.contains("publish:github: git push failed")
            && run.stderr.contains("the repository was created at http://"),
        "{}",
        run.stderr
    );
}

#[test]
fn publish_gitlab_creates_the_project_in_its_group_and_pushes() {
    let (fake, _root) = start(Kind::GitLab);
    let dir = tempfile::tempdir().unwrap();
    let template = template(dir.path(), "publish:gitlab");
    let config = config(dir.path(), &fake, "gitlab.fake.test");

    let run = scaffold(
        &template,
        &config,
        "gitlab.fake.test?owner=platform/backend&repo=orders",
        TOKEN,
    );
    assert!(run.output.status.success(), "{}", run.stderr);
    let output = &run.report["output"];
    let base = fake.base();
    assert_eq!(
        output["remoteUrl"],
        format!("{base}/git/platform/backend/orders.git")
    );
    assert_eq!(
        output["repoContentsUrl"],
        format!("{base}/platform/backend/orders/-/blob/main")
    );
    assert_eq!(output["projectId"], 42);
    let (files, readme, _, head) = pushed(&fake, "platform/backend/orders", "main");
    assert_eq!(files, ["README.md", "src/main.txt"]);
    assert_eq!(readme, "# orders");
    assert_eq!(output["commitHash"], head.as_str());
    let calls = fake.calls.lock().unwrap().clone();
    assert_eq!(
        calls[0].0,
        "GET /api/v4/namespaces?search=platform%2Fbackend"
    );
    assert_eq!(
        calls[1].1,
        json!({"namespace_id": 7, "name": "orders", "path": "orders", "visibility": "private", "description": "The orders service"})
    );

    // The same project again: GitLab's 400 "has already been taken", said so.
    let again = scaffold(
        &template,
        &config,
        "gitlab.fake.test?owner=platform/backend&repo=orders",
        TOKEN,
    );
    assert_eq!(again.output.status.code(), Some(1));
    assert!(
        again.stderr.contains(
            "the project platform/backend/orders already exists on gitlab.fake.test (HTTP 400"
        ),
        "{}",
        again.stderr
    );

    // A wrong token: 401.
    let run = scaffold(
        &template,
        &config,
        "gitlab.fake.test?owner=platform&repo=x",
        "wrong",
    );
    assert!(
        run.stderr
            .contains("GitLab refused the token for gitlab.fake.test (HTTP 401"),
        "{}",
        run.stderr
    );
}

#[test]
fn publish_git_sends_a_token_input_to_an_http_remote() {
    let (fake, _root) = start(Kind::GitHub);
    assert!(fake.create("acme", "plain"));
    let remote = format!("{}/git/acme/plain.git", fake.base());
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("skeleton")).unwrap();
    std::fs::write(dir.path().join("skeleton/README.md"), "# plain\n").unwrap();
    let template = dir.path().join("template.yaml");
    std::fs::write(
        &template,
        format!(
            "apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {{name: plain}}
spec:
  type: service
  steps:
    - id: fetch
      action: fetch:plain
      input: {{url: ./skeleton}}
    - id: publish
      action: publish:git
      input:
        remoteUrl: {remote}
        token: ${{{{ secrets.token }}}}
"
        ),
    )
    .unwrap();
    let run = |token: &str| {
        let out = tempfile::tempdir().unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_portico"))
            .args(["scaffold", template.to_str().unwrap(), "--secret"])
            .arg(format!("token={token}"))
            .arg("--out")
            .arg(out.path().join("ws"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(!stderr.contains(TOKEN), "{stderr}");
        (output.status.success(), stderr)
    };
    let (ok, stderr) = run("wrong");
    assert!(!ok && stderr.contains("git push failed"), "{stderr}");
    let (ok, stderr) = run(TOKEN);
    assert!(ok, "{stderr}");
    let (files, readme, _, _) = pushed(&fake, "acme/plain", "main");
    assert_eq!(files, ["README.md"]);
    assert_eq!(readme, "# plain");
}

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

/// Backstage's own software templates made of fetch:template, publish:github and
/// catalog:register (docs-template, create-react-app, react-ssr-template,
/// springboot-grpc-template) as tasks of a real `portico serve`: each repository is created on
/// the fake forge, the skeleton pushed, and the pushed catalog-info.yaml registered — read back
/// over HTTP from the fake forge.
#[tokio::test(flavor = "multi_thread")]
async fn backstages_software_templates_publish_and_register_through_serve() {
    let (fake, _root) = start(Kind::GitHub);
    let work = tempfile::tempdir().unwrap();
    let templates = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/backstage-software-templates")
        .canonicalize()
        .unwrap();
    let locations = [
        "docs-template",
        "create-react-app",
        "react-ssr-template",
        "springboot-grpc-template",
    ]
    .map(|folder| {
        format!(
            "{{type: file, target: {}}}",
            templates.join(folder).join("template.yaml").display()
        )
    })
    .join(", ");
    let config = work.path().join("app-config.yaml");
    std::fs::write(
        &config,
        format!(
            "backend:
  database: {{client: better-sqlite3, connection: {{directory: {data}}}}}
  reading:
    allow: [{{host: '{addr}'}}]
catalog:
  rules: [{{allow: [Component, Template, Location]}}]
  locations: [{locations}]
integrations:
  github:
    # repoUrl says github.com (the template allows only that host); its API is the fake.
    - host: github.com
      token: ${{FORGE_TOKEN}}
      apiBaseUrl: {base}/api/v3
",
            data = work.path().join("data").display(),
            addr = fake.addr,
            base = fake.base(),
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_portico"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .current_dir(work.path())
        .env("FORGE_TOKEN", TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let stderr = child.stderr.take().unwrap();
    let server = Server(child);
    let logs = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::BufReader::new(stderr), &mut text).unwrap();
        text
    });
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    let base = line
        .trim()
        .strip_prefix("Portico listening on ")
        .unwrap()
        .to_owned();
    let api = format!("{base}/api/scaffolder/v2");
    let client = reqwest::Client::new();

    // Wait until the catalog has loaded the templates (polling a readiness condition).
    for name in [
        "docs-template",
        "create-react-app-template",
        "react-ssr-template",
        "springboot-template",
    ] {
        let schema_url = format!("{api}/templates/default/template/{name}/parameter-schema");
        let mut loaded = false;
        for _ in 0..400 {
            let response = client.get(&schema_url).send().await.unwrap();
            if response.status() == 200 {
                loaded = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(loaded, "{name} never appeared in the catalog");
    }

    let actions: Value = serde_json::from_str(
        &client
            .get(format!("{api}/actions"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    for id in ["publish:github", "publish:gitlab"] {
        let action = actions
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == id)
            .unwrap_or_else(|| panic!("{id} is not listed: {actions}"));
        assert_eq!(action["schema"]["input"]["required"], json!(["repoUrl"]));
        // Inputs accepted but not applied are said so in the schema, not silently dropped.
        let description = action["schema"]["input"]["description"].as_str().unwrap();
        assert!(
            description.contains("not applied yet") && description.contains("topics"),
            "{description}"
        );
    }
    for id in [
        "publish:github:pull-request",
        "publish:gitlab:merge-request",
    ] {
        assert!(
            actions.as_array().unwrap().iter().any(|a| a["id"] == id),
            "{id} is not listed"
        );
    }

    // Each of Backstage's software templates whose every action Portico has, as a user submits
    // it: the task completes, the rendered skeleton is pushed to a new repository of the fake
    // forge (its file list snapshot-checked) and the pushed catalog-info.yaml registered.
    let owner = "group:default/platform";
    let cases = [
        (
            "docs-template",
            json!({"name": "team-docs", "description": "Docs of the team", "owner": owner,
                   "repoUrl": "github.com?owner=acme&repo=team-docs"}),
            "team-docs",
        ),
        (
            "create-react-app-template",
            json!({"component_id": "web-app", "description": "A website", "owner": owner,
                   "repoUrl": "github.com?owner=acme&repo=web-app"}),
            "web-app",
        ),
        (
            "react-ssr-template",
            json!({"component_id": "ssr-app", "description": "A rendered website", "owner": owner,
                   "repoUrl": "github.com?owner=acme&repo=ssr-app"}),
            "ssr-app",
        ),
        (
            "springboot-template",
            json!({"component_id": "grpc-svc", "java_package_name": "io.acme.grpc",
                   "description": "A gRPC service", "owner": owner,
                   "repoUrl": "github.com?owner=acme&repo=grpc-svc"}),
            "grpc-svc",
        ),
    ];
    for (template_name, values, repo) in cases {
        let created: Value = serde_json::from_str(
            &client
                .post(format!("{api}/tasks"))
                .header("content-type", "application/json")
                .body(
                    json!({"templateRef": format!("template:default/{template_name}"), "values": values})
                        .to_string(),
                )
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        )
        .unwrap();
        let id = created["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{template_name}: no task id: {created}"))
            .to_owned();
        // The event stream ends by itself after the completion event.
        let stream = client
            .get(format!("{api}/tasks/{id}/eventstream"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!stream.contains(TOKEN), "the token reached the task log");
        let events: Value = serde_json::from_str(
            &client
                .get(format!("{api}/tasks/{id}/events"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        )
        .unwrap();
        let last = events.as_array().unwrap().last().unwrap().clone();
        assert_eq!(
            last["body"]["status"], "completed",
            "{template_name}: {events}"
        );
        let links = &last["body"]["output"]["links"];
        assert_eq!(
            links[0]["url"],
            format!("{}/git/acme/{repo}.git", fake.base()),
            "{template_name}: {last}"
        );
        assert_eq!(
            links[1]["entityRef"],
            format!("component:default/{repo}"),
            "{template_name}: {last}"
        );

        let pushed = fake.root.join(format!("acme/{repo}.git"));
        let files = git(&["ls-tree", "-r", "--name-only", "main"], &pushed);
        insta::assert_snapshot!(format!("pushed_{template_name}"), files);
        let catalog_info = git(&["show", "main:catalog-info.yaml"], &pushed);
        assert!(
            catalog_info.contains(&format!("name: \"{repo}\""))
                && catalog_info.contains(&format!("github.com/project-slug: acme/{repo}")),
            "{template_name}: {catalog_info}"
        );

        // The registered component is in the catalog.
        let by_name = format!("{base}/api/catalog/entities/by-name/component/default/{repo}");
        let mut status = 0;
        for _ in 0..400 {
            status = client.get(&by_name).send().await.unwrap().status().as_u16();
            if status == 200 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(
            status, 200,
            "{template_name}: the registered component never appeared"
        );
    }

    drop(server);
    let logs = logs.join().unwrap();
    assert!(!logs.contains(TOKEN), "the token reached the server log");
    for entry in std::fs::read_dir(work.path().join("data")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(
            !bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()),
            "the token reached the database"
        );
    }
}

/// A repository of the fake forge with a skeleton in it, pushed with git.
fn seed_skeleton(fake: &Fake, owner: &str, repo: &str) {
    assert!(fake.create(owner, repo));
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    std::fs::create_dir_all(w.join("skeleton/bin")).unwrap();
    std::fs::create_dir_all(w.join("docs")).unwrap();
    std::fs::write(w.join("skeleton/README.md"), "# ${{ values.name }}\n").unwrap();
    std::fs::write(
        w.join("skeleton/bin/run.sh"),
        "#!/bin/sh\necho ${{ values.name }}\n",
    )
    .unwrap();
    std::fs::write(w.join("docs/notes.txt"), "plain ${{ values.name }}\n").unwrap();
    std::fs::write(w.join("skeletonish.txt"), "not in the skeleton folder\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let script = w.join("skeleton/bin/run.sh");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    git(&["init", "--quiet", "--initial-branch", "main"], w);
    git(&["add", "."], w);
    git(
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "--quiet",
            "-m",
            "skeleton",
        ],
        w,
    );
    let bare = fake.root.join(format!("{owner}/{repo}.git"));
    git(&["push", "--quiet", bare.to_str().unwrap(), "main"], w);
}

fn fetch_template(dir: &Path, steps: &str) -> PathBuf {
    let path = dir.join("fetch-template.yaml");
    std::fs::write(
        &path,
        format!(
            "apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: remote-fetch
spec:
  type: service
  parameters:
    - properties:
        name: {{type: string}}
        repoUrl: {{type: string}}
  steps:
{steps}"
        ),
    )
    .unwrap();
    path
}

/// `fetch:template` and `fetch:plain` of repository folders (`…/tree/main/<dir>` URLs: read as
/// the forge's archive through its API with the integration token) and `fetch:plain:file` of
/// one file (`…/blob/main/<file>`: the contents API); hosts that `backend.reading.allow` does
/// not list are refused with a message saying what to add. The forge is the fake above.
#[test]
fn fetch_reads_remote_skeletons_from_allowed_forge_hosts() {
    for kind in [Kind::GitHub, Kind::GitLab] {
        let (fake, _root) = start(kind);
        let (owner, tree) = match kind {
            Kind::GitHub => ("acme", "tree"),
            Kind::GitLab => ("platform", "-/tree"),
        };
        seed_skeleton(&fake, owner, "skel");
        let host = "forge.fake.test";
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path(), &fake, host);
        let mut text = std::fs::read_to_string(&config).unwrap();
        text.push_str(&format!(
            "backend:\n  reading:\n    allow:\n      - host: {host}\n      - host: files.example\n"
        ));
        std::fs::write(&config, text).unwrap();
        let blob = tree.replace("tree", "blob");
        let base = format!("https://{host}/{owner}/skel");
        let template = fetch_template(
            dir.path(),
            &format!(
                "    - id: template
      action: fetch:template
      input:
        url: {base}/{tree}/main/skeleton
        values: {{name: '${{{{ parameters.name }}}}'}}
    - id: plain
      action: fetch:plain
      input: {{url: '{base}/{tree}/main/docs', targetPath: docs}}
    - id: file
      action: fetch:plain:file
      input: {{url: '{base}/{blob}/main/docs/notes.txt', targetPath: copied/notes.txt}}
"
            ),
        );
        let out = tempfile::tempdir().unwrap();
        let ws = out.path().join("ws");
        let output = Command::new(env!("CARGO_BIN_EXE_portico"))
            .args(["scaffold", template.to_str().unwrap(), "--config"])
            .arg(&config)
            .args(["--set", "name=orders", "--out"])
            .arg(&ws)
            .env("FORGE_TOKEN", TOKEN)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{kind:?}: {stderr}");
        assert!(!stderr.contains(TOKEN));
        assert_eq!(
            std::fs::read_to_string(ws.join("README.md")).unwrap(),
            "# orders\n"
        );
        let script = ws.join("bin/run.sh");
        assert_eq!(
            std::fs::read_to_string(&script).unwrap(),
            "#!/bin/sh\necho orders\n"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&script).unwrap().permissions().mode();
            assert!(mode & 0o100 != 0, "the execute bit is kept: {mode:o}");
        }
        assert_eq!(
            std::fs::read_to_string(ws.join("docs/notes.txt")).unwrap(),
            "plain ${{ values.name }}\n",
            "fetch:plain does not render"
        );
        assert_eq!(
            std::fs::read_to_string(ws.join("copied/notes.txt")).unwrap(),
            "plain ${{ values.name }}\n"
        );
        assert!(!ws.join("skeletonish.txt").exists() && !ws.join("skeleton").exists());
        let calls: Vec<String> = fake
            .calls
            .lock()
            .unwrap()
            .iter()
            .map(|(c, _)| c.clone())
            .collect();
        let expected = match kind {
            Kind::GitHub => vec![
                "GET /api/v3/repos/acme/skel/tarball/main".to_owned(),
                "GET /api/v3/repos/acme/skel/tarball/main".to_owned(),
                "GET /api/v3/repos/acme/skel/contents/docs/notes.txt?ref=main".to_owned(),
            ],
            Kind::GitLab => vec![
                "GET /api/v4/projects/platform%2Fskel/repository/archive.tar.gz?sha=main&path=skeleton".to_owned(),
                "GET /api/v4/projects/platform%2Fskel/repository/archive.tar.gz?sha=main&path=docs".to_owned(),
                "GET /api/v4/projects/platform%2Fskel/repository/files/docs%2Fnotes.txt/raw?ref=main".to_owned(),
            ],
        };
        assert_eq!(calls, expected, "{kind:?}");

        // A host the allow-list does not name is never contacted.
        let refused = fetch_template(
            dir.path(),
            "    - id: file
      action: fetch:plain:file
      input: {url: 'https://elsewhere.example/x.txt', targetPath: x.txt}
",
        );
        let output = Command::new(env!("CARGO_BIN_EXE_portico"))
            .args(["scaffold", refused.to_str().unwrap(), "--config"])
            .arg(&config)
            .args(["--set", "name=orders", "--out"])
            .arg(out.path().join("refused"))
            .env("FORGE_TOKEN", TOKEN)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success());
        assert!(
            stderr.contains("reading https://elsewhere.example/x.txt is not allowed: add elsewhere.example to backend.reading.allow"),
            "{stderr}"
        );

        // A folder on an allowed host that is no GitHub or GitLab integration has no API to
        // list it: a clear error before any request, saying what can be read.
        let folder = fetch_template(
            dir.path(),
            "    - id: plain
      action: fetch:plain
      input: {url: 'https://files.example/skeletons/service/'}
",
        );
        let before = fake.calls.lock().unwrap().len();
        let output = Command::new(env!("CARGO_BIN_EXE_portico"))
            .args(["scaffold", folder.to_str().unwrap(), "--config"])
            .arg(&config)
            .args(["--set", "name=orders", "--out"])
            .arg(out.path().join("folder"))
            .env("FORGE_TOKEN", TOKEN)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success());
        assert!(
            stderr.contains(
                "https://files.example/skeletons/service/ is not a directory Portico can read"
            ) && stderr.contains("integrations.github or integrations.gitlab entry"),
            "{stderr}"
        );
        assert_eq!(fake.calls.lock().unwrap().len(), before);
    }
}

/// `publish:github:pull-request` and `publish:gitlab:merge-request` against the fake forge: the
/// repository is looked up through the API, its default branch fetched with real git over smart
/// HTTP, the rendered files laid over it at `targetPath` on a new branch, pushed, and the
/// request opened through the API with Backstage's fields.
#[test]
fn pull_and_merge_requests_push_a_branch_and_open_the_request() {
    for kind in [Kind::GitHub, Kind::GitLab] {
        let (fake, _root) = start(kind);
        let (owner, action) = match kind {
            Kind::GitHub => ("acme", "publish:github:pull-request"),
            Kind::GitLab => ("platform", "publish:gitlab:merge-request"),
        };
        // Each forge's way of naming people and labels; `update` stays unapplied on both.
        let people = match kind {
            Kind::GitHub => {
                "        reviewers: [alice, mallory, alice]
        teamReviewers: [platform-team]
        assignees: [alice]
        labels: [scaffolded, docs]
        update: true"
            }
            Kind::GitLab => {
                "        assignee: alice
        reviewers: [bob, nobody]
        labels: 'scaffolded, docs'
        update: true"
            }
        };
        seed_skeleton(&fake, owner, "skel");
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("skeleton")).unwrap();
        std::fs::write(
            dir.path().join("skeleton/README.md"),
            "# ${{ values.name }}\n",
        )
        .unwrap();
        let template = fetch_template(
            dir.path(),
            &format!(
                "    - id: fetch
      action: fetch:template
      input:
        url: ./skeleton
        values: {{name: '${{{{ parameters.name }}}}'}}
    - id: change
      action: {action}
      input:
        repoUrl: '${{{{ parameters.repoUrl }}}}'
        branchName: 'add-${{{{ parameters.name }}}}'
        title: 'Add ${{{{ parameters.name }}}}'
        description: 'Adds the ${{{{ parameters.name }}}} service'
        targetPath: 'services/${{{{ parameters.name }}}}'
        draft: true
        gitAuthorName: Template Bot
{people}
  output:
    change: '${{{{ steps.change.output }}}}'
"
            ),
        );
        let config = config(dir.path(), &fake, "forge.fake.test");
        let run = scaffold(
            &template,
            &config,
            &format!("forge.fake.test?owner={owner}&repo=skel"),
            TOKEN,
        );
        assert!(run.output.status.success(), "{kind:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("not supported, ignored: update\n"),
            "{}",
            run.stderr
        );
        let output = run.report["output"]["change"].clone();
        let base = fake.base();
        let calls = fake.calls.lock().unwrap().clone();
        let names: Vec<&str> = calls.iter().map(|(call, _)| call.as_str()).collect();
        match kind {
            Kind::GitHub => {
                assert_eq!(
                    output,
                    json!({"targetBranchName": "main", "remoteUrl": format!("{base}/acme/skel/pull/7"), "pullRequestNumber": 7})
                );
                assert_eq!(
                    names,
                    [
                        "GET /api/v3/repos/acme/skel",
                        "POST /api/v3/repos/acme/skel/pulls",
                        "POST /api/v3/repos/acme/skel/pulls/7/requested_reviewers",
                        "POST /api/v3/repos/acme/skel/issues/7/assignees",
                        "POST /api/v3/repos/acme/skel/issues/7/labels",
                    ]
                );
                assert_eq!(
                    calls[1].1,
                    json!({"title": "Add orders", "body": "Adds the orders service", "head": "add-orders", "base": "main", "draft": true})
                );
                assert_eq!(
                    calls[2].1,
                    json!({"reviewers": ["alice", "mallory"], "team_reviewers": ["platform-team"]})
                );
                // The pull request is open: a refused review request is a warning, and the
                // assignees and labels are still added.
                assert!(
                    run.stderr.contains("Warning: could not add reviewers to pull request 7: publish:github:pull-request: adding reviewers failed: HTTP 422 from the GitHub API: Reviews may only be requested from collaborators."),
                    "{}",
                    run.stderr
                );
                assert_eq!(calls[3].1, json!({"assignees": ["alice"]}));
                assert_eq!(calls[4].1, json!({"labels": ["scaffolded", "docs"]}));
                assert!(
                    run.stderr
                        .contains("Added labels [scaffolded, docs] to pull request 7"),
                    "{}",
                    run.stderr
                );
            }
            Kind::GitLab => {
                assert_eq!(
                    output,
                    json!({"targetBranchName": "main", "projectid": "42", "projectPath": "platform/skel", "mergeRequestUrl": format!("{base}/platform/skel/-/merge_requests/3")})
                );
                assert_eq!(
                    names,
                    [
                        "GET /api/v4/projects/platform%2Fskel",
                        "GET /api/v4/users?username=alice",
                        "GET /api/v4/users?username=bob",
                        "GET /api/v4/users?username=nobody",
                        "POST /api/v4/projects/42/merge_requests"
                    ]
                );
                assert_eq!(
                    calls[4].1,
                    json!({"source_branch": "add-orders", "target_branch": "main", "title": "Draft: Add orders", "description": "Adds the orders service", "remove_source_branch": false,
                           "assignee_ids": [11], "reviewer_ids": [12], "labels": "scaffolded,docs"})
                );
                assert!(
                    run.stderr.contains("no GitLab user \"nobody\""),
                    "{}",
                    run.stderr
                );
            }
        }
        // The branch holds the repository as it was plus the new files, in one commit on top.
        let bare = fake.root.join(format!("{owner}/skel.git"));
        let files = git(&["ls-tree", "-r", "--name-only", "add-orders"], &bare);
        assert_eq!(
            files.lines().collect::<Vec<_>>(),
            [
                "docs/notes.txt",
                "services/orders/README.md",
                "skeleton/README.md",
                "skeleton/bin/run.sh",
                "skeletonish.txt"
            ]
        );
        assert_eq!(
            git(&["show", "add-orders:services/orders/README.md"], &bare),
            "# orders"
        );
        assert_eq!(
            git(&["log", "--format=%s|%an", "add-orders"], &bare),
            "Add orders|Template Bot\nskeleton|t"
        );
        assert_eq!(
            git(&["rev-parse", "main"], &bare),
            git(&["rev-parse", "add-orders~1"], &bare),
            "main is untouched"
        );
    }
}

/// A repository of the fake forge holding `files`, pushed with git.
fn seed_repository(fake: &Fake, owner: &str, repo: &str, files: &[(&str, &str)]) {
    assert!(fake.create(owner, repo));
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    for (path, text) in files {
        let path = w.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    git(&["init", "--quiet", "--initial-branch", "main"], w);
    git(&["add", "."], w);
    git(
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "--quiet",
            "-m",
            "seed",
        ],
        w,
    );
    let bare = fake.root.join(format!("{owner}/{repo}.git"));
    git(&["push", "--quiet", bare.to_str().unwrap(), "main"], w);
}

/// A template registered from a `url` location (a blob URL of the fake forge, read by the
/// catalog) fetches `./skeleton` relative to that URL: the scaffolder resolves it to
/// `…/blob/main/skeleton` and reads the folder through the forge's tarball API.
#[tokio::test(flavor = "multi_thread")]
async fn a_template_from_a_url_location_fetches_its_skeleton_next_to_it() {
    let (fake, _root) = start(Kind::GitHub);
    seed_repository(
        &fake,
        "acme",
        "templates",
        &[
            (
                "service/template.yaml",
                "apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: remote-skeleton}
spec:
  type: service
  steps:
    - id: fetch
      action: fetch:template
      input: {url: ./skeleton, values: {name: svc}}
    - id: show
      action: debug:log
      input: {listWorkspace: with-contents}
",
            ),
            (
                "service/skeleton/README.md",
                "# ${{ values.name }} from the forge\n",
            ),
        ],
    );
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("app-config.yaml");
    std::fs::write(
        &config,
        format!(
            "backend:
  database: {{client: better-sqlite3, connection: {{directory: {data}}}}}
  reading:
    allow: [{{host: '{addr}'}}]
catalog:
  rules: [{{allow: [Template, Location]}}]
  locations: [{{type: url, target: '{base}/acme/templates/blob/main/service/template.yaml'}}]
integrations:
  github:
    - host: '{addr}'
      token: ${{FORGE_TOKEN}}
      apiBaseUrl: {base}/api/v3
",
            data = work.path().join("data").display(),
            addr = fake.addr,
            base = fake.base(),
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_portico"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .current_dir(work.path())
        .env("FORGE_TOKEN", TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let _server = Server(child);
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    let api = format!(
        "{}/api/scaffolder/v2",
        line.trim().strip_prefix("Portico listening on ").unwrap()
    );
    let client = reqwest::Client::new();
    let mut id = String::new();
    for _ in 0..400 {
        let response = client
            .post(format!("{api}/tasks"))
            .header("content-type", "application/json")
            .body(
                json!({"templateRef": "template:default/remote-skeleton", "values": {}})
                    .to_string(),
            )
            .send()
            .await
            .unwrap();
        if response.status() == 201 {
            let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
            id = body["id"].as_str().unwrap().to_owned();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(!id.is_empty(), "the template never appeared in the catalog");
    let stream = client
        .get(format!("{api}/tasks/{id}/eventstream"))
        .send()
        .await
        .unwrap()
        .text();
    let text = tokio::time::timeout(std::time::Duration::from_secs(60), stream)
        .await
        .unwrap()
        .unwrap();
    assert!(text.contains("event: completion"), "{text}");
    assert!(text.contains(r#""message":"Run completed""#), "{text}");
    assert!(text.contains("# svc from the forge"), "{text}");
    let calls: Vec<String> = fake
        .calls
        .lock()
        .unwrap()
        .iter()
        .map(|(c, _)| c.clone())
        .collect();
    assert!(
        calls.contains(&"GET /api/v3/repos/acme/templates/tarball/main".to_owned()),
        "{calls:?}"
    );
}

/// Backstage's own `pull-request` and `gitlab-merge-request` templates, unchanged, through
/// `portico scaffold` against the fake forge standing in for github.com and gitlab.com: the
/// pull-request template also fetches a folder of github.com/backstage/community (seeded on the
/// fake) with `fetch:plain`; the merge-request one takes its token from the user's secret
/// `USER_OAUTH_TOKEN`, as its RepoUrlPicker asks. The pushed branch is snapshot-checked.
#[test]
fn backstages_request_templates_push_a_branch_and_open_the_request() {
    let templates = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/backstage-software-templates")
        .canonicalize()
        .unwrap();
    for kind in [Kind::GitHub, Kind::GitLab] {
        let (fake, _root) = start(kind);
        let dir = tempfile::tempdir().unwrap();
        let (folder, host, owner, sets, secret, link) = match kind {
            Kind::GitHub => {
                seed_repository(
                    &fake,
                    "backstage",
                    "community",
                    &[("backstage-community-sessions/README.md", "# Sessions\n")],
                );
                (
                    "pull-request",
                    "github.com",
                    "acme",
                    vec!["targetPath=services/orders"],
                    None,
                    "Go to PR",
                )
            }
            Kind::GitLab => (
                "gitlab-merge-request",
                "gitlab.com",
                "platform",
                vec!["branchName=add-orders", "targetPath=services/orders"],
                Some(format!("USER_OAUTH_TOKEN={TOKEN}")),
                "Go to Gitlab MR",
            ),
        };
        seed_repository(&fake, owner, "monorepo", &[("README.md", "# Monorepo\n")]);
        let config = config(dir.path(), &fake, host);
        let mut text = std::fs::read_to_string(&config).unwrap();
        text.push_str(&format!(
            "backend:\n  reading:\n    allow:\n      - host: {host}\n      - host: files.example\n"
        ));
        std::fs::write(&config, text).unwrap();
        let out = tempfile::tempdir().unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_portico"));
        command
            .arg("scaffold")
            .arg(templates.join(folder).join("template.yaml"))
            .arg("--config")
            .arg(&config)
            .args(["--set", "name=orders", "--set"])
            .arg(format!("repoUrl={host}?owner={owner}&repo=monorepo"));
        for set in sets {
            command.args(["--set", set]);
        }
        if let Some(secret) = secret {
            command.args(["--secret", &secret]);
            // Only the user's token: the integration has none.
            command.env("FORGE_TOKEN", "");
        } else {
            command.env("FORGE_TOKEN", TOKEN);
        }
        let output = command
            .arg("--out")
            .arg(out.path().join("ws"))
            .arg("--json")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{folder}: {stderr}");
        assert!(
            !stdout.contains(TOKEN) && !stderr.contains(TOKEN),
            "{folder}: the token leaked"
        );
        let report: Value = serde_json::from_str(&stdout).unwrap();
        let links = &report["output"]["links"];
        assert_eq!(links[0]["title"], link, "{report}");
        assert!(
            links[0]["url"]
                .as_str()
                .is_some_and(|url| url.starts_with(&fake.base())),
            "{report}"
        );
        let bare = fake.root.join(format!("{owner}/monorepo.git"));
        // pull-request names its branch create-<name>; the merge request takes branchName.
        let branch = match kind {
            Kind::GitHub => "create-orders",
            Kind::GitLab => "add-orders",
        };
        let files = git(&["ls-tree", "-r", "--name-only", branch], &bare);
        insta::assert_snapshot!(format!("pushed_{folder}"), files);
        let path = files
            .lines()
            .find(|f| f.ends_with("catalog-info.yaml"))
            .unwrap_or_else(|| panic!("{folder}: no catalog-info.yaml in {files}"));
        let catalog_info = git(&["show", &format!("{branch}:{path}")], &bare);
        assert!(catalog_info.contains("name: \"orders\""), "{catalog_info}");
    }
}
