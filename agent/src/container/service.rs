//! The container service: the table of containers and every lifecycle operation.
//!
//! Each container has a data lock (its record, held briefly) and an operation lock
//! (held across start/stop/remove so two operations on one container never interleave).
//! A monitor task per running container waits on its supervisor and records the exit.

use super::ContainerError;
use super::config::{CreateRequest, ImageDefaults, merge};
use super::life::{Life, WaitCondition, wait_for};
use super::record::{ContainerRecord, State, Status};
use super::record_file::RecordFile;
use super::{names, networking, resources, runtime_spec};
use crate::events::EventBus;
use crate::image::Images;
use crate::layer::snapshot::Driver;
use crate::network::Networks;
use crate::runtime::cgroups::Cgroups;
use crate::runtime::client::{self, ShimConn};
use crate::runtime::protocol::{ExitStatus, Reply};
use crate::util::clock::{now_nanos, rfc3339};
use crate::util::random::hex_secret;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::net::UnixStream;
use tokio::sync::{oneshot, watch};

/// The deletion of a removed container's directory, when this call removed it.
type Deleted = Option<tokio::task::JoinHandle<()>>;

pub struct Containers {
    dir: PathBuf,
    /// The init layer all containers share ([`INIT_LAYER`]).
    init_layer: PathBuf,
    /// Removed containers' directories, deleted in the background ([`super::trash`]).
    trash: super::trash::Trash,
    volumes: PathBuf,
    /// Forks supervisors (`berth shim-server`).
    spawner: crate::runtime::spawner::Spawner,
    images: Arc<Images>,
    events: Arc<EventBus>,
    cgroups: Cgroups,
    driver: Driver,
    pub(super) networks: Arc<Networks>,
    table: Mutex<Table>,
    execs: Mutex<HashMap<String, Arc<super::exec::Exec>>>,
    pub(super) usage: super::usage::UsageHub,
}

#[derive(Default)]
struct Table {
    by_id: HashMap<String, Arc<Container>>,
    /// name (without `/`) → id
    names: HashMap<String, String>,
}

/// An attach made before the container started: handed its stream at start.
struct PendingAttach {
    stdin: bool,
    stdout: bool,
    stderr: bool,
    reply: oneshot::Sender<UnixStream>,
}

pub struct Container {
    pub id: String,
    dir: PathBuf,
    record: Mutex<ContainerRecord>,
    file: Arc<RecordFile>,
    pub(super) op: tokio::sync::Mutex<()>,
    life: watch::Sender<Life>,
    pending: Mutex<Vec<PendingAttach>>,
}

impl Container {
    pub fn snapshot(&self) -> ContainerRecord {
        self.record
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn life(&self) -> watch::Receiver<Life> {
        self.life.subscribe()
    }

    pub(super) fn set_host_config(
        &self,
        host_config: serde_json::Map<String, Value>,
    ) -> Result<(), ContainerError> {
        self.update(|r| r.host_config = host_config).map(|_| ())
    }

    /// Changes the record in memory only; the next `update` writes it. For state a crash
    /// may lose because recovery rebuilds it (a container's network namespace and leases
    /// are found and freed at the next start).
    pub(super) fn update_unsaved(&self, change: impl FnOnce(&mut ContainerRecord)) {
        change(&mut self.record.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// Changes the record and writes it (durably soon after: [`RecordFile`]). The change
    /// holds in memory even when the write fails (a full disk): lifecycle steps — an exit,
    /// a forced removal that frees the space — must go on; the next successful write
    /// catches the file up.
    pub(super) fn update(
        &self,
        change: impl FnOnce(&mut ContainerRecord),
    ) -> Result<ContainerRecord, ContainerError> {
        let mut record = self.record.lock().unwrap_or_else(|p| p.into_inner());
        change(&mut record);
        if let Err(e) = record.to_bytes().and_then(|b| {
            self.file
                .write(b)
                .map_err(|e| ContainerError::io(self.file.path(), e))
        }) {
            tracing::warn!("container {}: record not saved: {e}", record.id);
        }
        Ok(record.clone())
    }
}

fn now_rfc3339() -> String {
    rfc3339(SystemTime::now())
}

/// Docker's default stop timeout.
const DEFAULT_STOP_TIMEOUT: i64 = 10;

/// A signal by name (`TERM`, `SIGTERM`) or number.
pub fn parse_signal(value: &str) -> Result<i32, ContainerError> {
    let v = value.trim();
    if let Ok(n) = v.parse::<i32>()
        && (1..=64).contains(&n)
    {
        return Ok(n);
    }
    let name = v.to_ascii_uppercase();
    let name = name.strip_prefix("SIG").unwrap_or(&name);
    let n = match name {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "ILL" => 4,
        "TRAP" => 5,
        "ABRT" | "IOT" => 6,
        "BUS" => 7,
        "FPE" => 8,
        "KILL" => 9,
        "USR1" => 10,
        "SEGV" => 11,
        "USR2" => 12,
        "PIPE" => 13,
        "ALRM" => 14,
        "TERM" => 15,
        "STKFLT" => 16,
        "CHLD" => 17,
        "CONT" => 18,
        "STOP" => 19,
        "TSTP" => 20,
        "TTIN" => 21,
        "TTOU" => 22,
        "URG" => 23,
        "XCPU" => 24,
        "XFSZ" => 25,
        "VTALRM" => 26,
        "PROF" => 27,
        "WINCH" => 28,
        "IO" | "POLL" => 29,
        "PWR" => 30,
        "SYS" => 31,
        _ => {
            return Err(ContainerError::BadInput(format!("Invalid signal: {value}")));
        }
    };
    Ok(n)
}

impl Containers {
    /// Opens the containers under `<data root>/containers`, re-attaching to those whose
    /// supervisors still run (live restore) and recording the exits of the others.
    pub fn open(
        data_root: &Path,
        images: Arc<Images>,
        events: Arc<EventBus>,
        driver: Driver,
        networks: Arc<Networks>,
    ) -> Result<Arc<Self>, ContainerError> {
        let exe = std::env::current_exe()
            .map_err(|e| ContainerError::Runtime(format!("locating the berth binary: {e}")))?;
        let cgroups =
            Cgroups::detect().map_err(|e| ContainerError::Runtime(format!("cgroups: {e}")))?;
        let init_layer = data_root.join(INIT_LAYER);
        write_init_layer(&init_layer)?;
        let trash = super::trash::Trash::open(&data_root.join("trash"))
            .map_err(|e| ContainerError::io(data_root.join("trash"), e))?;
        let service = Arc::new(Containers {
            dir: data_root.join("containers"),
            init_layer,
            trash,
            volumes: data_root.join("volumes"),
            spawner: crate::runtime::spawner::Spawner::new(&exe, &data_root.join("containers")),
            images,
            events,
            cgroups,
            driver,
            networks,
            table: Mutex::new(Table::default()),
            execs: Mutex::new(HashMap::new()),
            usage: Default::default(),
        });
        let weak = Arc::downgrade(&service);
        service.images.set_in_use(Box::new(move || {
            weak.upgrade()
                .map(|s| s.images_in_use())
                .unwrap_or_default()
        }));
        service.recover()?;
        Ok(service)
    }

    pub fn driver(&self) -> &Driver {
        &self.driver
    }

    pub fn volumes_root(&self) -> &Path {
        &self.volumes
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every container, newest first.
    pub fn all(&self) -> Vec<Arc<Container>> {
        let mut all: Vec<Arc<Container>> = self.table().by_id.values().cloned().collect();
        all.sort_by_key(|c| std::cmp::Reverse(c.snapshot().created));
        all
    }

    /// IDs of the containers with a process (running or paused), in no order, without
    /// copying their records.
    pub fn live_ids(&self) -> Vec<String> {
        let all: Vec<Arc<Container>> = self.table().by_id.values().cloned().collect();
        all.into_iter()
            .filter(|c| {
                c.record
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .state
                    .status
                    .is_live()
            })
            .map(|c| c.id.clone())
            .collect()
    }

    /// By full ID, name (with or without `/`), or unique ID prefix.
    pub fn find(&self, input: &str) -> Result<Arc<Container>, ContainerError> {
        let table = self.table();
        if let Some(c) = table.by_id.get(input) {
            return Ok(c.clone());
        }
        let name = input.strip_prefix('/').unwrap_or(input);
        if let Some(id) = table.names.get(name)
            && let Some(c) = table.by_id.get(id)
        {
            return Ok(c.clone());
        }
        if !input.is_empty() && input.chars().all(|c| c.is_ascii_hexdigit()) {
            let matches: Vec<&Arc<Container>> = table
                .by_id
                .iter()
                .filter(|(id, _)| id.starts_with(input))
                .map(|(_, c)| c)
                .collect();
            match matches.as_slice() {
                [one] => return Ok((*one).clone()),
                [] => {}
                _ => {
                    return Err(ContainerError::BadInput(format!(
                        "multiple IDs found with provided prefix: {input}"
                    )));
                }
            }
        }
        Err(ContainerError::NotFound(input.to_string()))
    }

    pub(super) fn execs_table(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, Arc<super::exec::Exec>>> {
        self.execs.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn container_event(
        &self,
        record: &ContainerRecord,
        action: &str,
        extra: &[(&str, String)],
    ) {
        self.event(record, action, extra)
    }

    fn event(&self, record: &ContainerRecord, action: &str, extra: &[(&str, String)]) {
        let mut attributes: BTreeMap<String, String> = record
            .labels()
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
            .collect();
        attributes.insert("image".into(), record.image_name.clone());
        attributes.insert("name".into(), record.name.clone());
        for (k, v) in extra {
            attributes.insert(k.to_string(), v.clone());
        }
        self.events
            .publish("container", action, &record.id, attributes);
    }

    pub fn images(&self) -> &Arc<Images> {
        &self.images
    }

    /// A container's read-only layers, bottom first: its image's, then the init layer.
    pub fn container_lowers(
        &self,
        image_id: &str,
        dir: &Path,
    ) -> Result<Vec<PathBuf>, ContainerError> {
        let mut lowers = self.lowers(image_id)?;
        let own = dir.join(OWN_INIT_LAYER);
        lowers.push(if own.is_dir() {
            own
        } else {
            self.init_layer.clone()
        });
        Ok(lowers)
    }

    /// The layer directories of an image, bottom first.
    fn lowers(&self, image_id: &str) -> Result<Vec<PathBuf>, ContainerError> {
        let image = self.images.resolve(image_id)?;
        image
            .layers
            .iter()
            .map(|chain| {
                crate::store::digest::Digest::parse(chain)
                    .map(|d| self.images.store().layers.diff(&d))
                    .map_err(|e| ContainerError::Runtime(format!("layer {chain}: {e}")))
            })
            .collect()
    }

    /// `POST /containers/create`.
    pub async fn create(
        &self,
        request: CreateRequest,
        name: Option<&str>,
    ) -> Result<ContainerRecord, ContainerError> {
        let image = self.images.resolve(&request.config.image)?;
        let image_config = self.images.config(&image)?;
        let defaults: ImageDefaults =
            serde_json::from_value(image_config.config.clone()).unwrap_or_default();
        let merged = merge(&request.config, &defaults)?;
        let host = &request.host_config;
        runtime_spec::capabilities(host)?;
        runtime_spec::check_network_mode(&host.network_mode)?;
        self.check_create_networking(&request)?;
        runtime_spec::volume_mounts(host, &self.volumes)?;
        let id = hex_secret(32).map_err(|e| ContainerError::Runtime(format!("random: {e}")))?;
        let name = self.reserve_name(name, &id)?;
        let result = self.create_reserved(&request, &image, &defaults, merged, &id, &name);
        if result.is_err() {
            self.table().names.remove(&name);
        }
        let record = result?;
        self.event(&record, "create", &[]);
        Ok(record)
    }

    fn reserve_name(&self, name: Option<&str>, id: &str) -> Result<String, ContainerError> {
        let mut table = self.table();
        let name = match name.filter(|n| !n.is_empty()) {
            Some(n) => {
                let n = names::validate(n)?;
                if let Some(owner) = table.names.get(&n) {
                    return Err(ContainerError::Conflict(format!(
                        "Conflict. The container name \"/{n}\" is already in use by container \"{owner}\". You have to remove (or rename) that container to be able to reuse that name."
                    )));
                }
                n
            }
            None => {
                let mut random = [0u8; 2];
                getrandom::fill(&mut random).map_err(|e| ContainerError::Runtime(e.to_string()))?;
                (0..)
                    .map(|attempt| names::generate(random, attempt))
                    .find(|n| !table.names.contains_key(n))
                    .unwrap_or_else(|| id[..12].to_string())
            }
        };
        table.names.insert(name.clone(), id.to_string());
        Ok(name)
    }

    fn create_reserved(
        &self,
        request: &CreateRequest,
        image: &crate::store::records::ImageRecord,
        defaults: &ImageDefaults,
        merged: super::config::Merged,
        id: &str,
        name: &str,
    ) -> Result<ContainerRecord, ContainerError> {
        let mut config = request.config_raw.clone();
        config.insert("Image".into(), json!(request.config.image));
        config.insert("Cmd".into(), json!(merged.cmd));
        config.insert(
            "Entrypoint".into(),
            if merged.entrypoint.is_empty() {
                Value::Null
            } else {
                json!(merged.entrypoint)
            },
        );
        config.insert("Env".into(), json!(merged.env));
        config.insert("WorkingDir".into(), json!(merged.working_dir));
        config.insert("User".into(), json!(merged.user));
        config.insert("Labels".into(), json!(merged.labels));
        if request.config.hostname.is_empty() {
            config.insert("Hostname".into(), json!(&id[..12]));
        }
        if !merged.stop_signal.is_empty() {
            config.insert("StopSignal".into(), json!(merged.stop_signal));
        }
        let mut ports = defaults.exposed_ports.clone().unwrap_or_default();
        ports.extend(request.config.exposed_ports.clone().unwrap_or_default());
        if !ports.is_empty() {
            config.insert("ExposedPorts".into(), json!(ports));
        }
        for key in [
            "Tty",
            "OpenStdin",
            "StdinOnce",
            "AttachStdin",
            "AttachStdout",
            "AttachStderr",
        ] {
            config.entry(key).or_insert(json!(false));
        }
        let mut host_config = request.host_config_raw.clone();
        fill_host_defaults(&mut host_config);
        let networking = networking::normalise_networking(
            &request.networking_raw,
            &request.host_config.network_mode,
        );
        let dir = self.dir.join(id);
        std::fs::create_dir(&dir).map_err(|e| ContainerError::io(&dir, e))?;
        let record = ContainerRecord {
            id: id.to_string(),
            name: name.to_string(),
            created: now_rfc3339(),
            image_id: image.id.clone(),
            image_name: request.config.image.clone(),
            config,
            host_config,
            networking,
            argv: merged.argv(),
            state: State::default(),
            restart_count: 0,
            stopped_by_user: false,
            driver: self.driver.name().to_string(),
            sandbox: Default::default(),
        };
        let file = RecordFile::new(&dir, false);
        let made = (|| -> Result<(), ContainerError> {
            let lowers = self.container_lowers(&image.id, &dir)?;
            self.driver
                .prepare(&dir, &lowers)
                .map_err(|e| ContainerError::Runtime(format!("preparing the rootfs: {e}")))?;
            file.write(record.to_bytes()?)
                .map_err(|e| ContainerError::io(file.path(), e))
        })();
        if let Err(e) = made {
            file.close();
            let _ = self.driver.remove(&dir);
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
        let container = Arc::new(Container {
            id: id.to_string(),
            dir,
            record: Mutex::new(record.clone()),
            file,
            op: tokio::sync::Mutex::new(()),
            life: watch::channel(Life::default()).0,
            pending: Mutex::new(Vec::new()),
        });
        self.table().by_id.insert(id.to_string(), container);
        Ok(record)
    }

    /// `POST /containers/{id}/start`. `Ok(false)` when it was already running (304).
    pub async fn start(self: &Arc<Self>, input: &str) -> Result<bool, ContainerError> {
        let container = self.find(input)?;
        let _op = container.op.lock().await;
        let record = container.snapshot();
        match record.state.status {
            Status::Running | Status::Restarting => return Ok(false),
            Status::Paused => {
                return Err(ContainerError::Conflict(
                    "cannot start a paused container, try unpause instead".into(),
                ));
            }
            Status::Removing | Status::Dead => {
                return Err(ContainerError::Conflict(format!(
                    "container {} is marked for removal and cannot be started",
                    record.id
                )));
            }
            Status::Created | Status::Exited => {}
        }
        self.start_locked(&container).await
    }

    async fn start_locked(
        self: &Arc<Self>,
        container: &Arc<Container>,
    ) -> Result<bool, ContainerError> {
        let record = container.snapshot();
        let dir = container.dir.clone();
        for stale in [
            crate::runtime::protocol::EXIT_FILE,
            crate::runtime::protocol::SOCKET,
        ] {
            let _ = std::fs::remove_file(dir.join(stale));
        }
        let lowers = self.container_lowers(&record.image_id, &dir)?;
        let host = record.host_config_typed();
        let mounted = if host.auto_remove {
            self.driver.mount_ephemeral(&dir, &lowers)
        } else {
            self.driver.mount(&dir, &lowers)
        };
        let rootfs =
            mounted.map_err(|e| ContainerError::Runtime(format!("mounting the rootfs: {e}")))?;
        let cgroup = match self.cgroups.create(
            &record.id,
            &resources::from_host_config(&host),
            host.privileged,
        ) {
            Ok(c) => c,
            Err(e) => {
                let _ = self.driver.unmount(&dir);
                return Err(ContainerError::Runtime(format!("cgroup: {e}")));
            }
        };
        let undo = |this: &Self| {
            this.release_network(container);
            let _ = cgroup.destroy();
            let _ = this.driver.unmount(&dir);
        };
        let (network, hosts) = match self.prepare_network(container, &record).await {
            Ok(n) => n,
            Err(e) => {
                undo(self);
                return Err(e);
            }
        };
        let spec = match runtime_spec::build(runtime_spec::SpecInputs {
            record: &record,
            dir: &dir,
            rootfs,
            cgroup_procs: cgroup.procs_files(),
            volumes_root: &self.volumes,
            network,
            hosts,
        }) {
            Ok(s) => s,
            Err(e) => {
                undo(self);
                return Err(e);
            }
        };
        // Read once, by the supervisor about to start, and written again at every start:
        // no fsync (a host crash ends the container it describes).
        let spec_path = dir.join("spec.json");
        let written = serde_json::to_vec(&spec)
            .map_err(|e| ContainerError::Runtime(format!("encode spec: {e}")))
            .and_then(|bytes| {
                crate::util::atomic_file::write_replace(&spec_path, &bytes, 0o600)
                    .map_err(|e| ContainerError::io(&spec_path, e))
            });
        if let Err(e) = written {
            undo(self);
            return Err(e);
        }
        let started = self.launch(container, &dir).await;
        match started {
            Ok(pid) => {
                let record = container.update(|r| {
                    r.stopped_by_user = false;
                    r.state = State {
                        status: Status::Running,
                        pid,
                        exit_code: 0,
                        error: String::new(),
                        started_at: now_rfc3339(),
                        finished_at: r.state.finished_at.clone(),
                        oom_killed: false,
                    };
                })?;
                container.life.send_modify(|l| {
                    l.running = true;
                    l.error = None;
                });
                self.event(&record, "start", &[]);
                self.spawn_monitor(container.clone());
                self.refresh_neighbours(&record.id);
                Ok(true)
            }
            Err((message, exit_code)) => {
                undo(self);
                let record = container.update(|r| {
                    r.state.exit_code = exit_code;
                    r.state.error = message.clone();
                    r.state.pid = 0;
                    if r.state.status != Status::Created {
                        r.state.status = Status::Exited;
                        r.state.finished_at = now_rfc3339();
                    }
                })?;
                container.life.send_modify(|l| {
                    l.running = false;
                    l.exits += 1;
                    l.exit_code = exit_code;
                    // The start request reports the failure; waiters see only the code
                    // (the CLI would print the message twice).
                    l.error = None;
                });
                self.event(&record, "die", &[("exitCode", exit_code.to_string())]);
                // Attaches waiting for this start get nothing: dropping their senders
                // ends their streams.
                container
                    .pending
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clear();
                if record.host_config_typed().auto_remove {
                    let this = self.clone();
                    let id = record.id.clone();
                    tokio::spawn(async move {
                        let _ = this.remove_now(&id).await;
                    });
                }
                Err(ContainerError::Start { message, exit_code })
            }
        }
    }

    /// Spawns the supervisor, hands it the waiting attaches, and releases the process.
    async fn launch(&self, container: &Container, dir: &Path) -> Result<i32, (String, i32)> {
        self.spawner
            .spawn(dir)
            .await
            .map_err(|e| (e.to_string(), 125))?;
        let pending: Vec<PendingAttach> =
            std::mem::take(&mut *container.pending.lock().unwrap_or_else(|p| p.into_inner()));
        for attach in pending {
            if let Ok(conn) = ShimConn::connect(dir).await
                && let Ok(stream) = conn
                    .attach(attach.stdin, attach.stdout, attach.stderr)
                    .await
            {
                let _ = attach.reply.send(stream);
            }
        }
        let conn = ShimConn::connect(dir)
            .await
            .map_err(|e| (e.to_string(), 125))?;
        match conn.start().await.map_err(|e| (e.to_string(), 125))? {
            Reply::Started { pid } => Ok(pid),
            Reply::Error { message, exit_code } => Err((message, exit_code)),
            other => Err((format!("unexpected supervisor reply {other:?}"), 125)),
        }
    }

    fn spawn_monitor(self: &Arc<Self>, container: Arc<Container>) {
        let this = self.clone();
        tokio::spawn(async move {
            let exit = this.wait_supervisor(&container).await;
            this.finish(&container, exit).await;
        });
    }

    /// The main process's exit: from the supervisor, or from its file if it is gone.
    async fn wait_supervisor(&self, container: &Container) -> ExitStatus {
        loop {
            match ShimConn::connect(&container.dir).await {
                Ok(conn) => match conn.wait().await {
                    Ok(exit) => return exit,
                    // The supervisor went away without answering (it exits right after
                    // recording the exit): read the record at once.
                    Err(_) => match client::read_exit(&container.dir) {
                        Some(exit) => return exit,
                        None => tokio::time::sleep(Duration::from_millis(5)).await,
                    },
                },
                Err(_) => {
                    if let Some(exit) = client::read_exit(&container.dir) {
                        return exit;
                    }
                    // No supervisor and no record of an exit: the host restarted, or
                    // the supervisor was killed. Docker reports these as 255.
                    return ExitStatus {
                        exit_code: 255,
                        signal: None,
                        finished_at: now_nanos(),
                        error: Some("the container's supervisor is gone".into()),
                    };
                }
            }
        }
    }

    /// Records an exit and applies the restart policy or `--rm`.
    async fn finish(self: &Arc<Self>, container: &Arc<Container>, exit: ExitStatus) {
        let op = container.op.lock().await;
        let record = container.snapshot();
        let cgroup = self.cgroups.open(&record.id);
        let oom = cgroup.as_ref().is_some_and(|c| c.oom_kill_count() > 0);
        let finished = humantime::format_rfc3339_nanos(
            std::time::UNIX_EPOCH + Duration::from_nanos(exit.finished_at.max(0) as u64),
        )
        .to_string();
        let Ok(record) = container.update(|r| {
            r.state.status = Status::Exited;
            r.state.pid = 0;
            r.state.exit_code = exit.exit_code;
            r.state.finished_at = finished.clone();
            r.state.oom_killed = oom;
            r.state.error = exit.error.clone().unwrap_or_default();
        }) else {
            return;
        };
        if oom {
            self.event(&record, "oom", &[]);
        }
        self.event(&record, "die", &[("exitCode", exit.exit_code.to_string())]);
        container.life.send_modify(|l| {
            l.running = false;
            l.exits += 1;
            l.exit_code = exit.exit_code;
            l.error = None;
        });
        // Cleanup after waiters have heard of the exit (the operation lock keeps a start or
        // remove from racing it); cgroup removal may wait for the kernel, so not on an
        // async worker.
        let this = self.clone();
        let exited = container.clone();
        let _ = tokio::task::spawn_blocking(move || {
            this.release_network(&exited);
            if let Some(c) = &cgroup {
                let _ = c.destroy();
            }
            let _ = this.driver.unmount(&exited.dir);
        })
        .await;
        let host = record.host_config_typed();
        if self.should_restart(&record, &host) {
            let delay = Duration::from_millis(100u64 << record.restart_count.min(6));
            let _ = container.update(|r| {
                r.restart_count += 1;
                r.state.status = Status::Restarting;
            });
            drop(op);
            tokio::time::sleep(delay).await;
            let _op = container.op.lock().await;
            let current = container.snapshot();
            if current.state.status != Status::Restarting || current.stopped_by_user {
                return;
            }
            if self.start_locked(container).await.is_err() {
                let _ = container.update(|r| r.state.status = Status::Exited);
            }
            return;
        }
        drop(op);
        if host.auto_remove {
            let _ = self.remove_now(&record.id).await;
        }
    }

    fn should_restart(&self, record: &ContainerRecord, host: &super::config::HostConfig) -> bool {
        if record.stopped_by_user {
            return false;
        }
        let policy = &host.restart_policy;
        match policy.name.as_str() {
            "always" | "unless-stopped" => true,
            "on-failure" => {
                record.state.exit_code != 0
                    && (policy.maximum_retry_count == 0
                        || i64::from(record.restart_count) < policy.maximum_retry_count)
            }
            _ => false,
        }
    }

    /// Live restore at agent start: load every record; re-attach to running ones.
    fn recover(self: &Arc<Self>) -> Result<(), ContainerError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| ContainerError::io(&self.dir, e))?;
        let entries = std::fs::read_dir(&self.dir).map_err(|e| ContainerError::io(&self.dir, e))?;
        let mut live = Vec::new();
        for entry in entries.flatten() {
            let dir = entry.path();
            let record = match ContainerRecord::load(&dir) {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!("skipping {}: {e}", dir.display());
                    continue;
                }
            };
            let running =
                record.state.status.is_live() || record.state.status == Status::Restarting;
            let container = Arc::new(Container {
                id: record.id.clone(),
                file: RecordFile::new(&dir, true),
                dir,
                life: watch::channel(Life {
                    running,
                    exit_code: record.state.exit_code,
                    ..Life::default()
                })
                .0,
                record: Mutex::new(record.clone()),
                op: tokio::sync::Mutex::new(()),
                pending: Mutex::new(Vec::new()),
            });
            {
                let mut table = self.table();
                table.names.insert(record.name.clone(), record.id.clone());
                table.by_id.insert(record.id.clone(), container.clone());
            }
            if running {
                live.push(container);
            }
        }
        self.remove_stale_cgroups(&live);
        self.recover_networks(&live);
        for container in live {
            // The monitor either re-attaches to a live supervisor or records the exit
            // (and restarts per policy: `always` and `unless-stopped` come back after a
            // host restart, as with Docker).
            self.spawn_monitor(container);
        }
        Ok(())
    }

    /// Cgroups a previous agent left behind (killed between a container's exit and its
    /// cleanup): those of this data root's containers that are not running are emptied
    /// and removed. Cgroups of IDs this root does not know are left alone — another agent
    /// on another data root may share the parent.
    fn remove_stale_cgroups(&self, live: &[Arc<Container>]) {
        let known: std::collections::HashSet<String> = self.table().by_id.keys().cloned().collect();
        for name in self.cgroups.leftovers() {
            if !known.contains(&name) || live.iter().any(|c| c.id == name) {
                continue;
            }
            // Destroying kills what is left in it, e.g. a main process whose supervisor
            // never got its Start because the agent died mid-start.
            if let Some(cgroup) = self.cgroups.open(&name)
                && let Err(e) = cgroup.destroy()
            {
                tracing::warn!("removing the stale cgroup of {name}: {e}");
            }
        }
        let table = self.table();
        for (id, container) in &table.by_id {
            if !live.iter().any(|c| &c.id == id)
                && crate::layer::snapshot::is_mounted(&container.dir)
                && let Err(e) = self.driver.unmount(&container.dir)
            {
                tracing::warn!("unmounting the stale rootfs of {id}: {e}");
            }
        }
    }

    /// `POST /containers/{id}/stop`. `Ok(false)` if it was not running (304).
    pub async fn stop(
        &self,
        input: &str,
        timeout: Option<i64>,
        signal: Option<&str>,
    ) -> Result<bool, ContainerError> {
        let container = self.find(input)?;
        let record = container.snapshot();
        if record.state.status == Status::Restarting {
            container.update(|r| {
                r.stopped_by_user = true;
                r.state.status = Status::Exited;
            })?;
            return Ok(true);
        }
        if !record.state.status.is_live() {
            return Ok(false);
        }
        let record = container.update(|r| r.stopped_by_user = true)?;
        let config = record.config_typed();
        let signal = match signal {
            Some(s) => parse_signal(s)?,
            None if !config.stop_signal.is_empty() => parse_signal(&config.stop_signal)?,
            None => 15,
        };
        let timeout = timeout
            .or(config.stop_timeout)
            .unwrap_or(DEFAULT_STOP_TIMEOUT);
        if record.state.status == Status::Paused {
            self.thaw(&record.id);
        }
        let life = container.life();
        if timeout != 0 {
            self.signal(&container, signal, false).await;
            self.event(&record, "kill", &[("signal", signal.to_string())]);
        }
        let graceful = if timeout < 0 {
            wait_for(life.clone(), WaitCondition::NotRunning).await;
            true
        } else {
            tokio::time::timeout(
                Duration::from_secs(timeout as u64),
                wait_for(life.clone(), WaitCondition::NotRunning),
            )
            .await
            .is_ok()
        };
        if !graceful {
            self.signal(&container, 9, true).await;
            self.event(&record, "kill", &[("signal", "9".into())]);
            wait_for(life, WaitCondition::NotRunning).await;
        }
        self.event(&container.snapshot(), "stop", &[]);
        Ok(true)
    }

    async fn signal(&self, container: &Container, signal: i32, all: bool) {
        if let Ok(conn) = ShimConn::connect(&container.dir).await {
            let _ = conn.kill(signal, all).await;
        }
    }

    fn thaw(&self, id: &str) {
        if let Some(c) = self.cgroups.open(id) {
            let _ = c.thaw();
        }
    }

    /// `POST /containers/{id}/kill`.
    pub async fn kill(&self, input: &str, signal: Option<&str>) -> Result<(), ContainerError> {
        let container = self.find(input)?;
        let record = container.snapshot();
        if !record.state.status.is_live() {
            return Err(ContainerError::Conflict(format!(
                "Cannot kill container: {input}: Container {} is not running",
                record.id
            )));
        }
        let signal = parse_signal(signal.filter(|s| !s.is_empty()).unwrap_or("KILL"))?;
        if signal == 9 && record.state.status == Status::Paused {
            self.thaw(&record.id);
        }
        self.signal(&container, signal, false).await;
        self.event(&record, "kill", &[("signal", signal.to_string())]);
        if signal == 9 {
            wait_for(container.life(), WaitCondition::NotRunning).await;
        }
        Ok(())
    }

    /// `POST /containers/{id}/restart`.
    pub async fn restart(
        self: &Arc<Self>,
        input: &str,
        timeout: Option<i64>,
    ) -> Result<(), ContainerError> {
        let container = self.find(input)?;
        self.stop(&container.id, timeout, None).await?;
        {
            let _op = container.op.lock().await;
            container.update(|r| r.stopped_by_user = false)?;
            if !container.snapshot().state.status.is_live() {
                self.start_locked(&container).await?;
            }
        }
        self.event(&container.snapshot(), "restart", &[]);
        Ok(())
    }

    /// `POST /containers/{id}/pause` and `unpause`.
    pub async fn set_paused(&self, input: &str, paused: bool) -> Result<(), ContainerError> {
        let container = self.find(input)?;
        let _op = container.op.lock().await;
        let record = container.snapshot();
        match (record.state.status, paused) {
            (Status::Running, true) | (Status::Paused, false) => {}
            (Status::Paused, true) => {
                return Err(ContainerError::Conflict(format!(
                    "Container {} is already paused",
                    record.id
                )));
            }
            (Status::Running, false) => {
                return Err(ContainerError::Conflict(format!(
                    "Container {} is not paused",
                    record.id
                )));
            }
            _ => {
                return Err(ContainerError::Conflict(format!(
                    "Container {} is not running",
                    record.id
                )));
            }
        }
        let cgroup = self
            .cgroups
            .open(&record.id)
            .ok_or_else(|| ContainerError::Runtime(format!("no cgroup for {}", record.id)))?;
        let result = if paused {
            cgroup.freeze()
        } else {
            cgroup.thaw()
        };
        result.map_err(|e| ContainerError::Runtime(format!("freezer: {e}")))?;
        let record = container.update(|r| {
            r.state.status = if paused {
                Status::Paused
            } else {
                Status::Running
            }
        })?;
        self.event(&record, if paused { "pause" } else { "unpause" }, &[]);
        Ok(())
    }

    /// `POST /containers/{id}/rename?name=`.
    pub fn rename(&self, input: &str, new_name: &str) -> Result<(), ContainerError> {
        let container = self.find(input)?;
        let new_name = names::validate(new_name)?;
        let old = container.snapshot().name;
        if old == new_name {
            return Err(ContainerError::Conflict(
                "Renaming a container with the same name as its current name".into(),
            ));
        }
        {
            let mut table = self.table();
            if let Some(owner) = table.names.get(&new_name) {
                return Err(ContainerError::Conflict(format!(
                    "Conflict. The container name \"/{new_name}\" is already in use by container \"{owner}\". You have to remove (or rename) that container to be able to reuse that name."
                )));
            }
            table.names.remove(&old);
            table.names.insert(new_name.clone(), container.id.clone());
        }
        let record = container.update(|r| r.name = new_name.clone())?;
        self.event(&record, "rename", &[("oldName", format!("/{old}"))]);
        Ok(())
    }

    /// `DELETE /containers/{id}` (`force` kills a running one first).
    pub async fn remove(
        &self,
        input: &str,
        force: bool,
        volumes: bool,
    ) -> Result<(), ContainerError> {
        let container = self.find(input)?;
        let record = container.snapshot();
        if record.state.status.is_live() || record.state.status == Status::Restarting {
            if !force {
                return Err(ContainerError::Conflict(format!(
                    "cannot remove container \"/{}\": container is running: stop the container before removing or force remove",
                    record.name
                )));
            }
            container.update(|r| r.stopped_by_user = true)?;
            if record.state.status == Status::Paused {
                self.thaw(&record.id);
            }
            if record.state.status.is_live() {
                self.signal(&container, 9, true).await;
                self.event(&record, "kill", &[("signal", "9".into())]);
                wait_for(container.life(), WaitCondition::NotRunning).await;
            }
        }
        let _ = volumes; // anonymous volumes: none are created yet
        if let Some(deleted) = self.remove_now(&record.id).await? {
            let _ = deleted.await;
        }
        Ok(())
    }

    /// Removes a container from the table and its directory from `containers/`; the
    /// returned handle resolves once the directory is deleted (awaiting it means the disk
    /// space is free again, as Docker's `rm` promises).
    async fn remove_now(&self, id: &str) -> Result<Deleted, ContainerError> {
        let Ok(container) = self.find(id) else {
            return Ok(None); // removed concurrently (e.g. --rm and rm -f)
        };
        let _op = container.op.lock().await;
        if !self.table().by_id.contains_key(id) {
            return Ok(None);
        }
        // Not saved: the directory is about to go, and a crash here leaves a record
        // that is simply removed again.
        let record = {
            let mut r = container.record.lock().unwrap_or_else(|p| p.into_inner());
            r.state.status = Status::Removing;
            r.clone()
        };
        self.release_network(&container);
        if let Some(c) = self.cgroups.open(id) {
            let _ = c.destroy();
        }
        self.driver
            .unmount(&container.dir)
            .map_err(|e| ContainerError::Runtime(format!("removing the rootfs: {e}")))?;
        container.file.close();
        let deleted = Some(self.trash.discard(&container.dir, id));
        {
            let mut table = self.table();
            table.by_id.remove(id);
            if table
                .names
                .get(&record.name)
                .is_some_and(|owner| owner == id)
            {
                table.names.remove(&record.name);
            }
        }
        self.execs_table().retain(|_, e| e.container_id != id);
        container.life.send_modify(|l| l.removed = true);
        self.event(&record, "destroy", &[]);
        Ok(deleted)
    }

    /// `POST /containers/{id}/wait`: resolves the container now (404 at once), then waits.
    pub fn waiter(
        &self,
        input: &str,
        condition: WaitCondition,
    ) -> Result<impl Future<Output = (i32, Option<String>)> + use<>, ContainerError> {
        let container = self.find(input)?;
        let life = container.life();
        Ok(wait_for(life, condition))
    }

    /// An attach stream: at once when running, else at the next start.
    pub async fn attach(
        &self,
        input: &str,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> Result<oneshot::Receiver<UnixStream>, ContainerError> {
        let container = self.find(input)?;
        let (tx, rx) = oneshot::channel();
        let _op = container.op.lock().await;
        let record = container.snapshot();
        if record.state.status.is_live() {
            let conn = ShimConn::connect(&container.dir)
                .await
                .map_err(|e| ContainerError::Runtime(e.to_string()))?;
            let stream = conn
                .attach(stdin, stdout, stderr)
                .await
                .map_err(|e| ContainerError::Runtime(e.to_string()))?;
            let _ = tx.send(stream);
        } else {
            container
                .pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(PendingAttach {
                    stdin,
                    stdout,
                    stderr,
                    reply: tx,
                });
        }
        self.event(&record, "attach", &[]);
        Ok(rx)
    }

    /// `POST /containers/{id}/resize`.
    pub async fn resize(&self, input: &str, height: u16, width: u16) -> Result<(), ContainerError> {
        let container = self.find(input)?;
        if !container.snapshot().state.status.is_live() {
            return Err(ContainerError::NotRunning(input.to_string()));
        }
        let conn = ShimConn::connect(&container.dir)
            .await
            .map_err(|e| ContainerError::Runtime(e.to_string()))?;
        conn.resize(None, height, width)
            .await
            .map_err(|e| ContainerError::Runtime(e.to_string()))?;
        Ok(())
    }

    /// The container's log file and options for `docker logs`.
    pub fn log_path(&self, container: &Container) -> PathBuf {
        container.dir.join(format!("{}-json.log", container.id))
    }

    pub fn cgroups(&self) -> &Cgroups {
        &self.cgroups
    }

    /// `POST /containers/prune`: removes stopped containers; returns their IDs.
    pub async fn prune(&self) -> Result<Vec<String>, ContainerError> {
        let mut removed = Vec::new();
        for container in self.all() {
            let status = container.snapshot().state.status;
            if matches!(status, Status::Exited | Status::Created | Status::Dead) {
                if let Some(deleted) = self.remove_now(&container.id).await? {
                    let _ = deleted.await;
                }
                removed.push(container.id.clone());
            }
        }
        Ok(removed)
    }

    /// Names of the volumes each container mounts (volume → container IDs).
    pub fn volumes_in_use(&self) -> HashMap<String, Vec<String>> {
        let mut used: HashMap<String, Vec<String>> = HashMap::new();
        for c in self.all() {
            let r = c.snapshot();
            let host = r.host_config_typed();
            let binds = host
                .binds
                .iter()
                .flatten()
                .filter_map(|b| b.split(':').next().map(str::to_string));
            let mounts = host
                .mounts
                .iter()
                .flatten()
                .filter(|m| m.kind == "volume")
                .map(|m| m.source.clone());
            for name in binds.chain(mounts).filter(|n| !n.starts_with('/')) {
                used.entry(name).or_default().push(r.id.clone());
            }
        }
        used
    }

    /// The image IDs that containers use (an image in use cannot be removed).
    pub fn images_in_use(&self) -> HashMap<String, Vec<String>> {
        let mut used: HashMap<String, Vec<String>> = HashMap::new();
        for c in self.all() {
            let r = c.snapshot();
            used.entry(r.image_id.clone())
                .or_default()
                .push(r.id.clone());
        }
        used
    }

    /// On agent shutdown: nothing to do — supervisors keep containers running.
    pub fn count_by_status(&self) -> (usize, usize, usize, usize) {
        let (mut running, mut paused, mut stopped) = (0, 0, 0);
        let all = self.all();
        for c in &all {
            match c.snapshot().state.status {
                Status::Running | Status::Restarting => running += 1,
                Status::Paused => paused += 1,
                _ => stopped += 1,
            }
        }
        (all.len(), running, paused, stopped)
    }
}

/// The read-only layer over every container's image, as Docker's init layer: the mount
/// points the runtime needs (/proc, /sys, /dev, the /etc files it binds), so they neither
/// show in `docker diff` nor end up in a committed image — and a bind target is always a
/// plain file, never an image's symlink. It is the same for every container, so one
/// directory in the data root serves them all (containers made by older agents carry
/// their own, `containers/<id>/init`). Made once, never written while mounted.
const INIT_LAYER: &str = "container-init";
/// A container's own init layer (containers made before the shared one).
const OWN_INIT_LAYER: &str = "init";

fn write_init_layer(init: &Path) -> Result<(), ContainerError> {
    for dir in ["proc", "sys", "dev", "etc"] {
        let path = init.join(dir);
        std::fs::create_dir_all(&path).map_err(|e| ContainerError::io(&path, e))?;
    }
    for file in ["etc/hosts", "etc/hostname", "etc/resolv.conf"] {
        let path = init.join(file);
        if !path.is_file() {
            std::fs::write(&path, b"").map_err(|e| ContainerError::io(&path, e))?;
        }
    }
    Ok(())
}

/// Server-side defaults Docker fills into the stored HostConfig (docker-py reads
/// `LogConfig.Type` right after create).
fn fill_host_defaults(host: &mut Map<String, Value>) {
    let log_type_missing = host
        .get("LogConfig")
        .and_then(|l| l.get("Type"))
        .and_then(Value::as_str)
        .is_none_or(str::is_empty);
    if log_type_missing {
        host.insert(
            "LogConfig".into(),
            json!({"Type": "json-file", "Config": {}}),
        );
    }
    let mode = host
        .get("NetworkMode")
        .and_then(Value::as_str)
        .unwrap_or("");
    if mode.is_empty() || mode == "default" {
        host.insert("NetworkMode".into(), json!("bridge"));
    }
    let policy_missing = host
        .get("RestartPolicy")
        .and_then(|p| p.get("Name"))
        .and_then(Value::as_str)
        .is_none_or(str::is_empty);
    if policy_missing {
        host.insert(
            "RestartPolicy".into(),
            json!({"Name": "no", "MaximumRetryCount": 0}),
        );
    }
}
