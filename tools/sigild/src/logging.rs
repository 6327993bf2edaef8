//! `sigild`'s logs: `tracing` to standard error, filtered by `RUST_LOG` (or a quiet default),
//! with the consensus engine's routine network complaints kept from flooding them. The engine
//! logs at ERROR each time it has nobody to publish a vote to (a lone validator, or every peer
//! down: hundreds a second on a fast chain) and each failed dial to a stopped peer; the first
//! is dropped, the second let through once a minute. The node's peers are in `/v1/status`.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, fmt as tracing_fmt};

/// What `sigild` logs when `RUST_LOG` is not set.
pub const DEFAULT_FILTER: &str = "info,sled=warn,hickory_server=warn,hickory_resolver=warn,hickory_net=warn,arc_malachitebft=warn,libp2p=warn";

/// The engine's network module, whose messages [`EngineNoise`] looks at.
const ENGINE_NETWORK_TARGET: &str = "arc_malachitebft_network";
/// Published with no peer on the topic: expected whenever a validator is alone.
const NO_PEERS: &str = "NoPeersSubscribedToTopic";
/// A dial that failed: expected while a peer is down.
const DIAL_FAILED: &str = "Error dialing peer";
/// Least time between two failed-dial messages let through.
const DIAL_FAILED_EVERY: Duration = Duration::from_secs(60);

/// Sets up logging for the process; `RUST_LOG` overrides [`DEFAULT_FILTER`].
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| DEFAULT_FILTER.into());
    tracing_subscriber::registry()
        .with(filter)
        .with(EngineNoise::new())
        .with(
            tracing_fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
        )
        .init();
}

/// Drops the engine's "no peers subscribed" errors and thins out its failed-dial errors.
#[derive(Default)]
pub struct EngineNoise {
    /// When a failed-dial message was last let through.
    last_dial_failed: Mutex<Option<Instant>>,
}

impl EngineNoise {
    pub fn new() -> EngineNoise {
        EngineNoise::default()
    }

    /// Whether a failed-dial message may pass now (one per [`DIAL_FAILED_EVERY`]).
    fn dial_failed_may_pass(&self) -> bool {
        let Ok(mut last) = self.last_dial_failed.lock() else {
            return true;
        };
        let due = last.is_none_or(|at| at.elapsed() >= DIAL_FAILED_EVERY);
        if due {
            *last = Some(Instant::now());
        }
        due
    }
}

impl<S: Subscriber> Layer<S> for EngineNoise {
    fn event_enabled(&self, event: &Event<'_>, _ctx: Context<'_, S>) -> bool {
        if !event.metadata().target().starts_with(ENGINE_NETWORK_TARGET) {
            return true;
        }
        let mut message = Message::default();
        event.record(&mut message);
        if message.0.contains(NO_PEERS) {
            false
        } else if message.0.starts_with(DIAL_FAILED) {
            self.dial_failed_may_pass()
        } else {
            true
        }
    }
}

/// The `message` field of an event, formatted.
#[derive(Default)]
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A log sink the test can read back.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn routine_engine_errors_are_dropped_or_thinned_and_others_pass() {
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::registry()
            .with(EngineNoise::new())
            .with(
                tracing_fmt::layer()
                    .with_ansi(false)
                    .with_writer(move || writer.clone()),
            );
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..100 {
                tracing::error!(target: "arc_malachitebft_network", channel = "Consensus", "Error publishing message: NoPeersSubscribedToTopic");
                tracing::error!(target: "arc_malachitebft_network", "Error dialing peer: connection refused");
            }
            tracing::error!(target: "arc_malachitebft_network", "Error listening on /ip4/127.0.0.1/tcp/1: taken");
            tracing::error!(target: "sigil_registry", "Error publishing message: NoPeersSubscribedToTopic");
        });
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].contains("Error dialing peer"), "{text}");
        assert!(lines[1].contains("Error listening"), "{text}");
        // Only the engine's messages are judged.
        assert!(lines[2].contains("sigil_registry"), "{text}");
    }
}
