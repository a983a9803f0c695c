//! From Dockerfile text to logical lines: the byte-order mark, parser directives
//! (`# escape=`, `# syntax=`), comments, blank lines and line continuations — the rules of
//! Docker's parser (buildkit `frontend/dockerfile/parser`), with every piece of a logical
//! line remembering where it came from so errors can name a line and a column.

use super::ParseError;

/// The longest physical line Docker's scanner accepts (`bufio.MaxScanTokenSize - 1`).
pub const MAX_LINE: usize = 64 * 1024 - 1;

/// One instruction's text after continuations are joined, with its source positions.
#[derive(Debug, Clone)]
pub struct LogicalLine {
    pub text: String,
    /// Physical line (1-based) of the first and last piece.
    pub first_line: usize,
    pub last_line: usize,
    /// Where each piece of `text` starts: (byte offset in `text`, line, 1-based column).
    segments: Vec<(usize, usize, usize)>,
}

impl LogicalLine {
    /// The line and 1-based column (in characters) of byte `offset` of `text`.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let (start, line, column) = self
            .segments
            .iter()
            .rev()
            .find(|(start, _, _)| *start <= offset)
            .copied()
            .unwrap_or((0, self.first_line, 1));
        let chars = self
            .text
            .get(start..offset)
            .map_or(0, |piece| piece.chars().count());
        (line, column + chars)
    }

    /// A parse error at byte `offset` of this line.
    pub fn error_at(&self, offset: usize, message: impl Into<String>) -> ParseError {
        let (line, column) = self.position(offset);
        ParseError {
            line,
            column,
            message: message.into(),
        }
    }
}

/// What the directives at the top of the file said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directives {
    pub escape: char,
    /// `# syntax=` (the legacy builder has one built-in syntax and ignores it).
    pub syntax: Option<String>,
}

/// The file split into logical lines, plus its directives and warnings.
#[derive(Debug)]
pub struct Lines {
    pub directives: Directives,
    pub lines: Vec<LogicalLine>,
    pub warnings: Vec<String>,
}

/// `#` + optional spaces + `name=value`, with `name` one of Docker's directives.
fn directive(line: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix('#')?.trim_start();
    let name_end = rest
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_alphabetic() || (*i > 0 && c.is_ascii_digit())))
        .map_or(rest.len(), |(i, _)| i);
    if name_end == 0 {
        return None;
    }
    let name = rest[..name_end].to_ascii_lowercase();
    let value = rest[name_end..].trim_start().strip_prefix('=')?.trim();
    if value.is_empty() || !matches!(name.as_str(), "syntax" | "escape" | "check") {
        return None;
    }
    Some((name, value.to_string()))
}

fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// Strips a trailing continuation (`<escape>` then only spaces/tabs) — unless the escape
/// character is itself escaped (preceded by another escape), as Docker's regular expression
/// `([^\\])\\[ \t]*$|^\\[ \t]*$` decides. Returns the kept text and whether it continued.
fn strip_continuation(line: &str, escape: char) -> (&str, bool) {
    let trimmed = line.trim_end_matches([' ', '\t']);
    let Some(before) = trimmed.strip_suffix(escape) else {
        return (line, false);
    };
    if before.ends_with(escape) {
        return (line, false);
    }
    (before, true)
}

/// Number of characters of leading whitespace.
fn leading_ws(line: &str) -> (usize, usize) {
    let trimmed = line.trim_start();
    let bytes = line.len() - trimmed.len();
    (bytes, line[..bytes].chars().count())
}

/// Splits `text` into logical lines.
pub fn split(text: &str) -> Result<Lines, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let physical: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    for (i, line) in physical.iter().enumerate() {
        if line.len() > MAX_LINE {
            return Err(ParseError {
                line: i + 1,
                column: 1,
                message: format!("dockerfile line greater than max allowed size of {MAX_LINE}"),
            });
        }
    }

    let mut directives = Directives {
        escape: '\\',
        syntax: None,
    };
    let mut warnings = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let mut index = 0;
    // Directives: only at the very top, before any instruction, comment or blank line.
    while index < physical.len() {
        let line = physical[index].trim_start();
        let Some((name, value)) = directive(line) else {
            break;
        };
        if seen.contains(&name) {
            return Err(ParseError {
                line: index + 1,
                column: 1,
                message: format!("only one {name} parser directive can be used"),
            });
        }
        seen.push(name.clone());
        match name.as_str() {
            "escape" => {
                directives.escape = match value.as_str() {
                    "\\" => '\\',
                    "`" => '`',
                    other => {
                        return Err(ParseError {
                            line: index + 1,
                            column: 1,
                            message: format!(
                                "invalid escape token '{other}' does not match ` or \\"
                            ),
                        });
                    }
                };
            }
            "syntax" => {
                warnings.push(format!(
                    "the syntax directive (# syntax={value}) is ignored: this builder has one built-in Dockerfile syntax"
                ));
                directives.syntax = Some(value);
            }
            _ => {} // `check`: lint settings, nothing to lint here
        }
        index += 1;
    }

    let escape = directives.escape;
    let mut lines = Vec::new();
    while index < physical.len() {
        let raw = physical[index];
        index += 1;
        if is_comment(raw) {
            continue;
        }
        let (skip_bytes, skip_chars) = leading_ws(raw);
        let first = &raw[skip_bytes..];
        if first.is_empty() {
            continue;
        }
        let first_line = index;
        let (kept, mut continues) = strip_continuation(first, escape);
        let mut logical = LogicalLine {
            text: kept.to_string(),
            first_line,
            last_line: first_line,
            segments: vec![(0, first_line, skip_chars + 1)],
        };
        let mut had_empty = false;
        while continues && index < physical.len() {
            let raw = physical[index];
            index += 1;
            if is_comment(raw) {
                continue;
            }
            if raw.trim().is_empty() {
                had_empty = true;
                continue;
            }
            let (kept, more) = strip_continuation(raw, escape);
            logical.segments.push((logical.text.len(), index, 1));
            logical.text.push_str(kept);
            logical.last_line = index;
            continues = more;
        }
        if logical.text.trim().is_empty() {
            // Only an escape character (and what it continued into nothing).
            continue;
        }
        if had_empty {
            warnings.push(format!(
                "empty continuation line found in the instruction on line {first_line} (empty continuation lines will become errors in a future release)"
            ));
        }
        lines.push(logical);
    }
    Ok(Lines {
        directives,
        lines,
        warnings,
    })
}
