//! Resolving the shared client options (`TargetArgs` plus the environment) into a client
//! configuration and an evaluation context, before any I/O.

use std::io::Read;
use std::time::Duration;

use serde_json::{Map, Value};
use url::Url;

use crate::cli::TargetArgs;
use crate::error::Error;
use crate::protocol::client::{self, ClientConfig};
use crate::protocol::proxy::{self, Proxies, ProxyEnv};
use crate::protocol::tls::{self, TlsConfig};
use crate::protocol::{context, headers};

/// The default request timeout (the static-context guideline's 10 000 ms).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The OFREP environment variables (ADR-0007), captured once so resolution is a pure function.
#[derive(Debug, Clone, Default)]
pub struct OfrepEnv {
    pub endpoint: Option<String>,
    pub headers: Option<String>,
    pub timeout_ms: Option<String>,
    pub proxy: ProxyEnv,
}

impl OfrepEnv {
    pub fn capture() -> Self {
        let get = |name| {
            std::env::var(name)
                .ok()
                .filter(|v: &String| !v.trim().is_empty())
        };
        Self {
            endpoint: get("OFREP_ENDPOINT"),
            headers: get("OFREP_HEADERS"),
            timeout_ms: get("OFREP_TIMEOUT_MS"),
            proxy: ProxyEnv::capture(),
        }
    }
}

/// What the client commands need, resolved.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// `None` when `--embedded` asks for the built-in server, whose URL is known only once started.
    pub base: Option<Url>,
    pub headers: Vec<headers::Header>,
    pub timeout: Duration,
    pub context: Map<String, Value>,
    /// `-L/--location`.
    pub follow_redirects: bool,
    pub tls: TlsConfig,
    pub proxies: Proxies,
    /// Problems that did not stop resolution (skipped OFREP_HEADERS entries).
    pub warnings: Vec<String>,
}

impl Resolved {
    pub fn client_config(&self, base: Url, max_body: u64) -> ClientConfig {
        ClientConfig {
            base,
            headers: self.headers.clone(),
            timeout: self.timeout,
            max_body,
            follow_redirects: self.follow_redirects,
            tls: self.tls.clone(),
            proxies: self.proxies.clone(),
        }
    }
}

/// The hint when no server is given, phrased for `fetch`; the other commands put their own name
/// in it (`commands::for_command`).
pub const NO_SERVER_HINT: &str = "e.g. `ofrep fetch https://flags.example.com`, or `ofrep fetch --embedded` to try the built-in server";

/// Resolves the options; flags win over the environment.
pub fn resolve(args: &TargetArgs, env: &OfrepEnv) -> Result<Resolved, Error> {
    let base = match (&args.url, args.embedded, &env.endpoint) {
        (_, true, _) => None,
        (Some(url), false, _) => Some(client::base_url(url)?),
        (None, false, Some(url)) => Some(client::base_url(url).map_err(|e| {
            Error::usage(format!("OFREP_ENDPOINT: {e}")).with_hint(e.hint().unwrap_or_default())
        })?),
        (None, false, None) => {
            return Err(
                Error::usage("no server given: pass a URL or set OFREP_ENDPOINT")
                    .with_hint(NO_SERVER_HINT),
            );
        }
    };

    let (env_headers, warnings) = env
        .headers
        .as_deref()
        .map(headers::parse_env)
        .unwrap_or_default();
    let flag_headers = args
        .headers
        .iter()
        .map(|raw| {
            headers::parse_flag(raw).map_err(|why| Error::usage(format!("-H/--header: {why}")))
        })
        .collect::<Result<Vec<_>, _>>()?;

    let timeout = match (args.timeout, &env.timeout_ms) {
        (Some(timeout), _) => timeout,
        (None, Some(ms)) => ms
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|&ms| ms > 0)
            .map(Duration::from_millis)
            .ok_or_else(|| {
                Error::usage(format!(
                    "OFREP_TIMEOUT_MS is `{ms}`, not a positive number of milliseconds"
                ))
            })?,
        (None, None) => DEFAULT_TIMEOUT,
    };
    if timeout.is_zero() {
        return Err(Error::usage("--timeout must be greater than zero"));
    }

    let file_context = args
        .context_file
        .as_ref()
        .map(|path| read_context_file(path))
        .transpose()?;
    let context = context::build(file_context, &args.context, args.targeting_key.as_deref())
        .map_err(|why| Error::usage(format!("evaluation context: {why}")))?;

    let tls = TlsConfig::load(
        args.cacert.as_deref(),
        args.insecure,
        args.cert.as_deref().zip(args.key.as_deref()),
    )?;
    let mut warnings = warnings;
    if args.insecure {
        warnings.push(tls::INSECURE_WARNING.to_owned());
    }
    let proxies = match (&args.proxy, args.no_proxy) {
        (Some(url), _) => Proxies::Named(
            proxy::parse(url).map_err(|why| Error::usage(format!("--proxy: {why}")))?,
        ),
        (None, true) => Proxies::Off,
        (None, false) => {
            let (proxies, skipped) = Proxies::from_env(&env.proxy);
            warnings.extend(skipped);
            proxies
        }
    };

    Ok(Resolved {
        base,
        headers: headers::merge(env_headers, flag_headers),
        timeout,
        context,
        follow_redirects: args.location,
        tls,
        proxies,
        warnings,
    })
}

fn read_context_file(path: &std::path::Path) -> Result<Value, Error> {
    let (name, text) = if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Error::usage(format!("cannot read the context from stdin: {e}")))?;
        ("<stdin>".to_owned(), text)
    } else {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::usage(format!(
                "cannot read the context file {}: {e}",
                path.display()
            ))
        })?;
        (path.display().to_string(), text)
    };
    context::parse_file(&text).map_err(|why| Error::usage(format!("context file {name}: {why}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(url: Option<&str>) -> TargetArgs {
        TargetArgs {
            url: url.map(str::to_owned),
            embedded: false,
            headers: vec![],
            timeout: None,
            context: vec![],
            context_file: None,
            targeting_key: None,
            location: false,
            cacert: None,
            insecure: false,
            cert: None,
            key: None,
            proxy: None,
            no_proxy: false,
        }
    }

    #[test]
    fn the_url_argument_wins_over_ofrep_endpoint() {
        let env = OfrepEnv {
            endpoint: Some("http://env.example".into()),
            ..Default::default()
        };
        let resolved = resolve(&args(Some("http://arg.example")), &env).unwrap();
        assert_eq!(resolved.base.unwrap().as_str(), "http://arg.example/");
        let resolved = resolve(&args(None), &env).unwrap();
        assert_eq!(resolved.base.unwrap().as_str(), "http://env.example/");
    }

    #[test]
    fn no_url_at_all_is_a_usage_error_with_a_hint() {
        let err = resolve(&args(None), &OfrepEnv::default()).unwrap_err();
        assert!(err.hint().unwrap().contains("--embedded"));
    }

    #[test]
    fn timeout_flag_wins_over_ofrep_timeout_ms() {
        let env = OfrepEnv {
            timeout_ms: Some("2500".into()),
            ..Default::default()
        };
        assert_eq!(
            resolve(&args(Some("http://a")), &env).unwrap().timeout,
            Duration::from_millis(2500)
        );
        let mut with_flag = args(Some("http://a"));
        with_flag.timeout = Some(Duration::from_secs(1));
        assert_eq!(
            resolve(&with_flag, &env).unwrap().timeout,
            Duration::from_secs(1)
        );
        assert_eq!(
            resolve(&args(Some("http://a")), &OfrepEnv::default())
                .unwrap()
                .timeout,
            DEFAULT_TIMEOUT
        );
        let bad = OfrepEnv {
            timeout_ms: Some("soon".into()),
            ..Default::default()
        };
        assert!(
            resolve(&args(Some("http://a")), &bad)
                .unwrap_err()
                .to_string()
                .contains("OFREP_TIMEOUT_MS")
        );
    }

    #[test]
    fn header_flags_win_and_env_warnings_are_kept() {
        let env = OfrepEnv {
            headers: Some("X-Api-Key=env,broken".into()),
            ..Default::default()
        };
        let mut a = args(Some("http://a"));
        a.headers = vec!["X-API-Key: flag".into()];
        let resolved = resolve(&a, &env).unwrap();
        assert_eq!(resolved.headers.len(), 1);
        assert_eq!(resolved.headers[0].value_str(), "flag");
        assert_eq!(resolved.warnings.len(), 1);
    }

    #[test]
    fn a_bad_header_flag_is_a_usage_error() {
        let mut a = args(Some("http://a"));
        a.headers = vec!["nocolon".into()];
        assert!(
            resolve(&a, &OfrepEnv::default())
                .unwrap_err()
                .to_string()
                .contains("nocolon")
        );
    }
}
