//! One logical line → one typed instruction, with Docker's per-instruction argument rules
//! and error messages (buildkit `instructions/parse.go`). Arguments that Docker expands
//! later are kept raw (quotes included); [`super::expand`] processes them at build time.

use super::ParseError;
use super::lines::LogicalLine;
use super::words::{
    Json, Word, extract_flags, json_array, quoted_words, split_instruction, whitespace_words,
};

/// RUN, CMD, ENTRYPOINT, HEALTHCHECK CMD: the exec form (JSON) or the shell form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandLine {
    Exec(Vec<String>),
    Shell(String),
}

impl CommandLine {
    pub fn is_empty(&self) -> bool {
        match self {
            CommandLine::Exec(v) => v.is_empty(),
            CommandLine::Shell(s) => s.is_empty(),
        }
    }
}

/// A `key=value` (or legacy `key value`) pair of ENV or LABEL, unexpanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

/// An ARG: a name and maybe a default, unexpanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDecl {
    pub name: String,
    pub default: Option<String>,
}

/// COPY/ADD sources and destination and their flags, unexpanded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CopyArgs {
    pub sources: Vec<String>,
    pub dest: String,
    pub from: Option<String>,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    /// The arguments were a JSON array (no splitting on spaces).
    pub json: bool,
}

/// HEALTHCHECK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// `HEALTHCHECK NONE`: disables an inherited check.
    None,
    Check {
        /// `["CMD", …]` or `["CMD-SHELL", "…"]`, as Docker stores it.
        test: Vec<String>,
        /// Nanoseconds; 0 = inherit the default.
        interval: i64,
        timeout: i64,
        start_period: i64,
        start_interval: i64,
        retries: i64,
    },
}

/// `FROM [--platform=…] image [AS name]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct From {
    pub image: String,
    /// Lower-cased, as Docker keeps stage names.
    pub name: Option<String>,
    pub platform: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instruction {
    From(From),
    Run(CommandLine),
    Cmd(CommandLine),
    Entrypoint(CommandLine),
    Env(Vec<KeyValue>),
    Arg(Vec<ArgDecl>),
    Label(Vec<KeyValue>),
    Maintainer(String),
    Expose(Vec<String>),
    User(String),
    Workdir(String),
    Volume(Vec<String>),
    StopSignal(String),
    Shell(Vec<String>),
    Copy(CopyArgs),
    Add(CopyArgs),
    Healthcheck(Health),
    /// The trigger's text (`RUN make`), stored in the image and run when it is a base.
    Onbuild(String),
}

impl Instruction {
    /// The instruction's name as Docker prints it.
    pub fn name(&self) -> &'static str {
        match self {
            Instruction::From(_) => "FROM",
            Instruction::Run(_) => "RUN",
            Instruction::Cmd(_) => "CMD",
            Instruction::Entrypoint(_) => "ENTRYPOINT",
            Instruction::Env(_) => "ENV",
            Instruction::Arg(_) => "ARG",
            Instruction::Label(_) => "LABEL",
            Instruction::Maintainer(_) => "MAINTAINER",
            Instruction::Expose(_) => "EXPOSE",
            Instruction::User(_) => "USER",
            Instruction::Workdir(_) => "WORKDIR",
            Instruction::Volume(_) => "VOLUME",
            Instruction::StopSignal(_) => "STOPSIGNAL",
            Instruction::Shell(_) => "SHELL",
            Instruction::Copy(_) => "COPY",
            Instruction::Add(_) => "ADD",
            Instruction::Healthcheck(_) => "HEALTHCHECK",
            Instruction::Onbuild(_) => "ONBUILD",
        }
    }
}

/// Every instruction Docker knows, for "unknown instruction" errors.
const KNOWN: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// The flags one instruction accepts, parsed from its `--name[=value]` words.
struct Flags {
    values: Vec<(String, Option<String>, usize)>,
}

impl Flags {
    /// Checks the flags against `allowed` (name, takes a value) and refuses repeats.
    fn parse(
        words: Vec<Word>,
        allowed: &[(&str, bool)],
        instruction: &str,
        line: &LogicalLine,
        rest_offset: usize,
    ) -> Result<Flags, ParseError> {
        let mut values: Vec<(String, Option<String>, usize)> = Vec::new();
        for word in words {
            let offset = rest_offset + word.offset;
            let body = word.text.trim_start_matches('-');
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (body.to_string(), None),
            };
            let Some((_, needs_value)) = allowed.iter().find(|(n, _)| *n == name) else {
                if instruction == "RUN" {
                    return Err(line.error_at(
                        offset,
                        format!("the --{name} option requires BuildKit; Berth implements the legacy builder"),
                    ));
                }
                return Err(line.error_at(offset, format!("unknown flag: --{name}")));
            };
            if *needs_value && value.is_none() {
                return Err(line.error_at(offset, format!("missing a value on flag: --{name}")));
            }
            if values.iter().any(|(n, _, _)| *n == name) {
                return Err(line.error_at(offset, format!("duplicate flag specified: --{name}")));
            }
            values.push((name, value, offset));
        }
        Ok(Flags { values })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(n, _, _)| n == name)
            .and_then(|(_, v, _)| v.as_deref())
    }

    fn offset(&self, name: &str) -> Option<usize> {
        self.values
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, _, o)| *o)
    }
}

/// Parses one logical line.
pub fn parse(line: &LogicalLine, escape: char) -> Result<Instruction, ParseError> {
    let (word, rest, rest_offset) = split_instruction(&line.text);
    parse_parts(line, escape, &word, rest, rest_offset, false)
}

fn parse_parts(
    line: &LogicalLine,
    escape: char,
    word: &Word,
    rest: &str,
    rest_offset: usize,
    in_onbuild: bool,
) -> Result<Instruction, ParseError> {
    let name = word.text.to_ascii_uppercase();
    if !KNOWN.contains(&name.as_str()) {
        return Err(line.error_at(word.offset, format!("unknown instruction: {}", word.text)));
    }
    let (flag_words, args_start) = extract_flags(rest, escape);
    let args = rest[args_start..].trim();
    let args_offset = rest_offset
        + args_start
        + (rest[args_start..].len() - rest[args_start..].trim_start().len());
    let err = |message: String| line.error_at(word.offset, message);
    let allowed: &[(&str, bool)] = match name.as_str() {
        "FROM" => &[("platform", true)],
        "COPY" => &[
            ("from", true),
            ("chown", true),
            ("chmod", true),
            ("link", false),
        ],
        "ADD" => &[("chown", true), ("chmod", true), ("link", false)],
        "HEALTHCHECK" => &[
            ("interval", true),
            ("timeout", true),
            ("start-period", true),
            ("start-interval", true),
            ("retries", true),
        ],
        _ => &[],
    };
    let flags = Flags::parse(flag_words, allowed, &name, line, rest_offset)?;
    let instruction = match name.as_str() {
        "FROM" => {
            let words = whitespace_words(args, args_offset);
            let (image, stage) = match words.as_slice() {
                [image] => (image, None),
                [image, as_word, stage] if as_word.text.eq_ignore_ascii_case("as") => {
                    (image, Some(stage))
                }
                _ => return Err(err("FROM requires either one or three arguments".into())),
            };
            let name = match stage {
                Some(stage) => {
                    let lower = stage.text.to_ascii_lowercase();
                    if !valid_stage_name(&lower) {
                        return Err(line.error_at(
                            stage.offset,
                            format!(
                                "invalid name for build stage: \"{}\", name can't start with a number or contain symbols",
                                stage.text
                            ),
                        ));
                    }
                    Some(lower)
                }
                None => None,
            };
            Instruction::From(From {
                image: image.text.clone(),
                name,
                platform: flags.get("platform").map(str::to_string),
            })
        }
        "RUN" | "CMD" | "ENTRYPOINT" => {
            let command = command_line(args, line, args_offset)?;
            match name.as_str() {
                "RUN" => {
                    if command.is_empty() {
                        return Err(err("RUN requires at least one argument".into()));
                    }
                    Instruction::Run(command)
                }
                "CMD" => Instruction::Cmd(command),
                _ => Instruction::Entrypoint(command),
            }
        }
        "SHELL" => match json_array(args) {
            Json::Strings(v) if !v.is_empty() => Instruction::Shell(v),
            Json::Strings(_) => return Err(err("SHELL requires at least one argument".into())),
            Json::NotStrings => return Err(not_strings(line, args_offset)),
            Json::No if args.is_empty() => {
                return Err(err("SHELL requires at least one argument".into()));
            }
            Json::No => {
                return Err(line.error_at(
                    args_offset,
                    format!(
                        "SHELL requires the arguments to be in JSON form, e.g. SHELL [\"/bin/sh\", \"-c\"]; got {args}"
                    ),
                ));
            }
        },
        "ENV" | "LABEL" => {
            Instruction::from_pairs(&name, key_values(args, args_offset, escape, &name, line)?)
        }
        "ARG" => {
            let words = quoted_words(args, args_offset, escape);
            if words.is_empty() {
                return Err(err("ARG requires at least one argument".into()));
            }
            let mut decls = Vec::new();
            for w in words {
                let (name, default) = match w.text.split_once('=') {
                    Some((n, v)) => (n.to_string(), Some(v.to_string())),
                    None => (w.text.clone(), None),
                };
                if name.is_empty() {
                    return Err(line.error_at(w.offset, "ARG names can not be blank"));
                }
                decls.push(ArgDecl { name, default });
            }
            Instruction::Arg(decls)
        }
        "MAINTAINER" | "USER" | "WORKDIR" | "STOPSIGNAL" => {
            if args.is_empty() {
                return Err(err(format!("{name} requires exactly one argument")));
            }
            match name.as_str() {
                "MAINTAINER" => Instruction::Maintainer(args.to_string()),
                "USER" => Instruction::User(args.to_string()),
                "WORKDIR" => Instruction::Workdir(args.to_string()),
                _ => Instruction::StopSignal(args.to_string()),
            }
        }
        "EXPOSE" => {
            let ports: Vec<String> = whitespace_words(args, args_offset)
                .into_iter()
                .map(|w| w.text)
                .collect();
            if ports.is_empty() {
                return Err(err("EXPOSE requires at least one argument".into()));
            }
            Instruction::Expose(ports)
        }
        "VOLUME" => {
            let (volumes, _) = list(args, args_offset, line)?;
            if volumes.is_empty() {
                return Err(err("VOLUME requires at least one argument".into()));
            }
            if volumes.iter().any(|v| v.trim().is_empty()) {
                return Err(err("VOLUME specified can not be an empty string".into()));
            }
            Instruction::Volume(volumes.into_iter().map(|v| v.trim().to_string()).collect())
        }
        "COPY" | "ADD" => {
            let (mut items, json) = list(args, args_offset, line)?;
            if items.len() < 2 {
                return Err(err(format!(
                    "{name} requires at least two arguments, but only one was provided. Destination could not be determined"
                )));
            }
            let dest = items.pop().unwrap_or_default();
            if let Some(from_offset) = flags.offset("from")
                && flags.get("from").is_some_and(str::is_empty)
            {
                return Err(line.error_at(from_offset, "--from requires a stage name or an image"));
            }
            let copy = CopyArgs {
                sources: items,
                dest,
                from: flags.get("from").map(str::to_string),
                chown: flags.get("chown").map(str::to_string),
                chmod: flags.get("chmod").map(str::to_string),
                json,
            };
            if name == "COPY" {
                Instruction::Copy(copy)
            } else {
                Instruction::Add(copy)
            }
        }
        "HEALTHCHECK" => Instruction::Healthcheck(health(args, args_offset, &flags, line)?),
        "ONBUILD" => {
            if in_onbuild {
                return Err(err(
                    "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".into()
                ));
            }
            if args.is_empty() {
                return Err(err("ONBUILD requires at least one argument".into()));
            }
            let (inner, inner_rest, inner_offset) = split_instruction(args);
            let inner = Word {
                text: inner.text,
                offset: args_offset + inner.offset,
            };
            let trigger = inner.text.to_ascii_uppercase();
            if trigger == "ONBUILD" {
                return Err(line.error_at(
                    inner.offset,
                    "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
                ));
            }
            if trigger == "FROM" || trigger == "MAINTAINER" {
                return Err(line.error_at(
                    inner.offset,
                    format!("{trigger} isn't allowed as an ONBUILD trigger"),
                ));
            }
            // The trigger must parse now, so a broken one fails this build, not a later one.
            parse_parts(
                line,
                escape,
                &inner,
                inner_rest,
                args_offset + inner_offset,
                true,
            )?;
            Instruction::Onbuild(args.to_string())
        }
        _ => unreachable!("checked against KNOWN"),
    };
    Ok(instruction)
}

impl Instruction {
    fn from_pairs(name: &str, pairs: Vec<KeyValue>) -> Instruction {
        if name == "ENV" {
            Instruction::Env(pairs)
        } else {
            Instruction::Label(pairs)
        }
    }
}

/// Docker's stage name rule: `^[a-z][a-z0-9-_.]*$`.
fn valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}

fn not_strings(line: &LogicalLine, offset: usize) -> ParseError {
    line.error_at(
        offset,
        "when using JSON array syntax, arrays must be comprised of strings only",
    )
}

/// RUN/CMD/ENTRYPOINT arguments: a JSON array of strings, or the text for the shell.
fn command_line(args: &str, line: &LogicalLine, offset: usize) -> Result<CommandLine, ParseError> {
    match json_array(args) {
        Json::Strings(v) => Ok(CommandLine::Exec(v)),
        Json::NotStrings => Err(not_strings(line, offset)),
        Json::No => Ok(CommandLine::Shell(args.to_string())),
    }
}

/// COPY/ADD/VOLUME arguments: a JSON array of strings or whitespace-separated words.
fn list(args: &str, offset: usize, line: &LogicalLine) -> Result<(Vec<String>, bool), ParseError> {
    match json_array(args) {
        Json::Strings(v) => Ok((v, true)),
        Json::NotStrings => Err(not_strings(line, offset)),
        Json::No => Ok((
            whitespace_words(args, offset)
                .into_iter()
                .map(|w| w.text)
                .collect(),
            false,
        )),
    }
}

/// ENV/LABEL: `k=v k2="v 2"`, or the legacy `k the rest of the line`.
fn key_values(
    args: &str,
    offset: usize,
    escape: char,
    name: &str,
    line: &LogicalLine,
) -> Result<Vec<KeyValue>, ParseError> {
    let words = quoted_words(args, offset, escape);
    let Some(first) = words.first() else {
        return Err(line.error_at(offset, format!("{name} requires at least one argument")));
    };
    if !first.text.contains('=') {
        let mut parts = args.splitn(2, char::is_whitespace);
        let key = parts.next().unwrap_or_default();
        let value = parts.next().map(str::trim_start).unwrap_or_default();
        if value.is_empty() {
            return Err(line.error_at(offset, format!("{name} must have two arguments")));
        }
        return Ok(vec![KeyValue {
            key: key.to_string(),
            value: value.to_string(),
        }]);
    }
    let mut pairs = Vec::new();
    for w in words {
        let Some((key, value)) = w.text.split_once('=') else {
            return Err(line.error_at(
                w.offset,
                format!(
                    "Syntax error - can't find = in \"{}\". Must be of the form: name=value",
                    w.text
                ),
            ));
        };
        if key.is_empty() {
            return Err(line.error_at(w.offset, format!("{name} names can not be blank")));
        }
        pairs.push(KeyValue {
            key: key.to_string(),
            value: value.to_string(),
        });
    }
    Ok(pairs)
}

/// A Go duration (`30s`, `1m30s`, `500ms`, `1.5h`) in nanoseconds.
pub fn go_duration(text: &str) -> Option<i64> {
    if text == "0" {
        return Some(0);
    }
    let mut total: f64 = 0.0;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number_end == 0 {
            return None;
        }
        let number: f64 = rest[..number_end].parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += number * scale;
        rest = &rest[unit_end..];
    }
    (total <= i64::MAX as f64).then_some(total as i64)
}

fn health(
    args: &str,
    offset: usize,
    flags: &Flags,
    line: &LogicalLine,
) -> Result<Health, ParseError> {
    let (kind, rest) = match args.split_once(char::is_whitespace) {
        Some((k, r)) => (k, r.trim_start()),
        None => (args, ""),
    };
    if kind.is_empty() {
        return Err(line.error_at(offset, "HEALTHCHECK requires at least one argument"));
    }
    let rest_offset = offset + (args.len() - rest.len());
    match kind.to_ascii_uppercase().as_str() {
        "NONE" => {
            if !rest.is_empty() {
                return Err(line.error_at(rest_offset, "HEALTHCHECK NONE takes no arguments"));
            }
            if let Some((name, _, o)) = flags.values.first() {
                return Err(line.error_at(*o, format!("unknown flag: --{name}")));
            }
            Ok(Health::None)
        }
        "CMD" => {
            let test = match command_line(rest, line, rest_offset)? {
                CommandLine::Exec(v) if !v.is_empty() => {
                    std::iter::once("CMD".to_string()).chain(v).collect()
                }
                CommandLine::Shell(s) if !s.is_empty() => vec!["CMD-SHELL".to_string(), s],
                _ => {
                    return Err(line.error_at(offset, "Missing command after HEALTHCHECK CMD"));
                }
            };
            let interval = |name: &str| -> Result<i64, ParseError> {
                let Some(value) = flags.get(name) else {
                    return Ok(0);
                };
                let at = flags.offset(name).unwrap_or(offset);
                let nanos = go_duration(value).ok_or_else(|| {
                    line.error_at(at, format!("invalid duration for --{name}: {value:?}"))
                })?;
                if nanos != 0 && nanos < 1_000_000 {
                    return Err(
                        line.error_at(at, format!("Interval \"{name}\" cannot be less than 1ms"))
                    );
                }
                Ok(nanos)
            };
            let retries = match flags.get("retries") {
                None => 0,
                Some(v) => {
                    let at = flags.offset("retries").unwrap_or(offset);
                    let n: i64 = v
                        .parse()
                        .ok()
                        .filter(|n: &i64| *n <= i64::from(i32::MAX))
                        .ok_or_else(|| line.error_at(at, format!("invalid --retries: {v:?}")))?;
                    if n < 0 {
                        return Err(
                            line.error_at(at, format!("--retries cannot be negative ({n})"))
                        );
                    }
                    n
                }
            };
            Ok(Health::Check {
                test,
                interval: interval("interval")?,
                timeout: interval("timeout")?,
                start_period: interval("start-period")?,
                start_interval: interval("start-interval")?,
                retries,
            })
        }
        other => Err(line.error_at(
            offset,
            format!("Unknown type \"{other}\" in HEALTHCHECK (try CMD)"),
        )),
    }
}
