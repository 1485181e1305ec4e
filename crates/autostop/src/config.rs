//! The configuration file, loaded for the verbs that read it (`run`, `plan`, `check`, `serve`): read, validated
//! with its calendar files, every error printed with its location; and the Azure client it (with the command
//! line) asks for.

use std::path::Path;

use autostop_azure::ArmClient;
use autostop_policy::Config;

use crate::UsageError;
use crate::connect::{AzureArgs, Connection, process_env};

/// Reads and validates the config at `path`, with the calendar files it names. Every validation error goes to
/// stderr, one per line (`path:line:column: message`, or `path:line: message` for a line of a calendar file); the
/// returned error (a [`UsageError`], exit status 2) counts them.
pub fn load(path: &Path) -> anyhow::Result<Config> {
    let text = std::fs::read_to_string(path).map_err(|err| {
        let hint =
            if err.kind() == std::io::ErrorKind::NotFound { " (autostop init writes a starter file)" } else { "" };
        UsageError(format!("cannot read the config file {}: {err}{hint}", path.display()))
    })?;
    Config::parse_with(&text, path, &|file: &Path| std::fs::read_to_string(file)).map_err(|errors| {
        for error in &errors.errors {
            eprintln!("{error}");
        }
        let count = errors.errors.len();
        anyhow::Error::new(UsageError(format!(
            "{count} error{} in {}",
            if count == 1 { "" } else { "s" },
            path.display()
        )))
    })
}

/// Reads the config file and connects to Azure as it (and the command line) says.
pub fn connect(path: &Path, azure: &AzureArgs) -> anyhow::Result<(Config, ArmClient)> {
    let config = load(path)?;
    let client = client(&config, azure)?;
    Ok((config, client))
}

/// The Azure client a loaded configuration (with the command line) asks for.
pub fn client(config: &Config, azure: &AzureArgs) -> anyhow::Result<ArmClient> {
    let connection = Connection::from_args_and_config(azure, &config.azure)?;
    let (_, client) = connection.client(process_env)?;
    Ok(client)
}
