//! The build: stages in order, each instruction a step — cached, or carried out and
//! committed as an image — with the legacy builder's output. Multi-stage: a stage's result
//! is a base (`FROM <stage>`) or a source (`COPY --from=<stage>`) for later stages; only
//! the last (or `target`) stage's image is tagged.

use super::Builds;
use super::args::{BuildArgs, StageArgs};
use super::cache;
use super::context::Context;
use super::copy::{self, CopySpec, archive};
use super::dockerfile::{
    self, CommandLine, CopyArgs, Dockerfile, Health, Instruction, Step, expand,
};
use super::error::BuildError;
use super::output::Output;
use super::run::{RunOptions, RunStep};
use super::runconfig::RunConfig;
use super::snapshot::{Scratch, lowers};
use crate::image::commit::{CommitRequest, DeriveRequest};
use crate::image::config::ImageConfig;
use crate::image::reference::Reference;
use crate::store::records::ImageRecord;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What a build was asked to do (the query of `POST /build`, checked).
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The Dockerfile's path in the context.
    pub dockerfile: String,
    /// Full names to tag the result with.
    pub tags: Vec<String>,
    pub build_args: BTreeMap<String, Option<String>>,
    pub labels: BTreeMap<String, String>,
    pub no_cache: bool,
    pub pull: bool,
    pub target: Option<String>,
    pub run: RunOptions,
    /// `X-Registry-Config`: registry → auth config, for pulling base images.
    pub registry_auth: serde_json::Map<String, Value>,
}

/// A build whose inputs were read and checked, ready to run.
pub struct Prepared {
    pub context: Arc<Context>,
    pub dockerfile: Dockerfile,
    /// How many stages run (all, or up to the target).
    pub stages: usize,
    pub options: BuildOptions,
}

/// One stage's state between steps.
struct Stage {
    image: ImageRecord,
    config: ImageConfig,
    run: RunConfig,
    args: StageArgs,
    /// MAINTAINER: the author of every image after it.
    author: Option<String>,
    cmd_set: bool,
    /// A step missed the cache: every later step of the stage runs.
    busted: bool,
}

/// What an instruction does once its arguments are resolved.
enum Change {
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

fn short(id: &str) -> &str {
    crate::image::service::short_id(id)
}

/// `%v` of a Go string slice: `[a b c]`.
fn go_list(items: &[String]) -> String {
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
    let mut cleaned = super::ignore::clean(&joined);
    if trailing && cleaned != "/" {
        cleaned.push('/');
    }
    cleaned
}

impl Stage {
    fn adopt(&mut self, builds: &Builds, image: ImageRecord) -> Result<(), BuildError> {
        self.config = builds.images.config(&image)?;
        self.run = RunConfig::stored(&self.config.config);
        self.image = image;
        Ok(())
    }

    /// The config to commit as the next image: the current one with the run config.
    fn next_config(&self) -> ImageConfig {
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
    fn lookup<'a>(&'a self, args: &'a BuildArgs) -> impl Fn(&str) -> Option<String> + 'a {
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
    fn nop(&self, comment: &str) -> String {
        format!("{} #(nop)  {comment}", self.run.shell().join(" "))
    }
}

/// One build in progress.
pub(super) struct Run<'a> {
    builds: &'a Builds,
    prepared: &'a Prepared,
    out: Output,
    args: BuildArgs,
    /// Finished stages: name and image.
    done: Vec<(Option<String>, ImageRecord)>,
    number: usize,
    total: usize,
    escape: char,
}

impl<'a> Run<'a> {
    pub(super) fn new(builds: &'a Builds, prepared: &'a Prepared, out: Output) -> Self {
        let df = &prepared.dockerfile;
        let meta = df.meta_args.len();
        let steps: usize = df.stages[..prepared.stages]
            .iter()
            .map(|s| 1 + s.steps.len())
            .sum();
        Run {
            builds,
            prepared,
            out,
            args: BuildArgs::new(prepared.options.build_args.clone()),
            done: Vec::new(),
            number: 1,
            total: meta + steps + prepared.options.labels.len(),
            escape: df.escape,
        }
    }

    fn step_line(&mut self, source: &str) {
        self.out.step(self.number, self.total, source);
        self.number += 1;
    }

    /// Runs every stage; returns the final image.
    pub(super) async fn build(&mut self) -> Result<ImageRecord, BuildError> {
        let df = &self.prepared.dockerfile;
        for warning in &df.warnings {
            self.out.text(format!("[WARNING]: {warning}\n"));
        }
        for step in &df.meta_args {
            self.step_line(&step.source);
            let Instruction::Arg(decls) = &step.instruction else {
                continue;
            };
            for decl in decls {
                let default = match &decl.default {
                    Some(d) => Some(self.expand_meta(d, step)?),
                    None => None,
                };
                let name = self.expand_meta(&decl.name, step)?;
                self.args.declare_meta(&name, default);
            }
        }
        let last = self.prepared.stages - 1;
        let mut result = None;
        for (index, stage_def) in df.stages[..self.prepared.stages].iter().enumerate() {
            self.step_line(&stage_def.source);
            let image = self.stage_base(stage_def).await?;
            let mut stage = self.begin(image)?;
            let triggers = stage.run.take_onbuild();
            if !triggers.is_empty() {
                self.out.text(format!(
                    "# Executing {} build trigger{}\n",
                    triggers.len(),
                    if triggers.len() > 1 { "s" } else { "" }
                ));
                for trigger in &triggers {
                    let step = dockerfile::Dockerfile::parse_trigger(trigger, self.escape)
                        .map_err(|e| {
                            BuildError::bad(format!("ONBUILD trigger {trigger:?}: {e}"))
                        })?;
                    self.step(&mut stage, &step).await.map_err(|e| {
                        e.context(&format!(
                            "line {}: ONBUILD trigger {trigger:?}",
                            stage_def.line
                        ))
                    })?;
                }
            }
            self.out.arrow(short(&stage.image.id));
            for step in &stage_def.steps {
                self.out.check_cancelled()?;
                self.step_line(&step.source);
                self.step(&mut stage, step).await?;
                self.out.arrow(short(&stage.image.id));
            }
            if index == last {
                for (key, value) in &self.prepared.options.labels {
                    let source = format!("LABEL {key}={value}");
                    self.step_line(&source);
                    stage.run.object("Labels").insert(key.clone(), json!(value));
                    let change = Change::Config { comment: source };
                    self.commit(&mut stage, change).await?;
                    self.out.arrow(short(&stage.image.id));
                }
            }
            self.out.aux_id(&stage.image.id);
            self.done
                .push((stage_def.from.name.clone(), stage.image.clone()));
            result = Some(stage.image);
        }
        let unused = self.args.unconsumed();
        if !unused.is_empty() {
            self.out.text(format!(
                "[Warning] One or more build-args {} were not consumed\n",
                go_list(&unused)
            ));
        }
        result.ok_or_else(|| BuildError::bad("No image was generated. Is your Dockerfile empty?"))
    }

    fn expand_meta(&self, word: &str, step: &Step) -> Result<String, BuildError> {
        let lookup = |name: &str| self.args.meta_value(name);
        expand::word(word, self.escape, &lookup)
            .map_err(|e| BuildError::bad(format!("line {}: {e}", step.line)))
    }

    fn begin(&self, image: ImageRecord) -> Result<Stage, BuildError> {
        let config = self.builds.images.config(&image)?;
        let run = RunConfig::from_image(&config.config);
        Ok(Stage {
            image,
            config,
            run,
            args: StageArgs::default(),
            author: None,
            cmd_set: false,
            busted: false,
        })
    }

    /// The image a FROM names: an earlier stage, `scratch`, or an image (pulled when
    /// missing, or always with `pull`).
    async fn stage_base(&self, stage: &dockerfile::Stage) -> Result<ImageRecord, BuildError> {
        let at = |e: BuildError| e.context(&format!("line {}", stage.line));
        if let Some(platform) = &stage.from.platform {
            let lookup = |name: &str| self.args.meta_value(name);
            let platform =
                expand::word(platform, self.escape, &lookup).map_err(|e| at(e.into()))?;
            check_platform(&platform).map_err(at)?;
        }
        let lookup = |name: &str| self.args.meta_value(name);
        let name =
            expand::word(&stage.from.image, self.escape, &lookup).map_err(|e| at(e.into()))?;
        if name.is_empty() {
            return Err(at(BuildError::bad(format!(
                "base name ({}) should not be blank",
                stage.from.image
            ))));
        }
        if let Some(image) = self.stage_image(&name) {
            return Ok(image);
        }
        if name == "scratch" {
            return self.builds.scratch_image().await;
        }
        self.image_or_pull(&name, self.prepared.options.pull).await
    }

    fn stage_image(&self, name: &str) -> Option<ImageRecord> {
        let lower = name.to_ascii_lowercase();
        self.done
            .iter()
            .find(|(n, _)| n.as_deref() == Some(lower.as_str()))
            .map(|(_, image)| image.clone())
    }

    /// A local image, or pulled (its progress in the output).
    async fn image_or_pull(&self, name: &str, pull: bool) -> Result<ImageRecord, BuildError> {
        let reference = Reference::parse(name).map_err(|e| BuildError::bad(e.to_string()))?;
        if !pull && let Ok(image) = self.builds.images.resolve(name) {
            return Ok(image);
        }
        self.builds
            .pull(reference, &self.prepared.options.registry_auth, &self.out)
            .await
    }

    /// One instruction: resolved, then taken from the cache or carried out.
    async fn step(&mut self, stage: &mut Stage, step: &Step) -> Result<(), BuildError> {
        let at = |e: BuildError| -> BuildError {
            if e.code != 0 {
                e
            } else {
                e.context(&format!("line {}", step.line))
            }
        };
        let change = self.resolve(stage, &step.instruction).await.map_err(at)?;
        self.commit(stage, change).await.map_err(at)
    }

    /// Resolves the instruction's arguments; metadata instructions change the stage's run
    /// config here.
    async fn resolve(
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
            Some(m) => Some(super::chown::parse_chmod(&m)?),
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

    /// Takes the step from the cache, or carries it out and records it.
    async fn commit(&mut self, stage: &mut Stage, change: Change) -> Result<(), BuildError> {
        let created_by = match &change {
            Change::Config { comment } | Change::Workdir { comment, .. } => stage.nop(comment),
            Change::Run { history, .. } => history.join(" "),
            Change::Copy { spec, what, .. } => format!(
                "{} #(nop) {}",
                stage.run.shell().join(" "),
                spec.describe(what)
            ),
        };
        let key = cache::key(&stage.image.id, &created_by);
        if !self.prepared.options.no_cache
            && !stage.busted
            && let Some(image) = cache::lookup(&self.builds.images, &key)?
        {
            self.out.arrow("Using cache");
            return stage.adopt(self.builds, image);
        }
        stage.busted = true;
        let parent = stage.image.clone();
        let config = stage.next_config();
        let author = stage.author.clone();
        let image = match change {
            Change::Config { .. } => {
                self.builds
                    .images
                    .derive(DeriveRequest {
                        parent: &parent,
                        config,
                        created_by,
                        tags: &[],
                    })
                    .await?
            }
            Change::Run { cmd, env, .. } => {
                self.builds
                    .run_step(
                        RunStep {
                            parent: &parent,
                            cmd,
                            env,
                            working_dir: stage.run.working_dir(),
                            user: stage.run.user(),
                            config,
                            created_by,
                            author,
                        },
                        &self.prepared.options.run,
                        &self.out,
                    )
                    .await?
            }
            Change::Workdir { dir, .. } => {
                let work = move |root: &std::path::Path| copy::make_dir(root, &dir);
                self.builds
                    .layer_step(&parent, work, config, created_by, author)
                    .await?
            }
            Change::Copy { spec, from, .. } => {
                let context = self.prepared.context.clone();
                match from {
                    None => {
                        let work =
                            move |root: &std::path::Path| copy::from_context(&context, &spec, root);
                        self.builds
                            .layer_step(&parent, work, config, created_by, author)
                            .await?
                    }
                    Some(source) => {
                        let work = move |root: &std::path::Path, source_root: &std::path::Path| {
                            copy::from_image(source_root, &spec, root)
                        };
                        self.builds
                            .layer_step_from(&parent, &source, work, config, created_by, author)
                            .await?
                    }
                }
            }
        };
        cache::record(&self.builds.images, &key, &image.id)?;
        stage.adopt(self.builds, image)
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

/// `--platform`: this host builds linux/amd64 only.
fn check_platform(platform: &str) -> Result<(), BuildError> {
    let p = platform.to_ascii_lowercase();
    if p.is_empty() || p == "linux" || p == "linux/amd64" || p.starts_with("linux/amd64/") {
        return Ok(());
    }
    Err(BuildError::bad(format!(
        "platform {platform} is not supported: this builder makes linux/amd64 images only"
    )))
}

impl Builds {
    /// A step that writes files (COPY, ADD, WORKDIR): `work` runs on a snapshot of
    /// `parent`, then the snapshot's changes are committed.
    pub(super) async fn layer_step(
        &self,
        parent: &ImageRecord,
        work: impl FnOnce(&std::path::Path) -> Result<(), BuildError> + Send + 'static,
        config: ImageConfig,
        created_by: String,
        author: Option<String>,
    ) -> Result<ImageRecord, BuildError> {
        self.layer_step_from(
            parent,
            parent,
            move |root: &std::path::Path, _: &std::path::Path| work(root),
            config,
            created_by,
            author,
        )
        .await
    }

    /// [`layer_step`](Self::layer_step) with a second image (`COPY --from`) mounted to
    /// read from.
    pub(super) async fn layer_step_from(
        &self,
        parent: &ImageRecord,
        source: &ImageRecord,
        work: impl FnOnce(&std::path::Path, &std::path::Path) -> Result<(), BuildError> + Send + 'static,
        config: ImageConfig,
        created_by: String,
        author: Option<String>,
    ) -> Result<ImageRecord, BuildError> {
        let work_root = self.work_dir();
        let driver = self.driver;
        let parent_lowers = lowers(&self.images, parent).map_err(BuildError::internal)?;
        let source_lowers = if source.id == parent.id {
            None
        } else {
            Some(lowers(&self.images, source).map_err(BuildError::internal)?)
        };
        let scratch = tokio::task::spawn_blocking(move || -> Result<Scratch, BuildError> {
            let (scratch, root) =
                Scratch::mount(&work_root, driver, parent_lowers).map_err(BuildError::internal)?;
            match source_lowers {
                None => work(&root, &root)?,
                Some(lowers) => {
                    let (source, source_root) =
                        Scratch::mount(&work_root, driver, lowers).map_err(BuildError::internal)?;
                    let done = work(&root, &source_root);
                    drop(source);
                    done?;
                }
            }
            Ok(scratch)
        })
        .await
        .map_err(|e| BuildError::internal(format!("build step task: {e}")))??;
        let scratch = Arc::new(scratch);
        let (reader, writer) =
            std::io::pipe().map_err(|e| BuildError::internal(format!("pipe: {e}")))?;
        let producer = {
            let scratch = scratch.clone();
            tokio::task::spawn_blocking(move || scratch.write_layer(writer))
        };
        let image = self
            .images
            .commit(CommitRequest {
                parent,
                layer_tar: Box::new(reader),
                config,
                author,
                comment: None,
                created_by,
                tags: &[],
                empty_layer_if_unchanged: true,
            })
            .await;
        let produced = producer
            .await
            .map_err(|e| BuildError::internal(format!("layer task: {e}")))?;
        // Unmounting and deleting the snapshot is disk work: not on an async worker.
        let _ = tokio::task::spawn_blocking(move || drop(scratch)).await;
        produced.map_err(|e| BuildError::internal(format!("writing the layer: {e}")))?;
        Ok(image?)
    }
}
