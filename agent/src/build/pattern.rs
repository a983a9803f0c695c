//! Path patterns: Go's `filepath.Match` (COPY/ADD wildcards) and Docker's `.dockerignore`
//! flavour of it with `**` (moby/patternmatcher). Matching is a linear-time table walk, so a
//! hostile pattern (`*a*a*a*…`) cannot make it explode.

/// One piece of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(char),
    /// `?`: one character, not `/`.
    One,
    /// `*`: any run of characters without `/`.
    Star,
    /// `**` followed by more pattern: any run, `/` included, even none (`(.*/)?`).
    AnyDirs,
    /// `**` at the end: anything at all.
    AnyRest,
    /// `[...]`: one character (not `/`) in (or, negated, not in) the ranges.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    tokens: Vec<Token>,
}

/// A pattern that cannot be compiled (an unclosed `[`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid pattern {pattern:?}: {reason}")]
pub struct PatternError {
    pub pattern: String,
    pub reason: &'static str,
}

impl Glob {
    /// `filepath.Match` syntax: `*`, `?`, `[a-z]`, `[^a]`, `\` escapes.
    pub fn path_match(pattern: &str) -> Result<Glob, PatternError> {
        Self::compile(pattern, false)
    }

    /// `.dockerignore` syntax: the above plus `**` across directories.
    pub fn ignore(pattern: &str) -> Result<Glob, PatternError> {
        Self::compile(pattern, true)
    }

    fn compile(pattern: &str, double_star: bool) -> Result<Glob, PatternError> {
        let bad = |reason| PatternError {
            pattern: pattern.to_string(),
            reason,
        };
        let chars: Vec<char> = pattern.chars().collect();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            i += 1;
            match c {
                '*' if double_star && chars.get(i) == Some(&'*') => {
                    i += 1;
                    if chars.get(i) == Some(&'/') {
                        i += 1;
                    }
                    tokens.push(if i >= chars.len() {
                        Token::AnyRest
                    } else {
                        Token::AnyDirs
                    });
                }
                '*' => {
                    if tokens.last() != Some(&Token::Star) {
                        tokens.push(Token::Star);
                    }
                }
                '?' => tokens.push(Token::One),
                '\\' => match chars.get(i) {
                    Some(&next) => {
                        tokens.push(Token::Literal(next));
                        i += 1;
                    }
                    None => tokens.push(Token::Literal('\\')),
                },
                '[' => {
                    let negated = matches!(chars.get(i), Some('^'));
                    if negated {
                        i += 1;
                    }
                    let mut ranges = Vec::new();
                    let mut first = true;
                    loop {
                        let Some(&c) = chars.get(i) else {
                            return Err(bad("unclosed character class"));
                        };
                        i += 1;
                        if c == ']' && !first {
                            break;
                        }
                        first = false;
                        let low = if c == '\\' {
                            let Some(&e) = chars.get(i) else {
                                return Err(bad("unclosed character class"));
                            };
                            i += 1;
                            e
                        } else {
                            c
                        };
                        let high = if chars.get(i) == Some(&'-') && chars.get(i + 1) != Some(&']') {
                            let Some(&h) = chars.get(i + 1) else {
                                return Err(bad("unclosed character class"));
                            };
                            i += 2;
                            if h == '\\' {
                                let Some(&e) = chars.get(i) else {
                                    return Err(bad("unclosed character class"));
                                };
                                i += 1;
                                e
                            } else {
                                h
                            }
                        } else {
                            low
                        };
                        if high < low {
                            return Err(bad("character range out of order"));
                        }
                        ranges.push((low, high));
                    }
                    tokens.push(Token::Class { negated, ranges });
                }
                c => tokens.push(Token::Literal(c)),
            }
        }
        Ok(Glob { tokens })
    }

    /// Whether the whole of `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        // reach[j]: the pattern prefix consumed so far can end just before text[j].
        let mut reach = vec![false; text.len() + 1];
        reach[0] = true;
        for token in &self.tokens {
            let mut next = vec![false; text.len() + 1];
            match token {
                Token::Star | Token::AnyRest | Token::AnyDirs => {
                    let mut open = false;
                    for j in 0..=text.len() {
                        match token {
                            Token::Star => {
                                // A run without '/': reset at each '/'.
                                if reach[j] {
                                    open = true;
                                }
                                next[j] = open;
                                if j < text.len() && text[j] == '/' {
                                    open = false;
                                }
                            }
                            Token::AnyRest => {
                                open |= reach[j];
                                next[j] = open;
                            }
                            _ => {
                                // `(.*/)?`: stay, or skip past any later '/'.
                                open |= reach[j];
                                next[j] |= reach[j];
                                if open && j < text.len() && text[j] == '/' {
                                    next[j + 1] = true;
                                }
                            }
                        }
                    }
                }
                one => {
                    for j in 0..text.len() {
                        if reach[j] && one_matches(one, text[j]) {
                            next[j + 1] = true;
                        }
                    }
                }
            }
            reach = next;
            if !reach.iter().any(|r| *r) {
                return false;
            }
        }
        reach[text.len()]
    }

    /// True when the pattern has a wildcard (so COPY treats it as one).
    pub fn has_wildcards(pattern: &str) -> bool {
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '*' | '?' | '[' => return true,
                _ => {}
            }
        }
        false
    }
}

fn one_matches(token: &Token, c: char) -> bool {
    match token {
        Token::Literal(l) => *l == c,
        Token::One => c != '/',
        Token::Class { negated, ranges } => {
            c != '/' && (ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, text: &str) -> bool {
        Glob::path_match(pattern).unwrap().matches(text)
    }

    fn i(pattern: &str, text: &str) -> bool {
        Glob::ignore(pattern).unwrap().matches(text)
    }

    #[test]
    fn path_match_like_go() {
        assert!(m("*.txt", "a.txt"));
        assert!(!m("*.txt", "dir/a.txt"));
        assert!(m("dir/*.txt", "dir/a.txt"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "a/c"));
        assert!(m("[a-c]x", "bx"));
        assert!(!m("[^a-c]x", "bx"));
        assert!(m("[^a-c]x", "dx"));
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
        assert!(m("*", ""));
        assert!(m("**", "abc"));
        assert!(!m("**", "a/b"), "without the .dockerignore flavour ** is *");
        assert!(Glob::path_match("[a").is_err());
        assert!(Glob::path_match("[z-a]").is_err());
    }

    #[test]
    fn double_star_in_dockerignore() {
        assert!(i("**/foo", "foo"));
        assert!(i("**/foo", "a/b/foo"));
        assert!(!i("**/foo", "a/foox"));
        assert!(i("foo/**", "foo/a/b"));
        assert!(i("a/**/b", "a/b"));
        assert!(i("a/**/b", "a/x/y/b"));
        assert!(!i("a/**/b", "a/x/y/c"));
        assert!(i("**", "anything/at/all"));
        assert!(i("**/*.go", "x/y/z.go"));
        assert!(!i("*.go", "x/z.go"));
    }

    #[test]
    fn hostile_patterns_stay_linear() {
        let pattern = "*a".repeat(200) + "b";
        let text = "a".repeat(5000);
        assert!(!m(&pattern, &text));
        let pattern = "**/".repeat(100) + "x";
        assert!(!i(&pattern, &"a/".repeat(2000)));
    }

    #[test]
    fn wildcard_detection() {
        assert!(Glob::has_wildcards("*.txt"));
        assert!(Glob::has_wildcards("a[bc]"));
        assert!(!Glob::has_wildcards("plain/name"));
        assert!(!Glob::has_wildcards("esc\\*aped"));
    }
}
