//! `catalog:write`, `catalog:fetch` and `catalog:register`. Writing is local to the workspace;
//! fetching and registering go through the `ScaffolderCatalog` the process wires in (the binary
//! implements it over the catalog engine), and fail clearly when there is none.

use std::sync::Arc;

use portico_model::{EntityRef, RefDefaults};
use portico_plugin_api::{
    ActionContext, BoxFuture, PluginError, ScaffolderAction, ScaffolderCatalog,
};
use serde_json::{Map, Value, json};

use super::input::{Input, failed};
use crate::workspace::write_file;
use crate::yaml_out::to_yaml;

fn catalog_of(
    ctx: &ActionContext,
    action: &str,
) -> Result<Arc<dyn ScaffolderCatalog>, PluginError> {
    ctx.catalog.clone().ok_or_else(|| {
        PluginError::Failed(format!(
            "{action}: no catalog is connected to this run (run the template through `portico serve`)"
        ))
    })
}

/// `catalog:write`: writes an entity as YAML into the workspace.
#[derive(Debug)]
pub(super) struct CatalogWrite;

impl ScaffolderAction for CatalogWrite {
    fn id(&self) -> &str {
        "catalog:write"
    }
    fn description(&self) -> &str {
        "Writes the catalog-info.yaml for your template"
    }
    fn input_schema(&self) -> Value {
        json!({"type": "object", "required": ["entity"], "properties": {
            "filePath": {"type": "string", "description": "Defaults to catalog-info.yaml"},
            "entity": {"type": "object", "description": "You can provide the same values used in the Entity schema."},
        }})
    }
    fn supports_dry_run(&self) -> bool {
        true
    }
    fn handle(&self, ctx: ActionContext) -> BoxFuture<'_, Result<Map<String, Value>, PluginError>> {
        Box::pin(async move {
            let input = Input::new("catalog:write", &ctx.input);
            let path = input.str("filePath")?.unwrap_or("catalog-info.yaml");
            let entity = input.get("entity").cloned().unwrap_or(Value::Null);
            write_file(&ctx.workspace, path, to_yaml(&entity).as_bytes(), false)
                .map_err(|e| failed("catalog:write", e))?;
            ctx.log(&format!("Writing catalog-info.yaml to {path}"));
            Ok(Map::new())
        })
    }
}

/// `catalog:fetch`: reads one or several entities from the catalog.
#[derive(Debug)]
pub(super) struct CatalogFetch;

impl ScaffolderAction for CatalogFetch {
    fn id(&self) -> &str {
        "catalog:fetch"
    }
    fn description(&self) -> &str {
        "Returns entity or entities from the catalog by entity reference(s)"
    }
    fn input_schema(&self) -> Value {
        json!({"type": "object", "properties": {
            "entityRef": {"type": "string", "description": "Entity reference of the entity to get"},
            "entityRefs": {"type": "array", "items": {"type": "string"}, "description": "Entity references of the entities to get"},
            "optional": {"type": "boolean", "description": "Allow the entity or entities to optionally exist. Default: false"},
            "defaultKind": {"type": "string", "description": "The default kind"},
            "defaultNamespace": {"type": "string", "description": "The default namespace"},
        }})
    }
    fn output_schema(&self) -> Value {
        json!({"type": "object", "properties": {
            "entity": {"type": "object", "description": "Object containing same values used in the Entity schema. Only when used with `entityRef` parameter."},
            "entities": {"type": "array", "description": "Array containing objects with same values used in the Entity schema. Only when used with `entityRefs` parameter."},
        }})
    }
    fn supports_dry_run(&self) -> bool {
        true
    }
    fn handle(&self, ctx: ActionContext) -> BoxFuture<'_, Result<Map<String, Value>, PluginError>> {
        Box::pin(async move {
            const ACTION: &str = "catalog:fetch";
            let input = Input::new(ACTION, &ctx.input);
            let single = input.str("entityRef")?;
            let many = input.strings("entityRefs")?;
            if single.is_none() && many.is_empty() {
                return Err(PluginError::Input(format!(
                    "{ACTION}: give entityRef or entityRefs"
                )));
            }
            let optional = input.bool("optional")?;
            let defaults = RefDefaults {
                kind: input.str("defaultKind")?,
                namespace: input.str("defaultNamespace")?,
            };
            let catalog = catalog_of(&ctx, ACTION)?;
            let fetch = |text: String| {
                let catalog = catalog.clone();
                async move {
                    let parsed = EntityRef::parse(&text, defaults)
                        .map_err(|error| PluginError::Input(format!("{ACTION}: {error}")))?;
                    let entity = catalog.get_entity(parsed.canonical()).await?;
                    match entity {
                        Some(entity) => Ok(entity),
                        None if optional => Ok(Value::Null),
                        None => Err(PluginError::Failed(format!(
                            "{ACTION}: entity {text} not found"
                        ))),
                    }
                }
            };
            let mut output = Map::new();
            if let Some(single) = single {
                let entity = fetch(single.to_owned()).await?;
                if !entity.is_null() {
                    output.insert("entity".to_owned(), entity);
                }
            }
            if !many.is_empty() {
                let mut entities = Vec::new();
                for text in many {
                    entities.push(fetch(text).await?);
                }
                output.insert("entities".to_owned(), Value::Array(entities));
            }
            Ok(output)
        })
    }
}

/// `catalog:register`: registers the new repository's catalog file as a location.
#[derive(Debug)]
pub(super) struct CatalogRegister;

impl ScaffolderAction for CatalogRegister {
    fn id(&self) -> &str {
        "catalog:register"
    }
    fn description(&self) -> &str {
        "Registers entities from a catalog descriptor file in the workspace into the software catalog."
    }
    fn input_schema(&self) -> Value {
        json!({"type": "object", "properties": {
            "catalogInfoUrl": {"type": "string", "description": "An absolute URL pointing to the catalog info file location"},
            "repoContentsUrl": {"type": "string", "description": "An absolute URL pointing to the root of a repository directory tree"},
            "catalogInfoPath": {"type": "string", "description": "A relative path from the repo root pointing to the catalog info file, defaults to /catalog-info.yaml"},
            "optional": {"type": "boolean", "description": "Permit the registered location to optionally exist. Default: false"},
        }})
    }
    fn output_schema(&self) -> Value {
        json!({"type": "object", "required": ["catalogInfoUrl"], "properties": {
            "entityRef": {"type": "string"},
            "catalogInfoUrl": {"type": "string"},
        }})
    }
    fn handle(&self, ctx: ActionContext) -> BoxFuture<'_, Result<Map<String, Value>, PluginError>> {
        Box::pin(async move {
            const ACTION: &str = "catalog:register";
            let input = Input::new(ACTION, &ctx.input);
            let url = match (input.str("catalogInfoUrl")?, input.str("repoContentsUrl")?) {
                (Some(url), _) => url.to_owned(),
                (None, Some(contents)) => {
                    let path = input
                        .str("catalogInfoPath")?
                        .unwrap_or("/catalog-info.yaml");
                    format!(
                        "{}/{}",
                        contents.trim_end_matches('/'),
                        path.trim_start_matches('/')
                    )
                }
                (None, None) => {
                    return Err(PluginError::Input(format!(
                        "{ACTION}: give catalogInfoUrl, or repoContentsUrl (and catalogInfoPath)"
                    )));
                }
            };
            let catalog = catalog_of(&ctx, ACTION)?;
            ctx.log(&format!("Registering {url} in the catalog"));
            let mut output = Map::new();
            output.insert("catalogInfoUrl".to_owned(), Value::String(url.clone()));
            match catalog.register_location(&url).await {
                Ok(refs) => {
                    // Backstage's choice: the first entity that is not a Location, else the
                    // first one.
                    let chosen = refs
                        .iter()
                        .find(|r| !r.to_ascii_lowercase().starts_with("location:"))
                        .or_else(|| refs.first());
                    if let Some(entity_ref) = chosen {
                        output.insert("entityRef".to_owned(), Value::String(entity_ref.clone()));
                    }
                }
                Err(error) if input.bool("optional")? => {
                    ctx.log(&format!("Not registered (optional): {error}"));
                }
                Err(error) => return Err(error),
            }
            Ok(output)
        })
    }
}
