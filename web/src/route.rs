//! The dashboard's pages, addressed by the URL hash (`#/containers`, `#/network`,
//! `#/image/<id>`): no router crate, so the wasm stays small, and the agent serves `index.html`
//! for `/` only.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    Hosts,
    Containers,
    Network,
    Images,
    Build,
    Layers,
    Events,
    Settings,
}

impl Page {
    /// In navigation order.
    pub const ALL: [Page; 8] = [
        Page::Hosts,
        Page::Containers,
        Page::Network,
        Page::Images,
        Page::Build,
        Page::Layers,
        Page::Events,
        Page::Settings,
    ];

    /// The hash segment and the suffix of the nav link's id (`nav-hosts`).
    pub fn slug(self) -> &'static str {
        match self {
            Page::Hosts => "hosts",
            Page::Containers => "containers",
            Page::Network => "network",
            Page::Images => "images",
            Page::Build => "build",
            Page::Layers => "layers",
            Page::Events => "events",
            Page::Settings => "settings",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Page::Hosts => "Hosts",
            Page::Containers => "Containers",
            Page::Network => "Networks",
            Page::Images => "Images",
            Page::Build => "Build",
            Page::Layers => "Layers",
            Page::Events => "Events",
            Page::Settings => "Settings",
        }
    }

    pub fn href(self) -> String {
        format!("#/{}", self.slug())
    }

    /// The page for a `location.hash` such as `"#/events"`; anything unknown is Hosts.
    pub fn from_hash(hash: &str) -> Page {
        let slug = hash.trim_start_matches('#').trim_start_matches('/');
        let slug = slug.split(['/', '?']).next().unwrap_or("");
        Page::ALL
            .into_iter()
            .find(|p| p.slug().eq_ignore_ascii_case(slug))
            .unwrap_or(Page::Hosts)
    }
}

/// Where the hash points: a page of the navigation, or one image's or container's page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    Page(Page),
    /// `#/image/<id>` (the ID or any name the agent resolves).
    Image(String),
    /// `#/container/<id>` (the ID, a prefix of it, or the name).
    Container(String),
}

impl Route {
    /// The route for a `location.hash` whose percent-escapes are already decoded.
    pub fn from_hash(hash: &str) -> Route {
        let path = hash.trim_start_matches('#').trim_start_matches('/');
        match path.split_once('/') {
            Some((head, id)) if !id.trim().is_empty() => {
                let id = id.trim().to_string();
                match head.to_ascii_lowercase().as_str() {
                    "image" => Route::Image(id),
                    // `<id>/<tab>`: the tab is the page's own business (see [`Tab`]).
                    "container" => {
                        let id = id.split('/').next().unwrap_or_default().to_string();
                        Route::Container(id)
                    }
                    _ => Route::Page(Page::from_hash(hash)),
                }
            }
            _ => Route::Page(Page::from_hash(hash)),
        }
    }

    /// The navigation entry to highlight: an image belongs under Images.
    pub fn section(&self) -> Page {
        match self {
            Route::Page(p) => *p,
            Route::Image(_) => Page::Images,
            Route::Container(_) => Page::Containers,
        }
    }
}

/// The detail page of an image.
pub fn image_href(id: &str) -> String {
    format!("#/image/{id}")
}

/// The page of a container.
pub fn container_href(id: &str) -> String {
    format!("#/container/{id}")
}

/// The tabs of a container's page, addressed as `#/container/<id>/<tab>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    Overview,
    Logs,
    Console,
    Stats,
    Changes,
    Inspect,
}

impl Tab {
    pub const ALL: [Tab; 6] = [
        Tab::Overview,
        Tab::Logs,
        Tab::Console,
        Tab::Stats,
        Tab::Changes,
        Tab::Inspect,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Tab::Overview => "overview",
            Tab::Logs => "logs",
            Tab::Console => "console",
            Tab::Stats => "stats",
            Tab::Changes => "changes",
            Tab::Inspect => "inspect",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Tab::Overview => "Overview",
            Tab::Logs => "Logs",
            Tab::Console => "Console",
            Tab::Stats => "Stats",
            Tab::Changes => "Changes",
            Tab::Inspect => "Inspect",
        }
    }

    /// The tab a (decoded) hash names; Overview when none or unknown.
    pub fn from_hash(hash: &str) -> Tab {
        let path = hash.trim_start_matches('#').trim_start_matches('/');
        let slug = path.split('/').nth(2).unwrap_or_default();
        Tab::ALL
            .into_iter()
            .find(|t| t.slug().eq_ignore_ascii_case(slug))
            .unwrap_or(Tab::Overview)
    }

    pub fn href(self, container: &str) -> String {
        format!("#/container/{container}/{}", self.slug())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_map_to_pages() {
        assert_eq!(Page::from_hash(""), Page::Hosts);
        assert_eq!(Page::from_hash("#"), Page::Hosts);
        assert_eq!(Page::from_hash("#/containers"), Page::Containers);
        assert_eq!(Page::from_hash("#/network"), Page::Network);
        assert_eq!(Page::Network.title(), "Networks");
        assert_eq!(Page::from_hash("#events"), Page::Events);
        assert_eq!(Page::from_hash("#/Settings"), Page::Settings);
        assert_eq!(Page::from_hash("#/layers/abc"), Page::Layers);
        assert_eq!(Page::from_hash("#/nonsense"), Page::Hosts);
    }

    #[test]
    fn every_page_round_trips() {
        for p in Page::ALL {
            assert_eq!(Page::from_hash(&p.href()), p);
        }
    }

    #[test]
    fn image_routes_carry_the_id() {
        let id = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(Route::from_hash(&image_href(&id)), Route::Image(id.clone()));
        assert_eq!(Route::from_hash(&image_href(&id)).section(), Page::Images);
        assert_eq!(
            Route::from_hash("#/image/127.0.0.1:5000/busybox:latest"),
            Route::Image("127.0.0.1:5000/busybox:latest".into())
        );
        assert_eq!(Route::from_hash("#/image/"), Route::Page(Page::Hosts));
        assert_eq!(Route::from_hash("#/images"), Route::Page(Page::Images));
        assert_eq!(Route::from_hash("#/layers"), Route::Page(Page::Layers));
    }

    #[test]
    fn container_routes_carry_the_id() {
        let route = Route::from_hash(&container_href("web"));
        assert_eq!(route, Route::Container("web".into()));
        assert_eq!(route.section(), Page::Containers);
        assert_eq!(Route::from_hash("#/container/"), Route::Page(Page::Hosts));
        assert_eq!(
            Route::from_hash("#/containers"),
            Route::Page(Page::Containers)
        );
        assert_eq!(Route::from_hash("#/layers/x"), Route::Page(Page::Layers));
        assert_eq!(
            Route::from_hash(&Tab::Logs.href("web")),
            Route::Container("web".into())
        );
    }

    #[test]
    fn container_tabs_round_trip() {
        for tab in Tab::ALL {
            assert_eq!(Tab::from_hash(&tab.href("abc")), tab);
        }
        assert_eq!(Tab::from_hash("#/container/abc"), Tab::Overview);
        assert_eq!(Tab::from_hash("#/container/abc/bogus"), Tab::Overview);
    }
}
