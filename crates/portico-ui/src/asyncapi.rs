//! A readable view of an AsyncAPI definition (2.x and 3.x): title, version, description, servers
//! and channels with what is sent or received on them. The full definition stays below as code.

use portico_model::yaml::{YamlLimits, parse_documents};
use serde::Serialize;
use serde_json::Value;

/// What the page shows of an AsyncAPI document.
#[derive(Debug, Serialize)]
pub(crate) struct AsyncApiView {
    pub version: String,
    pub title: String,
    pub api_version: String,
    pub description: String,
    pub servers: Vec<Server>,
    pub channels: Vec<Channel>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Server {
    pub name: String,
    pub url: String,
    pub protocol: String,
    pub description: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct Channel {
    pub name: String,
    pub description: String,
    /// `(action, summary or operation id, message names)`, e.g. `("publish", "…", ["lightMeasured"])`.
    pub operations: Vec<Operation>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Operation {
    pub action: String,
    pub summary: String,
    pub messages: Vec<String>,
}

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The last segment of a `$ref` (`#/components/messages/lightMeasured` → `lightMeasured`).
fn ref_name(value: &Value) -> Option<String> {
    let reference = value.get("$ref")?.as_str()?;
    Some(reference.rsplit('/').next().unwrap_or(reference).to_owned())
}

fn message_names(message: &Value) -> Vec<String> {
    let one = |m: &Value| {
        ref_name(m).or_else(|| m.get("name").and_then(Value::as_str).map(str::to_owned))
    };
    if let Some(options) = message.get("oneOf").and_then(Value::as_array) {
        return options.iter().filter_map(one).collect();
    }
    match message {
        Value::Array(items) => items.iter().filter_map(one).collect(),
        Value::Object(_) => one(message).into_iter().collect(),
        _ => Vec::new(),
    }
}

/// The view of `definition`, or `None` when it is not a readable AsyncAPI document.
pub(crate) fn view(definition: &str) -> Option<AsyncApiView> {
    let document = parse_documents(definition, &YamlLimits::default())
        .into_iter()
        .next()?
        .ok()?;
    let doc = document.value;
    let version = doc.get("asyncapi")?.as_str()?.to_owned();
    let info = doc.get("info").cloned().unwrap_or(Value::Null);
    let servers = doc
        .get("servers")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, s)| Server {
            name: name.clone(),
            url: if s.get("url").is_some() {
                text(s, "url")
            } else {
                text(s, "host")
            },
            protocol: text(s, "protocol"),
            description: text(s, "description"),
        })
        .collect();
    let mut channels: Vec<Channel> = doc
        .get("channels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, c)| Channel {
            name: if c.get("address").and_then(Value::as_str).is_some() {
                text(c, "address")
            } else {
                name.clone()
            },
            description: text(c, "description"),
            operations: ["publish", "subscribe"]
                .iter()
                .filter_map(|action| {
                    let op = c.get(*action)?;
                    Some(Operation {
                        action: (*action).to_owned(),
                        summary: if op.get("summary").is_some() {
                            text(op, "summary")
                        } else {
                            text(op, "operationId")
                        },
                        messages: op.get("message").map(message_names).unwrap_or_default(),
                    })
                })
                .chain(
                    // 3.x: messages on the channel, operations apart (added below).
                    c.get("messages")
                        .and_then(Value::as_object)
                        .map(|m| Operation {
                            action: "messages".to_owned(),
                            summary: String::new(),
                            messages: m.keys().cloned().collect(),
                        }),
                )
                .collect(),
        })
        .collect();
    // 3.x operations name their channel by `$ref`.
    if let Some(operations) = doc.get("operations").and_then(Value::as_object) {
        for (id, op) in operations {
            let Some(channel_key) = op.get("channel").and_then(ref_name) else {
                continue;
            };
            let address = doc
                .pointer(&format!("/channels/{channel_key}/address"))
                .and_then(Value::as_str)
                .unwrap_or(&channel_key)
                .to_owned();
            if let Some(channel) = channels
                .iter_mut()
                .find(|c| c.name == address || c.name == channel_key)
            {
                channel.operations.push(Operation {
                    action: text(op, "action"),
                    summary: if op.get("summary").is_some() {
                        text(op, "summary")
                    } else {
                        id.clone()
                    },
                    messages: op.get("messages").map(message_names).unwrap_or_default(),
                });
            }
        }
    }
    Some(AsyncApiView {
        version,
        title: text(&info, "title"),
        api_version: text(&info, "version"),
        description: text(&info, "description"),
        servers,
        channels,
    })
}

#[cfg(test)]
mod tests {
    use super::view;

    #[test]
    fn reads_channels_and_operations_of_2x() {
        let v = view(
            "asyncapi: 2.0.0\ninfo:\n  title: Lights\n  version: '1.0.0'\nservers:\n  prod:\n    url: mqtt.example:1883\n    protocol: mqtt\nchannels:\n  lights/measured:\n    description: Measured\n    subscribe:\n      summary: Receive light\n      message:\n        $ref: '#/components/messages/lightMeasured'\n",
        )
        .unwrap_or_else(|| panic!("not read"));
        assert_eq!(v.title, "Lights");
        assert_eq!(v.servers[0].protocol, "mqtt");
        assert_eq!(v.channels[0].name, "lights/measured");
        assert_eq!(v.channels[0].operations[0].action, "subscribe");
        assert_eq!(v.channels[0].operations[0].messages, vec!["lightMeasured"]);
    }

    #[test]
    fn not_asyncapi_is_none() {
        assert!(view("openapi: 3.0.0\n").is_none());
        assert!(view(": : :").is_none());
    }
}
