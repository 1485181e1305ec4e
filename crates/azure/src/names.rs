//! The names of the resources autostop addresses, one validator per kind (pure): subscription ids, resource
//! groups, Azure ML workspaces and computes. Everything that checks such a name (typed ids, the command line, the
//! policy configuration) calls these, so the rules cannot drift apart.
//!
//! The rules are Azure's documented ones: "Naming rules and restrictions for Azure resources"
//! (<https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules>, sections
//! Microsoft.Resources and Microsoft.MachineLearningServices) and the name patterns of the REST API specification
//! (azure-rest-api-specs, `specification/machinelearningservices`). Names compare case-insensitively, as ARM
//! does; that is the ids' business, not the validators'.

use crate::error::{Error, ErrorKind};

/// What a subscription id must look like.
pub const SUBSCRIPTION_RULE: &str = "a GUID like 00000000-0000-0000-0000-000000000000";

/// What a resource group name must look like.
pub const RESOURCE_GROUP_RULE: &str =
    "1-90 characters: letters, digits, '_', '-', '.', '(' or ')', not ending with '.'";

/// What an Azure ML workspace name must look like.
pub const WORKSPACE_RULE: &str = "3-33 characters: letters, digits, '-' or '_', starting with a letter or digit";

/// What an Azure ML compute name must look like.
pub const COMPUTE_RULE: &str = "2-24 characters: letters, digits or '-', starting with a letter";

/// True for a GUID such as `00000000-0000-0000-0000-000000000000` (hexadecimal digits, either case).
pub(crate) fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    let lengths = [8, 4, 4, 4, 12];
    groups.len() == lengths.len()
        && groups.iter().zip(lengths).all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// True for a resource group name Azure accepts: Microsoft.Resources / resourcegroups, "1-90. Alphanumerics,
/// underscores, parentheses, hyphens, periods, and unicode characters that match the regex documentation. Can't
/// end with period." The REST API's pattern is `^[-\w\._\(\)]+$`, where `\w` takes any Unicode letter or digit, so
/// letters here are Unicode letters too.
pub(crate) fn resource_group_ok(name: &str) -> bool {
    (1..=90).contains(&name.chars().count())
        && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '(' | ')'))
        && !name.ends_with('.')
}

/// True for an Azure ML workspace name: Microsoft.MachineLearningServices / workspaces, 3-33 characters of ASCII
/// letters, digits, hyphens and underscores; the REST API's pattern is `^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$` (no
/// period, no parenthesis, starting with a letter or digit).
pub(crate) fn workspace_name_ok(name: &str) -> bool {
    (3..=33).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// True for an Azure ML compute name: Microsoft.MachineLearningServices / workspaces / computes. Clusters take
/// 2-16 "alphanumerics and hyphens"; compute instances 3-24 ASCII letters, digits and hyphens starting with a
/// letter (the REST API's pattern `^[a-zA-Z](?![a-zA-Z0-9-]*-\d+$)[a-zA-Z0-9\-]{2,23}$`, which also forbids
/// ending in `-` followed by digits). autostop only names computes that exist, whichever rule they were created
/// under, so it accepts the union of the kinds' rules and leaves the creation-time refinements (the ending) to
/// Azure: 2-24 ASCII letters, digits or hyphens, starting with a letter.
pub(crate) fn compute_name_ok(name: &str) -> bool {
    (2..=24).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// The error for `input` that is not a valid `what`.
pub(crate) fn invalid(what: &'static str, input: &str, expected: &str) -> Error {
    ErrorKind::InvalidInput { what, input: input.to_string(), expected: expected.to_string() }.into()
}

/// Checks a subscription id (a bare GUID) against [`SUBSCRIPTION_RULE`].
pub fn validate_subscription_id(id: &str) -> Result<(), Error> {
    if is_guid(id) { Ok(()) } else { Err(invalid("subscription id", id, SUBSCRIPTION_RULE)) }
}

/// Checks a resource group name against [`RESOURCE_GROUP_RULE`] (Azure's rule for resource groups).
pub fn validate_resource_group(name: &str) -> Result<(), Error> {
    if resource_group_ok(name) { Ok(()) } else { Err(invalid("resource group name", name, RESOURCE_GROUP_RULE)) }
}

/// Checks an Azure ML workspace name against [`WORKSPACE_RULE`] (Azure's rule for workspaces).
pub fn validate_workspace_name(name: &str) -> Result<(), Error> {
    if workspace_name_ok(name) { Ok(()) } else { Err(invalid("workspace name", name, WORKSPACE_RULE)) }
}

/// Checks an Azure ML compute name against [`COMPUTE_RULE`] (the union of Azure's rules for computes).
pub fn validate_compute_name(name: &str) -> Result<(), Error> {
    if compute_name_ok(name) { Ok(()) } else { Err(invalid("compute name", name, COMPUTE_RULE)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_groups_take_unicode_letters_periods_and_parentheses_but_no_final_period() {
        for ok in ["rg", "rg(1).x", "ml_rg-2", "ressources-é", "r"] {
            assert!(validate_resource_group(ok).is_ok(), "{ok}");
        }
        for bad in ["", "rg.", "rg/x", "rg x", "rg#", &"r".repeat(91)] {
            assert!(validate_resource_group(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn workspaces_take_ascii_letters_digits_hyphens_and_underscores() {
        for ok in ["ws_1-a", "1ws", "abc", &"w".repeat(33)] {
            assert!(validate_workspace_name(ok).is_ok(), "{ok}");
        }
        for bad in ["-ws", "_ws", "ws", "ws.1", "ws(1)", "wé-1", &"w".repeat(34)] {
            assert!(validate_workspace_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn computes_take_ascii_letters_digits_and_hyphens_starting_with_a_letter() {
        for ok in ["ci-01", "ab", "cluster-1", &"c".repeat(24)] {
            assert!(validate_compute_name(ok).is_ok(), "{ok}");
        }
        for bad in ["a", "1compute", "a_b", "résumé-ci", "bad name", &"c".repeat(25)] {
            assert!(validate_compute_name(bad).is_err(), "{bad}");
        }
        let err = validate_compute_name("bad name").err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(err, format!("invalid compute name 'bad name': expected {COMPUTE_RULE}"));
    }

    #[test]
    fn subscription_ids_are_guids() {
        assert!(validate_subscription_id("9e223dbe-3399-4e19-88eb-0975F02AC87F").is_ok());
        for bad in ["", "1234", "9e223dbe-3399-4e19-88eb-0975f02ac87", "9e223dbe33994e1988eb0975f02ac87f"] {
            assert!(validate_subscription_id(bad).is_err(), "{bad}");
        }
    }
}
