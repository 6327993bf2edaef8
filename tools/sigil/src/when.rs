//! Heights as dates: a block's time is known for the tip and estimated (from the chain's block
//! interval, marked "about") for the heights before and after it.

use serde::Serialize;
use sigil_core::api::ChainStatus;
use sigil_core::types::Height;
use time::OffsetDateTime;

/// Where the chain is in time: its tip's height and time, and the least time between blocks.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    tip_height: Height,
    tip_time_ms: u64,
    block_interval_ms: u64,
}

/// A height with the date it falls on, for `--json` output beside the raw height.
#[derive(Debug, Clone, Serialize)]
pub struct Dated {
    pub height: Height,
    /// Unix milliseconds: the tip's own time, else an estimate.
    pub time_ms: u64,
    pub estimated: bool,
}

impl Clock {
    pub fn of(status: &ChainStatus) -> Clock {
        Clock {
            tip_height: status.tip.height,
            tip_time_ms: status.tip.time_ms,
            block_interval_ms: status.params.block_interval_ms,
        }
    }

    /// When block `height` was or will be made (Unix milliseconds), and whether that is an
    /// estimate. Blocks come at least one interval apart, so a future date is the earliest
    /// the height can come.
    pub fn dated(&self, height: Height) -> Dated {
        let blocks = height.abs_diff(self.tip_height);
        let span = blocks.saturating_mul(self.block_interval_ms);
        let time_ms = if height >= self.tip_height {
            self.tip_time_ms.saturating_add(span)
        } else {
            self.tip_time_ms.saturating_sub(span)
        };
        Dated {
            height,
            time_ms,
            estimated: height != self.tip_height,
        }
    }

    /// The date of `height`, "about …" when estimated: `about 2027-11-29 03:51 UTC`.
    pub fn date(&self, height: Height) -> String {
        let dated = self.dated(height);
        if dated.estimated {
            format!("about {}", minutes(dated.time_ms))
        } else {
            utc(dated.time_ms)
        }
    }

    /// `height 63072015 (about 2027-11-29 03:51 UTC)`.
    pub fn height(&self, height: Height) -> String {
        format!("height {height} ({})", self.date(height))
    }

    /// A span of `blocks` blocks as a person reads it: `about 365 days`.
    pub fn span(&self, blocks: u64) -> String {
        duration(blocks.saturating_mul(self.block_interval_ms) / 1000)
    }
}

/// Unix milliseconds as a UTC date and time to the second: `2026-11-29 03:51:07 UTC`.
pub fn utc(time_ms: u64) -> String {
    match at(time_ms) {
        Some(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        None => format!("{time_ms} ms since the Unix epoch"),
    }
}

/// Unix milliseconds to the minute (estimates are not worth seconds): `2026-11-29 03:51 UTC`.
fn minutes(time_ms: u64) -> String {
    match at(time_ms) {
        Some(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        ),
        None => format!("{time_ms} ms since the Unix epoch"),
    }
}

fn at(time_ms: u64) -> Option<OffsetDateTime> {
    let secs = i64::try_from(time_ms / 1000).ok()?;
    OffsetDateTime::from_unix_timestamp(secs).ok()
}

/// Seconds as a person reads them, rounded to the largest unit: `12 s`, `5 min`, `3 h`, `365 days`.
pub fn duration(secs: u64) -> String {
    match secs {
        0..120 => format!("{secs} s"),
        120..7_200 => format!("{} min", secs / 60),
        7_200..172_800 => format!("{} h", secs / 3_600),
        _ => format!("{} days", secs / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heights_become_dates() {
        let clock = Clock {
            tip_height: 100,
            tip_time_ms: 1_795_000_000_000,
            block_interval_ms: 500,
        };
        assert_eq!(utc(1_795_000_000_000), "2026-11-18 11:06:40 UTC");
        assert_eq!(clock.date(100), "2026-11-18 11:06:40 UTC");
        // 2 blocks a second: 172,800 blocks are a day.
        assert_eq!(clock.date(100 + 172_800), "about 2026-11-19 11:06 UTC");
        assert_eq!(clock.date(0), "about 2026-11-18 11:05 UTC");
        assert_eq!(
            clock.height(100 + 172_800),
            "height 172900 (about 2026-11-19 11:06 UTC)"
        );
        assert_eq!(clock.span(63_072_000), "365 days");
        assert!(clock.dated(101).estimated && !clock.dated(100).estimated);
        // Far beyond what dates can say: the raw number, never a panic.
        let far = Clock {
            block_interval_ms: u64::MAX,
            ..clock
        };
        assert!(far.date(u64::MAX).contains("ms since the Unix epoch"));
    }
}
