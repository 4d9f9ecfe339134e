//! `-v`: the request and response lines of an exchange, curl-style, secrets redacted.

use crate::protocol::client::Exchange;
use crate::redact::Redactor;

pub fn exchange_lines(exchange: &Exchange, redactor: &Redactor) -> Vec<String> {
    let mut lines = vec![format!(
        "> {} {}",
        exchange.method,
        redactor.url(exchange.url.as_str())
    )];
    lines.extend(
        exchange
            .request_headers
            .iter()
            .map(|(n, v)| format!("> {n}: {}", redactor.header(n, v))),
    );
    lines.push(format!("< {} {}", exchange.answer.status, exchange.reason));
    lines.extend(
        exchange
            .answer
            .headers
            .iter()
            .map(|(n, v)| format!("< {n}: {}", redactor.header(n, v))),
    );
    lines
}
