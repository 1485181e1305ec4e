//! `autostop check [--config PATH]`: validates a config file and prints every problem as `path:line:col: message`.
//!
//! Reads the file and the calendar files it names, nothing else: no Azure, no audit database.

use std::path::{Path, PathBuf};

use autostop_policy::Config;
use autostop_policy::config::config_path;

use crate::Outcome;

/// Arguments of `autostop check`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// Config file (default: $AUTOSTOP_CONFIG, else ./autostop.toml).
    #[arg(long, short = 'c', value_name = "PATH")]
    pub config: Option<PathBuf>,
}

/// Runs `autostop check`: a summary on stdout when the file is valid; every error on stderr and exit status 2
/// when it is not.
pub fn run(args: CheckArgs) -> anyhow::Result<Outcome> {
    let path = config_path(args.config.as_deref(), |name| std::env::var_os(name));
    let config = crate::config::load(&path)?;
    print!("{}", summary(&path, &config));
    Ok(Outcome::Success)
}

/// What a valid config holds, in a few lines.
fn summary(path: &Path, config: &Config) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let mut text = format!(
        "{}: valid: {}, {} (default time zone {}, catch-up {:#})\n",
        path.display(),
        plural(config.scopes.len(), "scope"),
        plural(config.rules.len(), "rule"),
        config.defaults.timezone.name(),
        config.defaults.catch_up,
    );
    for named in &config.calendars {
        text.push_str(&format!("  calendar {}: {}\n", named.name, plural(named.calendar.len(), "event or date")));
    }
    for rule in &config.rules {
        let force = if rule.force { ", force" } else { "" };
        let names: Vec<&str> = rule.skip_on.iter().map(|named| named.name.as_str()).collect();
        let skip_on = if names.is_empty() { String::new() } else { format!(", except on {}", names.join(", ")) };
        text.push_str(&format!(
            "  {}: {} {} ({}){force}{skip_on}\n",
            rule.name,
            rule.action,
            rule.schedule.describe(),
            rule.zone.name()
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A config file in a temporary folder that is removed when the returned guard is dropped.
    fn write_temp(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("autostop.toml");
        std::fs::write(&path, text).expect("write config");
        (dir, path)
    }

    #[test]
    fn the_starter_file_checks_clean_and_is_summarised() {
        let (_dir, path) = write_temp(autostop_policy::config::starter());
        let config = crate::config::load(&path).expect("the starter is valid");
        let text = summary(&path, &config);
        assert!(text.contains("valid: 1 scope, 2 rules"), "{text}");
        assert!(text.contains("evening-stop: stop"), "{text}");
    }

    #[test]
    fn a_bad_file_is_a_usage_error_counting_its_errors() {
        let (_dir, path) = write_temp(
            "[[scopes]]\nsubscription = \"x\"\n[[rules]]\nname = \"a\"\naction = \"halt\"\nschedule = \"0 0 20 * * *\"\n",
        );
        let err = crate::config::load(&path).expect_err("refused");
        assert!(err.chain().any(|cause| cause.is::<crate::UsageError>()), "{err:#}");
        assert!(format!("{err:#}").starts_with("2 errors in "), "{err:#}");
    }

    #[test]
    fn a_missing_file_is_a_usage_error_naming_it() {
        let path = std::env::temp_dir().join("autostop-check-missing").join("nope.toml");
        let err = crate::config::load(&path).expect_err("missing");
        assert!(err.chain().any(|cause| cause.is::<crate::UsageError>()));
        assert!(format!("{err:#}").contains("nope.toml"), "{err:#}");
    }
}
