//! The build: stages in order, each instruction a step — cached, or carried out and
//! committed as an image — with the legacy builder's output. Multi-stage: a stage's result
//! is a base (`FROM <stage>`) or a source (`COPY --from=<stage>`) for later stages; only
//! the last (or `target`) stage's image is tagged.

mod layer;
mod stage;

use super::Builds;
use super::args::{BuildArgs, StageArgs};
use super::cache;
use super::context::Context;
use super::copy;
use super::dockerfile::{self, Dockerfile, Instruction, Step, expand};
use super::error::BuildError;
use super::output::Output;
use super::run::{RunOptions, RunStep};
use super::runconfig::RunConfig;
use crate::image::commit::DeriveRequest;
use crate::image::reference::Reference;
use crate::store::records::ImageRecord;
use serde_json::{Value, json};
use stage::{Change, Stage, go_list};
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

fn short(id: &str) -> &str {
    crate::image::service::short_id(id)
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
            // All of the line is expanded with the meta args before it, then declared.
            let mut expanded = Vec::new();
            for decl in decls {
                let default = match &decl.default {
                    Some(d) => Some(self.expand_meta(d, step)?),
                    None => None,
                };
                expanded.push((self.expand_meta(&decl.name, step)?, default));
            }
            for (name, default) in expanded {
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
