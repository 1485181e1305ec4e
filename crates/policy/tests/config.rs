//! The configuration file: the issue's minimal example, the starter file, and bad files whose every error is
//! reported with its line and column.

use std::path::Path;

use autostop_policy::config::{self, Config, ConfigError};
use autostop_policy::{Action, Instance, Kind};
use jiff::SignedDuration;

const ISSUE_EXAMPLE: &str = r#"
[defaults]
timezone = "Asia/Tokyo"        # IANA or Windows name
catch_up = "2h"                # a missed occurrence runs if at most this late

[azure]                        # optional: cloud, arm_endpoint, credential, api_version

[[scopes]]
subscription = "00000000-0000-0000-0000-000000000000"
resource_group = "ml-rg"       # optional
workspace = "ml-ws"            # optional: all workspaces of the scope when absent

[[rules]]
name = "evening-stop"
action = "stop"                # stop | start
schedule = "0 0 20 * * Mon-Fri"
timezone = "Europe/Berlin"     # optional, else defaults.timezone
select = { names = ["ci-*"], tags = { team = "research" } }   # optional: everything in scope when absent
exclude = { names = ["ci-keep-*"] }                            # optional
force = false                  # stop JobRunning instances too
"#;

fn parse(text: &str) -> Result<Config, Vec<ConfigError>> {
    Config::parse(text, Path::new("autostop.toml")).map_err(|errors| errors.errors)
}

/// Parses `text`, which must fail, and returns `(line, column, message)` of every error.
fn errors(text: &str) -> Vec<(usize, usize, String)> {
    let errors = parse(text).expect_err("the configuration must be refused");
    errors.into_iter().map(|error| (error.line, error.column, error.message)).collect()
}

fn instance(name: &str, tags: &[(&str, &str)]) -> Instance {
    Instance {
        id: format!("/subscriptions/x/computes/{name}"),
        name: name.to_owned(),
        subscription: "00000000-0000-0000-0000-000000000000".to_owned(),
        resource_group: "ml-rg".to_owned(),
        workspace: "ml-ws".to_owned(),
        compute_type: "ComputeInstance".to_owned(),
        state: Some("Running".to_owned()),
        vm_size: None,
        tags: tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        ..Default::default()
    }
}

#[test]
fn the_issue_example_works_as_written() {
    let config = parse(ISSUE_EXAMPLE).expect("the issue's example is valid");
    assert_eq!(config.defaults.timezone.name(), "Asia/Tokyo");
    assert_eq!(config.defaults.catch_up, SignedDuration::from_hours(2));
    assert_eq!(config.scopes.len(), 1);
    assert_eq!(config.scopes[0].workspace.as_deref(), Some("ml-ws"));
    let rule = &config.rules[0];
    assert_eq!(rule.name, "evening-stop");
    assert_eq!(rule.action, Action::Stop);
    assert_eq!(rule.zone.name(), "Europe/Berlin");
    assert_eq!(rule.catch_up, SignedDuration::from_hours(2), "the rule inherits defaults.catch_up");
    assert!(!rule.force);
    assert!(rule.select.matches(&instance("ci-7", &[("team", "research")])));
    assert!(!rule.select.matches(&instance("ci-7", &[("team", "ops")])));
    let exclude = rule.exclude.as_ref().expect("exclude");
    assert!(exclude.matches(&instance("ci-keep-1", &[])));
    assert_eq!(config.azure, config::AzureSettings::default());
    assert_eq!(config.tags, autostop_policy::tags::TagNames::default());
}

#[test]
fn the_starter_file_is_valid() {
    let config = parse(config::starter()).expect("the starter file parses");
    assert!(config.rules.len() >= 2);
    let comments = config::starter().lines().filter(|line| line.trim_start().starts_with('#')).count();
    assert!(comments > 10, "the starter explains itself in comments");
}

#[test]
fn the_starters_commented_notice_example_is_valid_once_uncommented() {
    let keys = ["[notify]", "public_url", "owner_domain", "[[channels]]", "name", "kind", "url", "smtp", "from", "to"];
    let keys = [&keys[..], &["username_env", "password_env", "notify"]].concat();
    let uncommented: String = config::starter()
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest) if keys.iter().any(|key| rest.starts_with(&format!("{key} ")) || rest == *key) => rest,
            _ => line,
        })
        .map(|line| format!("{line}\n"))
        .collect();
    let config = parse(&uncommented).unwrap_or_else(|errors| panic!("{errors:#?}\n{uncommented}"));
    let kinds: Vec<&str> = config.channels.iter().map(|channel| channel.kind.name()).collect();
    assert_eq!(kinds, ["teams", "email"]);
    assert!(config.rule("evening-stop").and_then(|rule| rule.notify.as_ref()).is_some(), "{uncommented}");
}

#[test]
fn optional_sections_take_their_defaults() {
    let config = parse(
        r#"
[[scopes]]
subscription = "00000000-0000-0000-0000-000000000000"

[[rules]]
name = "night"
action = "start"
schedule = "0 0 8 * * *"
"#,
    )
    .expect("valid");
    assert_eq!(config.defaults.timezone.name(), "UTC");
    assert_eq!(config.defaults.catch_up, config::DEFAULT_CATCH_UP);
    assert!(config.rules[0].select.is_empty());
    assert!(config.rules[0].exclude.is_none());
}

#[test]
fn azure_and_tags_sections_are_read() {
    let config = parse(
        r#"
[azure]
cloud = "usgov"
arm_endpoint = "https://127.0.0.1:8443"
credential = "workload-identity"
api_version = "2024-10-01-preview"

[tags]
opt_out = "keep-running"
snooze_until = "nap-until"
rule = "policy"

[[scopes]]
subscription = "00000000-0000-0000-0000-000000000000"
"#,
    )
    .expect("valid");
    assert_eq!(config.azure.cloud.as_deref(), Some("usgov"));
    assert_eq!(config.azure.arm_endpoint.as_deref(), Some("https://127.0.0.1:8443"));
    assert_eq!(config.azure.credential.as_deref(), Some("workload-identity"));
    assert_eq!(config.azure.api_version.as_deref(), Some("2024-10-01-preview"));
    assert_eq!(config.tags.opt_out, "keep-running");
    assert_eq!(config.tags.snooze_until, "nap-until");
    assert_eq!(config.tags.rule, "policy");
    assert!(config.rules.is_empty());
}

#[test]
fn state_keep_is_a_duration_of_at_least_a_day() {
    let scope = "[[scopes]]\nsubscription = \"00000000-0000-0000-0000-000000000000\"\n";
    let config = parse(&format!("[state]\nkeep = \"400d\"\n{scope}")).expect("valid");
    assert_eq!(config.state.keep, Some(jiff::SignedDuration::from_hours(400 * 24)));
    assert_eq!(parse(scope).expect("valid").state.keep, None, "kept forever by default");
    let found = errors(&format!("[state]\nkeep = \"2h\"\n{scope}"));
    assert_eq!(found, [(2, 8, "state.keep: expected at least 1d, found \"2h\"".to_owned())]);
    let found = errors(&format!("[state]\nkeep = \"forever\"\n{scope}"));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].2.starts_with("state.keep: "), "{found:?}");
}

#[test]
fn state_leader_asks_serve_for_leader_election() {
    let scope = "[[scopes]]\nsubscription = \"00000000-0000-0000-0000-000000000000\"\n";
    assert!(parse(&format!("[state]\nleader = true\n{scope}")).expect("valid").state.leader);
    assert!(!parse(scope).expect("valid").state.leader, "no election by default");
    let found = errors(&format!("[state]\nleader = \"yes\"\n{scope}"));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].0, found[0].1), (2, 10), "{found:?}");
}

#[test]
fn every_semantic_error_is_reported_with_its_position() {
    let text = r#"[defaults]
timezone = "Mars/Olympus_Mons"
catch_up = "a while"

[azure]
cloud = "moon"
credential = "password"
arm_endpoint = "http://management.azure.com"
api_version = "latest"

[tags]
opt_out = "auto/stop"

[[scopes]]
subscription = "not-a-guid"

[[scopes]]
subscription = "00000000-0000-0000-0000-000000000000"
resource_group = "bad group"

[[rules]]
name = "stop"
action = "halt"
schedule = "0 0 20 * * Mon-Fry"
timezone = "Europe/Berln"
catch_up = "-1h"
select = { names = ["ci-[0-9]"], sizes = [""] }
exclude = {}

[[rules]]
name = "Stop"
action = "stop"
schedule = "0 0 20 * * *"

[[rules]]
name = "bad name!"
action = "start"
schedule = "0 0 8 * * *"
"#;
    let got = errors(text);
    let at = |line: usize, column: usize, needle: &str| {
        assert!(
            got.iter().any(|(l, c, message)| *l == line && *c == column && message.contains(needle)),
            "expected an error at {line}:{column} containing {needle:?}; got {got:#?}"
        );
    };
    at(2, 12, "defaults.timezone");
    at(3, 12, "defaults.catch_up");
    at(6, 9, "azure.cloud: expected one of public, china, usgov, found \"moon\"");
    at(7, 14, "azure.credential");
    at(8, 16, "azure.arm_endpoint: expected an https:// URL");
    at(9, 15, "azure.api_version");
    at(12, 11, "tags.opt_out");
    at(15, 16, "scopes.subscription: expected a subscription id");
    at(19, 18, "scopes.resource_group");
    at(23, 10, "rule stop: action: expected stop or start, found \"halt\"");
    at(24, 24, "rule stop: schedule \"0 0 20 * * Mon-Fry\": day-of-week");
    at(25, 12, "rule stop: timezone");
    at(26, 12, "rule stop: catch_up: expected a duration of zero or more");
    at(27, 21, "rule stop: select.names");
    at(27, 43, "rule stop: select.sizes");
    at(28, 11, "rule stop: exclude: expected names, tags or sizes");
    at(31, 8, "duplicate rule name \"Stop\", first defined at 22:8");
    at(36, 8, "rules.name: expected letters, digits");
    assert_eq!(got.len(), 18, "{got:#?}");
    let mut sorted = got.clone();
    sorted.sort();
    assert_eq!(got, sorted, "errors come in file order");
}

#[test]
fn schedule_errors_point_at_the_field_at_fault() {
    let rules = |schedule: &str| {
        format!(
            "[[scopes]]\nsubscription = \"00000000-0000-0000-0000-000000000000\"\n[[rules]]\nname = \"a\"\naction = \"stop\"\nschedule = {schedule}\n"
        )
    };
    let cases = [
        ("\"0 0 25 * * *\"", 17, "hour"),
        ("\"0 25 * * *\"", 15, "hour"),
        ("'0 0 20 * * 8'", 24, "day-of-week"),
        ("\"0 0 20 * * * *\"", 12, "field"),
        ("\"0 0 25 \\u002A * *\"", 12, "hour"),
    ];
    for (schedule, column, needle) in cases {
        let got = errors(&rules(schedule));
        assert_eq!(got.len(), 1, "{schedule}: {got:#?}");
        assert_eq!((got[0].0, got[0].1), (6, column), "{schedule}: {got:#?}");
        assert!(got[0].2.contains(needle), "{schedule}: {got:#?}");
    }
}

#[test]
fn every_unknown_key_is_reported_and_one_type_error_per_entry() {
    let text = r#"colour = "blue"

[defaults]
timezone = "UTC"
catchup = "2h"

[[scopes]]
subscription = "00000000-0000-0000-0000-000000000000"
region = "westeurope"

[[rules]]
name = "a"
action = "stop"
schedule = "0 0 20 * * *"
forse = true
colour = 1
select = { name = ["x"], tags = { team = "a" } }

[[rules]]
name = "b"
action = "stop"

[[rules]]
name = "c"
action = "stop"
schedule = "0 0 20 * * *"
force = "yes"
exclude = { size = ["x"] }
"#;
    let got = errors(text);
    let expected = [
        (
            1,
            1,
            "unknown key \"colour\": expected defaults, azure, notify, state, tags, calendars, channels, scopes, rules or idle_shutdown",
        ),
        (5, 1, "[defaults]: unknown key \"catchup\": expected one of timezone, catch_up"),
        (9, 1, "scopes[1]: unknown key \"region\""),
        (15, 1, "rules[1]: unknown key \"forse\""),
        (16, 1, "rules[1]: unknown key \"colour\""),
        (17, 12, "rules[1].select: unknown key \"name\": expected one of names, tags, sizes"),
        (19, 1, "rules[2]: missing field `schedule`"),
        (27, 9, "rules[3]: invalid type: string \"yes\", expected a boolean"),
        (28, 13, "rules[3].exclude: unknown key \"size\""),
    ];
    let found: Vec<(usize, usize, &str)> = got.iter().map(|(l, c, m)| (*l, *c, m.as_str())).collect();
    assert_eq!(found.len(), expected.len(), "{found:#?}");
    for ((line, column, message), (want_line, want_column, want)) in found.iter().zip(expected) {
        assert_eq!((*line, *column), (want_line, want_column), "{message}");
        assert!(message.starts_with(want), "expected {want:?}, found {message:?}");
    }
}

#[test]
fn syntax_errors_are_located() {
    let got = errors("[defaults]\ntimezone = \"UTC\n\n[[rules]]\nname = = 1\n");
    assert!(!got.is_empty());
    assert_eq!((got[0].0, got[0].1 > 0), (2, true), "{got:#?}");
}

#[test]
fn a_config_without_scopes_is_refused() {
    for text in ["[defaults]\ntimezone = \"UTC\"\n", "scopes = []\n"] {
        let got = errors(text);
        assert_eq!(got.len(), 1, "{text}: {got:#?}");
        assert!(got[0].2.contains("no [[scopes]]"), "{text}: {got:#?}");
    }
}

#[test]
fn errors_print_as_path_line_column_message() {
    let errors = Config::parse("[[scopes]]\nsubscription = \"x\"\n", Path::new("conf/a.toml")).expect_err("refused");
    let line = errors.errors[0].to_string();
    assert!(line.starts_with("conf/a.toml:2:16: scopes.subscription: expected"), "{line}");
    assert!(errors.to_string().starts_with("1 error in the configuration\nconf/a.toml:2:16:"), "{errors}");
}

#[test]
fn the_config_path_comes_from_the_flag_then_the_environment_then_the_default() {
    let env = |value: Option<&'static str>| {
        move |name: &str| (name == config::CONFIG_ENV).then(|| value.map(Into::into)).flatten()
    };
    assert_eq!(config::config_path(Some(Path::new("x.toml")), env(Some("y.toml"))), Path::new("x.toml"));
    assert_eq!(config::config_path(None, env(Some("y.toml"))), Path::new("y.toml"));
    assert_eq!(config::config_path(None, env(Some(""))), Path::new("autostop.toml"));
    assert_eq!(config::config_path(None, env(None)), Path::new("autostop.toml"));
}

#[test]
fn the_next_occurrence_of_any_rule_and_the_longest_catch_up() {
    let config = parse(
        r#"
[defaults]
timezone = "Asia/Tokyo"
catch_up = "30m"
[[scopes]]
subscription = "00000000-0000-0000-0000-000000000000"
[[rules]]
name = "tokyo-evening"
action = "stop"
schedule = "0 0 20 * * *"
[[rules]]
name = "berlin-evening"
action = "stop"
schedule = "0 0 20 * * *"
timezone = "Europe/Berlin"
catch_up = "3h"
"#,
    )
    .expect("valid");
    // At 12:00Z Tokyo's 20:00 (11:00Z) has passed; Berlin's 20:00 (19:00Z) comes before Tokyo's next (11:00Z).
    let (rule, next) = config.next_occurrence("2026-03-02T12:00:00Z".parse().expect("instant")).expect("a rule fires");
    assert_eq!(rule.name, "berlin-evening");
    assert_eq!(next.to_string(), "2026-03-02T20:00:00+01:00[Europe/Berlin]");
    let (rule, _) = config.next_occurrence("2026-03-02T10:00:00Z".parse().expect("instant")).expect("a rule fires");
    assert_eq!(rule.name, "tokyo-evening");
    assert_eq!(config.longest_catch_up(), SignedDuration::from_hours(3));
}

#[test]
fn kinds_and_idle_shutdown_are_read_and_checked() {
    let config = parse(
        r#"
[[scopes]]
subscription = "00000000-0000-0000-0000-000000000001"

[[scopes]]
subscription = "00000000-0000-0000-0000-000000000002"
kinds = ["vm", "vmss"]

[[rules]]
name = "vms"
action = "stop"
schedule = "0 0 20 * * *"
kinds = ["vm"]

[idle_shutdown]
max = "60m"
"#,
    )
    .unwrap_or_else(|errors| panic!("{errors:?}"));
    assert_eq!(config.scopes[0].kinds, [Kind::ComputeInstance], "the default keeps existing configs' meaning");
    assert_eq!(config.scopes[1].kinds, [Kind::Vm, Kind::Vmss]);
    assert_eq!(config.rules[0].kinds, Some(vec![Kind::Vm]));
    assert_eq!(config.idle_shutdown, Some(SignedDuration::from_mins(60)));

    let got = errors(
        r#"[[scopes]]
subscription = "00000000-0000-0000-0000-000000000001"
kinds = ["vm", "lambda", "vm"]

[idle_shutdown]
max = "4d"
"#,
    );
    let messages: Vec<&str> = got.iter().map(|(_, _, message)| message.as_str()).collect();
    assert!(
        messages.contains(&"scopes.kinds: expected one of compute-instance, vm, vmss, found \"lambda\""),
        "{got:?}"
    );
    assert!(messages.contains(&"scopes.kinds: vm is listed twice"), "{got:?}");
    assert!(
        messages.iter().any(|m| m.starts_with("idle_shutdown.max: expected 15 minutes to 3 days")),
        "Azure's bounds are checked at check time: {got:?}"
    );
    assert!(got.iter().any(|(line, _, m)| *line == 6 && m.starts_with("idle_shutdown.max")), "{got:?}");
}

#[test]
fn scope_names_follow_azures_rules_for_their_kind() {
    // A period or a parenthesis is valid in a resource group but not in an Azure ML workspace name.
    let text = "[[scopes]]\nsubscription = \"00000000-0000-0000-0000-000000000000\"\nresource_group = \"ml(1).rg\"\n\
                workspace = \"ws.1\"\n\n[[scopes]]\nsubscription = \"00000000-0000-0000-0000-000000000000\"\n\
                workspace = \"ws(2)\"\n";
    let got = errors(text);
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!((got[0].0, got[0].1), (4, 13), "{got:#?}");
    assert!(got[0].2.starts_with("scopes.workspace: invalid workspace name 'ws.1': expected 3-33"), "{got:#?}");
    assert_eq!((got[1].0, got[1].1), (8, 13), "{got:#?}");
    assert!(got[1].2.contains("'ws(2)'") && got[1].2.contains(autostop_azure::WORKSPACE_RULE), "{got:#?}");

    let valid = "[[scopes]]\nsubscription = \"00000000-0000-0000-0000-000000000000\"\nresource_group = \"ml(1).rg-é\"\n\
                 workspace = \"ws_1-a\"\n";
    let config = parse(valid).unwrap_or_else(|errors| panic!("{errors:#?}"));
    assert_eq!(config.scopes[0].resource_group.as_deref(), Some("ml(1).rg-é"));
    assert_eq!(config.scopes[0].workspace.as_deref(), Some("ws_1-a"));
}

#[test]
fn notify_public_url_must_be_an_http_url_and_loses_its_trailing_slash() {
    let scopes = "[[scopes]]\nsubscription = \"00000000-0000-0000-0000-000000000001\"\n";
    let good = parse(&format!("[notify]\npublic_url = \"https://autostop.example.com/\"\n{scopes}")).expect("valid");
    assert_eq!(good.notify.public_url.as_deref(), Some("https://autostop.example.com"));
    let bad = errors(&format!("[notify]\npublic_url = \"autostop.example.com\"\n{scopes}"));
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_eq!((bad[0].0, bad[0].1), (2, 14));
    assert!(bad[0].2.starts_with("notify.public_url: expected an http:// or https:// URL"), "{bad:?}");
}

#[test]
fn notices_need_a_stop_rule_a_positive_lead_and_declared_channels_and_never_echo_a_channel_url() {
    let text = r#"
[[channels]]
name = "ml-team"
kind = "webhook"
url = "not a url with secret-token"

[[channels]]
name = "pager"
kind = "sms"
url = "https://example.com/x"

[[scopes]]
subscription = "00000000-0000-0000-0000-000000000001"

[[rules]]
name = "stop"
action = "stop"
schedule = "0 0 20 * * *"
notify = { before = "0m", channels = ["nobody"] }

[[rules]]
name = "start"
action = "start"
schedule = "0 0 8 * * *"
notify = { before = "30m", channels = [] }
"#;
    let got = errors(text);
    let messages: Vec<&str> = got.iter().map(|(_, _, message)| message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "channel ml-team: url: expected an http:// or https:// URL",
            "channel pager: kind: expected webhook, teams, slack or email, found \"sms\"",
            "rule stop: notify: [notify] public_url is not set: notices carry links to it (the URL `autostop serve` \
             is reached at from the owners' browsers)",
            "rule stop: notify.before: expected a positive duration such as 30m",
            "rule stop: notify.channels: no [[channels]] entry is named \"nobody\"",
            "rule start: notify: only stop rules send notices (an owner answers a coming stop)",
        ]
    );
    assert!(got.iter().all(|(_, _, message)| !message.contains("secret-token")));
}

#[test]
fn teams_slack_and_email_channels_read_their_own_keys() {
    use autostop_policy::config::{ChannelKind, Recipients, SmtpSecurity};
    let text = r#"
[notify]
public_url = "https://autostop.example.com"
owner_domain = "example.com"

[[channels]]
name = "teams"
kind = "teams"
url = "https://prod-01.westeurope.logic.azure.com/workflows/x/triggers/manual/paths/invoke?sig=SECRET"

[[channels]]
name = "slack"
kind = "slack"
url = "https://hooks.slack.com/services/T0/B0/SECRET"

[[channels]]
name = "owners"
kind = "email"
smtp = "smtp://mail.example.com"
from = "autostop@example.com"
to = "owner"
username_env = "SMTP_USER"
password_env = "SMTP_PASSWORD"

[[channels]]
name = "ops"
kind = "email"
smtp = "smtps://[::1]:2465"
from = "autostop@example.com"
to = ["ops@example.com", "lead@example.com"]

[[scopes]]
subscription = "00000000-0000-0000-0000-000000000001"

[[rules]]
name = "stop"
action = "stop"
schedule = "0 0 20 * * *"
notify = { before = "30m", channels = ["teams", "slack", "owners", "ops"] }
"#;
    let config = parse(text).unwrap_or_else(|errors| panic!("{errors:#?}"));
    assert_eq!(config.notify.owner_domain.as_deref(), Some("example.com"));
    let kinds: Vec<&str> = config.channels.iter().map(|channel| channel.kind.name()).collect();
    assert_eq!(kinds, ["teams", "slack", "email", "email"]);
    let ChannelKind::Email(owners) = &config.channels[2].kind else { panic!("{:?}", config.channels[2]) };
    assert_eq!(
        (owners.server.security, owners.server.host.as_str(), owners.server.port),
        (SmtpSecurity::StartTls, "mail.example.com", 587)
    );
    assert_eq!(owners.to, Recipients::Owners);
    let credentials = owners.credentials.as_ref().expect("credentials");
    assert_eq!((credentials.username.as_str(), credentials.password.as_str()), ("SMTP_USER", "SMTP_PASSWORD"));
    let ChannelKind::Email(ops) = &config.channels[3].kind else { panic!("{:?}", config.channels[3]) };
    assert_eq!(
        (ops.server.security, ops.server.host.as_str(), ops.server.port),
        (SmtpSecurity::ImplicitTls, "::1", 2465)
    );
    assert_eq!(ops.to, Recipients::Addresses(vec!["ops@example.com".to_owned(), "lead@example.com".to_owned()]));
    assert_eq!(ops.credentials, None);
    assert!(!format!("{config:?}").contains("SECRET"), "a webhook URL shows in Debug");
}

#[test]
fn channel_keys_are_checked_per_kind_and_never_echo_a_secret() {
    let text = r#"
[notify]
public_url = "https://autostop.example.com"
owner_domain = "not a domain"

[[channels]]
name = "slack"
kind = "slack"
url = "https://hooks.slack.com/services/T0/B0/SECRET"
to = "owner"

[[channels]]
name = "teams"
kind = "teams"

[[channels]]
name = "mail"
kind = "email"
smtp = "smtp://alice:SECRET-PASSWORD@mail.example.com:587"
from = "autostop"
to = "everyone"
username_env = "SMTP_USER"
url = "https://example.com/SECRET"

[[channels]]
name = "plain"
kind = "email"
smtp = "http://mail.example.com"
from = "autostop@example.com"
to = ["ops@example.com", "not an address"]
username_env = "1BAD"
password_env = "SMTP-PASSWORD"

[[channels]]
name = "partial"
kind = "email"
smtp = "smtps://mail.example.com:0"
to = []

[[scopes]]
subscription = "00000000-0000-0000-0000-000000000001"
"#;
    let got = errors(text);
    let lines: Vec<(usize, &str)> = got.iter().map(|(line, _, message)| (*line, message.as_str())).collect();
    assert_eq!(
        lines,
        [
            (4, "notify.owner_domain: expected a domain name such as example.com, found \"not a domain\""),
            (10, "channel slack: to: not a key of kind = \"slack\""),
            (12, "channel teams: kind = \"teams\" needs url"),
            (16, "channel mail: expected both username_env and password_env, or neither"),
            (
                19,
                "channel mail: smtp: expected smtp://HOST[:PORT] (STARTTLS) or smtps://HOST[:PORT] (implicit TLS), \
                 found credentials in it (name them with username_env and password_env instead)"
            ),
            (20, "channel mail: from: expected an e-mail address such as ops@example.com, found \"autostop\""),
            (21, "channel mail: to: expected \"owner\" or a list of addresses, found \"everyone\""),
            (23, "channel mail: url: not a key of kind = \"email\""),
            (
                28,
                "channel plain: smtp: expected smtp://HOST[:PORT] (STARTTLS) or smtps://HOST[:PORT] (implicit TLS), \
                 found another scheme"
            ),
            (30, "channel plain: to: expected e-mail addresses such as ops@example.com, found \"not an address\""),
            (
                31,
                "channel plain: username_env: expected the name of an environment variable such as SMTP_PASSWORD, \
                 found \"1BAD\""
            ),
            (
                32,
                "channel plain: password_env: expected the name of an environment variable such as SMTP_PASSWORD, \
                 found \"SMTP-PASSWORD\""
            ),
            (34, "channel partial: kind = \"email\" needs smtp, from and to"),
        ]
    );
    let number = errors(
        "[[channels]]\nname = \"m\"\nkind = \"email\"\nsmtp = \"smtp://h\"\nfrom = \"a@b\"\nto = 5\n\n\
         [[scopes]]\nsubscription = \"00000000-0000-0000-0000-000000000001\"\n",
    );
    assert_eq!(number.len(), 1, "{number:?}");
    assert_eq!(number[0].0, 6, "{number:?}");
    assert_eq!(number[0].2, "channels[1]: to: expected \"owner\" or a list of e-mail addresses");
    assert!(got.iter().all(|(_, _, message)| !message.contains("SECRET")), "{got:#?}");
}
