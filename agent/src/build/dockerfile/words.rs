//! Splitting an instruction's text the ways Docker's line parsers do: the instruction word
//! and its `--flags`, whitespace-separated words, quote-aware words (quotes kept for the
//! expansion step to remove), and the JSON (exec) form.

/// A piece of the line and its byte offset in the logical line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub offset: usize,
}

fn is_space(c: char) -> bool {
    c.is_whitespace()
}

/// `INSTRUCTION rest` → (instruction, its offset, rest, rest's offset). The rest keeps its
/// inner spacing; both ends are trimmed.
pub fn split_instruction(line: &str) -> (Word, &str, usize) {
    let start = line.len() - line.trim_start().len();
    let after = &line[start..];
    let end = after.find(is_space).unwrap_or(after.len());
    let word = Word {
        text: after[..end].to_string(),
        offset: start,
    };
    let rest_raw = &after[end..];
    let rest_start = start + end + (rest_raw.len() - rest_raw.trim_start().len());
    (word, line[rest_start..].trim_end(), rest_start)
}

/// The leading `--name[=value]` words of `rest` (quotes and escapes inside a flag are
/// resolved, as Docker's `extractBuilderFlags` does) and what follows them. A bare `--`
/// ends the flags.
pub fn extract_flags(rest: &str, escape: char) -> (Vec<Word>, usize) {
    let mut flags = Vec::new();
    let mut chars = rest.char_indices().peekable();
    loop {
        while chars.peek().is_some_and(|(_, c)| is_space(*c)) {
            chars.next();
        }
        let Some(&(start, _)) = chars.peek() else {
            return (flags, rest.len());
        };
        if !rest[start..].starts_with("--") {
            return (flags, start);
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        let mut end = rest.len();
        while let Some((i, c)) = chars.next() {
            match quote {
                None if is_space(c) => {
                    end = i;
                    break;
                }
                None if c == '\'' || c == '"' => quote = Some(c),
                Some(q) if c == q => quote = None,
                _ if c == escape => {
                    if let Some((_, next)) = chars.next() {
                        word.push(next);
                    }
                }
                _ => word.push(c),
            }
        }
        if word == "--" {
            let after = rest[end..].len() - rest[end..].trim_start().len();
            return (flags, end + after);
        }
        flags.push(Word {
            text: word,
            offset: start,
        });
        if end == rest.len() {
            return (flags, rest.len());
        }
    }
}

/// Whitespace-separated words (Docker's `parseStringsWhitespaceDelimited`).
pub fn whitespace_words(text: &str, base: usize) -> Vec<Word> {
    let mut words = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        match (start, is_space(c)) {
            (None, false) => start = Some(i),
            (Some(s), true) => {
                words.push(Word {
                    text: text[s..i].to_string(),
                    offset: base + s,
                });
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push(Word {
            text: text[s..].to_string(),
            offset: base + s,
        });
    }
    words
}

/// Quote-aware words (Docker's `parseWords`): whitespace separates words outside quotes;
/// quotes and escape characters stay in the word (the expansion step removes them). An
/// escape outside quotes keeps the next character in the word, even a space or a quote.
pub fn quoted_words(text: &str, base: usize, escape: char) -> Vec<Word> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut start: Option<usize> = None;
    let mut blank_ok = false;
    let mut quote: Option<char> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match quote {
            None if is_space(c) => {
                if let Some(s) = start.take()
                    && (blank_ok || !current.is_empty())
                {
                    words.push(Word {
                        text: std::mem::take(&mut current),
                        offset: base + s,
                    });
                }
                current.clear();
                blank_ok = false;
                continue;
            }
            None => {
                start.get_or_insert(i);
                if c == '\'' || c == '"' {
                    quote = Some(c);
                    blank_ok = true;
                }
                if c == escape {
                    // An escape at the very end is dropped.
                    if let Some((_, next)) = chars.next() {
                        current.push(c);
                        current.push(next);
                    }
                    continue;
                }
                current.push(c);
            }
            Some(q) => {
                if c == q {
                    quote = None;
                }
                if c == escape && q != '\'' {
                    match chars.next() {
                        Some((_, next)) => {
                            current.push(c);
                            current.push(next);
                        }
                        None => quote = None,
                    }
                    continue;
                }
                current.push(c);
            }
        }
    }
    if let Some(s) = start
        && (blank_ok || !current.is_empty())
    {
        words.push(Word {
            text: current,
            offset: base + s,
        });
    }
    words
}

/// What a `[...]` argument turned out to be.
pub enum Json {
    /// Not JSON (or not an array): the shell form.
    No,
    /// A JSON array of strings: the exec form.
    Strings(Vec<String>),
    /// A JSON array with something other than strings: an error in Docker.
    NotStrings,
}

/// Docker's `parseJSON`: the text (leading spaces ignored) must start with `[` and parse as
/// a JSON array; then every element must be a string.
pub fn json_array(text: &str) -> Json {
    let text = text.trim_start();
    if !text.starts_with('[') {
        return Json::No;
    }
    match serde_json::from_str::<Vec<serde_json::Value>>(text) {
        Ok(items) => {
            let strings: Option<Vec<String>> = items
                .into_iter()
                .map(|v| match v {
                    serde_json::Value::String(s) => Some(s),
                    _ => None,
                })
                .collect();
            strings.map_or(Json::NotStrings, Json::Strings)
        }
        Err(_) => Json::No,
    }
}
