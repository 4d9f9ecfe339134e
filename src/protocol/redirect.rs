//! Redirects are never followed silently (issue 11). By default none is followed, as curl does:
//! a 3xx is reported as what the server answered. With `-L/--location` a 307 or 308 is followed
//! within the origin of the first request only (the method, body and credentials stay as they
//! were, and no `Referer` is sent); a 301, 302 or 303, which clients turn from POST into GET,
//! and a redirect to another origin are reported, never followed.

use reqwest::redirect::{Attempt, Policy};
use url::Url;

use crate::error::Error;
use crate::redact::Redactor;

/// The most redirects one request follows.
pub const MAX_REDIRECTS: usize = 10;

/// The redirect policy of every client `ofrep` builds.
pub fn policy(follow: bool) -> Policy {
    if !follow {
        return Policy::none();
    }
    Policy::custom(|attempt| {
        let next = attempt.url();
        if attempt.previous().iter().any(|url| url == next) {
            let url = shown(next);
            return attempt.error(RedirectError::Loop { url });
        }
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(RedirectError::TooMany);
        }
        if follows(&attempt) {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

/// A 307/308 to the origin the chain started at.
fn follows(attempt: &Attempt) -> bool {
    let same_origin = attempt
        .previous()
        .first()
        .is_some_and(|first| first.origin() == attempt.url().origin());
    matches!(attempt.status().as_u16(), 307 | 308) && same_origin
}

/// Why following redirects failed; URLs redacted.
#[derive(Debug, thiserror::Error)]
pub enum RedirectError {
    #[error("redirect loop: {url} was already requested")]
    Loop { url: String },
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooMany,
}

fn shown(url: &Url) -> String {
    Redactor::default().url(url.as_str()).into_owned()
}

/// Why a 3xx answer was not followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unfollowed {
    /// `-L` was not given.
    NotAsked,
    /// 301, 302 and 303 turn a POST into a GET.
    ChangesMethod,
    /// Credentials stay with the origin they were given for.
    OtherOrigin,
    /// No usable `Location`.
    NoLocation,
}

/// The error for an answer that is a redirect `ofrep` did not follow; `None` for any other
/// answer (304 is not a redirect). `url` is the URL that answered.
pub fn unfollowed_error(
    status: u16,
    reason: &str,
    location: Option<&str>,
    url: &Url,
    follow: bool,
) -> Option<Error> {
    if !(300..400).contains(&status) || status == 304 {
        return None;
    }
    let target = location.and_then(|l| url.join(l).ok());
    let why = match &target {
        None => Unfollowed::NoLocation,
        Some(_) if !follow => Unfollowed::NotAsked,
        Some(_) if !matches!(status, 307 | 308) => Unfollowed::ChangesMethod,
        Some(target) if target.origin() != url.origin() => Unfollowed::OtherOrigin,
        // Followable, so the chain ended here for another reason: the limit.
        Some(_) => Unfollowed::NotAsked,
    };
    let to = target
        .as_ref()
        .map(shown)
        .or_else(|| location.map(|l| Redactor::default().url(l).into_owned()))
        .unwrap_or_else(|| "(no Location)".to_owned());
    let head = format!(
        "{} answered {status} {reason}, a redirect to {to}",
        shown(url)
    );
    let (message, hint) = match why {
        Unfollowed::NotAsked => (
            format!("{head}; ofrep does not follow redirects unless asked"),
            "use the URL it points to as the base URL, or pass -L/--location to follow a 307/308 within the same origin".to_owned(),
        ),
        Unfollowed::ChangesMethod => (
            format!("{head}; a {status} would turn the POST into a GET, so ofrep does not follow it"),
            "use the URL it points to as the base URL (a server that moves an OFREP endpoint should answer 307 or 308)".to_owned(),
        ),
        Unfollowed::OtherOrigin => (
            format!("{head}; ofrep follows redirects only within the same origin, so credentials never go elsewhere"),
            format!("if you trust {}, give it as the base URL", target.as_ref().map(|t| t.origin().ascii_serialization()).unwrap_or_default()),
        ),
        Unfollowed::NoLocation => (
            format!("{head}, without a usable Location"),
            "check the base URL: the server redirects it without saying where".to_owned(),
        ),
    };
    Some(Error::answer(message).with_hint(hint))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Url {
        Url::parse("http://127.0.0.1:9/ofrep/v1/evaluate/flags?t=sekrit").unwrap()
    }

    #[test]
    fn only_3xx_other_than_304_are_redirects() {
        for status in [200, 304, 400, 500] {
            assert!(unfollowed_error(status, "", Some("/x"), &url(), false).is_none());
        }
    }

    #[test]
    fn each_reason_says_why_and_hints_what_to_do() {
        let cases = [
            (
                307,
                Some("/next"),
                false,
                "does not follow redirects unless asked",
                "-L",
            ),
            (
                301,
                Some("/next"),
                true,
                "turn the POST into a GET",
                "307 or 308",
            ),
            (
                308,
                Some("http://other.example/x?k=secret"),
                true,
                "only within the same origin",
                "http://other.example",
            ),
            (302, None, true, "without a usable Location", "base URL"),
        ];
        for (status, location, follow, says, hints) in cases {
            let error = unfollowed_error(status, "Moved", location, &url(), follow).unwrap();
            let text = error.to_string();
            assert!(text.contains(says), "{text}");
            assert!(error.hint().unwrap().contains(hints), "{:?}", error.hint());
            assert!(
                !text.contains("sekrit") && !text.contains("secret"),
                "{text}"
            );
        }
    }
}
