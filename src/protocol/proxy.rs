//! Which proxy a request goes through: `--proxy`, `--no-proxy`, or the environment
//! (`http_proxy`/`HTTP_PROXY`, `https_proxy`/`HTTPS_PROXY`, `all_proxy`/`ALL_PROXY`, `no_proxy`/
//! `NO_PROXY`). Decided here, by one pure function, so the HTTP client and `-v` agree on it.
//!
//! Loopback targets (`localhost`, `127.0.0.0/8`, `::1`; `--embedded` among them) never go
//! through a proxy from the environment: a proxy cannot reach this machine's loopback.

use std::net::IpAddr;

use url::Url;

/// The proxy variables, captured once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProxyEnv {
    pub http: Option<String>,
    pub https: Option<String>,
    pub all: Option<String>,
    pub no_proxy: Option<String>,
}

impl ProxyEnv {
    /// The lowercase name wins, as curl has it.
    pub fn capture() -> Self {
        let get = |name: &str| {
            [name.to_ascii_lowercase(), name.to_owned()]
                .into_iter()
                .find_map(|n| std::env::var(n).ok())
                .filter(|v| !v.trim().is_empty())
        };
        Self {
            http: get("HTTP_PROXY"),
            https: get("HTTPS_PROXY"),
            all: get("ALL_PROXY"),
            no_proxy: get("NO_PROXY"),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub enum Proxies {
    /// `--proxy URL`: every request, loopback included.
    Named(Url),
    /// `--no-proxy`: none, whatever the environment says.
    #[default]
    Off,
    /// The environment's, valid URLs only.
    Environment {
        http: Option<Url>,
        https: Option<Url>,
        no_proxy: Vec<String>,
    },
}

/// Parses a proxy URL, `http://` assumed when there is no scheme (`proxy:3128`, as curl does).
pub fn parse(text: &str) -> Result<Url, String> {
    let text = text.trim();
    let full = if text.contains("://") {
        text.to_owned()
    } else {
        format!("http://{text}")
    };
    let url = Url::parse(&full).map_err(|e| format!("`{text}` is not a proxy URL ({e})"))?;
    if url.scheme() != "http" {
        return Err(format!(
            "`{text}`: only http:// proxies are supported (https:// targets go through CONNECT)"
        ));
    }
    Ok(url)
}

impl Proxies {
    /// The environment's proxies; a variable that does not parse is left out, with a warning.
    pub fn from_env(env: &ProxyEnv) -> (Self, Vec<String>) {
        let mut warnings = Vec::new();
        let mut url = |name: &str, value: &Option<String>| {
            value.as_deref().and_then(|text| {
                parse(text)
                    .map_err(|why| warnings.push(format!("{name} is ignored: {why}")))
                    .ok()
            })
        };
        let all = url("ALL_PROXY", &env.all);
        let http = url("HTTP_PROXY", &env.http).or_else(|| all.clone());
        let https = url("HTTPS_PROXY", &env.https).or(all);
        let no_proxy = env
            .no_proxy
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(|entry| entry.trim().trim_start_matches('.').to_ascii_lowercase())
            .filter(|entry| !entry.is_empty())
            .collect();
        (
            Self::Environment {
                http,
                https,
                no_proxy,
            },
            warnings,
        )
    }

    /// The proxy a request to `url` goes through, if any.
    pub fn for_url(&self, url: &Url) -> Option<Url> {
        match self {
            Self::Named(proxy) => Some(proxy.clone()),
            Self::Off => None,
            Self::Environment {
                http,
                https,
                no_proxy,
            } => {
                let host = url.host_str()?;
                if is_loopback(host) || no_proxy.iter().any(|entry| matches(entry, host)) {
                    return None;
                }
                match url.scheme() {
                    "https" => https.clone(),
                    _ => http.clone(),
                }
            }
        }
    }

    /// Applies the choice to a client being built: reqwest asks [`Self::for_url`] per request.
    pub fn apply(&self, builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        let builder = builder.no_proxy();
        match self {
            Self::Off => builder,
            _ => {
                let proxies = self.clone();
                builder.proxy(reqwest::Proxy::custom(move |url| proxies.for_url(url)))
            }
        }
    }
}

fn host_ip(host: &str) -> Option<IpAddr> {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

fn is_loopback(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host_ip(&host).is_some_and(|ip| ip.is_loopback())
}

/// A `NO_PROXY` entry: `*`, an IP address or CIDR block, or a domain and its subdomains.
fn matches(entry: &str, host: &str) -> bool {
    if entry == "*" {
        return true;
    }
    let host = host.to_ascii_lowercase();
    if let Some(ip) = host_ip(&host) {
        return match entry.split_once('/') {
            Some((net, bits)) => match (host_ip(net), bits.parse::<u32>()) {
                (Some(net), Ok(bits)) => in_block(ip, net, bits),
                _ => false,
            },
            None => host_ip(entry) == Some(ip),
        };
    }
    host == entry || host.ends_with(&format!(".{entry}"))
}

fn in_block(ip: IpAddr, net: IpAddr, bits: u32) -> bool {
    let mask = |width: u32| -> u128 {
        match bits.min(width) {
            0 => 0,
            b => (u128::MAX << (128 - b)) >> (128 - width),
        }
    };
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            (u128::from(u32::from(ip)) ^ u128::from(u32::from(net))) & mask(32) == 0
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => (u128::from(ip) ^ u128::from(net)) & mask(128) == 0,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn env_proxies(no_proxy: Option<&str>) -> Proxies {
        let env = ProxyEnv {
            http: Some("proxy.example:3128".into()),
            https: Some("http://secure-proxy.example:3128".into()),
            all: None,
            no_proxy: no_proxy.map(str::to_owned),
        };
        Proxies::from_env(&env).0
    }

    #[test]
    fn the_environment_picks_by_scheme_and_skips_loopback() {
        let proxies = env_proxies(None);
        let via = |u: &str| proxies.for_url(&url(u)).map(|p| p.to_string());
        assert_eq!(
            via("http://flags.example/").as_deref(),
            Some("http://proxy.example:3128/")
        );
        assert_eq!(
            via("https://flags.example/").as_deref(),
            Some("http://secure-proxy.example:3128/")
        );
        for loopback in [
            "http://127.0.0.1:1/",
            "http://127.1.2.3/",
            "http://localhost:8016/",
            "https://[::1]:1/",
        ] {
            assert_eq!(via(loopback), None, "{loopback}");
        }
    }

    #[test]
    fn a_named_proxy_takes_loopback_too_and_off_takes_nothing() {
        let named = Proxies::Named(url("http://127.0.0.1:9/"));
        assert!(named.for_url(&url("http://127.0.0.1:1/")).is_some());
        assert_eq!(Proxies::Off.for_url(&url("http://flags.example/")), None);
    }

    #[test]
    fn no_proxy_matches_domains_addresses_and_blocks() {
        let proxies = env_proxies(Some(".corp.example, 10.0.0.0/8, 192.168.1.5, *.no"));
        for bypassed in [
            "http://corp.example/",
            "http://flags.corp.example/",
            "http://10.1.2.3/",
            "http://192.168.1.5/",
        ] {
            assert_eq!(proxies.for_url(&url(bypassed)), None, "{bypassed}");
        }
        for proxied in [
            "http://notcorp.example/",
            "http://11.0.0.1/",
            "http://192.168.1.6/",
        ] {
            assert!(proxies.for_url(&url(proxied)).is_some(), "{proxied}");
        }
        assert_eq!(
            env_proxies(Some("*")).for_url(&url("http://a.example/")),
            None
        );
    }

    #[test]
    fn a_proxy_variable_that_does_not_parse_is_left_out_with_a_warning() {
        let env = ProxyEnv {
            http: Some("socks5://p:1".into()),
            ..Default::default()
        };
        let (proxies, warnings) = Proxies::from_env(&env);
        assert_eq!(proxies.for_url(&url("http://a.example/")), None);
        assert!(warnings[0].contains("HTTP_PROXY"), "{warnings:?}");
    }
}
