//! The dashboard's pages, addressed by the URL hash (`#/containers`): no router crate, so the
//! wasm stays small, and the agent serves `index.html` for `/` only.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    Hosts,
    Containers,
    Images,
    Layers,
    Events,
    Settings,
}

impl Page {
    /// In navigation order.
    pub const ALL: [Page; 6] = [
        Page::Hosts,
        Page::Containers,
        Page::Images,
        Page::Layers,
        Page::Events,
        Page::Settings,
    ];

    /// The hash segment and the suffix of the nav link's id (`nav-hosts`).
    pub fn slug(self) -> &'static str {
        match self {
            Page::Hosts => "hosts",
            Page::Containers => "containers",
            Page::Images => "images",
            Page::Layers => "layers",
            Page::Events => "events",
            Page::Settings => "settings",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Page::Hosts => "Hosts",
            Page::Containers => "Containers",
            Page::Images => "Images",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_map_to_pages() {
        assert_eq!(Page::from_hash(""), Page::Hosts);
        assert_eq!(Page::from_hash("#"), Page::Hosts);
        assert_eq!(Page::from_hash("#/containers"), Page::Containers);
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
}
