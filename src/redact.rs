//! Secrets never reach any output unless `--show-secrets`: credential headers, and the userinfo
//! and query string of URLs (ADR-0008: event-stream URLs may carry tokens and must not be logged).

use std::borrow::Cow;

/// What replaces a secret.
pub const MASK: &str = "<redacted>";

/// Header names whose values are credentials.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "x-api-key",
    "proxy-authorization",
    "cookie",
    "set-cookie",
];

/// Header names whose values are URLs, shown as URLs are.
const URL_HEADERS: &[&str] = &["location", "content-location"];

/// Authorization schemes worth keeping visible; anything else is masked whole, in case the first
/// word of a value is itself part of a secret.
const KNOWN_SCHEMES: &[&str] = &["Bearer", "Basic", "Digest", "Token", "Negotiate"];

#[derive(Debug, Clone, Copy, Default)]
pub struct Redactor {
    pub show_secrets: bool,
}

impl Redactor {
    pub fn new(show_secrets: bool) -> Self {
        Self { show_secrets }
    }

    pub fn is_secret_header(name: &str) -> bool {
        SECRET_HEADERS
            .iter()
            .any(|secret| name.eq_ignore_ascii_case(secret))
    }

    /// A header value as it may be shown. The `Bearer`/`Basic` scheme stays visible because it
    /// helps debugging and is not secret.
    /// A `Location` is a URL, and may carry a token in its query like any other.
    pub fn header<'a>(&self, name: &str, value: &'a str) -> Cow<'a, str> {
        if URL_HEADERS.iter().any(|url| name.eq_ignore_ascii_case(url)) {
            return self.url(value);
        }
        if self.show_secrets || !Self::is_secret_header(name) {
            return Cow::Borrowed(value);
        }
        match value.split_once(' ') {
            Some((scheme, _))
                if KNOWN_SCHEMES
                    .iter()
                    .any(|known| scheme.eq_ignore_ascii_case(known)) =>
            {
                Cow::Owned(format!("{scheme} {MASK}"))
            }
            _ => Cow::Borrowed(MASK),
        }
    }

    /// A URL (or URL-ish text, such as a `requestUri`) with its userinfo and query string masked.
    /// Works on text so that even a URL that does not parse is never printed with its secrets.
    pub fn url<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if self.show_secrets {
            return Cow::Borrowed(text);
        }
        let mut out = Cow::Borrowed(text);
        // userinfo: between "scheme://" (or "//", or the start of a URL given without a scheme,
        // `user:pw@host/`) and the last '@' before the path.
        let authority_start = match text.find("://") {
            Some(scheme_end) => scheme_end + 3,
            None if text.starts_with("//") => 2,
            None => 0,
        };
        let authority_end = text[authority_start..]
            .find(['/', '?', '#'])
            .map_or(text.len(), |i| authority_start + i);
        if let Some(at) = text[authority_start..authority_end].rfind('@') {
            out = Cow::Owned(format!(
                "{}{MASK}{}",
                &text[..authority_start],
                &text[authority_start + at..]
            ));
        }
        if let Some(q) = out.find('?') {
            let fragment = out[q..].find('#').map(|f| q + f);
            let tail = fragment.map_or("", |f| &out[f..]);
            out = Cow::Owned(format!("{}?{MASK}{tail}", &out[..q]));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: Redactor = Redactor {
        show_secrets: false,
    };

    #[test]
    fn credential_headers_keep_only_their_scheme() {
        assert_eq!(
            R.header("Authorization", "Bearer abc.def"),
            "Bearer <redacted>"
        );
        assert_eq!(R.header("x-api-key", "k-123"), "<redacted>");
        assert_eq!(R.header("Authorization", "tok en!"), "<redacted>");
        assert_eq!(
            R.header("Content-Type", "application/json"),
            "application/json"
        );
        assert_eq!(
            R.header("Location", "https://u:p@h.example/x?token=t"),
            "https://<redacted>@h.example/x?<redacted>"
        );
    }

    #[test]
    fn urls_lose_query_and_userinfo() {
        assert_eq!(
            R.url("https://sse.example.com/s?channels=abc&token=t"),
            "https://sse.example.com/s?<redacted>"
        );
        assert_eq!(
            R.url("https://user:pw@h.example/p"),
            "https://<redacted>@h.example/p"
        );
        assert_eq!(R.url("/events?token=x#frag"), "/events?<redacted>#frag");
        assert_eq!(R.url("https://h.example/p"), "https://h.example/p");
        assert_eq!(
            R.url("https://h.example/p?"),
            "https://h.example/p?<redacted>"
        );
    }

    #[test]
    fn urls_without_a_scheme_lose_their_userinfo_too() {
        assert_eq!(
            R.url("user:pw@h.example/?t=sekrit"),
            "<redacted>@h.example/?<redacted>"
        );
        assert_eq!(R.url("//u:p@h.example/x"), "//<redacted>@h.example/x");
        assert_eq!(R.url("h.example/a@b"), "h.example/a@b");
        assert_eq!(R.url("/events?token=x"), "/events?<redacted>");
    }

    #[test]
    fn an_at_sign_in_the_path_is_not_userinfo() {
        assert_eq!(R.url("https://h.example/a@b"), "https://h.example/a@b");
    }

    #[test]
    fn show_secrets_shows_everything() {
        let open = Redactor::new(true);
        assert_eq!(open.url("https://u:p@h/?t=1"), "https://u:p@h/?t=1");
        assert_eq!(open.header("X-API-Key", "k"), "k");
    }
}
