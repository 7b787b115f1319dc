//! Running software templates from the UI, over HTTP, with a real scaffolder and task worker on
//! the test's SQLite file: field-level messages for invalid pages, `when:` pages skipped,
//! `dependencies` fields appearing, the review masking secrets, creating a task and following it
//! to its output, the task list, cancel and retry, and the permissions of these pages.

use std::sync::Arc;
use std::time::Duration;

use portico_plugin_api::{Authorizer, Decision, Permission, Principal};

use crate::{Running, Worker, start_scaffolder, start_scaffolder_with};

/// The few entities minijinja's auto-escaping writes, decoded.
fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of the hidden field `name` of a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no hidden field {name} in {html}"))
        + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    unescape(&html[start..end])
}

fn encode_form(pairs: &[(&str, &str)]) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        form.append_pair(k, v);
    }
    form.finish()
}

/// Posts the page `html` (as a browser would: its hidden fields plus `fields`) with `action`.
async fn submit(
    ui: &Running,
    path: &str,
    html: &str,
    fields: &[(&str, &str)],
    action: &str,
) -> (u16, String) {
    let page = hidden(html, "_page");
    let values = hidden(html, "_values");
    let secrets = hidden(html, "_secrets");
    let mut pairs = vec![
        ("_page", page.as_str()),
        ("_values", values.as_str()),
        ("_secrets", secrets.as_str()),
        ("_action", action),
    ];
    let shown;
    if page != "review" {
        shown = hidden(html, "_shown");
        pairs.push(("_shown", shown.as_str()));
    }
    pairs.extend_from_slice(fields);
    ui.post_form(path, &encode_form(&pairs)).await
}

/// Posts the review `html` to create the task; returns the final status, URL path and page.
async fn create(ui: &Running, path: &str, html: &str) -> (u16, String, String) {
    let values = hidden(html, "_values");
    let secrets = hidden(html, "_secrets");
    let response = ui
        .client
        .post(ui.url(&format!("{path}/create")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode_form(&[
            ("_page", "review"),
            ("_values", &values),
            ("_secrets", &secrets),
        ]))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let url = response.url().path().to_owned();
    (status, url, response.text().await.unwrap())
}

/// The text of every review table of a page.
fn review_tables(html: &str) -> String {
    html.split(r#"<table class="data-table review-table">"#)
        .skip(1)
        .map(|part| part.split("</table>").next().unwrap_or_default())
        .collect()
}

/// Reloads a task page until its status is `wanted` (the worker runs on its own time).
async fn wait_for_status(ui: &Running, path: &str, wanted: &str) -> String {
    let marker = format!(r#"id="task-status">{wanted}<"#);
    let mut last = String::new();
    for _ in 0..300 {
        let (status, html) = ui.get(path).await;
        assert_eq!(status, 200, "{html}");
        if html.contains(&marker) {
            return html;
        }
        last = html;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the task at {path} never became {wanted}: {last}");
}

const DEMO: &str = "/create/templates/default/ui-demo";

/// Fills the first page of [`crate::UI_DEMO`] and returns the second.
async fn demo_second_page(ui: &Running) -> String {
    let (_, first) = ui.get(DEMO).await;
    let (status, second) = submit(
        ui,
        DEMO,
        &first,
        &[
            ("name", "svc-one"),
            ("owner", "group:default/team-a"),
            ("token", "tok-SECRET-9"),
            ("password", "pw-123"),
            ("note", "private-note"),
            ("code", "c0de"),
        ],
        "next",
    )
    .await;
    assert_eq!(status, 200, "{second}");
    second
}

/// Fills both pages of [`crate::UI_DEMO`] and returns the review.
async fn demo_review(ui: &Running) -> String {
    let second = demo_second_page(ui).await;
    let (status, review) = submit(
        ui,
        DEMO,
        &second,
        &[
            ("repoUrl__host", "gitlab.com"),
            ("repoUrl__owner", "acme"),
            ("repoUrl__repo", "svc-one"),
        ],
        "next",
    )
    .await;
    assert_eq!(status, 200, "{review}");
    review
}

#[tokio::test]
async fn invalid_pages_come_back_with_messages_next_to_their_fields() {
    let ui = start_scaffolder(Worker::Stopped).await;
    let (status, first) = ui.get(DEMO).await;
    assert_eq!(status, 200, "{first}");
    // One page at a time, with the steps of the stepper.
    assert!(first.contains(r#"id="p0-name""#), "{first}");
    assert!(!first.contains(r#"id="p1-repoUrl-owner""#), "{first}");
    for step in ["Basics", "Location", "Review"] {
        assert!(
            first.contains(&format!(">{step}</li>")),
            "stepper lacks {step}"
        );
    }
    // The OwnerPicker offers the catalog's groups (its catalogFilter), not its users.
    assert!(
        first.contains(r#"<datalist id="p0-owner-options">"#),
        "{first}"
    );
    assert!(
        unescape(&first).contains(r#"<option value="group:default/team-a">"#),
        "{first}"
    );
    assert!(
        !unescape(&first).contains(r#"<option value="user:default/guest">"#),
        "{first}"
    );

    let (status, again) = submit(&ui, DEMO, &first, &[("name", "Not Valid")], "next").await;
    assert_eq!(status, 400, "{again}");
    // Messages next to the fields, linked from the summary, and the value kept.
    assert!(again.contains(r#"id="p0-name-error""#), "{again}");
    assert!(again.contains("does not match"), "{again}");
    assert!(
        again.contains(r#"<p class="field-error" id="p0-owner-error">This field is required.</p>"#),
        "{again}"
    );
    assert!(again.contains(r##"href="#p0-owner""##), "{again}");
    assert!(again.contains(r#"value="Not Valid""#), "{again}");
    assert!(again.contains(r#"aria-invalid="true""#), "{again}");
    assert!(
        again.contains(r#"aria-describedby="p0-name-desc p0-name-error""#),
        "{again}"
    );

    // Fixed, the form moves on; Back returns with the values.
    let second = demo_second_page(&ui).await;
    assert!(second.contains(r#"id="p1-repoUrl-owner""#), "{second}");
    assert!(second.contains(r#"<option value="gitlab.com""#), "{second}");
    let (status, back) = submit(&ui, DEMO, &second, &[], "back").await;
    assert_eq!(status, 200);
    assert!(back.contains(r#"value="svc-one""#), "{back}");
    // Half a repository location is refused with its own message.
    let (status, half) = submit(
        &ui,
        DEMO,
        &second,
        &[("repoUrl__host", "github.com"), ("repoUrl__owner", "acme")],
        "next",
    )
    .await;
    assert_eq!(status, 400, "{half}");
    assert!(
        half.contains("Enter the host, the owner and the repository name."),
        "{half}"
    );
}

#[tokio::test]
async fn the_review_masks_secrets_and_honours_the_template() {
    let ui = start_scaffolder(Worker::Stopped).await;
    let review = demo_review(&ui).await;
    assert!(review.contains(r#"id="form-create""#), "{review}");
    assert!(review.contains(r#"<li class="current" aria-current="step">Review</li>"#));
    let tables = review_tables(&review);
    assert!(
        tables.contains("<th scope=\"row\">Name</th><td>svc-one</td>"),
        "{tables}"
    );
    assert!(
        tables.contains("<td>gitlab.com?owner=acme&amp;repo=svc-one</td>"),
        "{tables}"
    );
    // Secret and password fields are masked, `mask` replaces the value, `show: false` hides it.
    assert!(
        tables.contains("<th scope=\"row\">Deploy token</th><td>******</td>"),
        "{tables}"
    );
    assert!(
        tables.contains("<th scope=\"row\">Database password</th><td>******</td>"),
        "{tables}"
    );
    assert!(tables.contains("<td>(hidden code)</td>"), "{tables}");
    for hidden_value in [
        "tok-SECRET-9",
        "pw-123",
        "c0de",
        "private-note",
        "Private note",
    ] {
        assert!(
            !tables.contains(hidden_value),
            "{hidden_value} shown: {tables}"
        );
    }
    // The secret travels with the secrets, never with the values.
    let values = hidden(&review, "_values");
    assert!(!values.contains("tok-SECRET-9"), "{values}");
    assert!(values.contains(r#""token":"************""#), "{values}");
    assert!(hidden(&review, "_secrets").contains("tok-SECRET-9"));
}

#[tokio::test]
async fn creating_a_task_follows_it_to_its_output() {
    let ui = start_scaffolder(Worker::Running).await;
    let review = demo_review(&ui).await;
    let (status, path, _) = create(&ui, DEMO, &review).await;
    assert_eq!(status, 200);
    assert!(path.starts_with("/create/tasks/"), "{path}");
    let page = wait_for_status(&ui, &path, "Completed").await;
    // Steps with their status, the log with the secret masked, the output.
    assert!(page.contains("Fetch the skeleton"), "{page}");
    assert!(!page.contains("Not started"), "every step ran: {page}");
    assert!(
        unescape(&page).contains(
            "Created svc-one for group:default/team-a at gitlab.com?owner=acme&repo=svc-one with token ***"
        ),
        "{page}"
    );
    assert!(page.contains("README.md"), "listWorkspace: {page}");
    assert!(!page.contains("tok-SECRET-9"), "{page}");
    assert!(
        page.contains(r#"<a href="https:&#x2f;&#x2f;example.com&#x2f;svc-one">Repository</a>"#),
        "{page}"
    );
    assert!(
        page.contains(r#"<a href="&#x2f;catalog&#x2f;default&#x2f;group&#x2f;team-a">Owner</a>"#),
        "{page}"
    );
    // A URL the browser cannot follow (an ssh remote) is shown as text, not dropped.
    assert!(
        page.contains(
            r#"<li>Clone: <span class="mono">git@example.com:acme&#x2f;svc-one.git</span></li>"#
        ),
        "{page}"
    );
    assert!(
        page.contains("<strong>svc-one</strong> is ready."),
        "{page}"
    );
    assert!(!page.contains(r#"id="task-cancel""#) && !page.contains(r#"id="task-retry""#));
    assert!(
        !page.contains("task.js"),
        "a finished task is not followed: {page}"
    );
    // What the scaffolder stored has the mask, never the secret.
    let id = path.trim_start_matches("/create/tasks/").to_owned();
    let service = ui.scaffolder.clone().unwrap();
    let task = service.task(id.clone()).await.unwrap();
    assert_eq!(task["createdBy"], "user:default/guest");
    assert_eq!(task["spec"]["parameters"]["token"], "************");
    assert!(!task.to_string().contains("tok-SECRET-9"));
    // The event stream of an ended task sends its events and ends.
    let response = ui
        .client
        .get(ui.url(&format!("{path}/events")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let stream = response.text().await.unwrap();
    assert!(stream.contains("event: log\n"), "{stream}");
    assert!(stream.contains("event: completion\n"), "{stream}");
    assert!(!stream.contains("tok-SECRET-9"));
}

#[tokio::test]
async fn when_pages_are_skipped_and_the_output_follows_the_choices() {
    let ui = start_scaffolder(Worker::Running).await;
    let path = "/create/templates/default/conditional-parameters-demo";
    let (status, first) = ui.get(path).await;
    assert_eq!(status, 200, "{first}");
    // Pages hidden by `when:` are not steps yet.
    assert!(!first.contains(">AWS Configuration</li>"), "{first}");
    let (status, second) = submit(
        &ui,
        path,
        &first,
        &[("name", "gcp-svc"), ("cloudProvider", "GCP")],
        "next",
    )
    .await;
    assert_eq!(status, 200, "{second}");
    assert!(
        second.contains("<legend><h2>GCP Configuration</h2></legend>"),
        "{second}"
    );
    assert!(!second.contains(">AWS Configuration</li>"), "{second}");
    // The default of the region is drawn selected.
    assert!(
        second.contains(r#"<option value="us-central1" selected>"#),
        "{second}"
    );
    let (status, third) = submit(
        &ui,
        path,
        &second,
        &[("gcpProjectId", "my-proj"), ("gcpRegion", "us-central1")],
        "next",
    )
    .await;
    assert_eq!(status, 200, "{third}");
    assert!(
        third.contains("<legend><h2>Advanced Options</h2></legend>"),
        "{third}"
    );
    // Monitoring off: its page is skipped and the review comes next.
    let (status, review) = submit(&ui, path, &third, &[], "next").await;
    assert_eq!(status, 200, "{review}");
    let tables = review_tables(&review);
    assert!(tables.contains("<td>my-proj</td>"), "{tables}");
    assert!(
        tables.contains("<th scope=\"row\">Enable Monitoring</th><td>No</td>"),
        "{tables}"
    );
    assert!(
        !review.contains(">Monitoring Configuration</li>"),
        "{review}"
    );
    let (_, task_path, _) = create(&ui, path, &review).await;
    let page = wait_for_status(&ui, &task_path, "Completed").await;
    assert!(page.contains("<h3>GCP Details</h3>"), "{page}");
    assert!(
        page.contains("<strong>Project ID:</strong> my-proj"),
        "{page}"
    );
    assert!(!page.contains("AWS Details"), "{page}");
}

#[tokio::test]
async fn dependencies_bring_their_fields() {
    let ui = start_scaffolder(Worker::Stopped).await;
    let file = ui.files.join("deps.yaml");
    std::fs::write(
        &file,
        r#"apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: deps
spec:
  owner: team-a
  type: service
  parameters:
    - title: Cloud
      required: [cloud]
      properties:
        cloud:
          title: Cloud
          type: string
          enum: [aws, gcp]
      dependencies:
        cloud:
          oneOf:
            - properties:
                cloud: {enum: [aws]}
                region: {title: Region, type: string}
              required: [region]
            - properties:
                cloud: {enum: [gcp]}
                project: {title: Project, type: string}
  steps:
    - id: log
      action: debug:log
      input: {message: hi}
"#,
    )
    .unwrap();
    ui.engine
        .register_location(
            "file",
            file.to_str().unwrap(),
            portico_store::LocationOrigin::Config,
        )
        .await
        .unwrap();
    let path = "/create/templates/default/deps";
    let (_, first) = ui.get(path).await;
    assert!(first.contains("data-controls"), "{first}");
    assert!(!first.contains(r#"id="p0-region""#), "{first}");
    // Choosing aws brings the region field: the page is drawn again before moving on.
    let (status, again) = submit(&ui, path, &first, &[("cloud", "aws")], "next").await;
    assert_eq!(status, 200, "{again}");
    assert!(again.contains(r#"id="form-appeared""#), "{again}");
    assert!(again.contains(r#"id="p0-region""#), "{again}");
    assert!(!again.contains(r#"id="p0-project""#), "{again}");
    // Now the region is required by the chosen branch.
    let (status, missing) = submit(&ui, path, &again, &[("cloud", "aws")], "next").await;
    assert_eq!(status, 400, "{missing}");
    assert!(missing.contains(r#"id="p0-region-error""#), "{missing}");
    // Switching to gcp swaps the fields.
    let (_, gcp) = submit(&ui, path, &missing, &[("cloud", "gcp")], "refresh").await;
    assert!(
        gcp.contains(r#"id="p0-project""#) && !gcp.contains(r#"id="p0-region""#),
        "{gcp}"
    );
}

/// Creates a task of the slow template through the UI; returns its page's path and HTML.
async fn start_slow(ui: &Running) -> (String, String) {
    let path = "/create/templates/default/slow";
    let (status, review) = ui.get(path).await;
    assert_eq!(status, 200);
    assert!(
        review.contains(r#"id="form-create""#),
        "a template without pages goes to the review: {review}"
    );
    let (status, task_path, page) = create(ui, path, &review).await;
    assert_eq!(status, 200, "{page}");
    (task_path, page)
}

#[tokio::test]
async fn a_waiting_task_is_cancelled_and_retried() {
    let ui = start_scaffolder(Worker::Stopped).await;
    let (path, page) = start_slow(&ui).await;
    assert!(page.contains(r#"id="task-status">Waiting<"#), "{page}");
    assert!(page.contains(r#"id="task-cancel""#), "{page}");
    assert!(
        page.contains("task.js"),
        "a running task is followed: {page}"
    );
    assert!(
        page.contains(r#"<noscript><meta http-equiv="refresh""#),
        "{page}"
    );
    let response = ui
        .client
        .post(ui.url(&format!("{path}/cancel")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.url().path(), path);
    let cancelled = response.text().await.unwrap();
    assert!(
        cancelled.contains(r#"id="task-status">Cancelled<"#),
        "{cancelled}"
    );
    assert!(cancelled.contains("The task was cancelled"), "{cancelled}");
    assert!(!cancelled.contains(r#"id="task-cancel""#), "{cancelled}");
    assert!(cancelled.contains(r#"id="task-retry""#), "{cancelled}");
    let response = ui
        .client
        .post(ui.url(&format!("{path}/retry")))
        .send()
        .await
        .unwrap();
    let retried = response.url().path().to_owned();
    assert_eq!(retried, path, "a retry keeps the task's id");
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains(r#"id="task-status">Waiting<"#)
    );
}

#[tokio::test]
async fn a_running_task_is_cancelled() {
    let ui = start_scaffolder(Worker::Running).await;
    let (path, _) = start_slow(&ui).await;
    wait_for_status(&ui, &path, "Running").await;
    let (status, _) = ui.post_form(&format!("{path}/cancel"), "").await;
    assert_eq!(status, 200);
    let page = wait_for_status(&ui, &path, "Cancelled").await;
    assert!(page.contains(r#"id="task-retry""#), "{page}");
}

#[tokio::test]
async fn the_task_list_shows_mine_or_all_newest_first() {
    let ui = start_scaffolder(Worker::Stopped).await;
    let (mine, _) = start_slow(&ui).await;
    let mine = mine.trim_start_matches("/create/tasks/").to_owned();
    let service = ui.scaffolder.clone().unwrap();
    let theirs = service
        .create_task(
            "template:default/slow".to_owned(),
            serde_json::Map::new(),
            serde_json::Map::new(),
            Some("user:default/jane".to_owned()),
        )
        .await
        .unwrap();
    let (status, list) = ui.get("/create/tasks").await;
    assert_eq!(status, 200, "{list}");
    assert!(list.contains(&mine), "{list}");
    assert!(
        !list.contains(&theirs),
        "another user's task under mine: {list}"
    );
    assert!(list.contains(r#"id="task-count">1 task<"#), "{list}");
    let (_, all) = ui.get("/create/tasks?owner=all").await;
    let (at_mine, at_theirs) = (all.find(&mine).unwrap(), all.find(&theirs).unwrap());
    assert!(at_theirs < at_mine, "newest first: {all}");
    assert!(all.contains("Slow template"), "{all}");
    let (_, none) = ui.get("/create/tasks?owner=all&status=completed").await;
    assert!(none.contains(r#"id="task-count">0 tasks<"#), "{none}");
    assert!(!none.contains(&mine));
    assert_eq!(ui.get("/create/tasks/no-such-task").await.0, 404);
}

/// The creator links to their User page only when the catalog has that entity; a creator with
/// no User entity (a guest on a catalog without one) is plain text, not a link to a 404.
#[tokio::test]
async fn the_creator_links_only_to_a_user_the_catalog_has() {
    let ui = start_scaffolder(Worker::Stopped).await;
    let service = ui.scaffolder.clone().unwrap();
    let mut ids = Vec::new();
    // The examples' catalog has user:default/guest (acme's team-a), not user:default/nobody.
    for creator in ["user:default/guest", "user:default/nobody"] {
        let id = service
            .create_task(
                "template:default/slow".to_owned(),
                serde_json::Map::new(),
                serde_json::Map::new(),
                Some(creator.to_owned()),
            )
            .await
            .unwrap();
        ids.push(id);
    }
    let (status, known) = ui.get(&format!("/create/tasks/{}", ids[0])).await;
    assert_eq!(status, 200, "{known}");
    assert!(
        unescape(&known).contains(r#" by <a href="/catalog/default/user/guest">guest</a></p>"#),
        "{known}"
    );
    let (status, unknown) = ui.get(&format!("/create/tasks/{}", ids[1])).await;
    assert_eq!(status, 200, "{unknown}");
    let unknown = unescape(&unknown);
    assert!(unknown.contains(" by nobody</p>"), "{unknown}");
    assert!(
        !unknown.contains("/catalog/default/user/nobody"),
        "{unknown}"
    );
    let (_, list) = ui.get("/create/tasks?owner=all").await;
    let list = unescape(&list);
    assert!(
        list.contains(r#"<td><a href="/catalog/default/user/guest">guest</a></td>"#),
        "{list}"
    );
    assert!(list.contains("<td>nobody</td>"), "{list}");
    assert!(!list.contains("/catalog/default/user/nobody"), "{list}");
}

/// Refuses the listed permissions, allows the rest.
struct Refuse(&'static [Permission]);

impl Authorizer for Refuse {
    fn authorize(
        &self,
        _: &Principal,
        permission: Permission,
        _: Option<&serde_json::Value>,
    ) -> Decision {
        if self.0.contains(&permission) {
            Decision::Deny
        } else {
            Decision::Allow
        }
    }
}

#[tokio::test]
async fn creating_and_reading_tasks_ask_for_their_permissions() {
    let ui = start_scaffolder_with(Worker::Stopped, |ui| {
        ui.with_authorizer(Arc::new(Refuse(&[
            Permission::SCAFFOLDER_TASK_CREATE,
            Permission::SCAFFOLDER_TASK_READ,
        ])))
    })
    .await;
    // Filling in the form is reading the template; creating the task is refused.
    let review = demo_review(&ui).await;
    let (status, _, page) = create(&ui, DEMO, &review).await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("scaffolder.task.create"), "{page}");
    assert_eq!(ui.get("/create/tasks").await.0, 403);
}

/// The list and branch pickers of [`crate::PICKERS`]: MultiEntityPicker offers the catalog's
/// groups (its catalogFilter) as checkboxes, EntityTagsPicker the catalog's tags; malformed refs,
/// tags and branch names come back with messages next to their fields; good ones reach the
/// review as a list.
#[tokio::test]
async fn list_and_branch_pickers_offer_the_catalog_and_validate() {
    let ui = start_scaffolder(Worker::Stopped).await;
    let path = "/create/templates/default/pickers";
    let (status, first) = ui.get(path).await;
    assert_eq!(status, 200, "{first}");
    let page = unescape(&first);
    assert!(
        page.contains(r#"name="deps" value="group:default/team-a""#),
        "{page}"
    );
    assert!(!page.contains(r#"name="deps" value="user:"#), "{page}");
    assert!(page.contains(r#"name="deps__more""#), "{page}");
    // The template's own tag is in the catalog.
    assert!(page.contains("Tags in the catalog:"), "{page}");
    assert!(page.contains("<code>demo</code>"), "{page}");

    let (status, again) = submit(
        &ui,
        path,
        &first,
        &[
            ("deps__more", "not a ref"),
            ("tags", "Bad Tag"),
            ("branch", "-x"),
        ],
        "next",
    )
    .await;
    assert_eq!(status, 400, "{again}");
    let again = unescape(&again);
    assert!(
        again.contains("Not an entity reference: not a ref."),
        "{again}"
    );
    assert!(again.contains("Not a valid tag: Bad Tag."), "{again}");
    assert!(again.contains(r#""-x" is not a branch name"#), "{again}");

    let (status, review) = submit(
        &ui,
        path,
        &first,
        &[
            ("deps", "group:default/team-a"),
            ("deps__more", "component:default/orders"),
            ("tags", "java\nspring"),
            ("branch", "feature/x"),
        ],
        "next",
    )
    .await;
    assert_eq!(status, 200, "{review}");
    let values: serde_json::Value =
        serde_json::from_str(&unescape(&hidden(&review, "_values"))).unwrap();
    assert_eq!(
        values,
        serde_json::json!({"deps": ["group:default/team-a", "component:default/orders"], "tags": ["java", "spring"], "branch": "feature/x"})
    );
}

/// A template using an action this server lacks says so on its first page, before anyone fills
/// it in, naming the step and the action; *Create* is refused with the scaffolder's message.
#[tokio::test]
async fn a_template_with_an_unknown_action_warns_before_the_form() {
    let ui = start_scaffolder(Worker::Stopped).await;
    let (status, page) = ui.get("/create/templates/default/notifications-demo").await;
    assert_eq!(status, 200, "{page}");
    assert!(
        unescape(&page).contains(
            r#"step "send-notification" uses the action "notification:send", which this server does not have"#
        ),
        "{page}"
    );
    // A template whose actions all exist has no such warning.
    let (_, demo) = ui.get(DEMO).await;
    assert!(!demo.contains(r#"id="form-unavailable""#), "{demo}");
    let (status, _, created) =
        create(&ui, "/create/templates/default/notifications-demo", &page).await;
    assert_eq!(status, 400, "{created}");
    assert!(
        unescape(&created).contains(r#"unknown action "notification:send""#),
        "{created}"
    );
}
