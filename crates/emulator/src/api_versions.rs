//! Which `api-version`s ARM accepts for each kind of request the emulator serves, and what ARM answers for the
//! others. Pure: a route kind and a version string in, a verdict out.
//!
//! Sources (the lists are data, newest first, as ARM prints them):
//! - Microsoft.Resources (subscriptions, tenants): the list ARM itself prints in its
//!   `InvalidApiVersionParameter` answer (seen in public issue reports from 2024, e.g. Azure/azure-cli#28038 and
//!   ansible-collections/azure#1739), with the same odd tail (`2014-02-26,2014-04`).
//! - Microsoft.MachineLearningServices: the version folders of `specification/machinelearningservices/
//!   resource-manager/Microsoft.MachineLearningServices/{stable,preview}/` in github.com/Azure/azure-rest-api-specs
//!   (MIT), plus the versions the recorded sessions use (2024-04-01, 2021-07-01), the 2018–2021 versions ARM's
//!   template schema lists for `workspaces/computes`, and 2020-02-02, which azureml-core (1.61,
//!   `azureml._compute._constants.MLC_WORKSPACE_API_VERSION`) sends to ARM to start, stop and restart compute
//!   instances: the SDK Microsoft ships works against ARM, so ARM takes it.
//!
//! - Microsoft.Compute (`virtualMachines`, `virtualMachineScaleSets`, `locations/operations`): the version folders
//!   of `specification/compute/resource-manager/Microsoft.Compute/ComputeRP/{stable,preview}/` that hold the
//!   virtual machine spec (`compute.json` up to 2021-11-01, `virtualMachine.json` from 2022-03-01, `ComputeRP.json`
//!   from 2024-11-01), each checked in the same repository.
//! - Microsoft.Insights `autoscalesettings`: the version folders of
//!   `specification/monitor/resource-manager/Microsoft.Insights/{stable,preview}/` that hold `autoscale_API.json`.
//! - `updateIdleShutdownSetting` of Microsoft.MachineLearningServices, read in the same repository: declared by the
//!   spec of stable 2025-06-01 (the path and `Compute_UpdateIdleShutdownSetting`), absent from the specs of stable
//!   2021-07-01, 2023-04-01, 2024-04-01, 2024-10-01, 2025-09-01, 2025-12-01 and 2026-07-01 (their compute paths end
//!   at `restart`); among the previews, those whose `examples/Compute/updateIdleShutdownSetting.json` the spec
//!   references (2022-06-01-preview to 2026-07-15-preview, listed below). A version of the provider that does not
//!   declare the operation is refused with 400 `InvalidApiVersionParameter` naming the versions that do (the
//!   emulator's wording: no recorded answer of the service for this case).
//!
//! ARM's answers for a version it does not know (shapes from the same public reports):
//! - its own endpoints: 400 `InvalidApiVersionParameter`, "The api-version '{v}' is invalid. The supported versions
//!   are '{comma-separated list}'."
//! - a resource provider's: 400 `NoRegisteredProviderFound`, "No registered resource provider found for location
//!   '{location}' and API version '{v}' for type '{type}'. The supported api-versions are '{list, comma and space}'.
//!   The supported locations are '{locations}'."

use crate::arm_error::ArmError;

/// Versions of ARM's own endpoints (`/subscriptions`, `/subscriptions/{s}`, `/tenants`).
pub(crate) const RESOURCES: &[&str] = &[
    "2024-08-01",
    "2024-06-01-preview",
    "2024-03-01",
    "2023-07-01",
    "2023-07-01-preview",
    "2023-03-01-preview",
    "2022-12-01",
    "2022-11-01-preview",
    "2022-09-01",
    "2022-06-01",
    "2022-05-01",
    "2022-03-01-preview",
    "2022-01-01",
    "2021-04-01",
    "2021-01-01",
    "2020-10-01",
    "2020-09-01",
    "2020-08-01",
    "2020-07-01",
    "2020-06-01",
    "2020-05-01",
    "2020-01-01",
    "2019-11-01",
    "2019-10-01",
    "2019-09-01",
    "2019-08-01",
    "2019-07-01",
    "2019-06-01",
    "2019-05-10",
    "2019-05-01",
    "2019-03-01",
    "2018-11-01",
    "2018-09-01",
    "2018-08-01",
    "2018-07-01",
    "2018-06-01",
    "2018-05-01",
    "2018-02-01",
    "2018-01-01",
    "2017-12-01",
    "2017-08-01",
    "2017-06-01",
    "2017-05-10",
    "2017-05-01",
    "2017-03-01",
    "2016-09-01",
    "2016-07-01",
    "2016-06-01",
    "2016-02-01",
    "2015-11-01",
    "2015-01-01",
    "2014-04-01-preview",
    "2014-04-01",
    "2014-01-01",
    "2013-03-01",
    "2014-02-26",
    "2014-04",
];

/// Versions of Microsoft.MachineLearningServices (workspaces, computes, operation status).
pub(crate) const MACHINE_LEARNING: &[&str] = &[
    "2026-07-15-preview",
    "2026-07-01",
    "2026-01-15-preview",
    "2025-12-01",
    "2025-10-01-preview",
    "2025-09-01",
    "2025-07-01-preview",
    "2025-06-01",
    "2025-04-01",
    "2025-04-01-preview",
    "2025-01-01-preview",
    "2024-10-01",
    "2024-10-01-preview",
    "2024-07-01-preview",
    "2024-04-01",
    "2024-04-01-preview",
    "2024-01-01-preview",
    "2023-10-01",
    "2023-08-01-preview",
    "2023-06-01-preview",
    "2023-04-01",
    "2023-04-01-preview",
    "2023-02-01-preview",
    "2022-12-01-preview",
    "2022-10-01",
    "2022-10-01-preview",
    "2022-06-01-preview",
    "2022-05-01",
    "2022-02-01-preview",
    "2021-07-01",
    "2021-04-01",
    "2021-03-01-preview",
    "2021-01-01",
    "2020-09-01-preview",
    "2020-08-01",
    "2020-06-01",
    "2020-05-15-preview",
    "2020-05-01-preview",
    "2020-04-01",
    "2020-03-01",
    "2020-02-18-preview",
    "2020-02-02",
    "2020-01-01",
    "2019-11-01",
    "2019-06-01",
    "2019-05-01",
    "2018-11-19",
    "2018-03-01-preview",
];

/// Versions of Microsoft.Compute's virtual machines and scale sets (and their operations).
pub(crate) const COMPUTE: &[&str] = &[
    "2025-11-01",
    "2025-04-01",
    "2024-11-01",
    "2024-07-01",
    "2024-03-01",
    "2023-09-01",
    "2023-07-01",
    "2023-03-01",
    "2022-11-01",
    "2022-08-01",
    "2022-03-01",
    "2021-11-01",
    "2021-07-01",
    "2021-04-01",
    "2021-03-01",
    "2020-12-01",
    "2020-06-01",
    "2019-12-01",
    "2019-07-01",
    "2019-03-01",
    "2018-10-01",
    "2018-06-01",
    "2018-04-01",
    "2017-12-01",
    "2017-03-30",
    "2016-04-30-preview",
    "2016-03-30",
    "2015-06-15",
];

/// Versions of Microsoft.Insights autoscale settings.
pub(crate) const AUTOSCALE: &[&str] = &["2022-10-01", "2021-05-01-preview", "2015-04-01"];

/// Versions of Microsoft.MachineLearningServices whose spec declares `POST .../computes/{name}/
/// updateIdleShutdownSetting` (see the module docs).
pub(crate) const IDLE_SHUTDOWN: &[&str] = &[
    "2026-07-15-preview",
    "2026-01-15-preview",
    "2025-10-01-preview",
    "2025-07-01-preview",
    "2025-06-01",
    "2025-04-01-preview",
    "2025-01-01-preview",
    "2024-10-01-preview",
    "2024-07-01-preview",
    "2024-01-01-preview",
    "2023-08-01-preview",
    "2023-06-01-preview",
    "2023-04-01-preview",
    "2023-02-01-preview",
    "2022-12-01-preview",
    "2022-06-01-preview",
];

/// Accepts `version` for the operation `operation` when it is one of `versions` (a provider's version that does
/// not declare the operation is refused; check the provider's versions first with [`check`]).
pub(crate) fn check_operation(operation: &str, versions: &[&str], version: &str) -> Result<(), ArmError> {
    if versions.contains(&version) {
        return Ok(());
    }
    Err(ArmError::new(
        400,
        "InvalidApiVersionParameter",
        format!(
            "The api-version '{version}' does not support the operation '{operation}'. The supported versions are \
             '{}'.",
            versions.join(", ")
        ),
    ))
}

/// Who answers a request, which decides the accepted versions and the error's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Service<'a> {
    /// ARM's own endpoints (Microsoft.Resources).
    Resources,
    /// A resource provider (Azure ML, Compute, Insights), for a resource type at a location.
    Provider {
        /// The versions it defines for that type, newest first ([`MACHINE_LEARNING`], [`COMPUTE`]...).
        versions: &'static [&'static str],
        /// The resource type under the provider, e.g. `workspaces/computes`, `virtualMachines`.
        resource_type: &'static str,
        /// The location ARM routes to (the resource's, or `*` for a subscription-wide list).
        location: &'a str,
        /// Every location the provider is in (the fleet's).
        locations: &'a [String],
    },
}

/// Accepts `version` when the service knows it; otherwise ARM's 400 for that service.
pub(crate) fn check(service: &Service<'_>, version: &str) -> Result<(), ArmError> {
    match service {
        Service::Resources if RESOURCES.contains(&version) => Ok(()),
        Service::Resources => Err(ArmError::new(
            400,
            "InvalidApiVersionParameter",
            format!("The api-version '{version}' is invalid. The supported versions are '{}'.", RESOURCES.join(",")),
        )),
        Service::Provider { versions, .. } if versions.contains(&version) => Ok(()),
        Service::Provider { versions, resource_type, location, locations } => Err(ArmError::new(
            400,
            "NoRegisteredProviderFound",
            format!(
                "No registered resource provider found for location '{location}' and API version '{version}' for \
                 type '{resource_type}'. The supported api-versions are '{}'. The supported locations are '{}'.",
                versions.join(", "),
                locations.join(", ")
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_idle_shutdown_operation_is_accepted_only_where_its_spec_declares_it() {
        assert!(IDLE_SHUTDOWN.iter().all(|version| MACHINE_LEARNING.contains(version)), "all provider versions");
        assert!(check_operation("updateIdleShutdownSetting", IDLE_SHUTDOWN, "2025-06-01").is_ok());
        for undeclared in ["2024-04-01", "2024-10-01", "2025-09-01", "2026-07-01"] {
            let error = check_operation("updateIdleShutdownSetting", IDLE_SHUTDOWN, undeclared).unwrap_err();
            assert_eq!((error.status, error.code.as_str()), (400, "InvalidApiVersionParameter"), "{undeclared}");
            assert!(error.message.contains("'2026-07-15-preview, "), "{}", error.message);
        }
    }

    #[test]
    fn lists_are_newest_first_without_duplicates() {
        for list in [RESOURCES, MACHINE_LEARNING, IDLE_SHUTDOWN, COMPUTE, AUTOSCALE] {
            let mut seen = std::collections::HashSet::new();
            assert!(list.iter().all(|v| seen.insert(*v)), "duplicates in {list:?}");
        }
        for list in [MACHINE_LEARNING, IDLE_SHUTDOWN, COMPUTE, AUTOSCALE] {
            let dates: Vec<&str> = list.iter().map(|v| &v[..10]).collect();
            assert!(dates.windows(2).all(|pair| pair[0] >= pair[1]), "{dates:?}");
        }
    }

    #[test]
    fn arm_versions_are_checked_with_arms_message() {
        assert!(check(&Service::Resources, "2022-12-01").is_ok());
        let error = check(&Service::Resources, "1999-01-01").unwrap_err();
        assert_eq!((error.status, error.code.as_str()), (400, "InvalidApiVersionParameter"));
        assert!(
            error
                .message
                .starts_with("The api-version '1999-01-01' is invalid. The supported versions are '2024-08-01,"),
            "{}",
            error.message
        );
        assert!(error.message.ends_with(",2014-02-26,2014-04'."), "{}", error.message);
    }

    #[test]
    fn provider_versions_are_checked_with_the_providers_message() {
        let locations = vec!["eastus".to_owned(), "westeurope".to_owned()];
        let service = Service::Provider {
            versions: MACHINE_LEARNING,
            resource_type: "workspaces/computes",
            location: "eastus",
            locations: &locations,
        };
        assert!(check(&service, "2024-04-01").is_ok());
        assert!(check(&service, "2025-12-01").is_ok());
        let error = check(&service, "2024-04-02").unwrap_err();
        assert_eq!((error.status, error.code.as_str()), (400, "NoRegisteredProviderFound"));
        assert_eq!(
            error.message,
            format!(
                "No registered resource provider found for location 'eastus' and API version '2024-04-02' for type \
                 'workspaces/computes'. The supported api-versions are '{}'. The supported locations are 'eastus, \
                 westeurope'.",
                MACHINE_LEARNING.join(", ")
            )
        );
    }
}
