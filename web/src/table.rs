//! The Containers table without the DOM: its columns, sorting, the filter and the key that
//! tells a row's look changed. Pure, so it is unit-tested on the host.

use crate::docker::ContainerSummary;
use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    Name,
    Image,
    State,
    Cpu,
    Memory,
    Created,
}

impl Column {
    pub fn title(self) -> &'static str {
        match self {
            Column::Name => "Name",
            Column::Image => "Image",
            Column::State => "State",
            Column::Cpu => "CPU",
            Column::Memory => "Memory",
            Column::Created => "Created",
        }
    }

    pub fn slug(self) -> &'static str {
        match self {
            Column::Name => "name",
            Column::Image => "image",
            Column::State => "state",
            Column::Cpu => "cpu",
            Column::Memory => "mem",
            Column::Created => "created",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sort {
    pub column: Column,
    pub ascending: bool,
}

impl Default for Sort {
    /// Newest first, as `docker ps`.
    fn default() -> Self {
        Sort {
            column: Column::Created,
            ascending: false,
        }
    }
}

impl Sort {
    /// A click on `column`'s header: the other direction on the same column; a new column
    /// starts with the order people want first (names A–Z, the most CPU first).
    pub fn toggled(self, column: Column) -> Sort {
        if self.column == column {
            Sort {
                column,
                ascending: !self.ascending,
            }
        } else {
            Sort {
                column,
                ascending: matches!(column, Column::Name | Column::Image | Column::State),
            }
        }
    }
}

/// Sorts `rows` by `sort`; `usage` (CPU %, memory bytes by short ID) for the live columns.
/// Ties keep the name order, so the table does not jump as numbers move.
pub fn sort(rows: &mut [ContainerSummary], sort: Sort, usage: &HashMap<String, (f32, u64)>) {
    let live = |c: &ContainerSummary| {
        usage
            .get(crate::format::short_id(&c.id))
            .copied()
            .unwrap_or((-1.0, 0))
    };
    rows.sort_by(|a, b| {
        let order = match sort.column {
            Column::Name => a.name().cmp(b.name()),
            Column::Image => a.image.cmp(&b.image),
            Column::State => a.state.cmp(&b.state),
            Column::Cpu => live(a).0.total_cmp(&live(b).0),
            Column::Memory => live(a).1.cmp(&live(b).1),
            Column::Created => a.created.cmp(&b.created),
        };
        let order = if sort.ascending {
            order
        } else {
            order.reverse()
        };
        order.then_with(|| a.name().cmp(b.name()))
    });
}

/// Whether a row matches the filter text (lowercase): in its name, image, ID, state or a
/// published port.
pub fn matches(c: &ContainerSummary, query: &str) -> bool {
    if query.is_empty() {
        return true;
    }
    c.name().to_ascii_lowercase().contains(query)
        || c.image.to_ascii_lowercase().contains(query)
        || c.id.starts_with(query)
        || c.state.contains(query)
        || c.published()
            .iter()
            .any(|(p, inner)| format!("{p}→{inner}").contains(query))
}

/// What a row's rendering depends on besides the live numbers: a change re-renders the row.
pub fn row_key(c: &ContainerSummary) -> String {
    format!(
        "{}|{}|{}|{}|{}|{}|{}",
        c.id,
        c.state,
        c.names.join(","),
        c.image,
        c.started_at,
        c.finished_at,
        c.ports.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(name: &str, state: &str, created: i64) -> ContainerSummary {
        ContainerSummary {
            id: format!("{name:0<64}"),
            names: vec![format!("/{name}")],
            image: format!("img-{name}"),
            state: state.into(),
            created,
            ..Default::default()
        }
    }

    #[test]
    fn sorts_by_columns_and_usage() {
        let mut rows = vec![
            c("b", "running", 2),
            c("a", "exited", 3),
            c("c", "running", 1),
        ];
        sort(&mut rows, Sort::default(), &HashMap::new());
        let names =
            |r: &[ContainerSummary]| r.iter().map(|c| c.name().to_string()).collect::<Vec<_>>();
        assert_eq!(names(&rows), ["a", "b", "c"]);
        let by_name = Sort::default().toggled(Column::Name);
        assert!(by_name.ascending);
        sort(&mut rows, by_name.toggled(Column::Name), &HashMap::new());
        assert_eq!(names(&rows), ["c", "b", "a"]);
        let usage: HashMap<String, (f32, u64)> = [
            ("c00000000000".to_string(), (50.0, 10)),
            ("b00000000000".to_string(), (5.0, 99)),
        ]
        .into();
        let cpu = Sort::default().toggled(Column::Cpu);
        assert!(!cpu.ascending);
        sort(&mut rows, cpu, &usage);
        assert_eq!(names(&rows), ["c", "b", "a"]);
        sort(&mut rows, Sort::default().toggled(Column::Memory), &usage);
        assert_eq!(names(&rows), ["b", "c", "a"]);
    }

    #[test]
    fn filters_and_keys() {
        let web = c("web", "running", 1);
        assert!(matches(&web, ""));
        assert!(matches(&web, "we"));
        assert!(matches(&web, "img-"));
        assert!(matches(&web, "running"));
        assert!(!matches(&web, "db"));
        let mut moved = web.clone();
        assert_eq!(row_key(&web), row_key(&moved));
        moved.state = "exited".into();
        assert_ne!(row_key(&web), row_key(&moved));
    }
}
