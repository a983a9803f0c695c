//! One stage's state and what each instruction does to it: arguments expanded where Docker
//! expands them, the image defaults (ENV, CMD, LABEL, …) changed, and what the step must
//! carry out (a RUN, a copy, a WORKDIR) described as a [`Change`].

use super::super::Builds;
use super::super::args::{BuildArgs, StageArgs};
use super::super::copy::{self, CopySpec, archive};
use super::super::dockerfile::{CommandLine, CopyArgs, Health, Instruction, expand};
use super::super::error::BuildError;
use super::super::runconfig::RunConfig;
use super::Run;
use crate::image::config::ImageConfig;
use crate::store::records::ImageRecord;
use serde_json::{Value, json};

/// One stage's state between steps.
pub(super) struct Stage {
    pub image: ImageRecord,
    pub config: ImageConfig,
    pub run: RunConfig,
    pub args: StageArgs,
    /// MAINTAINER: the author of every image after it.
    pub author: Option<String>,
    pub cmd_set: bool,
    /// A step missed the cache: every later step of the stage runs.
    pub busted: bool,
}

/// What an instruction does once its arguments are resolved.
pub(super) enum Change {
    /// Only the config changed (already applied to the stage's run config).
    Config {
        comment: String,
    },
    Run {
        cmd: Vec<String>,
        history: Vec<String>,
        env: Vec<String>,
    },
    Copy {
        spec: Box<CopySpec>,
        from: Option<ImageRecord>,
        what: String,
    },
    Workdir {
        comment: String,
        dir: String,
    },
}

/// `%v` of a Go string slice: `[a b c]`.
pub(super) fn go_list(items: &[String]) -> String {
    format!("[{}]", items.join(" "))
}

/// `%q` of a Go string slice: `["a" "b"]`.
fn go_quoted(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| serde_json::to_string(s).unwrap_or_default())
        .collect();
    format!("[{}]", quoted.join(" "))
}

/// A path made absolute against the working directory, cleaned, a trailing `/` kept.
fn absolute(working_dir: &str, path: &str) -> String {
    let trailing = path.ends_with('/') && path != "/";
    let joined = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{}/{path}", working_dir.trim_start_matches('/'))
    };
    let mut cleaned = super::super::ignore::clean(&joined);
    if trailing && cleaned != "/" {
        cleaned.push('/');
    }
    cleaned
}

impl Stage {
    pub(super) fn adopt(&mut self, builds: &Builds, image: ImageRecord) -> Result<(), BuildError> {
        self.config = builds.images.config(&image)?;
        self.run = RunConfig::stored(&self.config.config);
        self.image = image;
        Ok(())
    }

    /// The config to commit as the next image: the current one with the run config.
    pub(super) fn next_config(&self) -> ImageConfig {
        let mut config = self.config.clone();
        let mut run = self.run.clone();
        run.set("Image", json!(self.image.id));
        config.config = run.to_value();
        if let Some(author) = &self.author {
            config.author = Some(author.clone());
        }
        for stale in ["container", "container_config", "docker_version"] {
            config.extra.remove(stale);
        }
        config
    }

    /// Variables for expansion: the stage's ENV first, then the build args in effect.
    pub(super) fn lookup<'a>(
        &'a self,
        args: &'a BuildArgs,
    ) -> impl Fn(&str) -> Option<String> + 'a {
        move |name: &str| {
            self.run.env_value(name).or_else(|| {
                self.args
                    .in_effect(args, &self.run.env())
                    .into_iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v)
            })
        }
    }

    /// `/bin/sh -c #(nop)  <comment>`: a metadata step's history line.
    pub(super) fn nop(&self, comment: &str) -> String {
        format!("{} #(nop)  {comment}", self.run.shell().join(" "))
    }
}

impl Run<'_> {
    /// Resolves the instruction's arguments; metadata instructions change the stage's run
    /// config here.
    pub(super) async fn resolve(
        &mut self,
        stage: &mut Stage,
        instruction: &Instruction,
    ) -> Result<Change, BuildError> {
        let escape = self.escape;
        let word = |stage: &Stage, args: &BuildArgs, text: &str| -> Result<String, BuildError> {
            Ok(expand::word(text, escape, &stage.lookup(args))?)
        };
        Ok(match instruction {
            Instruction::From(_) => unreachable!("FROM starts a stage"),
            Instruction::Env(pairs) => {
                // Every pair is expanded with the environment before this ENV (Docker's
                // `ENV abc=bye def=$abc` gives def the old abc).
                let mut expanded = Vec::new();
                for pair in pairs {
                    let key = word(stage, &self.args, &pair.key)?;
                    let value = word(stage, &self.args, &pair.value)?;
                    if key.is_empty() {
                        return Err(BuildError::bad("ENV names can not be blank"));
                    }
                    expanded.push((key, value));
                }
                let mut comment = String::from("ENV");
                for (key, value) in expanded {
                    comment.push_str(&format!(" {key}={value}"));
                    stage.run.set_env(&key, &value);
                }
                Change::Config { comment }
            }
            Instruction::Label(pairs) => {
                let mut comment = String::from("LABEL");
                for pair in pairs {
                    let key = word(stage, &self.args, &pair.key)?;
                    let value = word(stage, &self.args, &pair.value)?;
                    comment.push_str(&format!(" {key}={value}"));
                    stage.run.object("Labels").insert(key, json!(value));
                }
                Change::Config { comment }
            }
            Instruction::Maintainer(name) => {
                stage.author = Some(name.clone());
                Change::Config {
                    comment: format!("MAINTAINER {name}"),
                }
            }
            Instruction::Arg(decls) => {
                let mut expanded = Vec::new();
                for decl in decls {
                    let name = word(stage, &self.args, &decl.name)?;
                    let default = match &decl.default {
                        Some(d) => Some(word(stage, &self.args, d)?),
                        None => None,
                    };
                    expanded.push((name, default));
                }
                let mut parts = Vec::new();
                for (name, default) in expanded {
                    parts.push(match &default {
                        Some(d) => format!("{name}={d}"),
                        None => name.clone(),
                    });
                    stage.args.declare(&mut self.args, &name, default);
                }
                Change::Config {
                    comment: format!("ARG {}", parts.join(" ")),
                }
            }
            Instruction::Expose(ports) => {
                let mut words = Vec::new();
                for p in ports {
                    words.extend(expand::words(p, escape, &stage.lookup(&self.args))?);
                }
                words.sort();
                let mut specs = Vec::new();
                for w in &words {
                    specs.extend(
                        crate::image::commit::expose(w)
                            .map_err(|e| BuildError::bad(e.to_string()))?,
                    );
                }
                let exposed = stage.run.object("ExposedPorts");
                for spec in specs {
                    exposed.insert(spec, json!({}));
                }
                Change::Config {
                    comment: format!("EXPOSE {}", words.join(" ")),
                }
            }
            Instruction::User(user) => {
                let user = word(stage, &self.args, user)?;
                stage.run.set("User", json!(user));
                Change::Config {
                    comment: format!("USER {user}"),
                }
            }
            Instruction::Volume(volumes) => {
                let mut list = Vec::new();
                for v in volumes {
                    let v = word(stage, &self.args, v)?;
                    if v.trim().is_empty() {
                        return Err(BuildError::bad(
                            "VOLUME specified can not be an empty string",
                        ));
                    }
                    stage.run.object("Volumes").insert(v.clone(), json!({}));
                    list.push(v);
                }
                Change::Config {
                    comment: format!("VOLUME {}", go_list(&list)),
                }
            }
            Instruction::StopSignal(signal) => {
                let signal = word(stage, &self.args, signal)?;
                crate::container::service::parse_signal(&signal)
                    .map_err(|e| BuildError::bad(e.to_string()))?;
                stage.run.set("StopSignal", json!(signal));
                Change::Config {
                    comment: format!("STOPSIGNAL {signal}"),
                }
            }
            Instruction::Shell(shell) => {
                stage.run.set("Shell", json!(shell));
                Change::Config {
                    comment: format!("SHELL {}", go_list(shell)),
                }
            }
            Instruction::Cmd(line) => {
                let cmd = command(&stage.run, line);
                stage.run.set("Cmd", json!(cmd));
                if !line.is_empty() {
                    stage.cmd_set = true;
                }
                Change::Config {
                    comment: format!("CMD {}", go_quoted(&cmd)),
                }
            }
            Instruction::Entrypoint(line) => {
                let entrypoint = command(&stage.run, line);
                let value = if entrypoint.is_empty() {
                    Value::Null
                } else {
                    json!(entrypoint)
                };
                stage.run.set("Entrypoint", value);
                if !stage.cmd_set {
                    stage.run.set("Cmd", Value::Null);
                }
                Change::Config {
                    comment: format!("ENTRYPOINT {}", go_quoted(&entrypoint)),
                }
            }
            Instruction::Healthcheck(health) => {
                let value = match health {
                    Health::None => json!({ "Test": ["NONE"] }),
                    Health::Check {
                        test,
                        interval,
                        timeout,
                        start_period,
                        start_interval,
                        retries,
                    } => {
                        let mut v = json!({ "Test": test });
                        for (key, n) in [
                            ("Interval", interval),
                            ("Timeout", timeout),
                            ("StartPeriod", start_period),
                            ("StartInterval", start_interval),
                            ("Retries", retries),
                        ] {
                            if *n != 0 {
                                v[key] = json!(n);
                            }
                        }
                        v
                    }
                };
                let previous = stage.run.to_value()["Healthcheck"]["Test"].clone();
                if previous
                    .get(0)
                    .and_then(Value::as_str)
                    .is_some_and(|t| t != "NONE")
                {
                    self.out.text(format!(
                        "Note: overriding previous HEALTHCHECK: {}\n",
                        go_list(
                            &previous
                                .as_array()
                                .map(|a| a
                                    .iter()
                                    .filter_map(|s| s.as_str().map(str::to_string))
                                    .collect::<Vec<_>>())
                                .unwrap_or_default()
                        )
                    ));
                }
                stage.run.set("Healthcheck", value.clone());
                Change::Config {
                    comment: format!("HEALTHCHECK {value}"),
                }
            }
            Instruction::Onbuild(expression) => {
                let mut triggers = stage.run.list("OnBuild");
                triggers.push(expression.clone());
                stage.run.set("OnBuild", json!(triggers));
                Change::Config {
                    comment: format!("ONBUILD {expression}"),
                }
            }
            Instruction::Workdir(dir) => {
                let dir = word(stage, &self.args, dir)?;
                let absolute = absolute(&stage.run.working_dir(), &dir);
                let absolute = absolute.trim_end_matches('/').to_string();
                let absolute = if absolute.is_empty() {
                    "/".to_string()
                } else {
                    absolute
                };
                stage.run.set("WorkingDir", json!(absolute));
                Change::Workdir {
                    comment: format!("WORKDIR {absolute}"),
                    dir: absolute,
                }
            }
            Instruction::Run(line) => {
                let cmd = command(&stage.run, line);
                let env = stage.run.env();
                let in_effect: Vec<String> = stage
                    .args
                    .in_effect(&self.args, &env)
                    .into_iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                let mut history = stage.args.history_prefix(&self.args, &env);
                history.extend(cmd.iter().cloned());
                let mut full_env = env;
                full_env.extend(in_effect);
                Change::Run {
                    cmd,
                    history,
                    env: full_env,
                }
            }
            Instruction::Copy(copy_args) | Instruction::Add(copy_args) => {
                let add = matches!(instruction, Instruction::Add(_));
                self.copy_change(stage, copy_args, add).await?
            }
        })
    }

    /// COPY/ADD: arguments expanded, sources found, content digested (from the index).
    async fn copy_change(
        &self,
        stage: &Stage,
        args: &CopyArgs,
        add: bool,
    ) -> Result<Change, BuildError> {
        let lookup = stage.lookup(&self.args);
        let expand = |text: &str| expand::word(text, self.escape, &lookup);
        let mut sources = Vec::new();
        for s in &args.sources {
            sources.push(expand(s)?);
        }
        let dest_raw = expand(&args.dest)?;
        let chown = args.chown.as_deref().map(&expand).transpose()?;
        let chmod = match args.chmod.as_deref().map(&expand).transpose()? {
            Some(m) => Some(super::super::chown::parse_chmod(&m)?),
            None => None,
        };
        let from = args.from.as_deref().map(&expand).transpose()?;
        let dest = absolute(&stage.run.working_dir(), &dest_raw);
        let mut downloads = Vec::new();
        for s in &sources {
            if archive::is_url(s) {
                if !add {
                    return Err(BuildError::bad("source can't be a URL for COPY"));
                }
                downloads.push(archive::download(s).await?);
            }
        }
        let spec = CopySpec {
            add,
            sources,
            dest,
            chown,
            chmod,
            downloads,
        };
        let Some(from) = from else {
            let what = copy::context_digest(&self.prepared.context, &spec)?;
            return Ok(Change::Copy {
                spec: Box::new(spec),
                from: None,
                what,
            });
        };
        let image = match self.stage_image(&from) {
            Some(image) => image,
            None => match from.parse::<usize>() {
                Ok(i) if i < self.done.len() => self.done[i].1.clone(),
                Ok(i) => {
                    return Err(BuildError::bad(format!(
                        "invalid from flag value {from}: stage index {i} is not an earlier stage"
                    )));
                }
                Err(_) => self
                    .image_or_pull(&from, false)
                    .await
                    .map_err(|e| e.context(&format!("invalid from flag value {from}")))?,
            },
        };
        let what = format!("--from={} {}", image.id, spec.sources.join(" "));
        Ok(Change::Copy {
            spec: Box::new(spec),
            from: Some(image),
            what,
        })
    }
}

/// RUN/CMD/ENTRYPOINT arguments as the command to store: the shell form wrapped in the
/// SHELL.
fn command(run: &RunConfig, line: &CommandLine) -> Vec<String> {
    match line {
        CommandLine::Exec(v) => v.clone(),
        CommandLine::Shell(s) if s.is_empty() => Vec::new(),
        CommandLine::Shell(s) => {
            let mut cmd = run.shell();
            cmd.push(s.clone());
            cmd
        }
    }
}
