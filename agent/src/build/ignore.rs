//! `.dockerignore`: which context paths a build may not see, with Docker's rules
//! (moby/patternmatcher): one pattern a line, `#` comments, `!` exceptions, patterns cleaned
//! like paths and relative to the context root, `**` across directories, a path excluded
//! when it or any of its parent directories matches, and the last matching line wins.

use super::pattern::{Glob, PatternError};

/// The most patterns read (a `.dockerignore` is small; this bounds a hostile one).
const MAX_PATTERNS: usize = 10_000;

#[derive(Debug)]
struct Rule {
    glob: Glob,
    exception: bool,
}

/// The compiled `.dockerignore`.
#[derive(Debug, Default)]
pub struct Ignore {
    rules: Vec<Rule>,
}

/// Cleans a path lexically as Go's `path.Clean` does.
pub fn clean(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

impl Ignore {
    /// Reads the file's text.
    pub fn parse(text: &str) -> Result<Ignore, PatternError> {
        let mut rules = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let raw = if index == 0 {
                raw.strip_prefix('\u{feff}').unwrap_or(raw)
            } else {
                raw
            };
            if raw.starts_with('#') {
                continue;
            }
            let mut pattern = raw.trim();
            if pattern.is_empty() {
                continue;
            }
            let exception = pattern.starts_with('!');
            if exception {
                pattern = pattern[1..].trim();
            }
            if pattern.is_empty() {
                continue;
            }
            let mut cleaned = clean(pattern);
            if cleaned.len() > 1 && cleaned.starts_with('/') {
                cleaned.remove(0);
            }
            if rules.len() >= MAX_PATTERNS {
                return Err(PatternError {
                    pattern: cleaned,
                    reason: "too many patterns in .dockerignore",
                });
            }
            rules.push(Rule {
                glob: Glob::ignore(&cleaned)?,
                exception,
            });
        }
        Ok(Ignore { rules })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether `path` (relative to the context, `/`-separated, no `..`) is excluded.
    pub fn excludes(&self, path: &str) -> bool {
        let mut excluded = false;
        let parents: Vec<&str> = path
            .char_indices()
            .filter(|(_, c)| *c == '/')
            .map(|(i, _)| &path[..i])
            .collect();
        for rule in &self.rules {
            // An exception only matters once excluded, an exclusion only before.
            if rule.exception != excluded {
                continue;
            }
            let hit = rule.glob.matches(path) || parents.iter().any(|p| rule.glob.matches(p));
            if hit {
                excluded = !rule.exception;
            }
        }
        excluded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ignore(text: &str) -> Ignore {
        Ignore::parse(text).unwrap()
    }

    #[test]
    fn cleaning() {
        assert_eq!(clean("a/./b//c/"), "a/b/c");
        assert_eq!(clean("a/../../b"), "../b");
        assert_eq!(clean("/../a"), "/a");
        assert_eq!(clean(""), ".");
        assert_eq!(clean("./"), ".");
    }

    #[test]
    fn docker_rules() {
        let i = ignore("# comment\n\n*.log\n!keep.log\n/tmp\nbuild/**\n  spaced  \n");
        assert!(i.excludes("a.log"));
        assert!(!i.excludes("keep.log"));
        assert!(!i.excludes("sub/a.log"), "* does not cross directories");
        assert!(i.excludes("tmp"));
        assert!(i.excludes("tmp/deep/file"), "a parent directory matches");
        assert!(i.excludes("build/x/y"));
        assert!(!i.excludes("build"), "build/** does not match build itself");
        assert!(i.excludes("spaced"));
        assert!(!i.excludes("src/main.rs"));
    }

    #[test]
    fn last_match_wins_and_exceptions_reinclude() {
        let i = ignore("docs\n!docs/README.md\n");
        assert!(i.excludes("docs/a.md"));
        assert!(!i.excludes("docs/README.md"));
        let i = ignore("!a\na\n");
        assert!(i.excludes("a"));
        let i = ignore("**/*.tmp\n!important/**\n");
        assert!(i.excludes("x/y/z.tmp"));
        assert!(!i.excludes("important/z.tmp"));
    }

    #[test]
    fn comments_only_at_line_start() {
        let i = ignore(" #notacomment\n");
        assert!(i.excludes("#notacomment"));
        assert!(ignore("# x\n").is_empty());
    }
}
