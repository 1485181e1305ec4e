//! `%NAME%` references in a schedule, resolved as the Functions host resolves app settings. Pure: the caller
//! passes the lookup (the environment, a config map, a test table).

use crate::error::{Error, ErrorKind};

/// Replaces every `%NAME%` in `expr` with `lookup(NAME)`; a name that `lookup` does not know, or a `%` without
/// its partner, is an error. Replaced text is not scanned again.
///
/// ```
/// let expr = autostop_schedule::resolve_app_settings("%StopSchedule%", |name| {
///     (name == "StopSchedule").then(|| "0 0 19 * * 1-5".to_owned())
/// });
/// assert_eq!(expr.unwrap(), "0 0 19 * * 1-5");
/// ```
pub fn resolve_app_settings(expr: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, Error> {
    let mut resolved = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(open) = rest.find('%') {
        resolved.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let at = expr.len() - rest.len() + open;
        let Some(close) = after.find('%').filter(|close| *close > 0) else {
            return Err(Error::new(ErrorKind::UnmatchedPercent { expr: expr.to_owned(), at }));
        };
        let name = &after[..close];
        let value = lookup(name)
            .ok_or_else(|| Error::new(ErrorKind::MissingSetting { name: name.to_owned(), expr: expr.to_owned() }))?;
        resolved.push_str(&value);
        rest = &after[close + 1..];
    }
    resolved.push_str(rest);
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str) -> Option<String> {
        match name {
            "A" => Some("0 */5".to_owned()),
            "B" => Some("* * * *".to_owned()),
            "P" => Some("%A%".to_owned()),
            _ => None,
        }
    }

    #[test]
    fn replaces_every_reference_once() {
        assert_eq!(resolve_app_settings("%A% %B%", table).unwrap(), "0 */5 * * * *");
        assert_eq!(resolve_app_settings("%P%", table).unwrap(), "%A%");
        assert_eq!(resolve_app_settings("0 0 9 * * *", table).unwrap(), "0 0 9 * * *");
    }

    #[test]
    fn errors_name_the_setting() {
        let err = resolve_app_settings("%Nope%", table).unwrap_err();
        assert!(err.is_app_setting());
        assert_eq!(err.to_string(), r#"app setting "Nope", referenced as %Nope% in "%Nope%", is not set"#);
        assert_eq!(
            resolve_app_settings("0 %A", table).unwrap_err().to_string(),
            r#"schedule "0 %A" has an unmatched '%' at byte 2: expected an app setting written %NAME%"#
        );
        assert!(resolve_app_settings("%%", table).unwrap_err().is_app_setting());
    }
}
