//! The catalog endpoints with the shapes Backstage's clients expect.

use serde_json::json;

use crate::{databases, start};

#[tokio::test]
async fn entities_list_filters_fields_order_and_pages() {
    for db in databases() {
        let server = start(db, false).await;
        let (status, all, _) = server.get("/api/catalog/entities").await;
        assert_eq!(status, 200);
        // 67 example entities less the 3 whose $text is on github.com, plus 2 generated Locations.
        assert_eq!(all.as_array().unwrap().len(), 66, "{db}");

        let (_, users, _) = server
            .get("/api/catalog/entities?filter=kind=user&fields=metadata.name,kind&order=asc:metadata.name")
            .await;
        let users = users.as_array().unwrap();
        assert_eq!(users.len(), 17);
        assert_eq!(
            users[0],
            json!({"kind": "User", "metadata": {"name": "amelia.park"}})
        );

        // Two filter sets are ORed; conditions in one set are ANDed.
        let (_, mixed, _) = server
            .get("/api/catalog/entities?filter=kind=domain&filter=kind=system,metadata.name=podcast&fields=metadata.name")
            .await;
        assert_eq!(mixed.as_array().unwrap().len(), 4, "{mixed}");

        // Paging with limit gives a Link header to the next page.
        let (_, first, headers) = server
            .get("/api/catalog/entities?filter=kind=component&limit=5&order=asc:metadata.name&fields=metadata.name")
            .await;
        assert_eq!(first.as_array().unwrap().len(), 5);
        let link = headers.get("link").unwrap().to_str().unwrap().to_owned();
        assert!(
            link.starts_with("</entities?") && link.ends_with(">; rel=\"next\""),
            "{link}"
        );
        let next = link
            .trim_start_matches('<')
            .split('>')
            .next()
            .unwrap()
            .to_owned();
        let (_, second, _) = server.get(&format!("/api/catalog{next}")).await;
        assert_eq!(second.as_array().unwrap().len(), 5);
        assert_ne!(first, second);
    }
}

#[tokio::test]
async fn by_query_walks_cursors_to_the_end() {
    for db in databases() {
        let server = start(db, false).await;
        let mut seen = Vec::new();
        let mut path = "/api/catalog/entities/by-query?filter=kind=user&limit=4&orderField=metadata.name,asc&fields=metadata.name".to_owned();
        loop {
            let (status, page, _) = server.get(&path).await;
            assert_eq!(status, 200, "{page}");
            assert_eq!(page["totalItems"], 17);
            for item in page["items"].as_array().unwrap() {
                seen.push(item["metadata"]["name"].as_str().unwrap().to_owned());
            }
            match page["pageInfo"]["nextCursor"].as_str() {
                Some(cursor) => {
                    path = format!("/api/catalog/entities/by-query?cursor={cursor}&limit=4")
                }
                None => break,
            }
        }
        let mut sorted = seen.clone();
        sorted.sort();
        assert_eq!(seen, sorted, "{db}");
        assert_eq!(seen.len(), 17);

        let (status, page) = server
            .post(
                "/api/catalog/entities/by-query",
                json!({"query": {"$all": [{"kind": "component"}, {"spec.type": {"$in": ["service", "website"]}}]},
                       "orderBy": [{"field": "metadata.name", "order": "desc"}], "limit": 3, "fields": ["metadata.name"]}),
            )
            .await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["items"].as_array().unwrap().len(), 3);
        let (_, text) = server
            .post(
                "/api/catalog/entities/by-query",
                json!({"fullTextFilter": {"term": "PLAYBACK", "fields": ["metadata.name"]}, "fields": ["metadata.name"]}),
            )
            .await;
        assert!(text["totalItems"].as_u64().unwrap() >= 2, "{text}");
    }
}

#[tokio::test]
async fn lookups_by_refs_uid_and_name() {
    for db in databases() {
        let server = start(db, false).await;
        let (status, body) = server
            .post(
                "/api/catalog/entities/by-refs",
                json!({"entityRefs": ["component:default/artist-lookup", "component:default/nope", "Group:team-a"],
                       "fields": ["metadata.name", "metadata.uid"]}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let items = body["items"].as_array().unwrap();
        assert_eq!(items[0]["metadata"]["name"], "artist-lookup");
        assert_eq!(items[1], serde_json::Value::Null);
        assert_eq!(items[2]["metadata"]["name"], "team-a");
        let uid = items[0]["metadata"]["uid"].as_str().unwrap();

        let (status, by_uid, _) = server
            .get(&format!("/api/catalog/entities/by-uid/{uid}"))
            .await;
        assert_eq!(status, 200);
        assert_eq!(by_uid["metadata"]["name"], "artist-lookup");
        let (status, by_name, _) = server
            .get("/api/catalog/entities/by-name/Component/DEFAULT/Artist-Lookup")
            .await;
        assert_eq!(status, 200, "{db}: case-insensitive");
        assert_eq!(by_name["relations"][1]["targetRef"], "group:default/team-a");

        let (status, location, _) = server
            .get("/api/catalog/locations/by-entity/component/default/artist-lookup")
            .await;
        assert_eq!(status, 200);
        assert!(
            location["target"].as_str().unwrap().ends_with("all.yaml"),
            "{location}"
        );

        let deleted = server
            .client
            .delete(server.url(&format!("/api/catalog/entities/by-uid/{uid}")))
            .send()
            .await
            .unwrap();
        assert_eq!(deleted.status().as_u16(), 204);
        let (status, _, _) = server
            .get(&format!("/api/catalog/entities/by-uid/{uid}"))
            .await;
        assert_eq!(status, 404);
        // A refresh brings it back: its location still emits it.
        let (status, _) = server
            .post(
                "/api/catalog/refresh",
                json!({"entityRef": "component:default/playback-order"}),
            )
            .await;
        assert_eq!(status, 200);
    }
}

#[tokio::test]
async fn facets_locations_and_validation() {
    for db in databases() {
        let server = start(db, false).await;
        let (status, facets, _) = server
            .get("/api/catalog/entity-facets?facet=kind&facet=spec.type&filter=kind=component")
            .await;
        assert_eq!(status, 200);
        let kinds = facets["facets"]["kind"].as_array().unwrap();
        assert_eq!(kinds, &vec![json!({"value": "Component", "count": 13})]);
        assert!(!facets["facets"]["spec.type"].as_array().unwrap().is_empty());

        let (status, locations, _) = server.get("/api/catalog/locations").await;
        assert_eq!(status, 200);
        let locations = locations.as_array().unwrap();
        assert_eq!(locations.len(), 2);
        let id = locations[0]["data"]["id"].as_str().unwrap().to_owned();
        let (status, one, _) = server.get(&format!("/api/catalog/locations/{id}")).await;
        assert_eq!((status, one["type"].as_str()), (200, Some("file")));

        // Dry run: nothing stored, the entities returned.
        let target = crate::examples().join("all-domains.yaml");
        let (status, dry) = server
            .post(
                "/api/catalog/locations?dryRun=true",
                json!({"type": "file", "target": target}),
            )
            .await;
        assert_eq!(status, 201, "{dry}");
        assert_eq!(dry["exists"], false);
        assert_eq!(dry["entities"].as_array().unwrap().len(), 4, "{dry}");
        let (_, after, _) = server.get("/api/catalog/locations").await;
        assert_eq!(after.as_array().unwrap().len(), 2);

        // A real registration, then unregistration.
        let (status, created) = server
            .post(
                "/api/catalog/locations",
                json!({"type": "file", "target": target}),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        let new_id = created["location"]["id"].as_str().unwrap();
        let (status, again) = server
            .post(
                "/api/catalog/locations",
                json!({"type": "file", "target": target}),
            )
            .await;
        assert_eq!(
            (status, again["error"]["name"].as_str()),
            (409, Some("ConflictError"))
        );
        let removed = server
            .client
            .delete(server.url(&format!("/api/catalog/locations/{new_id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(removed.status().as_u16(), 204);

        let (status, _) = server
            .post("/api/catalog/validate-entity", json!({"location": "url:https://x", "entity": {"apiVersion": "backstage.io/v1alpha1", "kind": "Group", "metadata": {"name": "g"}, "spec": {"type": "team", "children": []}}}))
            .await;
        assert_eq!(status, 200);
        let (status, invalid) = server
            .post("/api/catalog/validate-entity", json!({"location": "url:https://x", "entity": {"apiVersion": "backstage.io/v1alpha1", "kind": "Group", "metadata": {"name": "bad name"}, "spec": {"type": "team"}}}))
            .await;
        assert_eq!(status, 400);
        let messages: Vec<&str> = invalid["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["message"].as_str().unwrap())
            .collect();
        assert!(
            messages.iter().any(|m| m.starts_with("metadata.name:")),
            "{invalid}"
        );
        assert!(
            messages.iter().any(|m| m.starts_with("spec.children:")),
            "{invalid}"
        );
    }
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let server = start("sqlite", false).await;
    let (status, body, _) = server.get("/healthz").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, _, _) = server.get("/readyz").await;
    assert_eq!(status, 200);
    server.get("/api/catalog/entities/by-uid/nope").await;
    let text = server
        .client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("portico_http_requests_total{method=\"GET\",route=\"/api/catalog/entities/by-uid/{uid}\",status=\"4xx\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("portico_catalog_entities{kind=\"User\"} 17"),
        "{text}"
    );
    assert!(
        text.contains("portico_http_request_duration_seconds_bucket{"),
        "{text}"
    );
}

#[tokio::test]
async fn openapi_document_lists_every_route() {
    let server = start("sqlite", false).await;
    let (status, doc, _) = server.get("/api/catalog/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.0.3");
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 14, "{:?}", paths.keys().collect::<Vec<_>>());
    assert_eq!(
        doc["paths"]["/entities/by-query"]["post"]["operationId"],
        "QueryEntitiesByPredicate"
    );
    assert_eq!(
        doc["paths"]["/entities/by-uid/{uid}"]["delete"]["responses"]["204"]["description"],
        "OK"
    );
    // Every documented GET without path parameters answers (the document is built from the
    // same table as the router, so a documented route that is not routed cannot exist).
    for (path, methods) in paths {
        if methods.get("get").is_some() && !path.contains('{') && path != "/entity-facets" {
            let (status, body, _) = server.get(&format!("/api/catalog{path}")).await;
            assert_eq!(status, 200, "{path}: {body}");
        }
    }
}

#[tokio::test]
async fn ancestry_leads_to_the_registered_location() {
    let server = start("sqlite", false).await;
    let (status, body, _) = server
        .get("/api/catalog/entities/by-name/component/default/artist-lookup/ancestry")
        .await;
    assert_eq!(status, 200, "{body}");
    let items = body["items"].as_array().unwrap();
    let refs: Vec<String> = items
        .iter()
        .map(|i| {
            format!(
                "{}:{}",
                i["entity"]["kind"].as_str().unwrap().to_lowercase(),
                i["entity"]["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    // The component's file is named by all-components.yaml's Location, which all.yaml's
    // Location names, which the registered location's generated Location names.
    assert_eq!(
        &refs[..3],
        [
            "component:artist-lookup",
            "location:example-components",
            "location:example-all"
        ],
        "{refs:?}"
    );
    assert!(refs[3].starts_with("location:generated-"), "{refs:?}");
    assert_eq!(
        items[0]["parentEntityRefs"],
        serde_json::json!(["location:default/example-components"])
    );
    assert_eq!(
        body["rootEntityRef"],
        format!(
            "location:default/{}",
            refs[3].trim_start_matches("location:")
        )
    );
    let (status, _, _) = server
        .get("/api/catalog/entities/by-name/component/default/nope/ancestry")
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn analyze_location_lists_existing_catalog_files() {
    let server = start("sqlite", false).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("catalog-info.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: new-svc\nspec: {type: service, lifecycle: production, owner: team-a}\n---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-a\nspec: {type: team, children: []}\n",
    )
    .unwrap();
    let (status, body) = server
        .post(
            "/api/catalog/analyze-location",
            json!({"location": {"type": "file", "target": dir.path()}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let files = body["existingEntityFiles"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["entity"]["metadata"]["name"], "new-svc");
    assert_eq!(files[0]["isRegistered"], false);
    assert_eq!(
        files[1]["isRegistered"], true,
        "team-a is in the example catalog"
    );
    assert!(
        files[0]["location"]["target"]
            .as_str()
            .unwrap()
            .ends_with("catalog-info.yaml")
    );
    assert_eq!(body["generateEntities"], json!([]));
    let empty = tempfile::tempdir().unwrap();
    let (status, body) = server
        .post(
            "/api/catalog/analyze-location",
            json!({"location": {"type": "file", "target": empty.path()}}),
        )
        .await;
    assert_eq!(
        (status, body["existingEntityFiles"].clone()),
        (200, json!([])),
        "{body}"
    );
}

#[tokio::test]
async fn locations_query_and_update() {
    let server = start("sqlite", false).await;
    let (status, all) = server
        .post("/api/catalog/locations/by-query", json!({"limit": 1}))
        .await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(all["totalItems"], 2);
    let first_target = all["items"][0]["target"].as_str().unwrap().to_owned();
    let (_, page) = server
        .post("/api/catalog/locations/by-query", json!({"query": {"$all": [{"type": "file"}, {"target": {"$hasPrefix": &first_target[..first_target.len() - 5]}}]}}))
        .await;
    assert_eq!(page["totalItems"], 1, "{page}");
    let (_, none) = server
        .post(
            "/api/catalog/locations/by-query",
            json!({"query": {"$not": {"type": "file"}}}),
        )
        .await;
    assert_eq!(none["totalItems"], 0);
    let cursor = all["pageInfo"]["nextCursor"].as_str().unwrap().to_owned();
    let (_, second) = server
        .post(
            "/api/catalog/locations/by-query",
            json!({"limit": 1, "cursor": cursor}),
        )
        .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert!(second["pageInfo"].get("nextCursor").is_none());

    // Point the acme location at the domains file: the org leaves, the domains arrive.
    let acme = all["items"][0]["id"]
        .as_str()
        .map(str::to_owned)
        .filter(|_| {
            all["items"][0]["target"]
                .as_str()
                .unwrap()
                .ends_with("acme-corp.yaml")
        })
        .unwrap_or_else(|| second["items"][0]["id"].as_str().unwrap().to_owned());
    let response = server
        .client
        .put(server.url(&format!("/api/catalog/locations/{acme}")))
        .json(&json!({"type": "file", "target": crate::examples().join("all-domains.yaml")}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let (status, _, _) = server
        .get("/api/catalog/entities/by-name/domain/default/playback")
        .await;
    assert_eq!(status, 200);
    let (_, user, _) = server
        .get("/api/catalog/entities/by-name/user/default/breanna.davison")
        .await;
    assert_eq!(
        user["metadata"]["annotations"]["backstage.io/orphan"], "true",
        "{user}"
    );
}
