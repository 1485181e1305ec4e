//! `[[scopes]]`: where autostop may act (a subscription, optionally a resource group and workspace) and on
//! which kinds of machine.

use std::ops::Range;

use toml::Spanned;

use super::super::raw::RawScope;
use super::Collector;
use crate::instance::{Kind, Scope};

/// Reads `[[scopes]]`: at least one, each with a valid subscription id and Azure names.
pub(super) fn scopes(
    raw: Option<Vec<Spanned<RawScope>>>,
    root: Range<usize>,
    errors: &mut Collector<'_>,
) -> Vec<Scope> {
    let raw = match raw {
        Some(raw) => raw,
        None => {
            errors.at(&root, "no [[scopes]]: expected at least one, since autostop never acts outside its scopes");
            return Vec::new();
        }
    };
    raw.into_iter()
        .filter_map(|scope| {
            let scope = scope.into_inner();
            let subscription = scope.subscription.get_ref();
            if autostop_azure::validate_subscription_id(subscription).is_err() {
                errors.at(
                    &scope.subscription.span(),
                    format!(
                        "scopes.subscription: expected a subscription id such as 00000000-0000-0000-0000-000000000000, found {subscription:?}"
                    ),
                );
                return None;
            }
            let resource_group = scope
                .resource_group
                .and_then(|rg| azure_name(rg, "scopes.resource_group", autostop_azure::validate_resource_group, errors));
            let workspace = scope
                .workspace
                .and_then(|ws| azure_name(ws, "scopes.workspace", autostop_azure::validate_workspace_name, errors));
            let kinds = match scope.kinds {
                Some(written) => kinds(written, "scopes.kinds", errors)?,
                None => vec![Kind::ComputeInstance],
            };
            Some(Scope { kinds, subscription: subscription.clone(), resource_group, workspace })
        })
        .collect()
}

/// A `kinds` list: each one of compute-instance, vm, vmss, at least one, none twice.
pub(super) fn kinds(
    written: Spanned<Vec<Spanned<String>>>,
    key: &str,
    errors: &mut Collector<'_>,
) -> Option<Vec<Kind>> {
    let mut kinds = Vec::new();
    let mut ok = true;
    for entry in written.get_ref() {
        match Kind::parse(entry.get_ref()) {
            Some(kind) if !kinds.contains(&kind) => kinds.push(kind),
            Some(kind) => {
                ok = false;
                errors.at(&entry.span(), format!("{key}: {kind} is listed twice"));
            }
            None => {
                ok = false;
                errors.at(
                    &entry.span(),
                    format!("{key}: expected one of compute-instance, vm, vmss, found {:?}", entry.get_ref()),
                );
            }
        }
    }
    if ok && kinds.is_empty() {
        errors
            .at(&written.span(), format!("{key}: expected at least one kind (compute-instance, vm, vmss), found none"));
        return None;
    }
    ok.then_some(kinds)
}

/// A resource group or workspace name, checked by the Azure crate's validator for its kind (Azure's own naming
/// rule), so that the configuration accepts exactly the names the client can address.
fn azure_name(
    name: Spanned<String>,
    key: &str,
    validate: fn(&str) -> Result<(), autostop_azure::Error>,
    errors: &mut Collector<'_>,
) -> Option<String> {
    match validate(name.get_ref()) {
        Ok(()) => Some(name.into_inner()),
        Err(err) => {
            errors.at(&name.span(), format!("{key}: {err}"));
            None
        }
    }
}
