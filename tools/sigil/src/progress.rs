//! Progress display for long waits: a spinner with the current step or a bar of names done,
//! drawn on stderr only when it is a terminal and `--json` is off.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::output::Output;

pub struct Progress(ProgressBar);

impl Progress {
    /// A spinner showing the step under way.
    pub fn spinner(out: &Output) -> Progress {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                .expect("the spinner template is valid"),
        );
        Progress::shown_if(bar, out)
    }

    /// A bar of `total` items.
    pub fn bar(out: &Output, total: u64, unit: &str) -> Progress {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(&format!(
                "{{spinner}} [{{bar:30}}] {{pos}}/{{len}} {unit} {{msg}} [{{elapsed}}, eta {{eta}}]"
            ))
            .expect("the bar template is valid")
            .progress_chars("=> "),
        );
        Progress::shown_if(bar, out)
    }

    fn shown_if(bar: ProgressBar, out: &Output) -> Progress {
        if out.is_json() || !std::io::stderr().is_terminal() {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        } else {
            bar.enable_steady_tick(Duration::from_millis(120));
        }
        Progress(bar)
    }

    pub fn step(&self, message: impl Into<String>) {
        self.0.set_message(message.into());
    }

    /// The step shown now.
    pub fn current_step(&self) -> String {
        self.0.message()
    }

    pub fn inc(&self, n: u64) {
        self.0.inc(n);
    }

    /// Prints a line on stderr without tearing the display.
    pub fn println(&self, line: impl std::fmt::Display) {
        self.0.suspend(|| eprintln!("{line}"));
    }

    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if !self.0.is_finished() {
            self.0.finish_and_clear();
        }
    }
}
