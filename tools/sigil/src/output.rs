//! What commands print: readable text or one JSON document on stdout, notes on stderr, and
//! the exit status a command ends with.

use std::io::Write;

use hickory_proto::rr::RData;
use serde::Serialize;

/// How a command that ran to the end answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done, or a positive answer: exit 0.
    Ok,
    /// A negative answer (not registered, proof did not verify): exit 1.
    Negative,
    /// The result is printed, but part of the work failed (names an import could not
    /// register): exit 2.
    Failed,
}

impl Exit {
    pub fn code(self) -> i32 {
        match self {
            Exit::Ok => 0,
            Exit::Negative => 1,
            Exit::Failed => 2,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
}

impl Output {
    pub fn new(json: bool) -> Output {
        Output { json }
    }

    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Prints a command's result: `value` as JSON with `--json`, else the text `human` makes.
    pub fn emit<T: Serialize>(&self, value: &T, human: impl FnOnce(&T) -> String) {
        let text = if self.json {
            serde_json::to_string_pretty(value).expect("command results serialize to JSON")
        } else {
            human(value).trim_end().to_string()
        };
        // A closed pipe (`sigil ... | head`) is not worth a panic.
        let _ = writeln!(std::io::stdout().lock(), "{text}");
    }

    /// Reports an error that ended a command: `sigil: ...` on stderr and, with `--json`,
    /// `{"error": {"message", "code"?}}` on stdout so that every run prints one document.
    pub fn error(&self, e: &anyhow::Error) {
        eprintln!("sigil: {e:#}");
        if self.json {
            let mut error = serde_json::json!({ "message": format!("{e:#}") });
            if let Some(code) = crate::client::node_code(e) {
                error["code"] = code.into();
            }
            let doc = serde_json::json!({ "error": error });
            let _ = writeln!(std::io::stdout().lock(), "{doc:#}");
        }
    }

    /// A remark beside the result (a created folder, a pinned validator set), on stderr.
    pub fn note(&self, message: impl std::fmt::Display) {
        eprintln!("sigil: {message}");
    }
}

/// A name as the ledger spells it and, when it has internationalized labels, as it reads:
/// `xn--bcher-kva.sigil (bücher.sigil)`.
pub fn name_forms(ascii: &str) -> String {
    match sigil_core::name::unicode(ascii) {
        Some(unicode) => format!("{ascii} ({unicode})"),
        None => ascii.to_string(),
    }
}

/// A public key shortened for tables: the first 16 hex digits.
pub fn short_key(key: &impl std::fmt::Display) -> String {
    let full = key.to_string();
    if full.len() > 16 {
        format!("{}…", &full[..16])
    } else {
        full
    }
}

/// Rows of cells as text columns, each as wide as its widest cell, two spaces apart.
pub fn table(rows: &[Vec<String>], indent: &str) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::from(indent);
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  ", width = widths[c]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A name's records in zone-file syntax (`www.example.sigil. 300 IN A 192.0.2.8`), aligned.
pub fn zone_lines(name: &str, records: &[sigil_core::records::Record], indent: &str) -> String {
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            let owner = if r.host.is_empty() {
                format!("{name}.")
            } else {
                format!("{}.{name}.", r.host)
            };
            let data = match r.rdata() {
                Ok(RData::TXT(txt)) => txt
                    .txt_data
                    .iter()
                    .map(|s| quoted(s))
                    .collect::<Vec<_>>()
                    .join(" "),
                Ok(rdata) => rdata.to_string(),
                Err(_) => format!("\\# {} {}", r.rdata.len(), hex::encode(&r.rdata)),
            };
            vec![
                owner,
                r.ttl.to_string(),
                "IN".into(),
                r.record_type().to_string(),
                data,
            ]
        })
        .collect();
    table(&rows, indent)
}

/// A TXT character-string in zone-file syntax: quoted, `"` and `\` escaped, bytes outside
/// printable ASCII as `\DDD`.
fn quoted(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{b:03}")),
        }
    }
    out.push('"');
    out
}

/// Says on standard error that a listing stopped at its `--limit` before the history's end.
pub fn note_more(shown: usize) {
    eprintln!(
        "note: showing the first {shown} changes; there are more (raise --limit, or leave it out to list them all)"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigil_core::records::Record;

    #[test]
    fn zone_lines_quote_txt() {
        let txt = Record::new(
            "",
            60,
            &RData::TXT(hickory_proto::rr::rdata::TXT::new(vec![
                "hello world".into(),
                "say \"hi\"".into(),
            ])),
        )
        .unwrap();
        let a = Record::parse("www A 192.0.2.1").unwrap();
        let text = zone_lines("x.sigil", &[txt, a], "");
        assert_eq!(
            text,
            "x.sigil.      60   IN  TXT  \"hello world\" \"say \\\"hi\\\"\"\nwww.x.sigil.  300  IN  A    192.0.2.1\n"
        );
    }
}
