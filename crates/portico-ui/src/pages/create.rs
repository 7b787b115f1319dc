//! `/create`: the software templates (catalog entities of kind Template), filtered by type,
//! owner, tag and text. Running one is `super::wizard` (the form, the review, creating the
//! task); following the task is `super::tasks`.

use axum::extract::RawQuery;
use axum::response::Response;
use minijinja::context;
use portico_catalog::read_model::Predicate;
use portico_store::CatalogStore;
use serde::Serialize;
use serde_json::Value;

use super::UiState;
use crate::Ui;
use crate::entity_view;
use crate::params::Params;
use crate::render::ser;

/// One template card (also the header of its form).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Card {
    pub name: String,
    pub namespace: String,
    pub title: String,
    pub description: String,
    pub spec_type: String,
    pub owner: String,
    pub tags: Vec<String>,
    pub url: String,
    pub entity_url: String,
}

fn str_at<'a>(entity: &'a Value, pointer: &str) -> &'a str {
    entity
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("")
}

pub(crate) fn card(entity: &Value) -> Card {
    let name = str_at(entity, "/metadata/name").to_owned();
    let namespace = match str_at(entity, "/metadata/namespace") {
        "" => "default".to_owned(),
        ns => ns.to_owned(),
    };
    let title = match str_at(entity, "/metadata/title") {
        "" => name.clone(),
        t => t.to_owned(),
    };
    let tags = entity
        .pointer("/metadata/tags")
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let segment = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    Card {
        url: format!(
            "/create/templates/{}/{}",
            segment(&namespace),
            segment(&name)
        ),
        entity_url: entity_view::entity_url("template", &namespace, &name),
        description: str_at(entity, "/metadata/description").to_owned(),
        spec_type: str_at(entity, "/spec/type").to_owned(),
        owner: entity_view::label_of_ref(str_at(entity, "/spec/owner")),
        title,
        name,
        namespace,
        tags,
    }
}

/// Every template entity of the catalog.
fn templates<S: CatalogStore>(ui: &Ui<S>) -> Vec<Value> {
    let read_model = ui.engine.read_model();
    read_model
        .refs_matching(&Predicate::equals("kind", "template"))
        .iter()
        .filter_map(|r| read_model.by_ref(r))
        .filter_map(|json| serde_json::from_str::<Value>(&json).ok())
        .collect()
}

fn distinct(cards: &[Card], pick: impl Fn(&Card) -> Vec<String>) -> Vec<String> {
    let mut values: Vec<String> = cards
        .iter()
        .flat_map(pick)
        .filter(|v| !v.is_empty())
        .collect();
    values.sort();
    values.dedup();
    values
}

/// `GET /create?type=&owner=&tag=&q=`.
pub(crate) async fn page<S: CatalogStore>(ui: UiState<S>, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.as_deref());
    let result = (|| {
        ui.ensure_loaded()?;
        let mut cards: Vec<Card> = templates(&ui).iter().map(card).collect();
        cards.sort_by_key(|c| c.title.to_lowercase());
        let types = distinct(&cards, |c| vec![c.spec_type.clone()]);
        let owners = distinct(&cards, |c| vec![c.owner.clone()]);
        let tags = distinct(&cards, |c| c.tags.clone());
        let wanted_type = params.get("type").unwrap_or_default().to_owned();
        let wanted_owner = params.get("owner").unwrap_or_default().to_owned();
        let wanted_tag = params.get("tag").unwrap_or_default().to_owned();
        let q = params.get("q").unwrap_or_default().to_lowercase();
        let total = cards.len();
        cards.retain(|c| {
            (wanted_type.is_empty() || c.spec_type.eq_ignore_ascii_case(&wanted_type))
                && (wanted_owner.is_empty() || c.owner.eq_ignore_ascii_case(&wanted_owner))
                && (wanted_tag.is_empty()
                    || c.tags.iter().any(|t| t.eq_ignore_ascii_case(&wanted_tag)))
                && (q.is_empty()
                    || format!("{} {} {}", c.name, c.title, c.description)
                        .to_lowercase()
                        .contains(&q))
        });
        let ctx = context! {
            cards => ser(&cards), total => total,
            types => types, owners => owners, tags => tags,
            wanted_type => wanted_type, wanted_owner => wanted_owner, wanted_tag => wanted_tag,
            q => params.get("q").unwrap_or_default(),
        };
        ui.page(ui.shell("Create", "create"), "create.html", ctx)
    })();
    ui.respond(result)
}
