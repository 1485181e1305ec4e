//! POSTing a JSON message to a webhook and reading its answer as its kind of service answers: any 2xx for a plain
//! webhook; for Teams `202` (Workflows) or `200` with body `1` (legacy connectors, which report throttling in a
//! 200's body); for Slack `200` with body `ok` (errors are plain-text codes such as `no_service`). Errors name
//! the status and the service's short answer, never the URL (which holds the webhook's secret).

/// How a service says it took the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Any 2xx.
    Success,
    /// `202`, or `200` with body `1`.
    Teams,
    /// `200` with body `ok`.
    Slack,
}

/// The most characters of an answer's body repeated in an error.
const BODY_IN_ERROR: usize = 200;

/// POSTs `body` to `url` and checks the answer.
pub async fn post(http: &reqwest::Client, url: &str, body: &serde_json::Value, answer: Answer) -> Result<(), String> {
    let response = http.post(url).json(body).send().await.map_err(|err| err.without_url().to_string())?;
    let status = response.status().as_u16();
    let text = response.text().await.map_err(|err| err.without_url().to_string())?;
    let text = text.trim();
    let accepted = match answer {
        Answer::Success => (200..300).contains(&status),
        Answer::Teams => status == 202 || (status == 200 && text == "1"),
        Answer::Slack => status == 200 && text == "ok",
    };
    if accepted {
        return Ok(());
    }
    let said: String = text.chars().take(BODY_IN_ERROR).collect();
    Err(match said.is_empty() {
        true => format!("the channel answered HTTP {status}"),
        false => format!("the channel answered HTTP {status}: {said}"),
    })
}
