//! The notice as each kind of channel shows it: who gets which message, and the services' limits kept (Teams'
//! 28 KB, Slack's 50 blocks and 3000-character text) by summarising rather than failing.

use autostop_notify::email::{Undeliverable, digest, owner_address};
use autostop_notify::{Notice, NoticeInstance, PostponeLink, To, parcels, slack, teams};
use autostop_policy::config::{Channel, ChannelKind, EmailChannel, Recipients, SmtpSecurity, SmtpServer};

fn instance(name: &str, owner: Option<&str>) -> NoticeInstance {
    let url =
        |choice: &str| format!("https://autostop.example.com/owners/postpone?target={name}&choice={choice}&sig=00");
    NoticeInstance {
        id: format!(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws/computes/{name}"
        ),
        name: name.to_owned(),
        owner: owner.map(str::to_owned),
        workspace: "ws".to_owned(),
        postpone: ["+1h", "+2h", "+4h"]
            .into_iter()
            .map(|label| PostponeLink {
                label: label.to_owned(),
                until: "2026-03-02T21:00:00+09:00".to_owned(),
                url: url(label),
            })
            .collect(),
        skip_url: url("skip"),
    }
}

fn notice(instances: Vec<NoticeInstance>) -> Notice {
    Notice {
        rule: "evening-stop".to_owned(),
        action: "stop".to_owned(),
        occurrence: "2026-03-02T20:00:00+09:00".to_owned(),
        when: "2026-03-02 20:00 +09:00".to_owned(),
        instances,
    }
}

fn many(count: usize) -> Notice {
    notice((0..count).map(|n| instance(&format!("ci-{n:04}"), Some("owner@example.com"))).collect())
}

fn email(to: Recipients) -> Channel {
    let server = SmtpServer { security: SmtpSecurity::StartTls, host: "mail.example.com".to_owned(), port: 587 };
    let email = EmailChannel { server, from: "autostop@example.com".to_owned(), to, credentials: None };
    Channel { name: "mail".to_owned(), kind: ChannelKind::Email(email) }
}

#[test]
fn a_teams_card_stays_under_its_size_limit_and_says_how_many_it_left_out() {
    let small = teams::message(&many(3));
    let body = small["attachments"][0]["content"]["body"].as_array().unwrap();
    assert_eq!(body.iter().filter(|item| item["type"] == "Container").count(), 3);
    assert!(!small.to_string().contains("more instance(s) not listed"));

    let big = teams::message(&many(400));
    let size = big.to_string().len();
    assert!(size <= teams::MAX_BYTES, "{size} bytes");
    let body = big["attachments"][0]["content"]["body"].as_array().unwrap();
    let listed = body.iter().filter(|item| item["type"] == "Container").count();
    assert!((10..400).contains(&listed), "{listed} listed");
    let last = body.last().unwrap()["text"].as_str().unwrap();
    assert!(last.contains(&format!("and {} more instance(s) not listed", 400 - listed)), "{last}");
}

#[test]
fn a_slack_message_keeps_to_50_blocks_and_3000_characters() {
    let fits = slack::message(&many(24));
    assert_eq!(fits["blocks"].as_array().unwrap().len(), 49, "a header and two blocks per instance");

    let over = slack::message(&many(30));
    let blocks = over["blocks"].as_array().unwrap();
    assert_eq!(blocks.len(), slack::MAX_BLOCKS);
    assert_eq!(blocks.iter().filter(|block| block["type"] == "actions").count(), 24);
    let last = &blocks[49];
    assert_eq!(last["type"], "context");
    assert!(last["elements"][0]["text"].as_str().unwrap().contains("and 6 more instance(s) not listed"));
    assert!(over["text"].as_str().unwrap().contains("evening-stop stops 30 instances"));

    let long = "o".repeat(4000) + "@example.com";
    let message = slack::message(&notice(vec![instance("ci-1", Some(&long))]));
    let text = message["blocks"][1]["text"]["text"].as_str().unwrap();
    assert_eq!(text.chars().count(), slack::MAX_TEXT);
    assert!(text.ends_with('…'));

    let escaped = slack::message(&notice(vec![instance("ci-1", Some("<!channel> & co"))]));
    assert!(escaped["blocks"][1]["text"]["text"].as_str().unwrap().contains("(&lt;!channel&gt; &amp; co)"));
}

#[test]
fn owners_get_one_digest_each_with_only_their_instances() {
    let notice = notice(vec![
        instance("a-1", Some("alice@example.com")),
        instance("n-1", None),
        instance("b-1", Some("bob")),
        instance("a-2", Some("alice@example.com")),
        instance("g-1", Some("6205f759-1234-453c-9712-34d7671bceff")),
    ]);
    let got = parcels(&email(Recipients::Owners), &notice, Some("example.org"));
    let summary: Vec<(&str, &To, Vec<&str>)> = got
        .iter()
        .map(|parcel| {
            let names = parcel.notice.instances.iter().map(|instance| instance.name.as_str()).collect();
            (parcel.target.as_str(), &parcel.to, names)
        })
        .collect();
    let to = |address: &str| To::Addresses(vec![address.to_owned()]);
    assert_eq!(
        summary,
        [
            (
                "notice:mail:6205f759-1234-453c-9712-34d7671bceff",
                &To::Nobody(Undeliverable::ObjectId("6205f759-1234-453c-9712-34d7671bceff".to_owned())),
                vec!["g-1"]
            ),
            ("notice:mail:alice@example.com", &to("alice@example.com"), vec!["a-1", "a-2"]),
            ("notice:mail:bob", &to("bob@example.org"), vec!["b-1"]),
            ("notice:mail:-", &To::Nobody(Undeliverable::NoOwner), vec!["n-1"]),
        ]
    );

    let fixed = parcels(&email(Recipients::Addresses(vec!["ops@example.com".to_owned()])), &notice, None);
    assert_eq!(fixed.len(), 1);
    assert_eq!((fixed[0].target.as_str(), fixed[0].notice.instances.len()), ("notice:mail", 5));
    assert_eq!(owner_address(Some("bob"), None), Err(Undeliverable::NotAnAddress("bob".to_owned())));
}

#[test]
fn an_email_digest_has_every_link_in_text_and_escaped_html() {
    let mail = digest(&notice(vec![instance("a<1>", Some("alice@example.com")), instance("a-2", None)]));
    assert_eq!(mail.subject, "autostop: evening-stop stops 2 instances at 2026-03-02 20:00 +09:00");
    assert_eq!(mail.text.matches("https://autostop.example.com/owners/postpone?").count(), 8, "{}", mail.text);
    assert!(mail.text.contains("a<1> in ws (alice@example.com)"), "{}", mail.text);
    assert!(mail.html.contains("<strong>a&lt;1&gt;</strong>"), "{}", mail.html);
    assert_eq!(
        mail.html
            .matches("<a href=\"https://autostop.example.com/owners/postpone?target=a&lt;1&gt;&amp;choice=")
            .count(),
        4,
        "{}",
        mail.html
    );
    assert!(!mail.html.contains("<1>"), "{}", mail.html);
}
