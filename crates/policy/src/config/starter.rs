//! The commented starter file `autostop init` writes. It must stay valid: a test parses it.

/// The text of a commented, valid starter configuration.
pub fn starter() -> &'static str {
    STARTER
}

const STARTER: &str = r#"# autostop configuration. Check it with `autostop check`; preview it with `autostop plan --window 24h`.

[defaults]
# Time zone of every rule that names none: an IANA name ("Asia/Tokyo") or a Windows one ("Tokyo Standard Time").
timezone = "UTC"
# A run that starts late still executes an occurrence at most this late; older ones are recorded as missed.
catch_up = "1h"

# How to reach Azure. Every key is optional; the command line and the environment can set them too.
[azure]
# cloud = "public"                 # public | china | usgov
# credential = "client-secret"     # client-secret | workload-identity | managed-identity | azure-cli
# arm_endpoint = "https://management.azure.com"
# api_version = "2024-10-01"

# Retention of the audit log (the state is chosen by --state / AUTOSTOP_STATE: a file, or a Blob Storage URL).
# [state]
# keep = "400d"                    # prune events older than this after each run; claims are never pruned
# leader = true                    # serve: elect one leader among replicas sharing a Blob state (as --ha)

# Owner tags on an instance (the names below are the defaults):
#   autostop = off                                   never touch this instance
#   autostop-snooze-until = 2026-03-02T23:00:00+09:00  no action before this instant
#   autostop-rule = NAME                             only the rule NAME applies to this instance
[tags]
opt_out = "autostop"
snooze_until = "autostop-snooze-until"
rule = "autostop-rule"

# Owners in the loop: a stop rule with notify = { before = "30m", channels = ["ml-team"] } sends each channel,
# that long before each stop, a digest of the instances it will stop, with signed links their owners open to
# postpone it (+1h, +2h, +4h) or skip it. The links point below public_url (required with notify), where
# autostop answers them:
#   autostop serve (the daemon):           its address as owners' browsers reach it, e.g. "https://autostop.example.com"
#   Azure Functions (autostop functions init): the app's api URL, "https://APP.azurewebsites.net/api"
# [notify]
# public_url = "https://APP.azurewebsites.net/api"
# owner_domain = "example.com"     # e-mail to owners who are not addresses: alice -> alice@example.com
#
# Channels: kind = "webhook" (the notice's JSON), "teams" (an Adaptive Card to a Teams Workflows webhook),
# "slack" (Block Kit to an incoming webhook) or "email" (SMTP; one digest per owner with to = "owner").
# Webhook URLs hold a secret: keep this file private. SMTP credentials come from the environment variables named.
# [[channels]]
# name = "ml-team"
# kind = "teams"
# url = "https://prod-00.westeurope.logic.azure.com/workflows/.../invoke?...&sig=..."
#
# [[channels]]
# name = "owners"
# kind = "email"
# smtp = "smtp://smtp.example.com:587"   # STARTTLS, required; smtps://HOST:465 for TLS from the first byte
# from = "autostop@example.com"
# to = "owner"                           # or a list: ["ml-ops@example.com"]
# username_env = "AUTOSTOP_SMTP_USER"    # the names of environment variables, never the values
# password_env = "AUTOSTOP_SMTP_PASSWORD"

# Where autostop looks and acts. It never acts outside these scopes.
[[scopes]]
subscription = "00000000-0000-0000-0000-000000000000"
# resource_group = "ml-rg"         # optional: every resource group of the subscription when absent
# workspace = "ml-ws"              # optional: every workspace of the scope when absent

# Holiday calendars that rules can rest on (skip_on): a list of dates, or an iCalendar file (.ics, recurring
# events included; a relative path starts from this file's folder). A rule does not act on an occurrence whose
# local date, in the rule's time zone, is in the calendar.
[[calendars]]
name = "holidays"
dates = ["2026-12-25", "2027-01-01"]
# file = "holidays.ics"            # instead of dates: e.g. your country's public holidays exported as iCalendar

# Rules: an action on a schedule (NCRONTAB, as Azure Functions reads it: sec min hour day month day-of-week).
[[rules]]
name = "evening-stop"
action = "stop"                    # stop only Running instances (JobRunning too with force = true)
schedule = "0 0 20 * * Mon-Fri"
# timezone = "Europe/Berlin"       # else defaults.timezone
# select = { names = ["ci-*"], tags = { team = "research" }, sizes = ["Standard_NC*"] }
# exclude = { names = ["ci-keep-*"] }
# notify = { before = "30m", channels = ["ml-team", "owners"] }   # warn the owners first (needs [notify] public_url)
force = false

[[rules]]
name = "morning-start"
action = "start"                   # start only Stopped instances
schedule = "0 0 8 * * Mon-Fri"
select = { tags = { autostart = "yes" } }
skip_on = ["holidays"]             # no start on holidays; the evening stop still runs
"#;
