//! How `ofrep fetch` shows one answer: a screen for people, one JSON document for programs
//! (its shape is `schemas/fetch.schema.json`).

use std::io::{self, Write};

use serde_json::{Map, Value};

use super::{Palette, Ui, ellipsize, millis, pad, shown};
use crate::cli::OutputFormat;
use crate::protocol::answer::Endpoint;
use crate::protocol::checks::entry_checks;
use crate::protocol::client::Exchange;
use crate::protocol::document::Document;
use crate::protocol::etag::EtagVerdict;
use crate::protocol::event_streams::EventStream;
use crate::protocol::finding::{Finding, Level};
use crate::redact::Redactor;

mod json;
pub use json::json;

/// Response headers worth showing in the summary and the JSON document.
const NOTABLE_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "etag",
    "cache-control",
    "last-modified",
    "vary",
    "retry-after",
    "www-authenticate",
    "location",
    "access-control-allow-origin",
    "access-control-expose-headers",
];

/// Everything one fetch learned.
#[derive(Debug, Clone)]
pub struct FetchReport {
    pub exchange: Exchange,
    pub context: Map<String, Value>,
    pub streams: Vec<EventStream>,
    pub findings: Vec<Finding>,
}

impl FetchReport {
    /// A 200 or 304 with no MUST-level finding.
    pub fn passed(&self) -> bool {
        matches!(self.exchange.answer.status, 200 | 304)
            && !self.findings.iter().any(|f| f.level == Level::Must)
    }

    fn body(&self) -> Option<&Document> {
        self.exchange.answer.body.json()
    }
}

/// Everything `fetch` writes: the `-v` transcript on stderr, then the result on stdout in the
/// format chosen once.
pub struct Reporter<'a> {
    ui: &'a Ui,
}

impl<'a> Reporter<'a> {
    pub fn new(ui: &'a Ui) -> Self {
        Self { ui }
    }

    /// The request and response lines, with `-v`.
    pub fn exchange(&self, exchange: &Exchange) {
        for line in exchange.transcript(&self.ui.redactor) {
            self.ui.trace(&line);
        }
    }

    pub fn result(&self, report: &FetchReport) -> io::Result<()> {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        match self.ui.format {
            OutputFormat::Json => {
                super::write_pretty(&mut out, &json(report, &self.ui.redactor))?;
                writeln!(out)?;
            }
            OutputFormat::Human => human(report, &mut out, &self.ui.out, &self.ui.redactor)?,
        }
        out.flush()
    }
}

/// The human screen.
pub fn human(
    report: &FetchReport,
    out: &mut dyn Write,
    p: &Palette,
    redactor: &Redactor,
) -> io::Result<()> {
    let exchange = &report.exchange;
    let answer = &exchange.answer;
    let status_style = match answer.status {
        200..=299 | 304 => p.good,
        _ => p.bad,
    };
    writeln!(
        out,
        "{} {}",
        p.paint(p.strong, &exchange.method),
        shown(&redactor.url(exchange.url.as_str()))
    )?;
    let status = format!("{} {}", answer.status, exchange.reason);
    let note = if answer.status == 304 {
        "  (not modified: the flags are as you have them)"
    } else {
        ""
    };
    writeln!(
        out,
        "{} in {}{note}",
        p.paint(status_style, status),
        millis(exchange.elapsed)
    )?;
    let context = serde_json::to_string(&report.context).unwrap_or_default();
    writeln!(out, "{}  {}", label(p, "context"), shown(&context))?;
    writeln!(out, "{}  {}", label(p, "etag"), etag_line(answer.etag(), p))?;

    if answer.status == 304 {
        section(out, p, "headers")?;
        for (name, value) in &answer.headers {
            writeln!(
                out,
                "  {}: {}",
                p.paint(p.dim, name),
                shown(&redactor.header(name, value))
            )?;
        }
    } else if let Some(problem) = answer.body.problem().filter(|_| answer.body.is_present()) {
        writeln!(
            out,
            "{}  {}",
            label(p, "body"),
            p.paint(p.bad, shown(&problem))
        )?;
    }
    if let Some(location) = answer
        .header("location")
        .filter(|_| (300..400).contains(&answer.status))
    {
        let location = redactor.url(location);
        writeln!(out, "{}  {}", label(p, "location"), shown(&location))?;
    }
    if let Some(to) = &exchange.redirected_to {
        let to = redactor.url(to.as_str());
        writeln!(
            out,
            "{}  followed (307/308, same origin) to {}",
            label(p, "redirect"),
            shown(&to)
        )?;
    }

    match (answer.status, &answer.endpoint, report.body()) {
        (200, Endpoint::Bulk, Some(body)) => {
            if let Some(items) = body.flags() {
                flags_table(out, p, items)?;
            }
            streams_section(
                out,
                p,
                body.get("eventStreams").as_deref(),
                report,
                redactor,
            )?;
            metadata_section(out, p, body.get("metadata").as_deref())?;
        }
        (200, Endpoint::Single { .. }, Some(body)) => {
            flags_table(out, p, std::iter::once(body.tree().into_owned()))?;
            metadata_section(out, p, body.get("metadata").as_deref())?;
        }
        (200 | 304, _, _) => {}
        (_, _, Some(body)) => {
            section(out, p, "error")?;
            for field in ["key", "errorCode", "errorDetails"] {
                if let Some(value) = body.get(field) {
                    writeln!(out, "  {}  {}", pad(field, 12), scalar(&value))?;
                }
            }
        }
        (_, _, None) => {}
    }
    findings_section(out, p, &report.findings)
}

fn label(p: &Palette, name: &str) -> String {
    p.paint(p.dim, pad(name, 8))
}

fn section(out: &mut dyn Write, p: &Palette, title: &str) -> io::Result<()> {
    writeln!(out)?;
    writeln!(out, "{}", p.paint(p.strong, title))
}

fn etag_line(etag: Option<&str>, p: &Palette) -> String {
    let verdict = EtagVerdict::of(etag);
    let style = match verdict {
        EtagVerdict::Strong | EtagVerdict::Weak => p.good,
        EtagVerdict::Invalid | EtagVerdict::Missing => p.warn,
    };
    match etag {
        Some(tag) => format!("{} {}", shown(tag), p.paint(style, format!("({verdict})"))),
        None => p.paint(style, "(missing)"),
    }
}

/// A JSON value as one short line: strings bare, everything else compact JSON; control
/// characters escaped, as in all server text on this screen.
fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => shown(s).into_owned(),
        other => shown(&other.to_string()).into_owned(),
    }
}

fn value_type(item: &Value) -> &'static str {
    match item.get("value") {
        None => "code default",
        Some(Value::Bool(_)) => "boolean",
        Some(Value::String(_)) => "string",
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => "integer",
        Some(Value::Number(_)) => "float",
        Some(Value::Object(_)) => "object",
        Some(Value::Array(_)) => "array (invalid)",
        Some(Value::Null) => "null (invalid)",
    }
}

fn flags_table(
    out: &mut dyn Write,
    p: &Palette,
    items: impl Iterator<Item = Value>,
) -> io::Result<()> {
    let mut rows: Vec<[String; 5]> = items
        .map(|item| {
            let key = item
                .get("key")
                .map(scalar)
                .unwrap_or_else(|| "(no key)".into());
            if let Some(code) = item
                .get("errorCode")
                .filter(|_| item.get("reason").is_none())
            {
                let details = item
                    .get("errorDetails")
                    .map(scalar)
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default();
                let error = format!("error {}{}", scalar(code), details);
                return [key, "—".into(), "—".into(), "—".into(), error];
            }
            let value = item
                .get("value")
                .map(|v| ellipsize(&shown(&v.to_string()), 40))
                .unwrap_or_else(|| "—".into());
            let variant = item
                .get("variant")
                .map(scalar)
                .unwrap_or_else(|| "—".into());
            let reason = item.get("reason").map(scalar).unwrap_or_else(|| "—".into());
            [key, value, value_type(&item).into(), variant, reason]
        })
        .collect();
    rows.sort_by(|a, b| a[0].cmp(&b[0]));
    let header = ["KEY", "VALUE", "TYPE", "VARIANT", "REASON"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    section(out, p, &format!("flags ({})", rows.len()))?;
    let line = |cells: [&str; 5]| {
        let padded: Vec<String> = cells.iter().zip(widths).map(|(c, w)| pad(c, w)).collect();
        padded.join("  ").trim_end().to_owned()
    };
    writeln!(out, "  {}", p.paint(p.dim, line(header)))?;
    for row in &rows {
        let text = line([&row[0], &row[1], &row[2], &row[3], &row[4]]);
        let keyed = text
            .strip_prefix(row[0].as_str())
            .map(|rest| format!("{}{rest}", p.paint(p.key, &row[0])));
        let shown = keyed.unwrap_or(text);
        if row[4].starts_with("error ") {
            writeln!(out, "  {}", p.paint(p.warn, shown))?;
        } else {
            writeln!(out, "  {shown}")?;
        }
    }
    Ok(())
}

fn streams_section(
    out: &mut dyn Write,
    p: &Palette,
    event_streams: Option<&Value>,
    report: &FetchReport,
    redactor: &Redactor,
) -> io::Result<()> {
    let Some(list) = event_streams.and_then(Value::as_array) else {
        section(out, p, "event streams")?;
        return writeln!(
            out,
            "  {}",
            p.paint(p.dim, "none advertised: clients poll with If-None-Match")
        );
    };
    section(out, p, &format!("event streams ({})", list.len()))?;
    for (index, entry) in list.iter().enumerate() {
        let kind = entry
            .get("type")
            .map(scalar)
            .unwrap_or_else(|| "(no type)".into());
        let url = match report.streams.get(index).map(|s| &s.resolved) {
            Some(Ok(url)) => shown(&redactor.url(url.as_str())).into_owned(),
            Some(Err(why)) => format!("(unresolvable: {})", shown(why)),
            None => "(unresolvable)".into(),
        };
        let delay = match entry.get("inactivityDelaySec") {
            Some(v) => format!("inactivityDelaySec {}", shown(&v.to_string())),
            None => "inactivityDelaySec 120 (default)".into(),
        };
        let problems: Vec<Finding> = entry_checks(index, entry)
            .into_iter()
            .filter(|f| f.level != Level::Info)
            .collect();
        let verdict = if problems.is_empty() {
            p.paint(p.good, "well-formed")
        } else {
            p.paint(
                p.bad,
                format!(
                    "malformed ({})",
                    problems.iter().map(|f| f.id).collect::<Vec<_>>().join(", ")
                ),
            )
        };
        writeln!(
            out,
            "  [{index}] {kind}  {url}  {}  {verdict}",
            p.paint(p.dim, delay)
        )?;
    }
    Ok(())
}

fn metadata_section(out: &mut dyn Write, p: &Palette, metadata: Option<&Value>) -> io::Result<()> {
    let Some(object) = metadata
        .and_then(Value::as_object)
        .filter(|m| !m.is_empty())
    else {
        return Ok(());
    };
    section(out, p, "metadata")?;
    let width = object
        .keys()
        .map(|k| shown(k).chars().count())
        .max()
        .unwrap_or(0);
    for (key, value) in object {
        writeln!(
            out,
            "  {}  {}",
            p.paint(p.key, pad(&shown(key), width)),
            ellipsize(&scalar(value), 60)
        )?;
    }
    Ok(())
}

fn findings_section(out: &mut dyn Write, p: &Palette, findings: &[Finding]) -> io::Result<()> {
    let graded: Vec<&Finding> = findings.iter().filter(|f| f.level != Level::Info).collect();
    let info: Vec<&Finding> = findings.iter().filter(|f| f.level == Level::Info).collect();
    section(out, p, "findings")?;
    let width = findings.iter().map(|f| f.id.len()).max().unwrap_or(0);
    for finding in graded.iter().chain(&info) {
        let level = p.paint(p.level(finding.level), pad(finding.level.as_str(), 6));
        writeln!(
            out,
            "  {level}  {}  {}",
            pad(finding.id, width),
            shown(&finding.message)
        )?;
    }
    let must = graded.iter().filter(|f| f.level == Level::Must).count();
    let should = graded.len() - must;
    let summary = match (must, should) {
        (0, 0) => p.paint(p.good, "no violations found in this answer"),
        (0, s) => p.paint(
            p.warn,
            format!("{s} SHOULD-level warning(s), no MUST-level violation"),
        ),
        (m, s) => p.paint(
            p.bad,
            format!("{m} MUST-level violation(s), {s} SHOULD-level warning(s)"),
        ),
    };
    writeln!(out, "  {summary}")
}
