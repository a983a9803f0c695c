//! The Dockerfile language: text → stages of typed instructions.
//!
//! - [`lines`]: directives, comments, continuations → logical lines with positions;
//! - [`words`]: the ways an instruction's text is split;
//! - [`instruction`]: one logical line → one [`Instruction`], with Docker's rules;
//! - [`expand`]: `$VAR` substitution, applied by the builder where Docker applies it.
//!
//! A Dockerfile is hostile input: its size is bounded ([`MAX_DOCKERFILE`], and each line by
//! [`lines::MAX_LINE`]) and every error names a line and a column.

pub mod expand;
pub mod instruction;
pub mod lines;
pub mod words;

#[cfg(test)]
mod tests;

pub use instruction::{CommandLine, CopyArgs, From, Health, Instruction};

/// The largest Dockerfile accepted (Docker reads any size; 2 MiB is far beyond real ones).
pub const MAX_DOCKERFILE: usize = 2 * 1024 * 1024;
/// The most instructions accepted.
pub const MAX_INSTRUCTIONS: usize = 10_000;

/// A parse error, with the 1-based line and column it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dockerfile parse error on line {line}, column {column}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// One instruction with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub instruction: Instruction,
    /// The instruction as written (continuations joined, ends trimmed): what
    /// `Step N/M : …` prints.
    pub source: String,
    pub line: usize,
}

/// `FROM` and the instructions up to the next `FROM`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub from: From,
    pub source: String,
    pub line: usize,
    pub steps: Vec<Step>,
}

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    pub escape: char,
    /// ARGs before the first FROM: usable in FROM lines (and, re-declared, in stages).
    pub meta_args: Vec<Step>,
    pub stages: Vec<Stage>,
    /// Notices for the build output (`# syntax=` ignored, empty continuation lines).
    pub warnings: Vec<String>,
}

impl Dockerfile {
    /// Parses Dockerfile bytes (UTF-8, at most [`MAX_DOCKERFILE`]).
    pub fn parse(bytes: &[u8]) -> Result<Dockerfile, ParseError> {
        if bytes.len() > MAX_DOCKERFILE {
            return Err(ParseError {
                line: 1,
                column: 1,
                message: format!(
                    "the Dockerfile is {} bytes, more than the {} bytes allowed",
                    bytes.len(),
                    MAX_DOCKERFILE
                ),
            });
        }
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let before = &bytes[..e.valid_up_to()];
            let line = before.iter().filter(|b| **b == b'\n').count() + 1;
            let line_start = before
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |i| i + 1);
            let column = String::from_utf8_lossy(&before[line_start..])
                .chars()
                .count()
                + 1;
            ParseError {
                line,
                column,
                message: "the Dockerfile is not valid UTF-8".into(),
            }
        })?;
        Self::parse_str(text)
    }

    pub fn parse_str(text: &str) -> Result<Dockerfile, ParseError> {
        let split = lines::split(text)?;
        let escape = split.directives.escape;
        if split.lines.len() > MAX_INSTRUCTIONS {
            let line = &split.lines[MAX_INSTRUCTIONS];
            return Err(line.error_at(0, format!("more than {MAX_INSTRUCTIONS} instructions")));
        }
        let mut meta_args = Vec::new();
        let mut stages: Vec<Stage> = Vec::new();
        for logical in &split.lines {
            let instruction = instruction::parse(logical, escape)?;
            let source = logical.text.trim().to_string();
            match instruction {
                Instruction::From(from) => {
                    if let Some(name) = &from.name
                        && stages.iter().any(|s| s.from.name.as_ref() == Some(name))
                    {
                        return Err(logical.error_at(
                            0,
                            format!("duplicate stage name {name:?}: it is already used"),
                        ));
                    }
                    stages.push(Stage {
                        from,
                        source,
                        line: logical.first_line,
                        steps: Vec::new(),
                    });
                }
                other => {
                    let step = Step {
                        instruction: other,
                        source,
                        line: logical.first_line,
                    };
                    match stages.last_mut() {
                        Some(stage) => stage.steps.push(step),
                        None if matches!(step.instruction, Instruction::Arg(_)) => {
                            meta_args.push(step)
                        }
                        None => {
                            return Err(logical.error_at(
                                0,
                                format!(
                                    "no build stage in current context: {} comes before the first FROM",
                                    step.instruction.name()
                                ),
                            ));
                        }
                    }
                }
            }
        }
        if stages.is_empty() {
            let line = split.lines.last().map_or(1, |l| l.last_line);
            let message = if split.lines.is_empty() {
                "file with no instructions"
            } else {
                "no FROM instruction: a Dockerfile needs at least one build stage"
            };
            return Err(ParseError {
                line,
                column: 1,
                message: message.into(),
            });
        }
        Ok(Dockerfile {
            escape,
            meta_args,
            stages,
            warnings: split.warnings,
        })
    }

    /// An ONBUILD trigger stored in a base image: exactly one instruction (not FROM,
    /// MAINTAINER or ONBUILD).
    pub fn parse_trigger(text: &str, escape: char) -> Result<Step, ParseError> {
        let directive = if escape == '\\' { "" } else { "# escape=`\n" };
        let split = lines::split(&format!("{directive}{text}"))?;
        let [line] = split.lines.as_slice() else {
            return Err(ParseError {
                line: 1,
                column: 1,
                message: "an ONBUILD trigger must be a single instruction".into(),
            });
        };
        let instruction = instruction::parse(line, escape)?;
        if matches!(
            instruction,
            Instruction::From(_) | Instruction::Maintainer(_) | Instruction::Onbuild(_)
        ) {
            return Err(line.error_at(
                0,
                format!("{} isn't allowed as an ONBUILD trigger", instruction.name()),
            ));
        }
        Ok(Step {
            instruction,
            source: line.text.trim().to_string(),
            line: line.first_line,
        })
    }

    /// How many steps the build prints (`Step N/M`): meta ARGs, each FROM, each instruction.
    #[cfg(test)]
    pub fn step_count(&self) -> usize {
        self.meta_args.len() + self.stages.iter().map(|s| 1 + s.steps.len()).sum::<usize>()
    }

    /// The index of the stage named (or numbered) `target`.
    pub fn stage_index(&self, target: &str) -> Option<usize> {
        let lower = target.to_ascii_lowercase();
        self.stages
            .iter()
            .position(|s| s.from.name.as_deref() == Some(lower.as_str()))
    }
}
