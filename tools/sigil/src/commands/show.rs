//! `sigil name show|history`: a name's owner, expiry, records and changes, as the node reports them.

use serde::Serialize;
use sigil_core::api::NameInfo;
use sigil_core::state::NameEvent;
use sigil_core::types::Height;

use super::{Ctx, normalize};
use crate::args::ListingArgs;
use crate::client::Listing;
use crate::output::{Exit, name_forms, short_key, table, zone_lines};
use crate::when::{Clock, Dated};

#[derive(Serialize)]
struct Shown {
    registered: bool,
    /// The name's Unicode form, when it has internationalized labels.
    #[serde(skip_serializing_if = "Option::is_none")]
    unicode: Option<String>,
    #[serde(flatten)]
    info: NameInfo,
    /// The keystore's name of the owner's key, if it is one of ours.
    owner_key: Option<String>,
    /// The last height at which only the owner may renew an expired name.
    grace_until: Height,
    /// The date of `expires_at`, estimated from the chain's block interval.
    expires: Dated,
    history: Vec<NameEvent>,
}

pub async fn show(ctx: &Ctx, input: &str) -> anyhow::Result<Exit> {
    let name = normalize(input)?;
    let client = ctx.client()?;
    let status = client.status().await?;
    let Some(info) = client.name(&name).await? else {
        #[derive(Serialize)]
        struct Absent<'a> {
            name: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            unicode: Option<String>,
            registered: bool,
        }
        ctx.out.emit(
            &Absent {
                name: &name,
                unicode: sigil_core::name::unicode(&name),
                registered: false,
            },
            |a| {
                format!(
                    "{} is not registered; register it with `sigil name register {}`",
                    name_forms(a.name),
                    a.name
                )
            },
        );
        return Ok(Exit::Negative);
    };
    let history = client.history(&name, Listing::default()).await?.items;
    let clock = Clock::of(&status);
    let shown = Shown {
        registered: true,
        unicode: sigil_core::name::unicode(&name),
        owner_key: ctx.keystore.name_of(&info.entry.owner),
        grace_until: info.entry.expires_at + status.params.grace_blocks,
        expires: clock.dated(info.entry.expires_at),
        info,
        history,
    };
    ctx.out.emit(&shown, |s| human(s, &clock));
    Ok(Exit::Ok)
}

fn human(shown: &Shown, clock: &Clock) -> String {
    let info = &shown.info;
    let entry = &info.entry;
    let grace_until = shown.grace_until;
    let owner = match &shown.owner_key {
        Some(key) => format!("{} (your key `{key}`)", entry.owner),
        None => entry.owner.to_string(),
    };
    let state = if info.active {
        format!(
            "active, expires at {} (in {} blocks)",
            clock.height(entry.expires_at),
            entry.expires_at.saturating_sub(info.height)
        )
    } else if info.height < grace_until {
        format!(
            "expired at {}; only the owner can renew it until {}",
            clock.height(entry.expires_at),
            clock.height(grace_until)
        )
    } else {
        format!(
            "expired at {}; anyone may register it again",
            clock.height(entry.expires_at)
        )
    };
    let facts = vec![
        vec!["owner".into(), owner],
        vec!["status".into(), state],
        vec![
            "registered".into(),
            format!(
                "at {}, last changed at {}",
                clock.height(entry.registered_at),
                clock.height(entry.updated_at)
            ),
        ],
        vec!["tip".into(), clock.height(info.height)],
    ];
    let mut text = format!("{}\n{}", name_forms(&entry.name), table(&facts, "  "));
    text.push_str("\nrecords\n");
    if entry.records.is_empty() {
        text.push_str("  (none)\n");
    } else {
        text.push_str(&zone_lines(&entry.name, &entry.records, "  "));
    }
    text.push_str("\nhistory\n");
    text.push_str(&history_table(&shown.history, clock));
    text
}

pub async fn history(ctx: &Ctx, input: &str, listing: ListingArgs) -> anyhow::Result<Exit> {
    let name = normalize(input)?;
    let client = ctx.client()?;
    let listed = client.history(&name, listing.into()).await?;
    let clock = Clock::of(&client.status().await?);
    if listed.more {
        crate::output::note_more(listed.items.len());
    }
    let events = listed.items;
    if events.is_empty() {
        ctx.out.emit(&events, |_| {
            format!("{name} has no history: it was never registered")
        });
        return Ok(Exit::Negative);
    }
    ctx.out.emit(&events, |events| {
        format!("{name}\n{}", history_table(events, &clock))
    });
    Ok(Exit::Ok)
}

/// Heights with their dates (estimated: "about"), oldest first as listed.
fn history_table(events: &[NameEvent], clock: &Clock) -> String {
    let mut rows = vec![vec![
        "height".to_string(),
        "date (UTC)".into(),
        "action".into(),
        "owner".into(),
        "expires".into(),
        "tx".into(),
    ]];
    rows.extend(events.iter().map(|e| {
        vec![
            e.height.to_string(),
            clock.date(e.height),
            e.action.clone(),
            short_key(&e.owner),
            clock.height(e.expires_at),
            short_key(&e.tx),
        ]
    }));
    table(&rows, "  ")
}
