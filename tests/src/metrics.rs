//! A node's `/metrics` read with Prometheus's own parser (Debian's python3-prometheus-client,
//! which `.ci/run` installs), as a scraper would read it.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use crate::api_get_any;

/// Debian's Python, which has the parser.
const PYTHON: &str = "/usr/bin/python3";

/// Reads the text format on standard input with prometheus_client's OpenMetrics parser and
/// prints every sample as `name{label="value",...} value`, labels sorted.
const PARSE: &str = r#"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
        print(f"{s.name}{{{labels}}} {s.value}")
"#;

/// The metrics of the node at `api`: each sample (`name{labels}`, labels sorted) to its value.
pub fn scrape(api: &str) -> BTreeMap<String, f64> {
    let (status, body) = api_get_any(api, "/metrics");
    assert!(status.contains("200"), "{status}: {body}");
    let mut child = Command::new(PYTHON)
        .args(["-c", PARSE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {PYTHON}: {e}"));
    child
        .stdin
        .take()
        .expect("the parser's input")
        .write_all(body.as_bytes())
        .expect("the parser reads the metrics");
    let output = child.wait_with_output().expect("the parser ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("No module named 'prometheus_client'"),
        "apt-get install python3-prometheus-client"
    );
    assert!(
        output.status.success(),
        "the parser refused:\n{stderr}\n{body}"
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let (sample, value) = line.rsplit_once(' ').expect("a sample and its value");
            (sample.to_string(), value.parse().expect("a number"))
        })
        .collect()
}

/// The value of `sample` (0 when absent, as a counter not yet counted is).
pub fn value(samples: &BTreeMap<String, f64>, sample: &str) -> f64 {
    samples.get(sample).copied().unwrap_or(0.0)
}
