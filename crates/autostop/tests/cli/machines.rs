//! VMs and scale sets as targets, through the binary against the emulator: `list --kind` with power states,
//! stop = deallocate confirmed by reading back, start, a scale set as one target (and one under autoscale left
//! alone), the Compute RP's 429 + Retry-After, and a scheduled run over mixed kinds.

use std::time::Duration;

use autostop_emulator::{ComputeLimits, Fleet, Options, ScaleSet, ThrottleOptions, VirtualMachine};

use crate::util::*;

/// A VM of the test fleet, owned through the `owner` tag.
fn vm(name: &str, power_state: &str) -> VirtualMachine {
    VirtualMachine {
        name: name.into(),
        location: "eastus".into(),
        power_state: power_state.into(),
        vm_size: "Standard_B2s".into(),
        tags: [("owner".to_string(), format!("{name}@example.com"))].into(),
    }
}

fn scale_set(name: &str, autoscale: bool) -> ScaleSet {
    ScaleSet {
        name: name.into(),
        location: "westus".into(),
        power_state: "running".into(),
        vm_size: "Standard_D2s_v3".into(),
        capacity: 3,
        tags: Default::default(),
        autoscale,
    }
}

/// The usual mixed fleet (instances in SUB/ml-rg/ws-a), plus in SUB/ml-rg: VMs running, powered off (stopped,
/// still billed) and deallocated, and two scale sets, one under autoscale.
fn machine_fleet() -> Fleet {
    let mut fleet = mixed_fleet();
    let group = &mut fleet.subscriptions[0].resource_groups[0];
    group.virtual_machines = vec![vm("web-1", "running"), vm("off-1", "stopped"), vm("dealloc-1", "deallocated")];
    group.scale_sets = vec![scale_set("pool-1", false), scale_set("auto-1", true)];
    fleet
}

fn machine_id(collection: &str, name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/ml-rg/providers/Microsoft.Compute/{collection}/{name}")
}

fn power(emulator: &autostop_emulator::Emulator, collection: &str, name: &str) -> String {
    emulator.control().power_state(&machine_id(collection, name)).unwrap_or_default()
}

#[tokio::test]
async fn list_shows_each_kind_with_its_power_state_owner_and_size() {
    let emulator = emulator(machine_fleet()).await;
    let args = ["list", "-s", SUB, "--kind", "vm", "--kind", "vmss", "-o", "json"];
    let run = Cli::against(&emulator, &args).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    let rows = run.json();
    assert_eq!(rows.as_array().unwrap().len(), 5, "3 VMs and 2 scale sets, no compute instance: {rows:#}");
    let web = row(&rows, "web-1");
    assert_eq!((web["kind"].as_str(), web["state"].as_str()), (Some("vm"), Some("running")), "{web:#}");
    assert_eq!(web["owner"], "web-1@example.com");
    assert_eq!(web["vmSize"], "Standard_B2s");
    assert_eq!(web["id"], machine_id("virtualMachines", "web-1"));
    assert_eq!(row(&rows, "off-1")["state"], "stopped");
    assert_eq!(row(&rows, "dealloc-1")["state"], "deallocated");
    let pool = row(&rows, "pool-1");
    assert_eq!((pool["kind"].as_str(), pool["capacity"].as_u64()), (Some("vmss"), Some(3)), "{pool:#}");
    assert_eq!(pool["state"], "running");
    assert!(pool.get("autoscale").is_none(), "{pool:#}");
    assert_eq!(row(&rows, "auto-1")["autoscale"], true);

    let default = Cli::against(&emulator, &["list", "-s", SUB, "-o", "json"]).run().await;
    let rows = default.json();
    // No VM nor scale set by default: the workspace computes, instances and (as ml-compute) the rest.
    let kind_of = |r: &serde_json::Value| match r["computeType"].as_str() {
        Some("ComputeInstance") => "compute-instance",
        _ => "ml-compute",
    };
    assert!(rows.as_array().unwrap().iter().all(|r| r["kind"] == kind_of(r)), "{rows:#}");
}

#[tokio::test]
async fn stop_deallocates_vms_including_powered_off_ones_and_confirms_by_reading_back() {
    let emulator = emulator(machine_fleet()).await;
    let args = ["stop", "--all", "--wait", "--yes", "-s", SUB, "--kind", "vm", "-o", "json"];
    let run = Cli::against(&emulator, &args).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    let rows = run.json();
    assert_eq!(rows.as_array().unwrap().len(), 3, "{rows:#}");
    for name in ["web-1", "off-1"] {
        let r = row(&rows, name);
        assert_eq!((r["result"].as_str(), r["state"].as_str()), (Some("succeeded"), Some("deallocated")), "{r:#}");
        assert_eq!(r["kind"], "vm");
        assert_eq!(power(&emulator, "virtualMachines", name), "deallocated");
    }
    let skipped = row(&rows, "dealloc-1");
    assert_eq!(skipped["result"], "skipped");
    assert!(skipped["reason"].as_str().unwrap().contains("already deallocated"), "{skipped:#}");
    let posts: Vec<String> = emulator
        .control()
        .requests()
        .into_iter()
        .filter(|request| request.method == "POST" && request.path.contains("/Microsoft.Compute/"))
        .map(|request| request.path)
        .collect();
    assert_eq!(posts.len(), 2, "{posts:#?}");
    assert!(posts.iter().all(|path| path.contains("/deallocate?")), "stop is deallocate, never powerOff: {posts:#?}");
    assert_eq!(emulator.control().state(&id("run-1")).as_deref(), Some("Running"), "no compute instance touched");
}

#[tokio::test]
async fn start_starts_a_named_vm() {
    let emulator = emulator(machine_fleet()).await;
    let run =
        Cli::against(&emulator, &["start", "dealloc-1", "--wait", "-s", SUB, "--kind", "vm", "-o", "json"]).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    let rows = run.json();
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows:#}");
    assert_eq!((rows[0]["result"].as_str(), rows[0]["state"].as_str()), (Some("succeeded"), Some("running")));
    assert_eq!(power(&emulator, "virtualMachines", "dealloc-1"), "running");
    assert_eq!(power(&emulator, "virtualMachines", "off-1"), "stopped", "only the named one");
}

#[tokio::test]
async fn a_scale_set_is_one_target_and_one_under_autoscale_needs_force() {
    let emulator = emulator(machine_fleet()).await;
    let args = ["stop", "--all", "--wait", "--yes", "-s", SUB, "--kind", "vmss", "-o", "json"];
    let run = Cli::against(&emulator, &args).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    let rows = run.json();
    assert_eq!(rows.as_array().unwrap().len(), 2, "one row per scale set: {rows:#}");
    assert_eq!(row(&rows, "pool-1")["result"], "succeeded");
    assert_eq!(power(&emulator, "virtualMachineScaleSets", "pool-1"), "deallocated");
    let auto = row(&rows, "auto-1");
    assert_eq!(auto["result"], "skipped");
    assert!(auto["reason"].as_str().unwrap().contains("autoscale"), "{auto:#}");
    assert_eq!(power(&emulator, "virtualMachineScaleSets", "auto-1"), "running");

    let forced = ["stop", "auto-1", "--force", "--wait", "-s", SUB, "--kind", "vmss", "-o", "json"];
    let run = Cli::against(&emulator, &forced).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.json()[0]["result"], "succeeded");
    assert_eq!(power(&emulator, "virtualMachineScaleSets", "auto-1"), "deallocated");
}

#[tokio::test]
async fn a_compute_rp_429_is_waited_out_with_its_retry_after() {
    // One list per 3 emulated minutes, with time 120 times faster: the second list is refused for 1.5 s.
    let limits = ComputeLimits { lists_per_3min: 1, ..ComputeLimits::default() };
    let options = Options {
        fleet: machine_fleet(),
        transition: Duration::from_millis(300),
        throttle: Some(ThrottleOptions::default()),
        compute_limits: limits,
        time_scale: 120.0,
        ..Default::default()
    };
    let emulator = tokio::time::timeout(TIMEOUT, autostop_emulator::Emulator::start(options))
        .await
        .expect("emulator start timed out")
        .expect("emulator starts");
    let args = ["list", "-s", SUB, "--kind", "vm", "--kind", "vmss", "-o", "json"];
    let started = std::time::Instant::now();
    let run = Cli::against(&emulator, &args).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.json().as_array().unwrap().len(), 5, "{run:#?}");
    let requests = emulator.control().requests();
    let throttled: Vec<_> = requests.iter().filter(|request| request.status == 429).collect();
    assert_eq!(throttled.len(), 1, "{requests:#?}");
    assert!(throttled[0].path.contains("virtualMachineScaleSets"), "{throttled:#?}");
    assert!(started.elapsed() >= Duration::from_secs(1), "the retry came after Retry-After");
    let retried = requests.iter().filter(|r| r.path.contains("virtualMachineScaleSets?") && r.status == 200);
    assert_eq!(retried.count(), 1, "{requests:#?}");
}

#[tokio::test]
async fn a_scheduled_run_over_mixed_kinds_acts_on_each_and_confirms() {
    let emulator = emulator(machine_fleet()).await;
    let setup = setup(&format!(
        r#"
[[scopes]]
subscription = "{SUB}"
kinds = ["compute-instance", "vm", "vmss"]

[[rules]]
name = "evening-stop"
action = "stop"
schedule = "0 0 20 * * *"
select = {{ names = ["run-1", "web-1", "off-1", "pool-1", "auto-1"] }}

[[rules]]
name = "vm-only-start"
action = "start"
schedule = "0 0 8 * * *"
kinds = ["vm"]
"#
    ));
    let run_at = |now: &'static str| {
        Cli::against(&emulator, &["run", "--now", now, "-o", "json"])
            .env("AUTOSTOP_CONFIG", &setup.config)
            .args_state(&setup.state)
            .run()
    };
    let run = run_at("2026-03-02T20:00:30Z").await;
    assert_eq!(run.code, 0, "{run:#?}");
    let rows = run.json();
    for name in ["run-1", "web-1", "off-1", "pool-1"] {
        assert_eq!(row(&rows, name)["result"], "succeeded", "{name}: {rows:#}");
    }
    assert_eq!(row(&rows, "auto-1")["result"], "skipped", "{rows:#}");
    assert_eq!(row(&rows, "auto-1")["kind"], "vmss");
    assert_eq!(row(&rows, "web-1")["kind"], "vm");
    assert_eq!(row(&rows, "run-1")["kind"], "compute-instance");
    assert_eq!(emulator.control().state(&id("run-1")).as_deref(), Some("Stopped"));
    assert_eq!(power(&emulator, "virtualMachines", "web-1"), "deallocated");
    assert_eq!(power(&emulator, "virtualMachines", "off-1"), "deallocated");
    assert_eq!(power(&emulator, "virtualMachineScaleSets", "pool-1"), "deallocated");

    // The start rule is narrowed to VMs: the scale set and the instance stay stopped.
    let run = run_at("2026-03-03T08:00:30Z").await;
    assert_eq!(run.code, 0, "{run:#?}");
    let rows = run.json();
    for name in ["web-1", "off-1", "dealloc-1"] {
        assert_eq!(row(&rows, name)["result"], "succeeded", "{name}: {rows:#}");
        assert_eq!(power(&emulator, "virtualMachines", name), "running");
    }
    assert!(rows.as_array().unwrap().iter().all(|r| r["name"] != "pool-1" && r["name"] != "run-1"), "{rows:#}");
    assert_eq!(power(&emulator, "virtualMachineScaleSets", "pool-1"), "deallocated");
}

/// Denies every action the emulator knows that the least-privilege role in `deploy/azure/` does not grant.
fn grant_only_the_role(emulator: &autostop_emulator::Emulator) {
    use autostop_emulator::actions::*;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/azure/autostop-role.json");
    let role: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let granted = role["Actions"].as_array().unwrap();
    let known = [
        SUBSCRIPTION_READ,
        WORKSPACE_READ,
        COMPUTE_READ,
        COMPUTE_START,
        COMPUTE_STOP,
        COMPUTE_RESTART,
        OPERATION_READ,
        COMPUTE_IDLE_SHUTDOWN,
        VM_READ,
        VM_START,
        VM_DEALLOCATE,
        VM_POWER_OFF,
        VM_RESTART,
        SCALE_SET_READ,
        SCALE_SET_VIEW_READ,
        SCALE_SET_START,
        SCALE_SET_DEALLOCATE,
        COMPUTE_OPERATION_READ,
        AUTOSCALE_READ,
    ];
    for action in known {
        if !granted.iter().any(|grant| grant.as_str().is_some_and(|grant| grant.eq_ignore_ascii_case(action))) {
            emulator.control().deny("/subscriptions", action);
        }
    }
    assert!(!granted.iter().any(|grant| grant == VM_POWER_OFF), "stop deallocates; the role needs no powerOff");
}

#[tokio::test]
async fn the_least_privilege_role_is_enough_for_every_kind_and_idle_shutdown() {
    let emulator = emulator(machine_fleet()).await;
    grant_only_the_role(&emulator);
    let kinds = ["--kind", "compute-instance", "--kind", "vm", "--kind", "vmss"];
    let list: Vec<&str> = ["list", "-s", SUB, "-o", "json"].into_iter().chain(kinds).collect();
    let run = Cli::against(&emulator, &list).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    let stop: Vec<&str> =
        ["stop", "--all", "--force", "--wait", "--yes", "-s", SUB, "-o", "json"].into_iter().chain(kinds).collect();
    let run = Cli::against(&emulator, &stop).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(power(&emulator, "virtualMachineScaleSets", "auto-1"), "deallocated");
    let start: Vec<&str> =
        ["start", "--all", "--wait", "--yes", "-s", SUB, "-o", "json"].into_iter().chain(kinds).collect();
    let run = Cli::against(&emulator, &start).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(power(&emulator, "virtualMachines", "web-1"), "running");
    let dir = tempfile::tempdir().unwrap();
    let enforce = ["enforce", "idle-shutdown", "--max", "1h", "-s", SUB, "-o", "json"];
    let run = Cli::against(&emulator, &enforce).args_state(&dir.path().join("audit.db")).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.json().as_array().unwrap().iter().any(|r| r["result"] == "succeeded"), "{run:#?}");
}
