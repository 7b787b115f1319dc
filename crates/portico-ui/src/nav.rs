//! The sidebar: one table of entries, in order. A page that belongs in the sidebar adds a row
//! here and passes its `id` as the active entry when it renders.

use serde::Serialize;

/// One sidebar entry.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct NavEntry {
    /// Stable id, also the page's "active" key.
    pub id: &'static str,
    /// Shown text.
    pub label: &'static str,
    /// Where it leads.
    pub href: &'static str,
    /// Icon name in `templates/icons.html`.
    pub icon: &'static str,
}

/// The sidebar, top to bottom.
pub const NAV: &[NavEntry] = &[
    NavEntry {
        id: "home",
        label: "Home",
        href: "/",
        icon: "home",
    },
    NavEntry {
        id: "catalog",
        label: "Catalog",
        href: "/catalog",
        icon: "catalog",
    },
    NavEntry {
        id: "apis",
        label: "APIs",
        href: "/api-docs",
        icon: "api",
    },
    NavEntry {
        id: "docs",
        label: "Docs",
        href: "/docs",
        icon: "docs",
    },
    NavEntry {
        id: "create",
        label: "Create",
        href: "/create",
        icon: "create",
    },
    NavEntry {
        id: "search",
        label: "Search",
        href: "/search",
        icon: "search",
    },
    NavEntry {
        id: "settings",
        label: "Settings",
        href: "/settings",
        icon: "settings",
    },
];

/// A sidebar entry as the layout sees it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct NavItem {
    #[serde(flatten)]
    entry: NavEntry,
    active: bool,
}

/// The sidebar with `active` marked.
pub(crate) fn entries(active: &str) -> Vec<NavItem> {
    NAV.iter()
        .map(|entry| NavItem {
            entry: *entry,
            active: entry.id == active,
        })
        .collect()
}
