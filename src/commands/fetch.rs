//! `ofrep fetch`: one evaluation, everything it reveals.

use crate::cli::FetchArgs;
use crate::commands::Target;
use crate::error::Error;
use crate::exit::Outcome;
use crate::protocol::answer::Endpoint;
use crate::protocol::checks;
use crate::protocol::client::{Client, Exchange, Request};
use crate::protocol::event_streams;
use crate::protocol::redirect;
use crate::redact::Redactor;
use crate::report::Ui;
use crate::report::fetch::{FetchReport, Reporter};

pub async fn run(args: FetchArgs, ui: &Ui) -> Result<Outcome, Error> {
    let target = Target::open(&args.target, ui, None).await?;
    let base = target.base.clone();
    let client = Client::new(
        target
            .resolved
            .client_config(base.clone(), args.max_body_size),
    )?;

    let endpoint = match args.flag {
        Some(key) => Endpoint::Single { key },
        None => Endpoint::Bulk,
    };
    let mut request = Request::new(endpoint, target.resolved.context.clone());
    request.if_none_match = args.if_none_match;
    let reporter = Reporter::new(ui);
    let exchange = client.send(&request).await?;
    reporter.exchange(&exchange);
    let context = target.resolved.context.clone();
    target.close().await;

    let findings = checks::all(&exchange.answer);
    let streams = exchange
        .answer
        .body
        .json()
        .map(|b| event_streams::entries_of(b.get("eventStreams").as_deref(), &base))
        .unwrap_or_default();
    let report = FetchReport {
        exchange,
        context,
        streams,
        findings,
    };

    reporter.result(&report)?;
    // What the server answered is shown; these answers say the request itself must change.
    let exchange = &report.exchange;
    let answered = exchange.redirected_to.as_ref().unwrap_or(&exchange.url);
    if let Some(error) = redirect::unfollowed_error(
        exchange.answer.status,
        exchange.reason,
        exchange.answer.header("location"),
        answered,
        client.config().follow_redirects,
    ) {
        return Err(error);
    }
    if matches!(exchange.answer.status, 401 | 403) {
        return Err(credentials_wanted(exchange));
    }
    Ok(if report.passed() {
        Outcome::Success
    } else {
        Outcome::Failure
    })
}

/// A 401 or 403: not a broken server, a request that needs (other) credentials (issue 14).
fn credentials_wanted(exchange: &Exchange) -> Error {
    let status = format!("{} {}", exchange.answer.status, exchange.reason);
    let sent = exchange
        .request_headers
        .iter()
        .any(|(name, _)| Redactor::is_secret_header(name));
    if sent {
        Error::answer(format!(
            "the server answered {status}: it did not accept the credentials sent"
        ))
        .with_hint("check the token or key given with -H (or OFREP_HEADERS), and that it may evaluate flags")
    } else {
        Error::answer(format!(
            "the server answered {status}: it wants credentials, and none were sent"
        ))
        .with_hint(
            "pass them with -H 'Authorization: Bearer …' or -H 'X-API-Key: …' (or OFREP_HEADERS)",
        )
    }
}
