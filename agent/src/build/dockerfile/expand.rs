//! Variable substitution in instruction arguments, as Docker does it (buildkit
//! `frontend/dockerfile/shell`): `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR-word}`,
//! `${VAR:+word}`, `${VAR+word}`, `${VAR:?msg}`, `${VAR?msg}`; single quotes are literal,
//! double quotes allow substitution, the escape character (`\` or `` ` ``) quotes the next
//! character. Quotes are removed from the result.
//!
//! Only some instructions expand (ADD, COPY, ENV, EXPOSE, FROM, LABEL, STOPSIGNAL, USER,
//! VOLUME, WORKDIR, ARG, and the flags of COPY/ADD); RUN, CMD and ENTRYPOINT leave `$` to
//! the shell. The dispatcher decides which.

/// Why a word could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to process \"{word}\": {reason}")]
pub struct ExpandError {
    pub word: String,
    pub reason: String,
}

/// Looks variables up (build args and ENV of the stage).
pub trait Env {
    fn get(&self, name: &str) -> Option<String>;
}

impl<F: Fn(&str) -> Option<String>> Env for F {
    fn get(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// Expands `word` into one string.
pub fn word(word: &str, escape: char, env: &dyn Env) -> Result<String, ExpandError> {
    Lexer::new(word, escape, env)
        .run(None)
        .map(|(text, _)| text)
        .map_err(|reason| ExpandError {
            word: word.to_string(),
            reason,
        })
}

/// Expands `word` and splits the result into words (for EXPOSE: `EXPOSE $PORTS` with
/// `PORTS="80 443"` exposes two ports). Whitespace from a variable's value splits;
/// quoted or escaped whitespace does not.
pub fn words(word: &str, escape: char, env: &dyn Env) -> Result<Vec<String>, ExpandError> {
    Lexer::new(word, escape, env)
        .run(None)
        .map(|(_, words)| words.finish())
        .map_err(|reason| ExpandError {
            word: word.to_string(),
            reason,
        })
}

/// Words being built while expanding (Docker's `wordsStruct`).
#[derive(Default)]
struct Words {
    current: String,
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    /// A character that may split (unquoted, or from a variable).
    fn push_char(&mut self, c: char) {
        if c.is_whitespace() {
            if self.in_word && !self.current.is_empty() {
                self.words.push(std::mem::take(&mut self.current));
                self.in_word = false;
            }
        } else {
            self.push_raw_char(c);
        }
    }

    fn push_raw_char(&mut self, c: char) {
        self.current.push(c);
        self.in_word = true;
    }

    fn push_str(&mut self, s: &str) {
        s.chars().for_each(|c| self.push_char(c));
    }

    fn push_raw_str(&mut self, s: &str) {
        self.current.push_str(s);
        self.in_word = true;
    }

    fn finish(mut self) -> Vec<String> {
        if !self.current.is_empty() {
            self.words.push(self.current);
        }
        self.words
    }
}

struct Lexer<'a> {
    chars: Vec<char>,
    pos: usize,
    escape: char,
    env: &'a dyn Env,
}

impl<'a> Lexer<'a> {
    fn new(text: &str, escape: char, env: &'a dyn Env) -> Self {
        Lexer {
            chars: text.chars().collect(),
            pos: 0,
            escape,
            env,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    /// Processes until the end, or until `stop` (consumed) when given.
    fn run(&mut self, stop: Option<char>) -> Result<(String, Words), String> {
        let mut result = String::new();
        let mut words = Words::default();
        while let Some(c) = self.peek() {
            if Some(c) == stop {
                self.pos += 1;
                return Ok((result, words));
            }
            match c {
                '$' => {
                    let value = self.dollar()?;
                    result.push_str(&value);
                    words.push_str(&value);
                }
                '\'' => {
                    let value = self.single_quoted()?;
                    result.push_str(&value);
                    words.push_raw_str(&value);
                }
                '"' => {
                    let value = self.double_quoted()?;
                    result.push_str(&value);
                    words.push_raw_str(&value);
                }
                _ => {
                    self.pos += 1;
                    if c == self.escape {
                        let Some(escaped) = self.next() else {
                            break; // an escape at the very end is dropped
                        };
                        words.push_raw_char(escaped);
                        result.push(escaped);
                    } else {
                        words.push_char(c);
                        result.push(c);
                    }
                }
            }
        }
        match stop {
            Some(s) => Err(format!(
                "unexpected end of statement while looking for matching {s}"
            )),
            None => Ok((result, words)),
        }
    }

    fn single_quoted(&mut self) -> Result<String, String> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.next() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching single-quote"
                            .into(),
                    );
                }
                Some('\'') => return Ok(out),
                Some(c) => out.push(c),
            }
        }
    }

    fn double_quoted(&mut self) -> Result<String, String> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching double-quote"
                            .into(),
                    );
                }
                Some('"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('$') => out.push_str(&self.dollar()?),
                Some(c) => {
                    self.pos += 1;
                    if c == self.escape {
                        match self.peek() {
                            None => continue,
                            Some(n) if n == '"' || n == '$' || n == self.escape => {
                                self.pos += 1;
                                out.push(n);
                            }
                            Some(_) => out.push(c),
                        }
                    } else {
                        out.push(c);
                    }
                }
            }
        }
    }

    /// A name: letters, digits and `_`; or a run of digits; or one special parameter.
    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if name.is_empty() && c.is_ascii_digit() {
                while let Some(d) = self.peek().filter(char::is_ascii_digit) {
                    name.push(d);
                    self.pos += 1;
                }
                return name;
            }
            if name.is_empty() && matches!(c, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.pos += 1;
                return c.to_string();
            }
            if !(c.is_alphanumeric() || c == '_') {
                break;
            }
            name.push(c);
            self.pos += 1;
        }
        name
    }

    fn dollar(&mut self) -> Result<String, String> {
        self.pos += 1; // `$`
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".into());
            }
            return Ok(self.env.get(&name).unwrap_or_default());
        }
        self.pos += 1; // `{`
        match self.peek() {
            None => return Err("syntax error: missing '}'".into()),
            Some('{' | '}' | ':') => return Err("syntax error: bad substitution".into()),
            _ => {}
        }
        let name = self.name();
        let Some(op) = self.next() else {
            return Err("syntax error: missing '}'".into());
        };
        let value = self.env.get(&name);
        if op == '}' {
            return Ok(value.unwrap_or_default());
        }
        let (null_is_unset, op) = if op == ':' {
            match self.next() {
                Some(c @ ('-' | '+' | '?')) => (true, c),
                Some(c) => return Err(format!("unsupported modifier (:{c}) in substitution")),
                None => return Err("syntax error: missing '}'".into()),
            }
        } else {
            (false, op)
        };
        if !matches!(op, '-' | '+' | '?') {
            return Err(format!("unsupported modifier ({op}) in substitution"));
        }
        let word = match self.run(Some('}')) {
            Ok((word, _)) => word,
            Err(_) if self.peek().is_none() => return Err("syntax error: missing '}'".into()),
            Err(e) => return Err(e),
        };
        let unset = match &value {
            None => true,
            Some(v) => null_is_unset && v.is_empty(),
        };
        match op {
            '-' if unset => Ok(word),
            '-' => Ok(value.unwrap_or_default()),
            '+' if unset => Ok(String::new()),
            '+' => Ok(word),
            _ => {
                // '?'
                if value.is_none() {
                    let message = if word.is_empty() {
                        "is not allowed to be unset".to_string()
                    } else {
                        word
                    };
                    return Err(format!("{name}: {message}"));
                }
                if unset {
                    let message = if word.is_empty() {
                        "is not allowed to be empty".to_string()
                    } else {
                        word
                    };
                    return Err(format!("{name}: {message}"));
                }
                Ok(value.unwrap_or_default())
            }
        }
    }
}
