//! Bad input and Azure errors: each gets a clear message naming what is wrong, and the right exit code.

use crate::util::*;

#[tokio::test]
async fn no_subscription_is_a_usage_error() {
    let emulator = emulator(mixed_fleet()).await;
    let run = Cli::against(&emulator, &["list"]).run().await;
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stderr.contains("--subscription"), "{}", run.stderr);
}

#[tokio::test]
async fn a_malformed_subscription_id_is_a_usage_error_naming_it() {
    let emulator = emulator(mixed_fleet()).await;
    let run = Cli::against(&emulator, &["list", "-s", "not-a-guid"]).run().await;
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stderr.contains("not-a-guid"), "{}", run.stderr);
}

#[tokio::test]
async fn a_malformed_compute_name_is_a_usage_error_naming_it() {
    let emulator = emulator(mixed_fleet()).await;
    let run = Cli::against(&emulator, &["stop", "bad name!", "-s", SUB, "-g", "ml-rg", "-w", "ws-a"]).run().await;
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stderr.contains("bad name!"), "{}", run.stderr);
}

#[tokio::test]
async fn an_unknown_subscription_is_named() {
    let emulator = emulator(mixed_fleet()).await;
    let ghost = "00000000-0000-0000-0000-0000000000ff";
    let run = Cli::against(&emulator, &["list", "-s", ghost, "-s", SUB, "-o", "json"]).run().await;
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stderr.contains(ghost) && run.stderr.contains("SubscriptionNotFound"), "{}", run.stderr);
    assert!(!run.json().as_array().unwrap().is_empty(), "the other subscription is still listed");
}

#[tokio::test]
async fn an_unknown_resource_group_is_named() {
    let emulator = emulator(mixed_fleet()).await;
    let run = Cli::against(&emulator, &["list", "-s", SUB, "-g", "nope-rg"]).run().await;
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stderr.contains("nope-rg") && run.stderr.contains("ResourceGroupNotFound"), "{}", run.stderr);
}

#[tokio::test]
async fn an_unknown_workspace_is_named() {
    let emulator = emulator(mixed_fleet()).await;
    let run = Cli::against(&emulator, &["list", "-s", SUB, "-w", "nope-ws"]).run().await;
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stderr.contains("nope-ws"), "{}", run.stderr);
}

#[tokio::test]
async fn a_denied_action_says_which_permission_is_missing() {
    let emulator = emulator(mixed_fleet()).await;
    let action = "Microsoft.MachineLearningServices/workspaces/computes/stop/action";
    emulator.control().deny(&id("run-2"), action);
    let run = Cli::against(&emulator, &["stop", "run-1", "run-2", "--wait", "-s", SUB, "-o", "json"]).run().await;
    assert_eq!(run.code, 1, "{run:#?}");
    let rows = run.json();
    assert_eq!(row(&rows, "run-1")["result"], "succeeded");
    let denied = row(&rows, "run-2")["error"].as_str().unwrap().to_owned();
    assert!(denied.contains("AuthorizationFailed") && denied.contains(action), "{denied}");
}

#[tokio::test]
async fn a_wrong_client_secret_shows_the_aadsts_message_but_never_the_secret() {
    let emulator = emulator(mixed_fleet()).await;
    let secret = "wrong-secret-value-0123456789";
    let run = Cli::against(&emulator, &["list", "-s", SUB]).env("AZURE_CLIENT_SECRET", secret).run().await;
    assert_ne!(run.code, 0, "{run:#?}");
    assert!(run.stderr.contains("AADSTS7000215"), "{}", run.stderr);
    assert!(!run.stderr.contains(secret) && !run.stdout.contains(secret), "{run:#?}");
}

#[tokio::test]
async fn secrets_and_tokens_never_reach_the_output_even_with_trace_logs() {
    let emulator = emulator(mixed_fleet()).await;
    let run = Cli::against(&emulator, &["stop", "--all", "--yes", "--wait", "-s", SUB, "-o", "json"])
        .env("AUTOSTOP_LOG", "trace")
        .run()
        .await;
    assert_eq!(run.code, 0, "{run:#?}");
    let secret = emulator.client_secret().to_owned();
    assert!(!run.stderr.contains(&secret) && !run.stdout.contains(&secret), "the client secret leaked");
    assert!(!run.stderr.contains("eyJ"), "a JWT-shaped token leaked into the logs:\n{}", run.stderr);
}

#[tokio::test]
async fn connection_refused_names_the_endpoint() {
    let emulator = emulator(mixed_fleet()).await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("https://127.0.0.1:{}", listener.local_addr().unwrap().port());
    drop(listener);
    let run = Cli::against(&emulator, &["list", "-s", SUB]).env("AUTOSTOP_ARM_ENDPOINT", &closed).run().await;
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stderr.contains(&closed[8..]), "names {closed}: {}", run.stderr);
}

#[tokio::test]
async fn plain_http_endpoints_are_refused() {
    let emulator = emulator(mixed_fleet()).await;
    let run = Cli::against(&emulator, &["list", "-s", SUB, "--arm-endpoint", "http://127.0.0.1:9"]).run().await;
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stderr.to_lowercase().contains("https"), "{}", run.stderr);
}

#[tokio::test]
async fn no_credentials_at_all_says_what_to_set() {
    let run = Cli::bare(&["list", "-s", SUB]).env("PATH", "/nonexistent").run().await;
    assert_eq!(run.code, 2, "{run:#?}");
    for variable in ["AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE", "IDENTITY_ENDPOINT"] {
        assert!(run.stderr.contains(variable), "{variable} missing from: {}", run.stderr);
    }
}

/// With the `emulator` feature (the default) the emulator verbs are listed; a slim build says it leaves them out
/// and refuses them as unknown verbs.
#[tokio::test]
async fn help_lists_the_emulator_verbs_only_in_builds_that_have_them() {
    let help = Cli::bare(&["--help"]).run().await;
    assert_eq!(help.code, 0, "{help:#?}");
    let lists = |verb: &str| help.stdout.lines().any(|line| line.trim_start().starts_with(verb));
    if cfg!(feature = "emulator") {
        assert!(lists("emulator ") && lists("demo "), "{}", help.stdout);
    } else {
        assert!(!lists("emulator ") && !lists("demo "), "{}", help.stdout);
        assert!(help.stdout.contains("built without the `emulator` feature"), "{}", help.stdout);
        let demo = Cli::bare(&["demo"]).run().await;
        assert_eq!(demo.code, 2, "{demo:#?}");
    }
}
