//! HTTP versions: the emulator offers HTTP/2 and HTTP/1.1 by ALPN, as Azure's front doors do, and serves each
//! client in the one it chose. A dropped request fails alone under HTTP/2 (its stream is reset, the connection
//! and the other requests on it go on), and closes its connection under HTTP/1.1.

use std::time::Duration;

use autostop_emulator::{Emulator, HttpVersion};
use reqwest::{StatusCode, Version};

use crate::util::*;

/// An HTTPS client that trusts only the emulator's CA and offers only HTTP/1.1 (as Python `requests` does).
fn http1_client(emulator: &Emulator) -> reqwest::Client {
    client_builder_for(emulator).http1_only().build().expect("client builds")
}

/// The versions the emulator recorded for requests to `path`, in order.
fn versions_of(emulator: &Emulator, path: &str) -> Vec<(HttpVersion, u16)> {
    emulator.control().requests().iter().filter(|r| r.path == path).map(|r| (r.version, r.status)).collect()
}

#[tokio::test]
async fn a_client_offering_h2_gets_http2_and_an_http1_only_client_http1() {
    let h = Harness::sample().await;
    let token = h.token().await;
    let path = format!("{RESEARCH_WS}/computes?{API}");
    let h2 = within(h.http.get(h.url(&path)).bearer_auth(&token).send()).await.expect("an answer");
    assert_eq!((h2.status(), h2.version()), (StatusCode::OK, Version::HTTP_2));
    let h1 = within(http1_client(&h.emulator).get(h.url(&path)).bearer_auth(&token).send()).await.expect("an answer");
    assert_eq!((h1.status(), h1.version()), (StatusCode::OK, Version::HTTP_11));
    assert_eq!(versions_of(&h.emulator, &path), [(HttpVersion::Http2, 200), (HttpVersion::Http11, 200)]);
}

#[tokio::test]
async fn under_http2_a_dropped_request_fails_alone_and_its_connection_goes_on() {
    let h = Harness::sample().await;
    // The token request opens the one HTTP/2 connection both requests below are streams of.
    let token = h.token().await;
    let path = format!("{RESEARCH_WS}/computes/alice-ci?{API}");
    // Faults are decided after the latency, in the order the requests arrived: the first is dropped while the
    // second is still in flight on the same connection.
    h.emulator.control().set_latency(Duration::from_millis(300));
    h.emulator.control().drop_next_connections(1);
    let first = h.http.get(h.url(&path)).bearer_auth(&token).send();
    let second = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        h.http.get(h.url(&path)).bearer_auth(&token).send().await
    };
    let (first, second) = within(async { tokio::join!(first, second) }).await;
    let error = first.expect_err("the dropped request gets no answer");
    assert!(format!("{error:?}").contains("INTERNAL_ERROR"), "its stream was reset: {error:?}");
    let second = second.expect("the other stream is answered");
    assert_eq!((second.status(), second.version()), (StatusCode::OK, Version::HTTP_2));
    assert_eq!(versions_of(&h.emulator, &path), [(HttpVersion::Http2, 0), (HttpVersion::Http2, 200)]);
}

#[tokio::test]
async fn under_http1_a_dropped_request_closes_its_connection() {
    let h = Harness::sample().await;
    let token = h.token().await;
    let http1 = http1_client(&h.emulator);
    let path = format!("{RESEARCH_WS}/computes/alice-ci?{API}");
    h.emulator.control().drop_next_connections(1);
    let error = within(http1.get(h.url(&path)).bearer_auth(&token).send()).await.expect_err("no answer");
    // The TCP connection ends with no answer and no TLS close_notify, as when a front door drops it.
    assert!(format!("{error:?}").contains("UnexpectedEof"), "the connection closed unanswered: {error:?}");
    let answer = within(http1.get(h.url(&path)).bearer_auth(&token).send()).await.expect("a new connection");
    assert_eq!((answer.status(), answer.version()), (StatusCode::OK, Version::HTTP_11));
    assert_eq!(versions_of(&h.emulator, &path), [(HttpVersion::Http11, 0), (HttpVersion::Http11, 200)]);
}
