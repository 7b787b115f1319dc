//! Renders planned entities as Backstage YAML documents.
//!
//! Text is assembled with `push_str` into one `String` per file: no YAML library, no
//! per-line allocation. Every value written as a plain scalar comes from the word lists or
//! from generated names, so it never needs quoting; the few quoted descriptions are quoted on
//! purpose, to exercise the reader.

use super::plan::{
    Api, ApiType, Component, ComponentType, Dependency, Domain, Group, GroupType, Owner, Plan,
    Resource, ResourceType, System, User, plural, title_case,
};
use super::rng::SplitMix64;
use super::words;

pub(crate) const API_VERSION: &str = "backstage.io/v1alpha1";

/// One entity of the plan, by kind and index.
#[derive(Debug, Clone, Copy)]
pub(crate) enum EntityId {
    Group(usize),
    User(usize),
    Domain(usize),
    System(usize),
    Component(usize),
    Api(usize),
    Resource(usize),
}

/// Appends `indent` spaces, the parts and a newline.
fn line(out: &mut String, indent: usize, parts: &[&str]) {
    for _ in 0..indent {
        out.push(' ');
    }
    for part in parts {
        out.push_str(part);
    }
    out.push('\n');
}

pub(crate) struct Renderer<'p> {
    plan: &'p Plan,
    rng: SplitMix64,
}

impl std::fmt::Debug for Renderer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer").finish_non_exhaustive()
    }
}

/// Metadata fields shared by all kinds; empty fields are left out.
#[derive(Default)]
struct Meta<'a> {
    title: Option<String>,
    description: String,
    tags: Vec<&'a str>,
    annotations: Vec<(&'static str, String)>,
    links: Vec<Link>,
}

struct Link {
    url: String,
    title: &'static str,
    icon: Option<&'static str>,
}

impl<'p> Renderer<'p> {
    pub(crate) fn new(plan: &'p Plan, seed: u64) -> Self {
        // A separate stream from the planner's, so rendering choices don't shift the plan.
        Self {
            plan,
            rng: SplitMix64::new(seed ^ 0x5EED_0FCA_7A10_6500),
        }
    }

    pub(crate) fn render(&mut self, out: &mut String, id: EntityId) {
        let plan = self.plan;
        // Out-of-range ids cannot come from the layout; render nothing rather than panic.
        match id {
            EntityId::Group(i) => plan.groups.get(i).map(|g| self.group(out, g)),
            EntityId::User(i) => plan.users.get(i).map(|u| self.user(out, u)),
            EntityId::Domain(i) => plan.domains.get(i).map(|d| self.domain(out, d)),
            EntityId::System(i) => plan.systems.get(i).map(|s| self.system(out, s)),
            EntityId::Component(i) => plan.components.get(i).map(|c| self.component(out, c)),
            EntityId::Api(i) => plan.apis.get(i).map(|a| self.api(out, a)),
            EntityId::Resource(i) => plan.resources.get(i).map(|r| self.resource(out, r)),
        };
    }

    fn header(out: &mut String, kind: &str, name: &str, meta: &Meta<'_>) {
        line(out, 0, &["apiVersion: ", API_VERSION]);
        line(out, 0, &["kind: ", kind]);
        line(out, 0, &["metadata:"]);
        line(out, 2, &["name: ", name]);
        if let Some(title) = &meta.title {
            line(out, 2, &["title: ", title]);
        }
        if !meta.description.is_empty() {
            line(out, 2, &["description: ", &meta.description]);
        }
        if !meta.tags.is_empty() {
            line(out, 2, &["tags:"]);
            for tag in &meta.tags {
                line(out, 4, &["- ", tag]);
            }
        }
        if !meta.annotations.is_empty() {
            line(out, 2, &["annotations:"]);
            for (key, value) in &meta.annotations {
                line(out, 4, &[key, ": ", value]);
            }
        }
        if !meta.links.is_empty() {
            line(out, 2, &["links:"]);
            for link in &meta.links {
                line(out, 4, &["- url: ", &link.url]);
                line(out, 6, &["title: ", link.title]);
                if let Some(icon) = link.icon {
                    line(out, 6, &["icon: ", icon]);
                }
            }
        }
        line(out, 0, &["spec:"]);
    }

    /// Adds `tag` unless it is already there.
    fn tag<'a>(tags: &mut Vec<&'a str>, tag: &'a str) {
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }

    /// A description, now and then double-quoted with a colon inside (which needs the quotes).
    fn description(&mut self, title: &str, text: String) -> String {
        if self.rng.chance(10) {
            format!("\"{title}: {}\"", text.to_lowercase().trim_end_matches('.'))
        } else {
            text
        }
    }

    fn maybe_title(&mut self, percent: usize, name: &str) -> Option<String> {
        self.rng.chance(percent).then(|| title_case(name))
    }

    fn repo_annotations(
        &mut self,
        name: &str,
        techdocs_percent: usize,
    ) -> Vec<(&'static str, String)> {
        let mut annotations = vec![
            ("github.com/project-slug", format!("acme/{name}")),
            (
                "backstage.io/source-location",
                format!("url:https://github.com/acme/{name}/"),
            ),
        ];
        if self.rng.chance(techdocs_percent) {
            annotations.push(("backstage.io/techdocs-ref", "dir:.".to_owned()));
        }
        annotations
    }

    fn links(&mut self, name: &str, max: usize) -> Vec<Link> {
        let mut links = Vec::new();
        let count = self.rng.below(max + 1);
        let start = self.rng.below(4);
        for k in 0..count {
            links.push(match (start + k) % 4 {
                0 => Link {
                    url: format!("https://grafana.acme.example/d/{name}"),
                    title: "Dashboard",
                    icon: Some("dashboard"),
                },
                1 => Link {
                    url: format!("https://runbooks.acme.example/{name}"),
                    title: "Runbook",
                    icon: Some("docs"),
                },
                2 => Link {
                    url: format!("https://acme.pagerduty.example/services/{name}"),
                    title: "On-call schedule",
                    icon: None,
                },
                _ => Link {
                    url: format!("https://chat.acme.example/channels/{name}"),
                    title: "Chat channel",
                    icon: Some("chat"),
                },
            });
        }
        links
    }

    // ----- references -------------------------------------------------------------------

    /// `name`, `kind:name` or `kind:default/name`, chosen at random with the given percentages
    /// for the two prefixed forms.
    fn reference(
        &mut self,
        kind: &str,
        name: &str,
        kind_percent: usize,
        namespace_percent: usize,
    ) -> String {
        let roll = self.rng.below(100);
        if roll < namespace_percent {
            format!("{kind}:default/{name}")
        } else if roll < namespace_percent + kind_percent {
            format!("{kind}:{name}")
        } else {
            name.to_owned()
        }
    }

    fn group_name(&self, index: usize) -> &'p str {
        self.plan.groups.get(index).map_or("", |g| g.name.as_str())
    }

    fn owner_ref(&mut self, owner: Owner) -> String {
        match owner {
            Owner::Group(g) => self.reference("group", self.group_name(g), 25, 5),
            Owner::User(u) => {
                let name = self.plan.users.get(u).map_or("", |u| u.name.as_str());
                // The default kind of spec.owner is Group, so users always need the prefix.
                format!("user:{name}")
            }
        }
    }

    fn system_line(&mut self, out: &mut String, system: Option<usize>) {
        if let Some(s) = system.and_then(|s| self.plan.systems.get(s)) {
            let r = self.reference("system", &s.name, 15, 0);
            line(out, 2, &["system: ", &r]);
        }
    }

    fn api_list(&mut self, out: &mut String, key: &str, apis: &[usize]) {
        if apis.is_empty() {
            return;
        }
        line(out, 2, &[key, ":"]);
        for &a in apis {
            if let Some(api) = self.plan.apis.get(a) {
                let r = self.reference("api", &api.name, 15, 5);
                line(out, 4, &["- ", &r]);
            }
        }
    }

    // ----- kinds ------------------------------------------------------------------------

    fn group(&mut self, out: &mut String, g: &'p Group) {
        let (group_type, description) = match g.group_type {
            GroupType::Organization => (
                "organization",
                format!("The {} organization", g.display_name),
            ),
            GroupType::BusinessUnit => (
                "business-unit",
                format!("The {} business unit", g.display_name),
            ),
            GroupType::Team => ("team", format!("The {} team", g.display_name)),
        };
        let links = match g.group_type {
            GroupType::Organization => vec![Link {
                url: "https://www.acme.example/".to_owned(),
                title: "Website",
                icon: None,
            }],
            _ => self.links(&g.name, 1),
        };
        let meta = Meta {
            description,
            links,
            ..Meta::default()
        };
        Self::header(out, "Group", &g.name, &meta);
        line(out, 2, &["type: ", group_type]);
        line(out, 2, &["profile:"]);
        line(out, 4, &["displayName: ", &g.display_name]);
        line(out, 4, &["email: ", &g.name, "@acme.example"]);
        if let Some(parent) = g.parent {
            line(out, 2, &["parent: ", self.group_name(parent)]);
        }
        if g.children.is_empty() {
            line(out, 2, &["children: []"]);
        } else {
            line(out, 2, &["children:"]);
            for &child in &g.children {
                line(out, 4, &["- ", self.group_name(child)]);
            }
        }
    }

    fn user(&mut self, out: &mut String, u: &'p User) {
        let mut meta = Meta::default();
        if self.rng.chance(20) {
            meta.annotations
                .push(("github.com/user-login", u.name.replace('.', "-")));
        }
        Self::header(out, "User", &u.name, &meta);
        line(out, 2, &["profile:"]);
        line(out, 4, &["displayName: ", &u.display_name]);
        line(out, 4, &["email: ", &u.name, "@acme.example"]);
        line(
            out,
            4,
            &["picture: https://avatars.acme.example/", &u.name, ".png"],
        );
        if u.member_of.is_empty() {
            line(out, 2, &["memberOf: []"]);
        } else {
            line(out, 2, &["memberOf:"]);
            for &g in &u.member_of {
                let r = self.reference("group", self.group_name(g), 0, 10);
                line(out, 4, &["- ", &r]);
            }
        }
    }

    fn domain(&mut self, out: &mut String, d: &'p Domain) {
        let title = self.maybe_title(50, &d.name);
        let text = format!("Everything about {} at ACME.", d.area);
        let meta = Meta {
            description: self.description(&title_case(&d.name), text),
            title,
            tags: vec![d.area],
            links: self.links(&d.name, 1),
            ..Meta::default()
        };
        Self::header(out, "Domain", &d.name, &meta);
        let owner = self.owner_ref(Owner::Group(d.owner));
        line(out, 2, &["owner: ", &owner]);
    }

    fn system(&mut self, out: &mut String, s: &'p System) {
        let title = self.maybe_title(40, &s.name);
        let text = format!("Runs {} {} workloads for ACME.", s.area, s.noun);
        let mut meta = Meta {
            description: self.description(&title_case(&s.name), text),
            title,
            tags: vec![s.area],
            links: self.links(&s.name, 2),
            ..Meta::default()
        };
        if self.rng.chance(30) {
            meta.annotations
                .push(("backstage.io/techdocs-ref", "dir:.".to_owned()));
        }
        Self::header(out, "System", &s.name, &meta);
        let owner = self.owner_ref(Owner::Group(s.owner));
        line(out, 2, &["owner: ", &owner]);
        if let Some(d) = s.domain.and_then(|d| self.plan.domains.get(d)) {
            let r = self.reference("domain", &d.name, 15, 0);
            line(out, 2, &["domain: ", &r]);
        }
    }

    fn component(&mut self, out: &mut String, c: &'p Component) {
        let rng = &mut self.rng;
        let system_title = c
            .system
            .and_then(|s| self.plan.systems.get(s))
            .map_or_else(|| title_case(c.area), |s| title_case(&s.name));
        let (text, language) = match c.component_type {
            ComponentType::Service => {
                let verb = rng.pick(words::VERBS);
                (
                    format!("{verb} {} data for the {system_title} system.", c.noun),
                    rng.pick(words::LANGUAGES),
                )
            }
            ComponentType::Website => (
                format!(
                    "Web front end for managing {} records in {}.",
                    c.noun, c.area
                ),
                rng.pick(words::FRONTEND_LANGUAGES),
            ),
            ComponentType::Library => {
                let language = rng.pick(words::LANGUAGES);
                (
                    format!(
                        "Shared {language} {} for {} {} models.",
                        c.role, c.area, c.noun
                    ),
                    language,
                )
            }
        };
        let mut tags = vec![language];
        if rng.chance(80) {
            Self::tag(&mut tags, c.area);
        }
        if c.component_type == ComponentType::Service && rng.chance(60) {
            Self::tag(&mut tags, rng.pick(words::TIERS));
        }
        if rng.chance(30) {
            Self::tag(&mut tags, rng.pick(words::EXTRA_TAGS));
        }
        let mut annotations = self.repo_annotations(&c.name, 60);
        if c.component_type == ComponentType::Service {
            if self.rng.chance(50) {
                annotations.push(("backstage.io/kubernetes-id", c.name.clone()));
            }
            if self.rng.chance(20) {
                annotations.push(("pagerduty.com/service-id", self.pagerduty_id()));
            }
        }
        let title = self.maybe_title(30, &c.name);
        let meta = Meta {
            description: self.description(&title_case(&c.name), text),
            title,
            tags,
            annotations,
            links: self.links(&c.name, 2),
        };
        Self::header(out, "Component", &c.name, &meta);
        line(out, 2, &["type: ", c.component_type.as_str()]);
        line(out, 2, &["lifecycle: ", c.lifecycle.as_str()]);
        let owner = self.owner_ref(c.owner);
        line(out, 2, &["owner: ", &owner]);
        self.system_line(out, c.system);
        if !c.depends_on.is_empty() {
            line(out, 2, &["dependsOn:"]);
            for dep in &c.depends_on {
                // dependsOn has no default kind: always prefix it.
                let (kind, name) = match *dep {
                    Dependency::Component(i) => {
                        ("component", self.plan.components.get(i).map(|c| &c.name))
                    }
                    Dependency::Resource(i) => {
                        ("resource", self.plan.resources.get(i).map(|r| &r.name))
                    }
                };
                if let Some(name) = name {
                    let r = self.reference(kind, name, 100, 10);
                    line(out, 4, &["- ", &r]);
                }
            }
        }
        self.api_list(out, "providesApis", &c.provides_apis);
        self.api_list(out, "consumesApis", &c.consumes_apis);
    }

    fn pagerduty_id(&mut self) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";
        let mut id = String::from("P");
        for _ in 0..6 {
            let i = self.rng.below(ALPHABET.len());
            id.push(ALPHABET.get(i).map_or('X', |&b| char::from(b)));
        }
        id
    }

    fn api(&mut self, out: &mut String, a: &'p Api) {
        let kind_tag = match a.api_type {
            ApiType::OpenApi => "rest",
            ApiType::Grpc => "grpc",
            ApiType::GraphQl => "graphql",
            ApiType::AsyncApi => "events",
        };
        let text = format!(
            "{} API for {} {} records.",
            a.api_type.display_name(),
            a.area,
            a.noun
        );
        let title = self.maybe_title(50, &a.name);
        let repo = a
            .provider
            .and_then(|p| self.plan.components.get(p))
            .map_or(a.name.as_str(), |c| c.name.as_str());
        let meta = Meta {
            description: self.description(&title_case(&a.name), text),
            title,
            tags: vec![a.area, kind_tag],
            annotations: self.repo_annotations(repo, 20),
            links: self.links(&a.name, 1),
        };
        Self::header(out, "API", &a.name, &meta);
        line(out, 2, &["type: ", a.api_type.as_str()]);
        line(out, 2, &["lifecycle: ", a.lifecycle.as_str()]);
        let owner = self.owner_ref(a.owner);
        line(out, 2, &["owner: ", &owner]);
        self.system_line(out, a.system);
        line(out, 2, &["definition: |"]);
        let major = (1 + self.rng.below(3)).to_string();
        let version = format!("{major}.{}.0", self.rng.below(10));
        definition(out, a, &major, &version);
    }

    fn resource(&mut self, out: &mut String, r: &'p Resource) {
        let (text, tech) = match r.resource_type {
            ResourceType::Database => (
                format!("PostgreSQL database for {} data in {}.", r.area, r.region),
                "postgres",
            ),
            ResourceType::Bucket => (
                format!("Object storage for {} exports in {}.", r.area, r.region),
                "aws",
            ),
            ResourceType::Cluster => (
                format!(
                    "Kubernetes cluster for {} workloads in {}.",
                    r.area, r.region
                ),
                "kubernetes",
            ),
        };
        let title = self.maybe_title(20, &r.name);
        let mut annotations = vec![("acme.example/region", r.region.to_owned())];
        if self.rng.chance(30) {
            annotations.push((
                "acme.example/cost-center",
                format!("cc-{}", 1000 + self.rng.below(9000)),
            ));
        }
        let meta = Meta {
            description: self.description(&title_case(&r.name), text),
            title,
            tags: vec![tech, r.region],
            annotations,
            links: self.links(&r.name, 1),
        };
        Self::header(out, "Resource", &r.name, &meta);
        line(out, 2, &["type: ", r.resource_type.as_str()]);
        let owner = self.owner_ref(r.owner);
        line(out, 2, &["owner: ", &owner]);
        self.system_line(out, r.system);
        if let Some(cluster) = r.depends_on.and_then(|c| self.plan.resources.get(c)) {
            line(out, 2, &["dependsOn:"]);
            let dep = self.reference("resource", &cluster.name, 100, 0);
            line(out, 4, &["- ", &dep]);
        }
    }
}

/// The body of `spec.definition`: a short but well-formed document of the API's type,
/// indented as the content of a `|` block scalar at `spec` level.
fn definition(out: &mut String, a: &Api, major: &str, version: &str) {
    let title = title_case(&a.name);
    let noun = a.noun;
    let pascal = title_case(noun).replace(' ', "");
    let nouns = plural(noun);
    let pascals = title_case(&nouns).replace(' ', "");
    let area = a.area;
    let l = |out: &mut String, indent: usize, parts: &[&str]| line(out, 4 + indent, parts);
    match a.api_type {
        ApiType::OpenApi => {
            l(out, 0, &["openapi: 3.0.3"]);
            l(out, 0, &["info:"]);
            l(out, 2, &["title: ", &title]);
            l(out, 2, &["version: ", version]);
            l(out, 0, &["servers:"]);
            l(
                out,
                2,
                &["- url: https://api.acme.example/", area, "/", &nouns],
            );
            l(out, 0, &["paths:"]);
            l(out, 2, &["/", &nouns, ":"]);
            l(out, 4, &["get:"]);
            l(out, 6, &["summary: List ", &nouns]);
            l(out, 6, &["responses:"]);
            l(out, 8, &["\"200\":"]);
            l(out, 10, &["description: A page of ", &nouns]);
            l(out, 2, &["/", &nouns, "/{id}:"]);
            l(out, 4, &["get:"]);
            l(out, 6, &["summary: Get one ", noun]);
            l(out, 6, &["parameters:"]);
            l(out, 8, &["- name: id"]);
            l(out, 10, &["in: path"]);
            l(out, 10, &["required: true"]);
            l(out, 10, &["schema:"]);
            l(out, 12, &["type: string"]);
            l(out, 6, &["responses:"]);
            l(out, 8, &["\"200\":"]);
            l(out, 10, &["description: The ", noun]);
            l(out, 8, &["\"404\":"]);
            l(out, 10, &["description: Not found"]);
        }
        ApiType::Grpc => {
            l(out, 0, &["syntax = \"proto3\";"]);
            out.push('\n');
            l(
                out,
                0,
                &["package acme.", area, ".", noun, ".v", major, ";"],
            );
            out.push('\n');
            l(out, 0, &["service ", &pascal, "Service {"]);
            l(
                out,
                2,
                &[
                    "rpc Get",
                    &pascal,
                    "(Get",
                    &pascal,
                    "Request) returns (",
                    &pascal,
                    ");",
                ],
            );
            l(
                out,
                2,
                &[
                    "rpc List",
                    &pascals,
                    "(List",
                    &pascals,
                    "Request) returns (List",
                    &pascals,
                    "Response);",
                ],
            );
            l(out, 0, &["}"]);
            out.push('\n');
            l(out, 0, &["message ", &pascal, " {"]);
            l(out, 2, &["string id = 1;"]);
            l(out, 2, &["string name = 2;"]);
            l(out, 0, &["}"]);
        }
        ApiType::GraphQl => {
            l(out, 0, &["type Query {"]);
            l(out, 2, &[noun, "(id: ID!): ", &pascal]);
            l(
                out,
                2,
                &[&nouns, "(first: Int, after: String): [", &pascal, "!]!"],
            );
            l(out, 0, &["}"]);
            out.push('\n');
            l(out, 0, &["type ", &pascal, " {"]);
            l(out, 2, &["id: ID!"]);
            l(out, 2, &["name: String!"]);
            l(out, 0, &["}"]);
        }
        ApiType::AsyncApi => {
            l(out, 0, &["asyncapi: 2.6.0"]);
            l(out, 0, &["info:"]);
            l(out, 2, &["title: ", &title]);
            l(out, 2, &["version: ", version]);
            l(out, 0, &["channels:"]);
            l(out, 2, &[area, ".", noun, ".created:"]);
            l(out, 4, &["subscribe:"]);
            l(out, 6, &["message:"]);
            l(out, 8, &["payload:"]);
            l(out, 10, &["type: object"]);
            l(out, 10, &["properties:"]);
            l(out, 12, &["id:"]);
            l(out, 14, &["type: string"]);
        }
    }
}
