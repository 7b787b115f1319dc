//! The entity graph of a generated catalog, before any YAML is written.
//!
//! Planning first and rendering second keeps the references honest: every reference is an
//! index into one of the [`Plan`] vectors, so it cannot name an entity that does not exist.
//! Names are made unique per kind here as well.

use std::collections::{HashMap, HashSet};

use super::KindCounts;
use super::rng::SplitMix64;
use super::words;

/// Longest base name handed to [`Namer`]; leaves room for a `-NNNNNN` de-duplication suffix
/// under the 63-character limit of entity names.
const MAX_BASE_NAME: usize = 55;

#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) groups: Vec<Group>,
    pub(crate) users: Vec<User>,
    pub(crate) domains: Vec<Domain>,
    pub(crate) systems: Vec<System>,
    pub(crate) components: Vec<Component>,
    pub(crate) apis: Vec<Api>,
    pub(crate) resources: Vec<Resource>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupType {
    Organization,
    BusinessUnit,
    Team,
}

#[derive(Debug)]
pub(crate) struct Group {
    pub(crate) name: String,
    pub(crate) display_name: String,
    pub(crate) group_type: GroupType,
    pub(crate) parent: Option<usize>,
    pub(crate) children: Vec<usize>,
}

#[derive(Debug)]
pub(crate) struct User {
    pub(crate) name: String,
    pub(crate) display_name: String,
    pub(crate) member_of: Vec<usize>,
}

#[derive(Debug)]
pub(crate) struct Domain {
    pub(crate) name: String,
    pub(crate) area: &'static str,
    pub(crate) owner: usize,
}

#[derive(Debug)]
pub(crate) struct System {
    pub(crate) name: String,
    pub(crate) area: &'static str,
    pub(crate) noun: &'static str,
    pub(crate) owner: usize,
    pub(crate) domain: Option<usize>,
}

/// Who owns an entity: mostly groups, now and then a single user (as in real catalogs).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Owner {
    Group(usize),
    User(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ComponentType {
    Service,
    Website,
    Library,
}

impl ComponentType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Service => "service",
            Self::Website => "website",
            Self::Library => "library",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Lifecycle {
    Production,
    Experimental,
    Deprecated,
}

impl Lifecycle {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Production => "production",
            Self::Experimental => "experimental",
            Self::Deprecated => "deprecated",
        }
    }

    fn random(rng: &mut SplitMix64) -> Self {
        match rng.below(100) {
            0..70 => Self::Production,
            70..90 => Self::Experimental,
            _ => Self::Deprecated,
        }
    }
}

/// A `spec.dependsOn` target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dependency {
    Component(usize),
    Resource(usize),
}

#[derive(Debug)]
pub(crate) struct Component {
    pub(crate) name: String,
    pub(crate) area: &'static str,
    pub(crate) noun: &'static str,
    pub(crate) role: &'static str,
    pub(crate) component_type: ComponentType,
    pub(crate) lifecycle: Lifecycle,
    pub(crate) owner: Owner,
    pub(crate) system: Option<usize>,
    pub(crate) depends_on: Vec<Dependency>,
    pub(crate) provides_apis: Vec<usize>,
    pub(crate) consumes_apis: Vec<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ApiType {
    OpenApi,
    Grpc,
    GraphQl,
    AsyncApi,
}

impl ApiType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::OpenApi => "openapi",
            Self::Grpc => "grpc",
            Self::GraphQl => "graphql",
            Self::AsyncApi => "asyncapi",
        }
    }

    /// The name people write in prose: `OpenAPI`, `gRPC`, …
    pub(crate) fn display_name(self) -> &'static str {
        match self {
            Self::OpenApi => "OpenAPI",
            Self::Grpc => "gRPC",
            Self::GraphQl => "GraphQL",
            Self::AsyncApi => "AsyncAPI",
        }
    }
}

#[derive(Debug)]
pub(crate) struct Api {
    pub(crate) name: String,
    pub(crate) area: &'static str,
    pub(crate) noun: &'static str,
    pub(crate) api_type: ApiType,
    pub(crate) lifecycle: Lifecycle,
    pub(crate) owner: Owner,
    pub(crate) system: Option<usize>,
    /// The component whose `spec.providesApis` lists this API, if any.
    pub(crate) provider: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResourceType {
    Database,
    Bucket,
    Cluster,
}

impl ResourceType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Database => "database",
            Self::Bucket => "s3-bucket",
            Self::Cluster => "cluster",
        }
    }
}

#[derive(Debug)]
pub(crate) struct Resource {
    pub(crate) name: String,
    pub(crate) area: &'static str,
    pub(crate) resource_type: ResourceType,
    pub(crate) owner: Owner,
    pub(crate) system: Option<usize>,
    /// A cluster this database or bucket runs on.
    pub(crate) depends_on: Option<usize>,
    pub(crate) region: &'static str,
}

/// Hands out names unique within one kind: `base`, then `base-2`, `base-3`, …
#[derive(Debug, Default)]
struct Namer {
    used: HashSet<String>,
    next_suffix: HashMap<String, usize>,
    /// Separator before the numeric suffix (`-` for most kinds, `` for `jane.doe2`).
    separator: &'static str,
}

impl Namer {
    fn new(separator: &'static str) -> Self {
        Self {
            separator,
            ..Self::default()
        }
    }

    fn unique(&mut self, mut base: String) -> String {
        if base.len() > MAX_BASE_NAME {
            base.truncate(MAX_BASE_NAME);
            while base.ends_with(['-', '.', '_']) {
                base.pop();
            }
        }
        if self.used.insert(base.clone()) {
            return base;
        }
        let next = self.next_suffix.entry(base.clone()).or_insert(2);
        loop {
            let candidate = format!("{base}{}{next}", self.separator);
            *next += 1;
            if self.used.insert(candidate.clone()) {
                return candidate;
            }
        }
    }
}

/// `"payments ledger"` → `"Payments Ledger"`; hyphens become spaces.
pub(crate) fn title_case(words: &str) -> String {
    let mut out = String::with_capacity(words.len());
    let mut at_word_start = true;
    for c in words.chars() {
        if c == '-' || c == ' ' || c == '.' {
            out.push(' ');
            at_word_start = true;
        } else if at_word_start {
            out.push(c.to_ascii_uppercase());
            at_word_start = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// English plural of a word-list noun: `policy` → `policies`, `address` → `addresses`.
pub(crate) fn plural(noun: &str) -> String {
    match noun.strip_suffix('y') {
        Some(stem) if !stem.ends_with(['a', 'e', 'o', 'u']) => format!("{stem}ies"),
        _ if noun.ends_with(['s', 'x']) || noun.ends_with("ch") || noun.ends_with("sh") => {
            format!("{noun}es")
        }
        _ => format!("{noun}s"),
    }
}

/// Picks indices with probability proportional to fixed weights.
#[derive(Debug)]
struct Weighted {
    cumulative: Vec<u64>,
}

impl Weighted {
    fn new(weights: impl IntoIterator<Item = u64>) -> Self {
        let mut total = 0;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                total += w;
                total
            })
            .collect();
        Self { cumulative }
    }

    fn pick(&self, rng: &mut SplitMix64) -> Option<usize> {
        let total = *self.cumulative.last()?;
        let x = rng.next_u64() % total.max(1);
        Some(self.cumulative.partition_point(|&c| c <= x))
    }
}

impl Plan {
    pub(crate) fn build(counts: &KindCounts, seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed);
        let groups = plan_groups(&mut rng, counts.groups);
        // Entities are owned by teams when there are any, else by business units, else by the
        // organization itself (tiny catalogs).
        let owner_pool = owner_pool(&groups);
        let users = plan_users(&mut rng, counts.users, &owner_pool);
        let mut plan = Self {
            groups,
            users,
            domains: Vec::with_capacity(counts.domains),
            systems: Vec::with_capacity(counts.systems),
            components: Vec::with_capacity(counts.components),
            apis: Vec::with_capacity(counts.apis),
            resources: Vec::with_capacity(counts.resources),
        };
        plan.plan_domains(&mut rng, counts.domains);
        plan.plan_systems(&mut rng, counts.systems, &owner_pool);
        let weights = Weighted::new(plan.systems.iter().map(|_| rng.range(1, 4) as u64));
        plan.plan_components(&mut rng, counts.components, &weights, &owner_pool);
        plan.plan_resources(&mut rng, counts.resources, &weights);
        plan.plan_apis(&mut rng, counts.apis, &weights);
        plan.plan_dependencies(&mut rng);
        plan
    }

    fn pick_owner(&self, rng: &mut SplitMix64, pool: &[usize], user_percent: usize) -> Owner {
        if rng.chance(user_percent)
            && let Some(u) = rng.index(self.users.len())
        {
            return Owner::User(u);
        }
        Owner::Group(
            rng.index(pool.len())
                .and_then(|i| pool.get(i).copied())
                .unwrap_or(0),
        )
    }

    fn plan_domains(&mut self, rng: &mut SplitMix64, count: usize) {
        const SEGMENTS: &[&str] = &[
            "emea",
            "apac",
            "amer",
            "retail",
            "enterprise",
            "b2b",
            "core",
        ];
        let mut namer = Namer::new("-");
        // Domains are owned by business units (or whatever is the next level up).
        let owners: Vec<usize> = {
            let bus = groups_of_type(&self.groups, GroupType::BusinessUnit);
            if bus.is_empty() {
                owner_pool(&self.groups)
            } else {
                bus
            }
        };
        for i in 0..count {
            let area = words::AREAS
                .get(i % words::AREAS.len())
                .copied()
                .unwrap_or("core");
            let base = if i < words::AREAS.len() {
                area.to_owned()
            } else {
                format!("{area}-{}", rng.pick(SEGMENTS))
            };
            let owner = rng
                .index(owners.len())
                .and_then(|o| owners.get(o).copied())
                .unwrap_or(0);
            self.domains.push(Domain {
                name: namer.unique(base),
                area,
                owner,
            });
        }
    }

    fn plan_systems(&mut self, rng: &mut SplitMix64, count: usize, owners: &[usize]) {
        let mut namer = Namer::new("-");
        for _ in 0..count {
            let domain = if rng.chance(90) {
                rng.index(self.domains.len())
            } else {
                None
            };
            let area = match domain.and_then(|d| self.domains.get(d)) {
                Some(d) => d.area,
                None => rng.pick(words::AREAS),
            };
            let noun = rng.pick(words::NOUNS);
            let owner = match self.pick_owner(rng, owners, 0) {
                Owner::Group(g) => g,
                Owner::User(_) => 0,
            };
            let name = namer.unique(format!("{area}-{noun}"));
            self.systems.push(System {
                name,
                area,
                noun,
                owner,
                domain,
            });
        }
    }

    fn plan_components(
        &mut self,
        rng: &mut SplitMix64,
        count: usize,
        weights: &Weighted,
        owners: &[usize],
    ) {
        let mut namer = Namer::new("-");
        for _ in 0..count {
            let system = weights.pick(rng);
            let sys = system.and_then(|s| self.systems.get(s));
            let component_type = match rng.below(100) {
                0..60 => ComponentType::Service,
                60..75 => ComponentType::Website,
                _ => ComponentType::Library,
            };
            let role = rng.pick(match component_type {
                ComponentType::Service => words::SERVICE_ROLES,
                ComponentType::Website => words::WEBSITE_ROLES,
                ComponentType::Library => words::LIBRARY_ROLES,
            });
            let (area, noun, base) = match sys {
                Some(s) if rng.chance(50) => (s.area, s.noun, format!("{}-{role}", s.name)),
                Some(s) => {
                    let noun = rng.pick(words::NOUNS);
                    (s.area, noun, format!("{}-{noun}-{role}", s.area))
                }
                None => {
                    let (area, noun) = (rng.pick(words::AREAS), rng.pick(words::NOUNS));
                    (area, noun, format!("{area}-{noun}-{role}"))
                }
            };
            // Most components belong to the team that owns their system.
            let owner = match sys {
                Some(s) if rng.chance(80) => Owner::Group(s.owner),
                _ => self.pick_owner(rng, owners, 5),
            };
            self.components.push(Component {
                name: namer.unique(base),
                area,
                noun,
                role,
                component_type,
                lifecycle: Lifecycle::random(rng),
                owner,
                system,
                depends_on: Vec::new(),
                provides_apis: Vec::new(),
                consumes_apis: Vec::new(),
            });
        }
    }

    fn plan_resources(&mut self, rng: &mut SplitMix64, count: usize, weights: &Weighted) {
        let mut namer = Namer::new("-");
        let mut clusters: Vec<usize> = Vec::new();
        for i in 0..count {
            let system = weights.pick(rng);
            let sys = system.and_then(|s| self.systems.get(s));
            let area = sys.map_or_else(|| rng.pick(words::AREAS), |s| s.area);
            let noun = match sys {
                Some(s) if rng.chance(50) => s.noun,
                _ => rng.pick(words::NOUNS),
            };
            let resource_type = match rng.below(100) {
                0..50 => ResourceType::Database,
                50..80 => ResourceType::Bucket,
                _ => ResourceType::Cluster,
            };
            let region = rng.pick(words::REGIONS);
            let env = rng.pick(words::ENVIRONMENTS);
            let base = match resource_type {
                ResourceType::Database => format!("{area}-{noun}-db"),
                ResourceType::Bucket => format!("acme-{area}-{noun}-{env}"),
                ResourceType::Cluster => format!("{area}-{env}-{region}"),
            };
            let depends_on = match resource_type {
                ResourceType::Cluster => None,
                _ if rng.chance(40) => rng
                    .index(clusters.len())
                    .and_then(|c| clusters.get(c).copied()),
                _ => None,
            };
            if resource_type == ResourceType::Cluster {
                clusters.push(i);
            }
            let owner = match sys {
                Some(s) => Owner::Group(s.owner),
                None => Owner::Group(0),
            };
            self.resources.push(Resource {
                name: namer.unique(base),
                area,
                resource_type,
                owner,
                system,
                depends_on,
                region,
            });
        }
    }

    fn plan_apis(&mut self, rng: &mut SplitMix64, count: usize, weights: &Weighted) {
        let mut namer = Namer::new("-");
        let by_system = self.components_by_system();
        for i in 0..count {
            let system = weights.pick(rng);
            let sys = system.and_then(|s| self.systems.get(s));
            let area = sys.map_or_else(|| rng.pick(words::AREAS), |s| s.area);
            let noun = if rng.chance(50) {
                sys.map_or_else(|| rng.pick(words::NOUNS), |s| s.noun)
            } else {
                rng.pick(words::NOUNS)
            };
            let api_type = match rng.below(100) {
                0..55 => ApiType::OpenApi,
                55..75 => ApiType::Grpc,
                75..85 => ApiType::GraphQl,
                _ => ApiType::AsyncApi,
            };
            let suffix = match api_type {
                ApiType::OpenApi => "api",
                ApiType::Grpc => "grpc",
                ApiType::GraphQl => "graph",
                ApiType::AsyncApi => "events",
            };
            // The provider is a service of the same system when there is one.
            let provider = system.and_then(|s| by_system.get(s)).and_then(|members| {
                if !rng.chance(90) {
                    return None;
                }
                let services: Vec<usize> = members
                    .iter()
                    .copied()
                    .filter(|&c| {
                        self.components.get(c).map(|c| c.component_type)
                            == Some(ComponentType::Service)
                    })
                    .collect();
                let from = if services.is_empty() {
                    members
                } else {
                    &services
                };
                rng.index(from.len()).and_then(|k| from.get(k).copied())
            });
            let owner = match provider.and_then(|p| self.components.get(p)) {
                Some(c) => c.owner,
                None => Owner::Group(sys.map_or(0, |s| s.owner)),
            };
            if let Some(c) = provider.and_then(|p| self.components.get_mut(p)) {
                c.provides_apis.push(i);
            }
            self.apis.push(Api {
                name: namer.unique(format!("{area}-{noun}-{suffix}")),
                area,
                noun,
                api_type,
                lifecycle: Lifecycle::random(rng),
                owner,
                system,
                provider,
            });
        }
    }

    /// `spec.dependsOn` and `spec.consumesApis` of components. Component-to-component edges
    /// always point to an earlier component, so the dependency graph is acyclic.
    fn plan_dependencies(&mut self, rng: &mut SplitMix64) {
        let components_by_system = self.components_by_system();
        let mut resources_by_system: Vec<Vec<usize>> = vec![Vec::new(); self.systems.len()];
        for (i, r) in self.resources.iter().enumerate() {
            if let Some(list) = r.system.and_then(|s| resources_by_system.get_mut(s)) {
                list.push(i);
            }
        }
        let api_count = self.apis.len();
        for i in 0..self.components.len() {
            let Some(component) = self.components.get(i) else {
                continue;
            };
            let system = component.system;
            let (max_deps, max_consumed) = match component.component_type {
                ComponentType::Service => (4, 3),
                ComponentType::Website => (2, 3),
                ComponentType::Library => (1, 0),
            };
            let same_system_components: &[usize] = system
                .and_then(|s| components_by_system.get(s))
                .map_or(&[], |list| {
                    let earlier = list.partition_point(|&c| c < i);
                    list.get(..earlier).unwrap_or(&[])
                });
            let same_system_resources: &[usize] = system
                .and_then(|s| resources_by_system.get(s))
                .map_or(&[], Vec::as_slice);
            let mut depends_on = Vec::new();
            for _ in 0..rng.below(max_deps + 1) {
                let dep = match rng.below(100) {
                    0..50 if component.component_type != ComponentType::Library => rng
                        .index(same_system_resources.len())
                        .and_then(|k| same_system_resources.get(k))
                        .map(|&r| Dependency::Resource(r)),
                    0..85 => rng
                        .index(same_system_components.len())
                        .and_then(|k| same_system_components.get(k))
                        .map(|&c| Dependency::Component(c)),
                    _ => rng.index(i).map(Dependency::Component),
                };
                if let Some(dep) = dep.filter(|d| !depends_on.contains(d)) {
                    depends_on.push(dep);
                }
            }
            let mut consumes = Vec::new();
            for _ in 0..rng.below(max_consumed + 1) {
                if let Some(api) = rng.index(api_count) {
                    let own = component.provides_apis.contains(&api);
                    if !own && !consumes.contains(&api) {
                        consumes.push(api);
                    }
                }
            }
            if let Some(c) = self.components.get_mut(i) {
                c.depends_on = depends_on;
                c.consumes_apis = consumes;
            }
        }
    }

    fn components_by_system(&self) -> Vec<Vec<usize>> {
        let mut by_system = vec![Vec::new(); self.systems.len()];
        for (i, c) in self.components.iter().enumerate() {
            if let Some(list) = c.system.and_then(|s| by_system.get_mut(s)) {
                list.push(i);
            }
        }
        by_system
    }
}

fn groups_of_type(groups: &[Group], group_type: GroupType) -> Vec<usize> {
    groups
        .iter()
        .enumerate()
        .filter(|(_, g)| g.group_type == group_type)
        .map(|(i, _)| i)
        .collect()
}

/// The groups that own things: teams, else business units, else the organization.
fn owner_pool(groups: &[Group]) -> Vec<usize> {
    for group_type in [
        GroupType::Team,
        GroupType::BusinessUnit,
        GroupType::Organization,
    ] {
        let pool = groups_of_type(groups, group_type);
        if !pool.is_empty() {
            return pool;
        }
    }
    Vec::new()
}

/// One organization at the root, business units under it (about one per ten groups) and teams
/// under those; a fifth of the teams are sub-teams of an earlier team.
fn plan_groups(rng: &mut SplitMix64, count: usize) -> Vec<Group> {
    let mut groups = Vec::with_capacity(count);
    if count == 0 {
        return groups;
    }
    let mut namer = Namer::new("-");
    groups.push(Group {
        name: namer.unique("acme".to_owned()),
        display_name: "ACME Corp".to_owned(),
        group_type: GroupType::Organization,
        parent: None,
        children: Vec::new(),
    });
    let business_units = if count >= 2 {
        ((count - 1) / 10).max(1)
    } else {
        0
    };
    for i in 0..business_units {
        let word = words::BUSINESS_UNITS
            .get(i % words::BUSINESS_UNITS.len())
            .copied()
            .unwrap_or("unit");
        let name = namer.unique(word.to_owned());
        groups.push(Group {
            display_name: title_case(&name),
            name,
            group_type: GroupType::BusinessUnit,
            parent: Some(0),
            children: Vec::new(),
        });
    }
    let first_team = groups.len();
    for _ in first_team..count {
        let (area, noun) = (rng.pick(words::AREAS), rng.pick(words::NOUNS));
        let parent = if groups.len() > first_team && rng.chance(20) {
            first_team + rng.below(groups.len() - first_team)
        } else {
            1 + rng.below(business_units)
        };
        let name = namer.unique(format!("team-{area}-{noun}"));
        groups.push(Group {
            display_name: title_case(name.trim_start_matches("team-")),
            name,
            group_type: GroupType::Team,
            parent: Some(parent),
            children: Vec::new(),
        });
    }
    for i in 1..groups.len() {
        if let Some(parent) = groups.get(i).and_then(|g| g.parent)
            && let Some(p) = groups.get_mut(parent)
        {
            p.children.push(i);
        }
    }
    groups
}

fn plan_users(rng: &mut SplitMix64, count: usize, teams: &[usize]) -> Vec<User> {
    let mut namer = Namer::new("");
    let mut users = Vec::with_capacity(count);
    for _ in 0..count {
        let (first, last) = (rng.pick(words::FIRST_NAMES), rng.pick(words::LAST_NAMES));
        let name = namer.unique(format!("{first}.{last}"));
        let mut member_of = Vec::with_capacity(2);
        let memberships = if rng.chance(15) { 2 } else { 1 };
        for _ in 0..memberships {
            if let Some(&g) = rng.index(teams.len()).and_then(|k| teams.get(k))
                && !member_of.contains(&g)
            {
                member_of.push(g);
            }
        }
        users.push(User {
            display_name: title_case(&format!("{first} {last}")),
            name,
            member_of,
        });
    }
    users
}

#[cfg(test)]
mod tests {
    use super::{Namer, title_case};

    #[test]
    fn namer_suffixes_duplicates() {
        let mut namer = Namer::new("-");
        assert_eq!(namer.unique("a-b".into()), "a-b");
        assert_eq!(namer.unique("a-b".into()), "a-b-2");
        assert_eq!(namer.unique("a-b-3".into()), "a-b-3");
        assert_eq!(namer.unique("a-b".into()), "a-b-4");
        let long = "x".repeat(80);
        assert!(namer.unique(long.clone()).len() <= 63);
        assert!(namer.unique(long).len() <= 63);
    }

    #[test]
    fn plurals() {
        assert_eq!(super::plural("policy"), "policies");
        assert_eq!(super::plural("key"), "keys");
        assert_eq!(super::plural("address"), "addresses");
        assert_eq!(super::plural("order"), "orders");
    }

    #[test]
    fn title_case_splits_on_separators() {
        assert_eq!(title_case("payments-ledger"), "Payments Ledger");
        assert_eq!(title_case("jane doe"), "Jane Doe");
    }
}
