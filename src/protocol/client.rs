//! The OFREP HTTP client: one request in, one [`Exchange`] out. It never prints; callers render
//! the exchange (verbose lines included) through a reporter.

use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName};
use serde_json::{Map, Value};
use url::Url;

use super::answer::{Answer, Body, Endpoint};
use super::headers::Header;
use super::proxy::Proxies;
use super::redirect;
use super::tls::{self, TlsConfig};
use crate::error::{Error, root_cause};
use crate::redact::Redactor;

/// The hint after a refused connection, phrased for `fetch`; the other commands put their own
/// name in it (`commands::for_command`).
pub const CONNECT_HINT: &str =
    "is the server running there? Try `ofrep fetch --embedded` to see a working one";

/// Everything needed to talk to one server, resolved before any I/O.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The base URL, always ending in `/` so that joining keeps its path.
    pub base: Url,
    pub headers: Vec<Header>,
    pub timeout: Duration,
    pub max_body: u64,
    /// `-L`: follow a 307/308 within the same origin (see [`super::redirect`]).
    pub follow_redirects: bool,
    /// `--cacert`, `-k`, `--cert/--key`: for every connection, event streams included.
    pub tls: TlsConfig,
    /// `--proxy`, `--no-proxy` or the environment's (see [`super::proxy`]).
    pub proxies: Proxies,
}

impl ClientConfig {
    /// The configured headers (`-H`, `OFREP_HEADERS`: credentials among them) that may go to
    /// `url`: all of them on the base URL's origin, none anywhere else. Event streams and the
    /// trigger POST ask here, so the rule lives in one place.
    pub fn headers_for(&self, url: &Url) -> &[Header] {
        if url.origin() == self.base.origin() {
            &self.headers
        } else {
            &[]
        }
    }

    /// Whether [`Self::headers_for`] holds configured headers back from `url`.
    pub fn withholds_from(&self, url: &Url) -> bool {
        !self.headers.is_empty() && url.origin() != self.base.origin()
    }
}

/// One evaluation request.
#[derive(Debug, Clone)]
pub struct Request {
    pub endpoint: Endpoint,
    pub context: Map<String, Value>,
    pub if_none_match: Option<String>,
    /// Extra query parameters (`flagConfigEtag`, `flagConfigLastModified`).
    pub query: Vec<(String, String)>,
}

impl Request {
    pub fn new(endpoint: Endpoint, context: Map<String, Value>) -> Self {
        Self {
            endpoint,
            context,
            if_none_match: None,
            query: Vec::new(),
        }
    }
}

/// Any request to an OFREP endpoint, for callers that need more than an evaluation: a raw
/// body, another method (a CORS preflight), extra headers, or no credentials at all.
#[derive(Debug, Clone)]
pub struct RawRequest {
    pub method: reqwest::Method,
    pub endpoint: Endpoint,
    pub query: Vec<(String, String)>,
    /// Sent after the configured headers, replacing any of the same name.
    pub headers: Vec<(String, String)>,
    /// `None` sends no body and no Content-Type.
    pub body: Option<Vec<u8>>,
    /// Whether the configured headers (credentials among them) are sent.
    pub configured_headers: bool,
}

/// A request and the answer to it, with what a person debugging it wants to see.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: String,
    pub url: Url,
    /// Request headers as sent (names lowercase), values unredacted: render through a Redactor.
    pub request_headers: Vec<(String, String)>,
    pub answer: Answer,
    /// The status line's reason phrase, e.g. `Not Modified`.
    pub reason: &'static str,
    pub elapsed: Duration,
    /// Where the answer came from when `-L` followed a redirect to get it.
    pub redirected_to: Option<Url>,
    /// The proxy the request went through.
    pub proxy: Option<Url>,
}

impl Exchange {
    /// The request and response lines, curl-style (`> ` sent, `< ` received), secrets redacted:
    /// what `-v` shows and what a conform report keeps as evidence.
    pub fn transcript(&self, redactor: &Redactor) -> Vec<String> {
        let mut lines = vec![format!(
            "> {} {}",
            self.method,
            redactor.url(self.url.as_str())
        )];
        if let Some(proxy) = &self.proxy {
            lines.push(format!(
                "* through the proxy {}",
                redactor.url(proxy.as_str())
            ));
        }
        lines.extend(
            self.request_headers
                .iter()
                .map(|(n, v)| format!("> {n}: {}", redactor.header(n, v))),
        );
        if let Some(to) = &self.redirected_to {
            lines.push(format!(
                "* followed a redirect (same origin) to {}",
                redactor.url(to.as_str())
            ));
        }
        lines.push(format!("< {} {}", self.answer.status, self.reason));
        lines.extend(
            self.answer
                .headers
                .iter()
                .map(|(n, v)| format!("< {n}: {}", redactor.header(n, v))),
        );
        lines
    }
}

/// An exchange whose body is still bytes.
#[derive(Debug, Clone)]
pub struct RawExchange {
    pub method: String,
    pub url: Url,
    pub request_headers: Vec<(String, String)>,
    pub endpoint: Endpoint,
    pub status: u16,
    pub reason: &'static str,
    /// Names lowercase, in the order received.
    pub headers: Vec<(String, String)>,
    pub bytes: Vec<u8>,
    /// Why the body ended early, when it did.
    pub cut_short: Option<String>,
    pub elapsed: Duration,
    pub redirected_to: Option<Url>,
    pub proxy: Option<Url>,
}

impl RawExchange {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Classifies the body (empty, JSON, not JSON, not UTF-8, cut short) for the checks.
    pub fn classify(self) -> Exchange {
        let body = match self.cut_short {
            Some(cause) => Body::Truncated {
                received: self.bytes.len(),
                cause,
            },
            None => Body::classify_owned(self.bytes),
        };
        Exchange {
            method: self.method,
            url: self.url,
            request_headers: self.request_headers,
            answer: Answer {
                endpoint: self.endpoint,
                status: self.status,
                headers: self.headers,
                body,
            },
            reason: self.reason,
            elapsed: self.elapsed,
            redirected_to: self.redirected_to,
            proxy: self.proxy,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    /// For event streams: a connect timeout but no total timeout, which would cut every stream.
    stream_http: reqwest::Client,
    config: ClientConfig,
}

impl Client {
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        let setup_failed = |e: reqwest::Error| {
            Error::network(format!(
                "could not set up the HTTP client: {}",
                root_cause(&e)
            ))
        };
        let http = config
            .tls
            .apply(config.proxies.apply(reqwest::Client::builder()))
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .user_agent(concat!("ofrep/", env!("CARGO_PKG_VERSION")))
            .redirect(redirect::policy(config.follow_redirects))
            .referer(false)
            .build()
            .map_err(setup_failed)?;
        let stream_http = config
            .tls
            .apply(config.proxies.apply(reqwest::Client::builder()))
            .connect_timeout(config.timeout)
            .redirect(redirect::policy(config.follow_redirects))
            .referer(false)
            .build()
            .map_err(setup_failed)?;
        Ok(Self {
            http,
            stream_http,
            config,
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The HTTP client for event streams and other long-lived requests (a trigger POST): the same
    /// connect timeout, no total timeout.
    pub fn stream_http(&self) -> &reqwest::Client {
        &self.stream_http
    }

    /// The URL a request goes to: the base URL joined with the endpoint path and query.
    pub fn url_for(&self, request: &Request) -> Result<Url, Error> {
        let mut url = self
            .config
            .base
            .join(&request.endpoint.path())
            .map_err(|e| Error::usage(format!("cannot build the request URL: {e}")))?;
        if !request.query.is_empty() {
            url.query_pairs_mut().extend_pairs(request.query.iter());
        }
        Ok(url)
    }

    /// Sends one evaluation request and reads the whole answer (up to the body cap).
    pub async fn send(&self, request: &Request) -> Result<Exchange, Error> {
        Ok(self.send_raw(request).await?.classify())
    }

    /// The same, with the body left as bytes, for callers that parse it their own way (`watch`
    /// reads only what it diffs, and never holds a JSON tree of a large answer).
    pub async fn send_raw(&self, request: &Request) -> Result<RawExchange, Error> {
        let body = serde_json::to_vec(&serde_json::json!({ "context": request.context }))
            .map_err(|e| Error::usage(format!("cannot encode the context: {e}")))?;
        let mut headers = vec![("accept".to_owned(), "application/json".to_owned())];
        if let Some(etag) = &request.if_none_match {
            headers.push(("if-none-match".to_owned(), etag.clone()));
        }
        self.exchange_raw(&RawRequest {
            method: reqwest::Method::POST,
            endpoint: request.endpoint.clone(),
            query: request.query.clone(),
            headers,
            body: Some(body),
            configured_headers: true,
        })
        .await
    }

    /// Sends any request to an OFREP endpoint and reads the whole answer (up to the body cap).
    pub async fn exchange(&self, raw: &RawRequest) -> Result<Exchange, Error> {
        Ok(self.exchange_raw(raw).await?.classify())
    }

    /// Sends any request and reads the whole answer (up to the body cap), unclassified.
    pub async fn exchange_raw(&self, raw: &RawRequest) -> Result<RawExchange, Error> {
        let url = self.url_for(&Request {
            endpoint: raw.endpoint.clone(),
            context: Map::new(),
            if_none_match: None,
            query: raw.query.clone(),
        })?;
        let mut headers = HeaderMap::new();
        if raw.body.is_some() {
            headers.insert(
                CONTENT_TYPE,
                "application/json".parse().expect("static header value"),
            );
        }
        if raw.configured_headers {
            for header in &self.config.headers {
                headers.insert(header.name.clone(), header.value.clone());
            }
        }
        for (name, value) in &raw.headers {
            let name: HeaderName = name
                .parse()
                .map_err(|_| Error::usage(format!("`{name}` is not a valid header name")))?;
            let value = value.parse().map_err(|_| {
                Error::usage(format!("the value of `{name}` cannot be sent as a header"))
            })?;
            headers.insert(name, value);
        }
        let request_headers = super::headers::pairs(&headers);

        let started = Instant::now();
        let mut builder = self
            .http
            .request(raw.method.clone(), url.clone())
            .headers(headers);
        if let Some(body) = &raw.body {
            builder = builder.body(body.clone());
        }
        let mut response = builder.send().await.map_err(|e| self.describe(&e, &url))?;
        let status = response.status();
        let response_headers = super::headers::pairs(response.headers());
        let redirected_to = Some(response.url().clone()).filter(|answered| *answered != url);
        let proxy = self.config.proxies.for_url(&url);

        // Sized from Content-Length (within the cap) so a large answer is not copied while the
        // buffer doubles; a lying length costs address space, not memory, until it is written.
        let expected = response
            .content_length()
            .unwrap_or(0)
            // Sized once from the declared length, up to the body cap: growing by doubling
            // would hold the old and the new buffer at once (about 3x a large answer). A
            // Content-Length that lies costs address space, not memory: a large allocation
            // is mapped lazily and only the bytes that arrive are ever touched.
            .min(self.config.max_body);
        let mut bytes = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
        let mut cut_short = None;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if (bytes.len() + chunk.len()) as u64 > self.config.max_body {
                        return Err(Error::network(format!(
                            "the answer from {} is larger than the {}-byte limit",
                            self.redacted(&url),
                            self.config.max_body
                        ))
                        .with_hint(
                            "raise the limit with --max-body-size, e.g. --max-body-size 256MiB",
                        ));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) if e.is_timeout() => return Err(self.describe(&e, &url)),
                Err(e) => {
                    cut_short = Some(root_cause(&e));
                    break;
                }
            }
        }
        Ok(RawExchange {
            method: raw.method.to_string(),
            url,
            request_headers,
            endpoint: raw.endpoint.clone(),
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or(""),
            headers: response_headers,
            bytes,
            cut_short,
            elapsed: started.elapsed(),
            redirected_to,
            proxy,
        })
    }

    fn redacted(&self, url: &Url) -> String {
        Redactor::default().url(url.as_str()).into_owned()
    }

    /// Turns a transport error into an error a person can act on, naming the URL that failed
    /// (after a redirect, not the one first asked). The URL is always redacted: errors are
    /// printed even when nothing else is.
    fn describe(&self, error: &reqwest::Error, url: &Url) -> Error {
        let url = error.url().unwrap_or(url);
        let shown = self.redacted(url);
        let cause = root_cause(error);
        let address = url
            .host_str()
            .map(|h| format!("{h}:{}", url.port_or_known_default().unwrap_or(0)));
        let address = address.unwrap_or_else(|| shown.clone());
        if error.is_timeout() {
            return Error::network(format!("{shown} did not answer within {}", humantime::format_duration(self.config.timeout)))
                .with_hint("raise the limit with --timeout (or OFREP_TIMEOUT_MS), or check that the server is healthy");
        }
        if error.is_redirect() {
            return Error::network(format!("following redirects from {shown} failed: {cause}"))
                .with_hint("the server sends its clients in circles: check its redirects, or give the final URL as the base URL");
        }
        if let Some(described) = tls::describe(error, &address) {
            return described;
        }
        if let Some(proxy) = self.config.proxies.for_url(url)
            && error.is_connect()
        {
            let proxy = self.redacted(&proxy);
            return Error::network(format!("could not reach {address} through the proxy {proxy}: {cause}"))
                .with_hint("check the proxy (--proxy, or HTTPS_PROXY/HTTP_PROXY), or go around it with --no-proxy");
        }
        let lower = cause.to_ascii_lowercase();
        if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
            return Error::network(format!("TLS with {address} failed: {cause}")).with_hint(
                "check the server's certificate, or use http:// for a plain-text server",
            );
        }
        if lower.contains("dns") || lower.contains("lookup") || lower.contains("resolve") {
            return Error::network(format!("cannot resolve the host of {shown}: {cause}"))
                .with_hint("check the host name in the URL (or OFREP_ENDPOINT)");
        }
        if error.is_connect() {
            return Error::network(format!("could not connect to {address}: {cause}"))
                .with_hint(CONNECT_HINT);
        }
        Error::network(format!("the request to {shown} failed: {cause}"))
    }
}

/// Validates and normalises a base URL given by the user: http(s), no `/ofrep` path, ending in `/`.
pub fn base_url(text: &str) -> Result<Url, Error> {
    let shown = Redactor::default().url(text).into_owned();
    let mut url = Url::parse(text.trim()).map_err(|e| {
        Error::usage(format!("`{shown}` is not a valid URL ({e})"))
            .with_hint("give the base URL, e.g. https://flags.example.com")
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        let error = Error::usage(format!("`{shown}` is not an http:// or https:// URL"));
        // `user:pw@host/` parses with `user` as its scheme.
        return Err(if text.contains("://") {
            error
        } else {
            error.with_hint("give the scheme too, e.g. https://flags.example.com")
        });
    }
    if let Some(at) = url.path().find("/ofrep/") {
        let base = format!(
            "{}{}",
            url.origin().ascii_serialization(),
            &url.path()[..at + 1]
        );
        return Err(
            Error::usage(format!("`{shown}` already contains the /ofrep path"))
                .with_hint(format!("give the base URL, the part before /ofrep: {base}")),
        );
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

#[cfg(test)]
mod tests;
