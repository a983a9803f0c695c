//! Markup as text, for the dense parts of pages (table rows, fact tables, charts, forms): one
//! function that writes a string costs far less wasm than a Leptos view per shape, and a
//! whole table body is replaced in one DOM call. Everything from outside goes through
//! [`esc`]. Pure, so it is unit-tested on the host.

use std::fmt::Write as _;

/// `text` with `& < > " '` escaped, safe in element content and in quoted attributes.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    esc_into(&mut out, text);
    out
}

/// [`esc`], appended to `out` (for markup built piece by piece, e.g. a log line).
pub fn esc_into(out: &mut String, text: &str) {
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// A facts table (`<table class="facts">`): one row per (id, label, value); `value` is text,
/// empty values show "—".
pub fn facts(rows: &[(&str, &str, String)]) -> String {
    format!("<table class=\"facts\">{}</table>", fact_rows(rows))
}

/// The rows of [`facts`] alone, to mix with other rows.
pub fn fact_rows(rows: &[(&str, &str, String)]) -> String {
    let mut out = String::new();
    for (id, label, value) in rows {
        let shown = if value.is_empty() { "—" } else { value };
        let _ = write!(
            out,
            "<tr><th>{}</th><td id=\"{id}\">{}</td></tr>",
            esc(label),
            esc(shown)
        );
    }
    out
}

/// A facts row whose value is several lines (env, labels, mounts), or "—" for none.
pub fn lines_row(id: &str, label: &str, values: &[String]) -> String {
    let mut cell = String::new();
    for v in values {
        let _ = write!(cell, "<div>{}</div>", esc(v));
    }
    if values.is_empty() {
        cell.push('—');
    }
    format!(
        "<tr><th>{}</th><td id=\"{id}\" class=\"mono\">{cell}</td></tr>",
        esc(label)
    )
}

/// A plain table: titles and rows of text (`docker top`).
pub fn table(id: &str, titles: &[String], rows: &[Vec<String>]) -> String {
    let mut out = format!("<table class=\"list\" id=\"{id}\"><thead><tr>");
    for t in titles {
        let _ = write!(out, "<th>{}</th>", esc(t));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for v in row {
            let _ = write!(out, "<td class=\"mono\">{}</td>", esc(v));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_tables() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(
            facts(&[("i", "ID", "<x>".into()), ("e", "Empty", String::new())]),
            "<table class=\"facts\"><tr><th>ID</th><td id=\"i\">&lt;x&gt;</td></tr>\
             <tr><th>Empty</th><td id=\"e\">—</td></tr></table>"
        );
        assert_eq!(
            lines_row("env", "Env", &["A=1".into()]),
            "<tr><th>Env</th><td id=\"env\" class=\"mono\"><div>A=1</div></td></tr>"
        );
        assert_eq!(
            table("top", &["PID".into()], &[vec!["1".into()]]),
            "<table class=\"list\" id=\"top\"><thead><tr><th>PID</th></tr></thead><tbody><tr><td class=\"mono\">1</td></tr></tbody></table>"
        );
    }
}
