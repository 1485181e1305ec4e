//! Typed ARM ids for subscriptions, Azure ML workspaces and computes (pure); their names are checked by
//! [`crate::names`].
//!
//! Ids parse case-insensitively (`resourcegroups` = `resourceGroups`) and compare case-insensitively, as ARM does;
//! they print in ARM's canonical spelling with the names as given.

use crate::error::{Error, ErrorKind};
use crate::names::{
    COMPUTE_RULE, RESOURCE_GROUP_RULE, SUBSCRIPTION_RULE, WORKSPACE_RULE, compute_name_ok, invalid, is_guid,
    resource_group_ok, validate_compute_name, validate_resource_group, validate_workspace_name, workspace_name_ok,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// The resource provider of Azure ML workspaces.
pub const PROVIDER: &str = "Microsoft.MachineLearningServices";

/// A subscription id: a GUID, kept in lowercase.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriptionId(String);

impl SubscriptionId {
    /// The GUID, lowercase.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The ARM scope of the subscription: `/subscriptions/{id}`.
    pub fn scope(&self) -> String {
        format!("/subscriptions/{}", self.0)
    }
}

impl FromStr for SubscriptionId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let trimmed = s.trim();
        let bare = trimmed.strip_prefix("/subscriptions/").unwrap_or(trimmed).trim_end_matches('/');
        if is_guid(bare) {
            Ok(SubscriptionId(bare.to_ascii_lowercase()))
        } else {
            Err(invalid("subscription id", s, SUBSCRIPTION_RULE))
        }
    }
}

impl fmt::Display for SubscriptionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An Azure ML workspace: `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/workspaces/{name}`.
#[derive(Clone, Debug)]
pub struct WorkspaceId {
    subscription: SubscriptionId,
    resource_group: String,
    name: String,
}

impl WorkspaceId {
    /// Builds a workspace id from its parts, validating the names.
    pub fn new(subscription: SubscriptionId, resource_group: &str, name: &str) -> Result<Self, Error> {
        validate_resource_group(resource_group)?;
        validate_workspace_name(name)?;
        Ok(WorkspaceId { subscription, resource_group: resource_group.to_string(), name: name.to_string() })
    }

    /// The subscription.
    pub fn subscription(&self) -> &SubscriptionId {
        &self.subscription
    }

    /// The resource group name.
    pub fn resource_group(&self) -> &str {
        &self.resource_group
    }

    /// The workspace name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn canonical(&self) -> String {
        self.to_string().to_ascii_lowercase()
    }
}

impl fmt::Display for WorkspaceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "/subscriptions/{}/resourceGroups/{}/providers/{PROVIDER}/workspaces/{}",
            self.subscription, self.resource_group, self.name
        )
    }
}

/// A compute of a workspace: the workspace id followed by `/computes/{name}`.
#[derive(Clone, Debug)]
pub struct ComputeId {
    workspace: WorkspaceId,
    name: String,
}

impl ComputeId {
    /// Builds a compute id from its workspace and name, validating the name.
    pub fn new(workspace: WorkspaceId, name: &str) -> Result<Self, Error> {
        validate_compute_name(name)?;
        Ok(ComputeId { workspace, name: name.to_string() })
    }

    /// The workspace.
    pub fn workspace(&self) -> &WorkspaceId {
        &self.workspace
    }

    /// The compute name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn canonical(&self) -> String {
        self.to_string().to_ascii_lowercase()
    }
}

impl fmt::Display for ComputeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/computes/{}", self.workspace, self.name)
    }
}

/// Walks the segments of an ARM id, naming the id and the part that is wrong on failure.
struct Segments<'a> {
    id: &'a str,
    parts: std::str::Split<'a, char>,
}

impl<'a> Segments<'a> {
    fn new(id: &'a str) -> Result<Self, Error> {
        let rest = id.strip_prefix('/').ok_or_else(|| invalid_id(id, "start", "'/subscriptions/...'", id))?;
        Ok(Segments { id, parts: rest.trim_end_matches('/').split('/') })
    }

    fn keyword(&mut self, expected: &'static str) -> Result<(), Error> {
        match self.parts.next() {
            Some(found) if found.eq_ignore_ascii_case(expected) => Ok(()),
            found => Err(invalid_id(self.id, "segment", &format!("'{expected}'"), found.unwrap_or(""))),
        }
    }

    fn value(&mut self, part: &'static str, check: fn(&str) -> bool, expected: &str) -> Result<&'a str, Error> {
        match self.parts.next() {
            Some(found) if check(found) => Ok(found),
            found => Err(invalid_id(self.id, part, expected, found.unwrap_or(""))),
        }
    }

    fn end(mut self) -> Result<(), Error> {
        match self.parts.next() {
            None => Ok(()),
            Some(extra) => Err(invalid_id(self.id, "end", "no more segments", extra)),
        }
    }

    fn workspace(&mut self) -> Result<WorkspaceId, Error> {
        self.keyword("subscriptions")?;
        let subscription = self.value("subscription id", is_guid, SUBSCRIPTION_RULE)?;
        self.keyword("resourceGroups")?;
        let resource_group = self.value("resource group name", resource_group_ok, RESOURCE_GROUP_RULE)?;
        self.keyword("providers")?;
        self.keyword(PROVIDER)?;
        self.keyword("workspaces")?;
        let name = self.value("workspace name", workspace_name_ok, WORKSPACE_RULE)?;
        Ok(WorkspaceId {
            subscription: SubscriptionId(subscription.to_ascii_lowercase()),
            resource_group: resource_group.to_string(),
            name: name.to_string(),
        })
    }
}

fn invalid_id(id: &str, part: &'static str, expected: &str, found: &str) -> Error {
    ErrorKind::InvalidId { id: id.to_string(), part, expected: expected.to_string(), found: found.to_string() }.into()
}

impl FromStr for WorkspaceId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let mut segments = Segments::new(s.trim())?;
        let workspace = segments.workspace()?;
        segments.end()?;
        Ok(workspace)
    }
}

impl FromStr for ComputeId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let mut segments = Segments::new(s.trim())?;
        let workspace = segments.workspace()?;
        segments.keyword("computes")?;
        let name = segments.value("compute name", compute_name_ok, COMPUTE_RULE)?;
        segments.end()?;
        Ok(ComputeId { workspace, name: name.to_string() })
    }
}

macro_rules! case_insensitive_id {
    ($ty:ty) => {
        impl PartialEq for $ty {
            fn eq(&self, other: &Self) -> bool {
                self.canonical() == other.canonical()
            }
        }
        impl Eq for $ty {}
        impl Hash for $ty {
            fn hash<H: Hasher>(&self, state: &mut H) {
                self.canonical().hash(state)
            }
        }
        impl PartialOrd for $ty {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }
        impl Ord for $ty {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                self.canonical().cmp(&other.canonical())
            }
        }
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

case_insensitive_id!(WorkspaceId);
case_insensitive_id!(ComputeId);

impl Serialize for SubscriptionId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SubscriptionId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "9e223dbe-3399-4e19-88eb-0975f02ac87f";

    fn compute_id() -> String {
        format!(
            "/subscriptions/{SUB}/resourceGroups/ml-test/providers/{PROVIDER}/workspaces/mlworkspace-test2/computes/jiajicompute1"
        )
    }

    #[test]
    fn parses_a_recorded_compute_id() -> Result<(), Error> {
        let id: ComputeId = compute_id().parse()?;
        assert_eq!(id.name(), "jiajicompute1");
        assert_eq!(id.workspace().name(), "mlworkspace-test2");
        assert_eq!(id.workspace().resource_group(), "ml-test");
        assert_eq!(id.workspace().subscription().as_str(), SUB);
        assert_eq!(id.to_string(), compute_id());
        Ok(())
    }

    #[test]
    fn parses_case_insensitively_and_compares_so() -> Result<(), Error> {
        let lower = compute_id().to_ascii_lowercase();
        let upper = compute_id().to_ascii_uppercase().replace("/SUBSCRIPTIONS/", "/subscriptions/");
        let a: ComputeId = lower.parse()?;
        let b: ComputeId = upper.parse()?;
        assert_eq!(a, b);
        assert_eq!(b.name(), "JIAJICOMPUTE1");
        Ok(())
    }

    #[test]
    fn errors_name_the_id_and_the_part() {
        let bad_sub = compute_id().replace(SUB, "not-a-guid");
        let err = bad_sub.parse::<ComputeId>().err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            err,
            format!(
                "invalid ARM id '{bad_sub}': subscription id: expected a GUID like \
                 00000000-0000-0000-0000-000000000000, found 'not-a-guid'"
            )
        );

        let bad_provider = compute_id().replace(PROVIDER, "Microsoft.Compute");
        let err = bad_provider.parse::<ComputeId>().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            err.contains("segment: expected 'Microsoft.MachineLearningServices', found 'Microsoft.Compute'"),
            "{err}"
        );

        let bad_name = compute_id().replace("jiajicompute1", "1compute");
        let err = bad_name.parse::<ComputeId>().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("compute name: expected 2-24 characters"), "{err}");
        assert!(err.contains("found '1compute'"), "{err}");

        let extra = format!("{}/stop", compute_id());
        let err = extra.parse::<ComputeId>().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.ends_with("end: expected no more segments, found 'stop'"), "{err}");

        let truncated = compute_id().replace("/computes/jiajicompute1", "");
        let err = truncated.parse::<ComputeId>().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.ends_with("segment: expected 'computes', found ''"), "{err}");

        let relative = "subscriptions/x";
        let err = relative.parse::<WorkspaceId>().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.starts_with("invalid ARM id 'subscriptions/x': start"), "{err}");
    }

    #[test]
    fn subscription_ids_accept_a_scope_and_normalise_case() -> Result<(), Error> {
        let id: SubscriptionId = format!("/subscriptions/{}", SUB.to_ascii_uppercase()).parse()?;
        assert_eq!(id.as_str(), SUB);
        assert_eq!(id.scope(), format!("/subscriptions/{SUB}"));
        assert!("1234".parse::<SubscriptionId>().is_err());
        Ok(())
    }

    #[test]
    fn ids_serialise_as_strings() -> Result<(), Box<dyn std::error::Error>> {
        let id: ComputeId = compute_id().parse()?;
        let json = serde_json::to_string(&id)?;
        assert_eq!(json, format!("\"{}\"", compute_id()));
        let back: ComputeId = serde_json::from_str(&json)?;
        assert_eq!(back, id);
        Ok(())
    }
}
