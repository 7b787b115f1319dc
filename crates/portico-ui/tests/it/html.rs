//! The HTML handlers over HTTP: the layout, escaping and Markdown, filters in the URL, htmx
//! fragments, paging, entity tabs, error pages, register and unregister.

use std::sync::Arc;

use portico_plugin_api::{Authorizer, Decision, Permission, Principal};

use crate::{encode, start, start_configured};

/// The names in the catalog table of a page, in order.
fn table_names(html: &str) -> Vec<String> {
    html.split(r#"<td class="name-cell">"#)
        .skip(1)
        .filter_map(|cell| {
            let start = cell.find("class=\"entity-link\">")? + "class=\"entity-link\">".len();
            let end = cell[start..].find("</a>")?;
            Some(cell[start..start + end].to_owned())
        })
        .collect()
}

#[tokio::test]
async fn home_shows_kinds_and_the_shell() {
    let ui = start(false).await;
    let (status, html) = ui.get("/").await;
    assert_eq!(status, 200);
    assert!(html.contains("<title>Home · Test Portal</title>"), "{html}");
    for label in [
        "Home", "Catalog", "APIs", "Docs", "Create", "Search", "Settings",
    ] {
        assert!(
            html.contains(&format!("<span>{label}</span>")),
            "sidebar lacks {label}"
        );
    }
    assert!(html.contains("Guest"));
    assert!(html.contains(r#"aria-current="page""#));
    // Counts per kind link to the catalog filtered by kind.
    assert!(
        html.contains(r#"href="&#x2f;catalog?kind=component""#),
        "{html}"
    );
}

#[tokio::test]
async fn catalog_filters_live_in_the_url() {
    let ui = start(false).await;
    let (status, all) = ui.get("/catalog").await;
    assert_eq!(status, 200);
    let names = table_names(&all);
    assert!(names.contains(&"artist-lookup".to_owned()), "{names:?}");
    assert!(names.contains(&"playback-order".to_owned()), "{names:?}");

    let (_, production) = ui.get("/catalog?kind=component&lifecycle=production").await;
    let names = table_names(&production);
    assert!(names.contains(&"playback-order".to_owned()), "{names:?}");
    assert!(!names.contains(&"artist-lookup".to_owned()), "{names:?}");
    // The facet shows the checked value and the other value's count.
    assert!(
        production.contains(r#"value="production" checked"#),
        "{production}"
    );
    assert!(production.contains("Lifecycle: production"));

    let (_, text) = ui.get("/catalog?kind=component&q=wayback").await;
    let names = table_names(&text);
    assert!(
        !names.is_empty() && names.iter().all(|n| n.contains("wayback")),
        "{names:?}"
    );

    // Sorting by name descending reverses the order.
    let (_, asc) = ui.get("/catalog?kind=component").await;
    let (_, desc) = ui.get("/catalog?kind=component&sort=name&dir=desc").await;
    let mut reversed = table_names(&asc);
    reversed.reverse();
    assert_eq!(table_names(&desc), reversed);

    // Paging: two per page, the second page starts where the first ended.
    let (_, first) = ui.get("/catalog?kind=component&limit=2").await;
    let (_, second) = ui.get("/catalog?kind=component&limit=2&page=2").await;
    assert_eq!(table_names(&first), table_names(&asc)[..2]);
    assert_eq!(table_names(&second), table_names(&asc)[2..4]);
    assert!(second.contains(r#"rel="prev""#) && second.contains(r#"rel="next""#));
}

#[tokio::test]
async fn facets_with_many_values_list_some_and_suggest_the_rest() {
    let ui = start(false).await;
    let mut yaml = String::new();
    for i in 0..80 {
        yaml.push_str(&format!(
            "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: many-{i:02}\nspec:\n  type: service\n  lifecycle: production\n  owner: group:default/crowd-{i:02}\n"
        ));
    }
    let file = ui.files.join("many-owners.yaml");
    std::fs::write(&file, yaml).unwrap();
    ui.engine
        .register_location(
            "file",
            file.to_str().unwrap(),
            portico_store::LocationOrigin::Api,
        )
        .await
        .unwrap();

    let (status, html) = ui.get("/catalog?kind=component").await;
    assert_eq!(status, 200);
    let owner_boxes = html.matches(r#"name="owner" value="#).count();
    assert!(
        owner_boxes <= 12 + 40,
        "owners listed: {owner_boxes}, the page must not list every value"
    );
    assert!(
        html.contains(r#"id="f-owner-other""#),
        "text input for the rest"
    );
    assert!(html.contains("other values"), "{html}");

    let (status, options) = ui
        .get("/catalog/facet-values?facet=owner&kind=component&owner=Crowd-07")
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        options.matches("<option").count(),
        1,
        "case-insensitive substring match: {options}"
    );
    // minijinja escapes `/` in attributes; a browser reads it back as `/`.
    assert!(
        options.contains(r#"value="group:default&#x2f;crowd-07""#),
        "{options}"
    );

    // A value picked there filters like a checkbox.
    let (_, filtered) = ui
        .get(&format!(
            "/catalog?kind=component&owner={}",
            encode("group:default/crowd-79")
        ))
        .await;
    assert_eq!(table_names(&filtered), ["many-79"]);

    let (status, _) = ui.get("/catalog/facet-values?facet=nope").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn htmx_gets_only_the_table_part() {
    let ui = start(false).await;
    let response = ui
        .client
        .get(ui.url("/catalog?kind=api"))
        .header("HX-Request", "true")
        .header("HX-Target", "catalog-view")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(
        html.trim_start().starts_with(r#"<div id="catalog-view""#),
        "{html}"
    );
    assert!(!html.contains("<html"));
    assert!(table_names(&html).contains(&"petstore".to_owned()));
}

#[tokio::test]
async fn markup_in_entities_is_escaped_and_markdown_sanitized() {
    let ui = start(false).await;
    let (status, html) = ui.get("/catalog/default/component/hostile").await;
    assert_eq!(status, 200);
    assert!(!html.contains("<script>alert"), "raw script in page");
    assert!(!html.contains("onerror"), "event handler survived");
    assert!(
        html.contains("&lt;script&gt;alert("),
        "title not escaped: {html}"
    );
    assert!(
        html.contains("<strong>Bold</strong>"),
        "Markdown not rendered"
    );
    assert!(!html.contains(r#"href="javascript:"#), "javascript: link");
    let (_, table) = ui.get("/catalog?kind=component&q=hostile").await;
    assert!(!table.contains("<script>alert"));
}

#[tokio::test]
async fn entity_tabs_definition_and_graph() {
    let ui = start(false).await;
    let (status, overview) = ui.get("/catalog/default/component/artist-lookup").await;
    assert_eq!(status, 200);
    assert!(overview.contains("Owned by"), "relations missing");
    assert!(overview.contains(r#"href="&#x2f;catalog&#x2f;default&#x2f;group&#x2f;team-a""#));

    let (_, yaml) = ui
        .get("/catalog/default/component/artist-lookup?tab=yaml")
        .await;
    assert!(
        yaml.contains("apiVersion: backstage.io&#x2f;v1alpha1"),
        "{yaml}"
    );
    assert!(yaml.contains("data-copy=\"#entity-yaml\""));

    let (_, api) = ui.get("/catalog/default/api/petstore?tab=api").await;
    assert!(api.contains("<rapi-doc"), "{api}");
    let (status, definition) = ui.get("/catalog/default/api/petstore/definition").await;
    assert_eq!(status, 200);
    assert!(definition.contains("openapi"), "{definition}");

    let (_, graph) = ui
        .get("/catalog/default/component/artist-lookup?tab=dependencies&hops=2")
        .await;
    assert!(graph.contains("<svg class=\"graph\""));
    assert!(
        graph.contains(r#"href="/catalog/default/resource/artists-db""#),
        "{graph}"
    );

    // AsyncAPI: a readable summary of channels and operations.
    let (status, asyncapi) = ui.get("/catalog/default/api/streetlights?tab=api").await;
    assert_eq!(status, 200);
    assert!(asyncapi.contains("Streetlights API"), "{asyncapi}");
    assert!(asyncapi.contains("lighting&#x2f;measured"), "{asyncapi}");
    assert!(
        asyncapi.contains(r#"class="op op-subscribe""#),
        "{asyncapi}"
    );

    // GraphQL: the SDL as highlighted code.
    let (status, graphql) = ui
        .get("/catalog/default/api/starwars-graphql?tab=api")
        .await;
    assert_eq!(status, 200);
    assert!(
        graphql.contains(r#"<span class="hl-keyword">type</span>"#),
        "{graphql}"
    );

    let (status, _) = ui
        .get("/catalog/default/component/artist-lookup?tab=api")
        .await;
    assert_eq!(status, 404, "a component has no API tab");
}

#[tokio::test]
async fn groups_list_members_and_what_they_own() {
    let ui = start(false).await;
    let (status, html) = ui.get("/catalog/default/group/team-a").await;
    assert_eq!(status, 200);
    assert!(html.contains("Members"));
    assert!(html.contains("Owned by this group and its child groups"));
    assert!(html.contains("artist-lookup"));
}

#[tokio::test]
async fn unknown_pages_are_404_in_the_layout() {
    let ui = start(false).await;
    let (status, html) = ui.get("/catalog/default/component/does-not-exist").await;
    assert_eq!(status, 404);
    assert!(
        html.contains("No entity component:default&#x2f;does-not-exist"),
        "{html}"
    );
    assert!(html.contains("<nav class=\"sidebar\""));
    let (status, html) = ui.get("/no/such/page").await;
    assert_eq!(status, 404);
    assert!(
        html.contains("There is no page at &#x2f;no&#x2f;such&#x2f;page."),
        "{html}"
    );
    let (status, _) = ui.get("/static/nope.css").await;
    assert_eq!(status, 404);
    let response = ui
        .client
        .get(ui.url("/static/app.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/css");
}

#[tokio::test]
async fn register_previews_then_registers_and_unregister_confirms() {
    let ui = start(false).await;
    // Invalid file: every problem is listed next to the field.
    let bad = ui.files.join("bad.yaml");
    std::fs::write(&bad, "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: \"bad name!\"\nspec: {}\n").unwrap();
    let (status, html) = ui
        .post_form(
            "/catalog-import/analyze",
            &format!("target={}", encode(bad.to_str().unwrap())),
        )
        .await;
    assert_eq!(status, 400);
    assert!(html.contains(r#"aria-invalid="true""#), "{html}");
    assert!(html.contains("bad name!"), "{html}");

    let (status, html) = ui.post_form("/catalog-import/analyze", "target=").await;
    assert_eq!(status, 400);
    assert!(html.contains("Enter the URL or the path"));

    // A good file: preview, nothing stored yet.
    let good = ui.files.join("good.yaml");
    std::fs::write(&good, "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: brand-new\n  description: Fresh\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n").unwrap();
    let target = format!("target={}", encode(good.to_str().unwrap()));
    let (status, html) = ui.post_form("/catalog-import/analyze", &target).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("brand-new") && html.contains("id=\"import-register\""),
        "{html}"
    );
    assert_eq!(ui.get("/catalog/default/component/brand-new").await.0, 404);

    let (status, html) = ui.post_form("/catalog-import/register", &target).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("href=\"&#x2f;catalog&#x2f;default&#x2f;component&#x2f;brand-new\""),
        "{html}"
    );
    assert_eq!(ui.get("/catalog/default/component/brand-new").await.0, 200);

    // Unregister: the confirmation lists what goes, then it is gone.
    let (status, html) = ui
        .get("/catalog/default/component/brand-new/unregister")
        .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("brand-new"));
    let id = html
        .split(r#"name="location_id" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let (status, html) = ui
        .post_form(
            "/catalog/default/component/brand-new/unregister",
            &format!("location_id={id}"),
        )
        .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("component:default&#x2f;brand-new"), "{html}");
    assert_eq!(ui.get("/catalog/default/component/brand-new").await.0, 404);
}

#[tokio::test]
async fn readonly_refuses_registering() {
    let ui = start(true).await;
    let (status, html) = ui
        .post_form("/catalog-import/analyze", "target=/tmp/x.yaml")
        .await;
    assert_eq!(status, 400);
    assert!(html.contains("read-only"), "{html}");
    let (_, page) = ui.get("/catalog/default/component/artist-lookup").await;
    assert!(!page.contains("Unregister"));
}

#[tokio::test]
async fn home_lists_recently_changed_entities_latest_first() {
    let ui = start(false).await;
    let file = ui.files.join("fresh.yaml");
    std::fs::write(
        &file,
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: freshly-registered\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n",
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
    let (status, html) = ui.get("/").await;
    assert_eq!(status, 200);
    let recent = html
        .split(r#"id="recent-heading""#)
        .nth(1)
        .and_then(|rest| rest.split("</section>").next())
        .unwrap_or_else(|| panic!("no recently changed section: {html}"));
    let first: Vec<&str> = recent
        .split(r#"class="entity-link">"#)
        .skip(1)
        .filter_map(|cell| cell.split("</a>").next())
        .collect();
    assert!(
        first
            .first()
            .is_some_and(|name| name.contains("freshly-registered")),
        "{first:?}"
    );
    assert!(first.len() <= 10, "{first:?}");
}

#[tokio::test]
async fn create_lists_templates_and_draws_their_forms() {
    let ui = start(false).await;
    let template = crate::examples()
        .join("../backstage-software-templates/springboot-grpc-template/template.yaml");
    ui.engine
        .register_location(
            "file",
            template.to_str().unwrap(),
            portico_store::LocationOrigin::Config,
        )
        .await
        .unwrap();
    let (status, html) = ui.get("/create").await;
    assert_eq!(status, 200);
    assert!(html.contains("Spring Boot gRPC Service"), "{html}");
    let (_, filtered) = ui.get("/create?type=website").await;
    assert!(!filtered.contains("Spring Boot gRPC Service"), "{filtered}");
    let (status, form) = ui
        .get("/create/templates/default/springboot-template")
        .await;
    assert_eq!(status, 200);
    for field in [
        "component_id",
        "java_package_name",
        "Provide some simple information",
    ] {
        assert!(form.contains(field), "form lacks {field}: {form}");
    }
    assert!(form.contains("required"), "{form}");
    assert_eq!(
        ui.get("/create/templates/default/no-such-template").await.0,
        404
    );
}

/// A policy for the tests: refuses the listed permissions, allows the rest.
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
async fn pages_ask_the_authorizer() {
    let ui = start_configured(false, |ui| {
        ui.with_authorizer(Arc::new(Refuse(&[
            Permission::CATALOG_LOCATION_CREATE,
            Permission::CATALOG_LOCATION_DELETE,
        ])))
    })
    .await;
    assert_eq!(ui.get("/catalog").await.0, 200);
    let (status, html) = ui.get("/catalog-import").await;
    assert_eq!(status, 403);
    assert!(html.contains("catalog.location.create"), "{html}");
    assert!(
        html.contains("<nav"),
        "the refusal is shown in the layout: {html}"
    );
    let file = ui.files.join("refused.yaml");
    std::fs::write(
        &file,
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: refused\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n",
    )
    .unwrap();
    let form = format!("target={}", encode(file.to_str().unwrap()));
    assert_eq!(ui.post_form("/catalog-import/register", &form).await.0, 403);
    assert_eq!(
        ui.get("/catalog/default/component/refused").await.0,
        404,
        "nothing was registered"
    );
    let unregister = "/catalog/default/component/artist-lookup/unregister";
    assert_eq!(ui.get(unregister).await.0, 403);
    assert_eq!(ui.post_form(unregister, "confirm=yes").await.0, 403);
    assert_eq!(
        ui.get("/catalog/default/component/artist-lookup").await.0,
        200,
        "still there"
    );

    let denied = start_configured(false, |ui| {
        ui.with_authorizer(Arc::new(Refuse(&[Permission::CATALOG_ENTITY_READ])))
    })
    .await;
    for page in [
        "/",
        "/catalog",
        "/catalog/default/component/artist-lookup",
        "/search?q=artist",
    ] {
        let (status, html) = denied.get(page).await;
        assert_eq!(status, 403, "{page}");
        assert!(
            !html.contains("artist-lookup</a>"),
            "{page} leaks entities: {html}"
        );
    }
    assert_eq!(
        denied.get("/static/app.css").await.0,
        200,
        "assets stay public"
    );
}

#[tokio::test]
async fn processing_errors_show_on_home_and_entity_page() {
    let ui = start(false).await;
    let file = ui.files.join("breaks.yaml");
    let good = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: breaks-later\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n";
    std::fs::write(&file, good).unwrap();
    ui.engine
        .register_location(
            "file",
            file.to_str().unwrap(),
            portico_store::LocationOrigin::Api,
        )
        .await
        .unwrap();
    let (_, home) = ui.get("/").await;
    assert!(
        home.contains("None — every entity was processed cleanly."),
        "{home}"
    );
    // The file turns invalid: the last good version stays, with the error.
    std::fs::write(
        &file,
        good.replace("lifecycle: production", "lifecycle: [not, a, string]"),
    )
    .unwrap();
    assert!(
        ui.engine
            .refresh_entity("component:default/breaks-later")
            .await
            .unwrap()
    );
    let (status, page) = ui.get("/catalog/default/component/breaks-later").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("This entity has processing errors."),
        "{page}"
    );
    assert!(page.contains("role=\"alert\""));
    // The home page's list is cached for a while; a registration (through the UI) refreshes it,
    // and so does a change in the number of entities. Register something to see it now.
    let other = ui.files.join("other.yaml");
    std::fs::write(&other, good.replace("breaks-later", "another-one")).unwrap();
    let (status, _) = ui
        .post_form(
            "/catalog-import/register",
            &format!("target={}", encode(other.to_str().unwrap())),
        )
        .await;
    assert_eq!(status, 200);
    let (_, home) = ui.get("/").await;
    assert!(home.contains("Entities with processing errors"), "{home}");
    assert!(home.contains(">breaks-later</a>"), "{home}");
}
