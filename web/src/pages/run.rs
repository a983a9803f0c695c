//! The Run dialog (from the Containers page's Run button and from an image): image (pulled
//! when missing, with its progress), name, command, entrypoint, environment rows, port rows
//! with a live check that the host port is free (and a free one offered), volumes, network,
//! restart policy, memory and CPU limits, remove on exit, and detach or attach (open the new
//! container's logs). The equivalent `docker run` line is shown as the form is filled.

use super::images::progress_view;
use crate::api::{self, ApiError};
use crate::app::Auth;
use crate::format;
use crate::progress::PullLog;
use crate::route::{Tab, container_href};
use crate::runform::{PortRow, RunForm, VolumeRow};
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::live::PortCheck;
use std::time::Duration;

/// A port row's host-port check: asked, answered, or failed.
type Check = RwSignal<Option<Result<PortCheck, String>>>;

/// Creates the container, pulling the image first when the agent does not have it.
async fn create(
    form: &RunForm,
    body: String,
    pull: RwSignal<Option<PullLog>>,
) -> Result<String, ApiError> {
    match api::create_container(&form.name, body.clone()).await {
        Err(ApiError::Status(404, m)) if m.contains("No such image") || m.contains("not found") => {
            let (name, tag) = format::split_reference(&form.image);
            pull.set(Some(PullLog::new(format!("{name}:{tag}"))));
            api::pull(&name, &tag, |line| {
                pull.update(|l| {
                    if let Some(l) = l {
                        l.apply(line)
                    }
                })
            })
            .await?;
            let failed = pull.with_untracked(|l| l.as_ref().and_then(|l| l.error.clone()));
            pull.update(|l| {
                if let Some(l) = l {
                    l.finish(failed.clone().map_or(Ok(()), Err))
                }
            });
            if let Some(e) = failed {
                return Err(ApiError::Status(
                    404,
                    format!("pulling {}: {e}", form.image),
                ));
            }
            api::create_container(&form.name, body).await
        }
        other => other,
    }
}

#[component]
pub fn RunDialog(image: String, open: RwSignal<bool>) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let form = RwSignal::new(RunForm {
        image,
        ports: vec![PortRow {
            protocol: "tcp".into(),
            ..Default::default()
        }],
        env: vec![(String::new(), String::new())],
        volumes: vec![VolumeRow::default()],
        ..Default::default()
    });
    let checks = RwSignal::new(Vec::<Check>::new());
    let networks = RwSignal::new(vec!["bridge".to_string(), "host".into(), "none".into()]);
    let busy = RwSignal::new(None::<&'static str>);
    let error = RwSignal::new(None::<String>);
    let pull = RwSignal::new(None::<PullLog>);
    let started = RwSignal::new(None::<(String, String)>);

    spawn_local(async move {
        if let Ok(list) = api::networks().await {
            let mut names: Vec<String> = list.into_iter().map(|n| n.name).collect();
            names.sort();
            if !names.is_empty() {
                networks.set(names);
            }
        }
    });

    // The host-port check of row `i`, a moment after typing stops.
    let ticket = StoredValue::new(0u64);
    let check = move |i: usize| {
        let row = form.with_untracked(|f| f.ports.get(i).cloned());
        let Some(row) = row else {
            return;
        };
        let Some(slot) = checks.with_untracked(|c| c.get(i).copied()) else {
            return;
        };
        let Ok(port) = row.host.trim().parse::<u16>() else {
            slot.set(None);
            return;
        };
        ticket.update_value(|t| *t += 1);
        let mine = ticket.get_value();
        set_timeout(
            move || {
                if ticket.get_value() != mine {
                    return;
                }
                spawn_local(async move {
                    let answer = api::check_port(port, &row.protocol).await;
                    slot.set(Some(answer.map_err(|e| e.to_string())));
                });
            },
            Duration::from_millis(250),
        );
    };
    let sync_checks = move || {
        let n = form.with_untracked(|f| f.ports.len());
        checks.update(|c| {
            while c.len() < n {
                c.push(RwSignal::new(None));
            }
            c.truncate(n);
        });
    };
    sync_checks();

    let submit = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked().is_some() {
            return;
        }
        let f = form.get_untracked();
        let body = match f.create_body() {
            Ok(b) => b,
            Err(e) => {
                error.set(Some(e));
                return;
            }
        };
        error.set(None);
        started.set(None);
        busy.set(Some("Creating…"));
        spawn_local(async move {
            let result = async {
                let id = create(&f, body, pull).await?;
                busy.set(Some("Starting…"));
                api::container_action(&id, "start").await.map(|()| id)
            }
            .await;
            busy.set(None);
            match result {
                Ok(id) => {
                    let shown = if f.name.trim().is_empty() {
                        format::short_id(&id).to_string()
                    } else {
                        f.name.trim().to_string()
                    };
                    if f.attach {
                        open.set(false);
                        let _ = window().location().set_hash(&Tab::Logs.href(&id));
                    } else {
                        started.set(Some((id, shown)));
                    }
                }
                Err(e) if auth.handle(&e) => {}
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };

    // Inputs bound to one field of the form.
    let field = move |get: fn(&RunForm) -> &String, set: fn(&mut RunForm, String)| {
        (
            move || form.with(|f| get(f).clone()),
            move |ev: ev::Event| form.update(|f| set(f, event_target_value(&ev))),
        )
    };
    let (image_v, image_in) = field(|f| &f.image, |f, v| f.image = v);
    let (name_v, name_in) = field(|f| &f.name, |f, v| f.name = v);
    let (cmd_v, cmd_in) = field(|f| &f.command, |f, v| f.command = v);
    let (entry_v, entry_in) = field(|f| &f.entrypoint, |f, v| f.entrypoint = v);
    let (mem_v, mem_in) = field(|f| &f.memory, |f, v| f.memory = v);
    let (cpu_v, cpu_in) = field(|f| &f.cpus, |f, v| f.cpus = v);
    let (retries_v, retries_in) = field(|f| &f.retries, |f, v| f.retries = v);

    // Row lists re-render only when rows come or go, so typing keeps the focus.
    let env_count = Memo::new(move |_| form.with(|f| f.env.len()));
    let port_count = Memo::new(move |_| form.with(|f| f.ports.len()));
    let volume_count = Memo::new(move |_| form.with(|f| f.volumes.len()));
    let env_rows = move || {
        let n = env_count.get();
        (0..n)
            .map(|i| {
                let get = move |k: bool| move || form.with(|f| f.env.get(i).map(|e| if k { e.0.clone() } else { e.1.clone() }).unwrap_or_default());
                view! {
                    <div class="row env-row">
                        <input class="env-key" placeholder="NAME" prop:value=get(true) on:input=move |ev| form.update(|f| if let Some(e) = f.env.get_mut(i) { e.0 = event_target_value(&ev) })/>
                        "="
                        <input class="env-value" placeholder="value" prop:value=get(false) on:input=move |ev| form.update(|f| if let Some(e) = f.env.get_mut(i) { e.1 = event_target_value(&ev) })/>
                        <button type="button" class="ghost" title="Remove" on:click=move |_| form.update(|f| { if i < f.env.len() { f.env.remove(i); } })>"×"</button>
                    </div>
                }
            })
            .collect_view()
    };
    let port_rows = move || {
        let n = port_count.get();
        (0..n)
            .map(|i| {
                let slot = checks.with(|c| c.get(i).copied());
                let host = move || form.with(|f| f.ports.get(i).map(|p| p.host.clone()).unwrap_or_default());
                let inner = move || form.with(|f| f.ports.get(i).map(|p| p.container.clone()).unwrap_or_default());
                let verdict = move || {
                    slot.and_then(|s| s.get()).map(|answer| match answer {
                        Ok(c) if c.free => view! { <span class="port-ok">"free"</span> }.into_any(),
                        Ok(c) => {
                            let offer = c.suggestion.map(|p| view! {
                                " "<button type="button" class="ghost port-use" on:click=move |_| {
                                    form.update(|f| if let Some(row) = f.ports.get_mut(i) { row.host = p.to_string() });
                                    check(i);
                                }>{format!("use {p}")}</button>
                            });
                            view! {
                                <span class="port-taken">{format!("taken: {}", c.reason.unwrap_or_default())}</span>
                                {offer}
                            }
                            .into_any()
                        }
                        Err(e) => view! { <span class="port-taken">{e}</span> }.into_any(),
                    })
                };
                view! {
                    <div class="row port-row">
                        <input class="port-host" inputmode="numeric" placeholder="host port" prop:value=host on:input=move |ev| {
                            form.update(|f| if let Some(p) = f.ports.get_mut(i) { p.host = event_target_value(&ev) });
                            check(i);
                        }/>
                        "→"
                        <input class="port-container" inputmode="numeric" placeholder="container port" prop:value=inner on:input=move |ev| form.update(|f| if let Some(p) = f.ports.get_mut(i) { p.container = event_target_value(&ev) })/>
                        <select class="port-proto" on:change=move |ev| {
                            form.update(|f| if let Some(p) = f.ports.get_mut(i) { p.protocol = event_target_value(&ev) });
                            check(i);
                        }>
                            <option value="tcp">"tcp"</option>
                            <option value="udp">"udp"</option>
                        </select>
                        <button type="button" class="ghost" title="Remove" on:click=move |_| {
                            form.update(|f| { if i < f.ports.len() { f.ports.remove(i); } });
                            sync_checks();
                        }>"×"</button>
                        <span class="port-check">{verdict}</span>
                    </div>
                }
            })
            .collect_view()
    };
    let volume_rows = move || {
        let n = volume_count.get();
        (0..n)
            .map(|i| {
                let source = move || form.with(|f| f.volumes.get(i).map(|v| v.source.clone()).unwrap_or_default());
                let target = move || form.with(|f| f.volumes.get(i).map(|v| v.target.clone()).unwrap_or_default());
                view! {
                    <div class="row volume-row">
                        <input class="vol-source" placeholder="host path or volume name" prop:value=source on:input=move |ev| form.update(|f| if let Some(v) = f.volumes.get_mut(i) { v.source = event_target_value(&ev) })/>
                        "→"
                        <input class="vol-target" placeholder="/path/in/container" prop:value=target on:input=move |ev| form.update(|f| if let Some(v) = f.volumes.get_mut(i) { v.target = event_target_value(&ev) })/>
                        <label class="check"><input type="checkbox" on:change=move |ev| form.update(|f| if let Some(v) = f.volumes.get_mut(i) { v.read_only = event_target_checked(&ev) })/>" read-only"</label>
                        <button type="button" class="ghost" title="Remove" on:click=move |_| form.update(|f| { if i < f.volumes.len() { f.volumes.remove(i); } })>"×"</button>
                    </div>
                }
            })
            .collect_view()
    };

    view! {
        <div class="overlay" on:click=move |_| open.set(false)>
            <form class="dialog card wide" id="run-dialog" on:click=|ev| ev.stop_propagation() on:submit=submit>
                <h2>"Run a container"</h2>
                <div class="grid2">
                    <label>"Image"<input id="run-image" placeholder="busybox:latest" spellcheck="false" prop:value=image_v on:input=image_in/></label>
                    <label>"Name"<input id="run-name" placeholder="(generated)" spellcheck="false" prop:value=name_v on:input=name_in/></label>
                    <label>"Command"<input id="run-cmd" placeholder="(the image's)" spellcheck="false" prop:value=cmd_v on:input=cmd_in/></label>
                    <label>"Entrypoint"<input id="run-entrypoint" placeholder="(the image's)" spellcheck="false" prop:value=entry_v on:input=entry_in/></label>
                </div>
                <fieldset>
                    <legend>"Ports"</legend>
                    {port_rows}
                    <button type="button" class="ghost" id="run-add-port" on:click=move |_| {
                        form.update(|f| f.ports.push(PortRow { protocol: "tcp".into(), ..Default::default() }));
                        sync_checks();
                    }>"+ port"</button>
                </fieldset>
                <fieldset>
                    <legend>"Environment"</legend>
                    {env_rows}
                    <button type="button" class="ghost" id="run-add-env" on:click=move |_| form.update(|f| f.env.push(Default::default()))>"+ variable"</button>
                </fieldset>
                <fieldset>
                    <legend>"Volumes and binds"</legend>
                    {volume_rows}
                    <button type="button" class="ghost" id="run-add-volume" on:click=move |_| form.update(|f| f.volumes.push(Default::default()))>"+ volume"</button>
                </fieldset>
                <div class="grid2">
                    <label>"Network"
                        <select id="run-network" on:change=move |ev| form.update(|f| f.network = event_target_value(&ev))>
                            {move || networks.get().into_iter().map(|n| {
                                let selected = form.with_untracked(|f| f.network == n);
                                view! { <option value=n.clone() selected=selected>{n.clone()}</option> }
                            }).collect_view()}
                        </select>
                    </label>
                    <label>"Restart policy"
                        <span class="row">
                            <select id="run-restart" on:change=move |ev| form.update(|f| f.restart = event_target_value(&ev))>
                                <option value="no">"no"</option>
                                <option value="always">"always"</option>
                                <option value="unless-stopped">"unless-stopped"</option>
                                <option value="on-failure">"on-failure"</option>
                            </select>
                            {move || form.with(|f| f.restart == "on-failure").then(|| view! {
                                <input id="run-retries" placeholder="max retries" inputmode="numeric" prop:value=retries_v on:input=retries_in/>
                            })}
                        </span>
                    </label>
                    <label>"Memory limit"<input id="run-memory" placeholder="e.g. 256m" prop:value=mem_v on:input=mem_in/></label>
                    <label>"CPUs"<input id="run-cpus" placeholder="e.g. 0.5" prop:value=cpu_v on:input=cpu_in/></label>
                </div>
                <div class="row">
                    <label class="check"><input id="run-rm" type="checkbox" on:change=move |ev| form.update(|f| f.remove = event_target_checked(&ev))/>" Remove when it exits (--rm)"</label>
                    <label class="check"><input type="radio" name="run-mode" id="run-detach" checked on:change=move |_| form.update(|f| f.attach = false)/>" Detach"</label>
                    <label class="check"><input type="radio" name="run-mode" id="run-attach" on:change=move |_| form.update(|f| f.attach = true)/>" Attach (open its logs)"</label>
                </div>
                <p class="cmdline mono" id="run-cmdline">{move || form.with(RunForm::docker_command)}</p>
                {move || pull.get().map(progress_view)}
                {move || error.get().map(|e| view! { <p class="error" id="run-error">{e}</p> })}
                {move || started.get().map(|(id, shown)| view! {
                    <p class="notice ok" id="run-done">
                        "Started "<a href=container_href(&id)>{shown}</a>"."
                    </p>
                })}
                <div class="dialog-buttons">
                    <button id="run" type="submit" disabled=move || busy.get().is_some()>
                        {move || busy.get().unwrap_or("Run")}
                    </button>
                    <button type="button" class="ghost" id="run-close" on:click=move |_| open.set(false)>"Close"</button>
                </div>
            </form>
        </div>
    }
}
