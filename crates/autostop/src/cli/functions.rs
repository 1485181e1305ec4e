//! `autostop functions init`: writes a deployable Azure Functions app folder (custom handler, one timer, and the
//! HTTP function that serves the owners' notice links).
//!
//! Writes files only; talks to no network. The folder: `host.json` (the custom handler: this binary, run as
//! `serve --functions --config CONFIG`), `FUNCTION/function.json` (one timer trigger), `LINKS/function.json` (an
//! anonymous HTTP trigger on the route `owners/postpone`, GET and POST: the links carry their own HMAC
//! signature, and a function key in the URL would only be one more secret to leak), the validated config and
//! the calendar files it names (at the same relative paths), `local.settings.json` (setting names, never secret values), `autostop-role.json` (least privilege) and a README
//! with the build, zip and deploy steps.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::{Outcome, UsageError};
use autostop_serve::{REQUEST_BINDING, RESPONSE_BINDING};

/// The timer's schedule when none is given: every five minutes, on the minute (UTC).
pub const DEFAULT_SCHEDULE: &str = "0 */5 * * * *";
/// The name the config file gets inside the app folder.
const CONFIG_FILE: &str = "autostop.toml";
/// The least-privilege role definition, shared with `deploy/azure/`.
const ROLE: &str = include_str!("../../../../deploy/azure/autostop-role.json");
/// The README template; `{{NAME}}` placeholders are filled in.
const README: &str = include_str!("../../../../deploy/functions/README.md");

/// `autostop functions ...`
#[derive(Debug, Args)]
pub struct FunctionsArgs {
    #[command(subcommand)]
    command: FunctionsCommand,
}

#[derive(Debug, Subcommand)]
enum FunctionsCommand {
    /// Write a deployable Function App folder for the configuration.
    Init(InitArgs),
}

/// `autostop functions init [OPTIONS]`
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Config file to deploy (default: $AUTOSTOP_CONFIG, else ./autostop.toml); it is validated and copied.
    #[arg(long, short = 'c', value_name = "PATH")]
    config: Option<PathBuf>,
    /// The folder to write (created if missing; must be empty unless --force).
    #[arg(long, default_value = "functionapp")]
    out: PathBuf,
    /// The timer's NCRONTAB schedule, read in UTC: how often rules are evaluated.
    #[arg(long, default_value = DEFAULT_SCHEDULE)]
    schedule: String,
    /// The timer function's name (its folder, and the path the host posts to).
    #[arg(long, default_value = "autostop-timer")]
    function_name: String,
    /// The name of the HTTP function that serves the owners' notice links (route `owners/postpone`).
    #[arg(long, default_value = "autostop-links")]
    links_function_name: String,
    /// The executable's name in the folder (host.json's defaultExecutablePath).
    #[arg(long, default_value = "autostop")]
    executable: String,
    /// A built Linux binary to copy into the folder under --executable's name.
    #[arg(long)]
    binary: Option<PathBuf>,
    /// Overwrite the files of a folder that is not empty.
    #[arg(long)]
    force: bool,
}

/// Runs `autostop functions ...`.
pub fn run(args: FunctionsArgs) -> anyhow::Result<Outcome> {
    match args.command {
        FunctionsCommand::Init(args) => init(&args),
    }
}

/// Checks a function name (given as `flag`) as the Functions host does: a letter, then letters, digits, `_` or
/// `-`, at most 127.
fn check_function_name(flag: &str, name: &str) -> Result<(), UsageError> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && name.len() <= 127;
    if ok {
        Ok(())
    } else {
        Err(UsageError(format!(
            "{flag}: expected a letter then letters, digits, '_' or '-' (at most 127), found {name:?}"
        )))
    }
}

/// Checks the executable name: a plain file name, no directory, not hidden.
fn check_executable(name: &str) -> Result<(), UsageError> {
    let plain = !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\']);
    if plain {
        Ok(())
    } else {
        Err(UsageError(format!("--executable: expected a file name without a directory, found {name:?}")))
    }
}

/// The arguments host.json passes to the executable.
fn handler_arguments() -> [&'static str; 4] {
    ["serve", "--functions", "--config", CONFIG_FILE]
}

fn host_json(executable: &str) -> serde_json::Value {
    json!({
        "version": "2.0",
        "logging": {
            "logLevel": { "default": "Information" }
        },
        "extensionBundle": {
            "id": "Microsoft.Azure.Functions.ExtensionBundle",
            "version": "[4.*, 5.0.0)"
        },
        "customHandler": {
            "description": {
                "defaultExecutablePath": executable,
                "workingDirectory": "",
                "arguments": handler_arguments()
            },
            "enableForwardingHttpRequest": false
        },
        "functionTimeout": "00:10:00"
    })
}

fn function_json(schedule: &str) -> serde_json::Value {
    json!({
        "bindings": [
            {
                "name": "timer",
                "type": "timerTrigger",
                "direction": "in",
                "schedule": schedule,
                "runOnStartup": false,
                "useMonitor": true
            }
        ]
    })
}

/// The route of the links function below the host's `api/` prefix: the links' own path.
fn links_route() -> &'static str {
    autostop_notify::POSTPONE_PATH.trim_start_matches('/')
}

/// The links function: an HTTP trigger for GET (the confirmation page) and POST (the choice) on the links' route,
/// and its HTTP response. Anonymous: each link is signed (HMAC-SHA256) for one instance and occurrence and expires
/// with it, which is the whole of its authorisation; a function key would have to travel in every notice.
fn links_function_json() -> serde_json::Value {
    json!({
        "bindings": [
            {
                "name": REQUEST_BINDING,
                "type": "httpTrigger",
                "direction": "in",
                "authLevel": "anonymous",
                "methods": ["get", "post"],
                "route": links_route()
            },
            {
                "name": RESPONSE_BINDING,
                "type": "http",
                "direction": "out"
            }
        ]
    })
}

fn local_settings_json() -> serde_json::Value {
    // Names only: values stay empty so that no secret is ever written here.
    json!({
        "IsEncrypted": false,
        "Values": {
            "FUNCTIONS_WORKER_RUNTIME": "Custom",
            "AzureWebJobsStorage__accountName": "",
            "AUTOSTOP_CREDENTIAL": "",
            "AZURE_TENANT_ID": "",
            "AZURE_CLIENT_ID": "",
            "AZURE_CLIENT_SECRET": ""
        }
    })
}

fn readme(args: &InitArgs) -> String {
    README
        .replace("{{FUNCTION}}", &args.function_name)
        .replace("{{LINKS_FUNCTION}}", &args.links_function_name)
        .replace("{{LINKS_ROUTE}}", links_route())
        .replace("{{SCHEDULE}}", &args.schedule)
        .replace("{{EXECUTABLE}}", &args.executable)
        .replace("{{ARGUMENTS}}", &handler_arguments().join(" "))
        .replace("{{CONFIG}}", CONFIG_FILE)
        .replace("{{OUT}}", &args.out.display().to_string())
}

fn pretty(value: &serde_json::Value) -> String {
    // Serializing a `serde_json::Value` cannot fail.
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

fn write(path: &Path, contents: &str) -> anyhow::Result<()> {
    fs::write(path, contents).with_context(|| format!("writing {}", path.display()))
}

fn init(args: &InitArgs) -> anyhow::Result<Outcome> {
    check_function_name("--function-name", &args.function_name)?;
    check_function_name("--links-function-name", &args.links_function_name)?;
    check_executable(&args.executable)?;
    let names = [
        ("--function-name", &args.function_name),
        ("--links-function-name", &args.links_function_name),
        ("--executable", &args.executable),
    ];
    for (at, (flag, name)) in names.iter().enumerate() {
        // Functions are folders beside the executable: no two may share a name (the host compares ignoring case).
        if let Some((other, _)) = names[at + 1..].iter().find(|(_, other)| other.eq_ignore_ascii_case(name)) {
            return Err(UsageError(format!(
                "{flag} and {other}: expected different names (each function is a folder next to the executable), \
                 found {name:?} for both"
            ))
            .into());
        }
    }
    autostop_schedule::Schedule::parse(&args.schedule).map_err(|err| UsageError(format!("--schedule: {err}")))?;
    let config_path = autostop_policy::config::config_path(args.config.as_deref(), |name| std::env::var_os(name));
    let config = fs::read_to_string(&config_path)
        .map_err(|err| UsageError(format!("reading the configuration {}: {err}", config_path.display())))?;
    let parsed = autostop_policy::Config::parse_with(&config, &config_path, &|file: &Path| fs::read_to_string(file))
        .map_err(|errors| UsageError(errors.to_string()))?;
    let calendar_files = calendar_files(&parsed)?;

    let out = &args.out;
    let not_empty = fs::read_dir(out).map(|mut entries| entries.next().is_some()).unwrap_or(false);
    if not_empty && !args.force {
        return Err(UsageError(format!(
            "--out {}: expected a missing or empty folder, found files (pass --force to overwrite)",
            out.display()
        ))
        .into());
    }
    let function_dir = out.join(&args.function_name);
    fs::create_dir_all(&function_dir).with_context(|| format!("creating {}", function_dir.display()))?;

    write(&out.join("host.json"), &pretty(&host_json(&args.executable)))?;
    write(&function_dir.join("function.json"), &pretty(&function_json(&args.schedule)))?;
    let links_dir = out.join(&args.links_function_name);
    fs::create_dir_all(&links_dir).with_context(|| format!("creating {}", links_dir.display()))?;
    write(&links_dir.join("function.json"), &pretty(&links_function_json()))?;
    write(&out.join(CONFIG_FILE), &config)?;
    let config_dir = config_path.parent().unwrap_or(Path::new(""));
    for file in &calendar_files {
        let (from, to) = (config_dir.join(file), out.join(file));
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        fs::copy(&from, &to).with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    }
    write(&out.join("local.settings.json"), &pretty(&local_settings_json()))?;
    write(&out.join("autostop-role.json"), ROLE)?;
    write(&out.join("README.md"), &readme(args))?;
    if let Some(binary) = &args.binary {
        let target = out.join(&args.executable);
        fs::copy(binary, &target).with_context(|| format!("copying {} to {}", binary.display(), target.display()))?;
        set_executable(&target)?;
    }
    println!("wrote the Function App folder {} (see its README.md to deploy)", out.display());
    println!("{}", links_next_step(parsed.notify.public_url.as_deref()));
    Ok(Outcome::Success)
}

/// The step that makes notice links reach the links function: `[notify] public_url` set to the app's `api` URL.
fn links_next_step(public_url: Option<&str>) -> String {
    let route = links_route();
    let set = format!(
        "set [notify] public_url = \"https://APP.azurewebsites.net/api\" in the folder's {CONFIG_FILE} (APP: your \
         Function App's name), so that notice links reach the links function at \
         https://APP.azurewebsites.net/api/{route}"
    );
    match public_url {
        None => format!("next: {set}"),
        Some(url) if url.ends_with("/api") => {
            format!("notice links will point to {url}/{route}: check that this is your Function App's URL")
        }
        Some(url) => format!("next: public_url is {url}, which is not a Function App's api URL: {set}"),
    }
}

/// The calendar files the config names, which the app folder must hold at the same place beside its config:
/// each must be a relative path that stays inside the config's folder.
fn calendar_files(config: &autostop_policy::Config) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for named in &config.calendars {
        let Some(file) = &named.file else { continue };
        let inside = file.components().all(|part| matches!(part, std::path::Component::Normal(_)));
        if !inside {
            return Err(UsageError(format!(
                "calendar {}: file {}: expected a path inside the config's folder, so that it can be copied into \
                 the Function App",
                named.name,
                file.display()
            ))
            .into());
        }
        files.push(file.clone());
    }
    Ok(files)
}

fn set_executable(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("making {} executable", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_json_runs_the_binary_as_a_custom_handler() {
        let host = host_json("autostop");
        assert_eq!(host["version"], "2.0");
        assert_eq!(host["customHandler"]["description"]["defaultExecutablePath"], "autostop");
        assert_eq!(
            host["customHandler"]["description"]["arguments"],
            json!(["serve", "--functions", "--config", "autostop.toml"])
        );
        assert_eq!(host["customHandler"]["enableForwardingHttpRequest"], false);
        assert_eq!(host["extensionBundle"]["id"], "Microsoft.Azure.Functions.ExtensionBundle");
    }

    #[test]
    fn function_json_is_one_timer_trigger() {
        let function = function_json(DEFAULT_SCHEDULE);
        assert_eq!(
            function["bindings"],
            json!([{"name": "timer", "type": "timerTrigger", "direction": "in", "schedule": "0 */5 * * * *",
                    "runOnStartup": false, "useMonitor": true}])
        );
    }

    #[test]
    fn the_links_function_is_an_anonymous_http_trigger_on_the_links_route() {
        let function = links_function_json();
        assert_eq!(
            function["bindings"],
            json!([
                {"name": "req", "type": "httpTrigger", "direction": "in", "authLevel": "anonymous",
                 "methods": ["get", "post"], "route": "owners/postpone"},
                {"name": "res", "type": "http", "direction": "out"}
            ])
        );
    }

    #[test]
    fn the_next_step_names_the_public_url_to_set() {
        let unset = links_next_step(None);
        assert!(unset.starts_with("next: set [notify] public_url = \"https://APP.azurewebsites.net/api\""), "{unset}");
        assert!(unset.ends_with("at https://APP.azurewebsites.net/api/owners/postpone"), "{unset}");
        let set = links_next_step(Some("https://my-app.azurewebsites.net/api"));
        assert!(set.starts_with("notice links will point to https://my-app.azurewebsites.net/api/owners/postpone"));
        let elsewhere = links_next_step(Some("https://autostop.example.com"));
        assert!(elsewhere.starts_with("next: public_url is https://autostop.example.com, which is not"), "{elsewhere}");
    }

    #[test]
    fn local_settings_name_credentials_without_values() {
        let settings = local_settings_json();
        assert_eq!(settings["Values"]["FUNCTIONS_WORKER_RUNTIME"], "Custom");
        for name in ["AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"] {
            assert_eq!(settings["Values"][name], "", "{name} must be a name without a value");
        }
    }

    #[test]
    fn the_role_allows_only_reads_start_stop_deallocate_and_idle_shutdown() {
        let role: serde_json::Value = serde_json::from_str(ROLE).expect("the role is JSON");
        let actions: Vec<&str> =
            role["Actions"].as_array().expect("Actions").iter().filter_map(|action| action.as_str()).collect();
        assert!(!actions.is_empty());
        for action in &actions {
            let allowed = action.ends_with("/read")
                || action.ends_with("/start/action")
                || action.ends_with("/stop/action")
                || action.ends_with("/deallocate/action")
                || action.ends_with("/computes/updateIdleShutdownSetting/action");
            assert!(allowed && !action.contains('*'), "{action} is more than read, start, stop or deallocate");
        }
        assert_eq!(role["IsCustom"], true);
        assert_eq!(role["DataActions"], json!([]));
    }

    #[test]
    fn names_are_checked_before_anything_is_written() {
        assert!(check_function_name("--function-name", "autostop-timer_1").is_ok());
        let err = check_function_name("--function-name", "1timer").expect_err("starts with a digit");
        assert_eq!(
            err.to_string(),
            "--function-name: expected a letter then letters, digits, '_' or '-' (at most 127), found \"1timer\""
        );
        assert!(check_function_name("--links-function-name", "a/b").is_err());
        assert!(check_executable("autostop").is_ok());
        assert!(check_executable("../autostop").is_err());
        assert!(check_executable("").is_err());
    }
}
