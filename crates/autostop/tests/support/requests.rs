//! What the emulator's ARM was asked, as the tests count it (shared by the CLI and `serve --ha` tests).

use std::collections::BTreeMap;

use autostop_emulator::Emulator;

/// How many stop POSTs each compute received, by name.
pub fn stop_posts(emulator: &Emulator) -> BTreeMap<String, usize> {
    let mut posts = BTreeMap::new();
    for request in emulator.control().requests() {
        let path = request.path.split('?').next().unwrap_or_default();
        if request.method == "POST" && path.ends_with("/stop") {
            let name = path.trim_end_matches("/stop").rsplit('/').next().unwrap_or_default().to_owned();
            *posts.entry(name).or_default() += 1;
        }
    }
    posts
}
