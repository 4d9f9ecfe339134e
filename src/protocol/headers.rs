//! Request headers from `-H 'Name: value'` and from `OFREP_HEADERS` (ADR-0007).

use percent_encoding::percent_decode_str;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

/// One validated request header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: HeaderName,
    pub value: HeaderValue,
}

impl Header {
    fn new(name: &str, value: &str) -> Result<Self, String> {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("`{name}` is not a valid header name"))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| format!("the value of `{name}` is not a valid header value"))?;
        Ok(Self { name, value })
    }

    pub fn value_str(&self) -> &str {
        self.value.to_str().unwrap_or("<non-ASCII value>")
    }
}

/// Parses `OFREP_HEADERS` exactly as ADR-0007 says: URL-decode the whole string, split on commas,
/// split each pair on the first `=`, trim both sides; malformed entries are skipped with a
/// warning. Warnings never quote values, which are often tokens.
pub fn parse_env(raw: &str) -> (Vec<Header>, Vec<String>) {
    let decoded = percent_decode_str(raw).decode_utf8_lossy();
    let mut headers = Vec::new();
    let mut warnings = Vec::new();
    for (index, entry) in decoded.split(',').enumerate() {
        let position = index + 1;
        if entry.trim().is_empty() {
            if !decoded.trim().is_empty() {
                warnings.push(format!("OFREP_HEADERS entry {position} is empty; skipped"));
            }
            continue;
        }
        let Some((name, value)) = entry.split_once('=') else {
            warnings.push(format!(
                "OFREP_HEADERS entry {position} has no `=`; skipped"
            ));
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        if name.is_empty() {
            warnings.push(format!(
                "OFREP_HEADERS entry {position} has an empty name; skipped"
            ));
            continue;
        }
        if value.is_empty() {
            warnings.push(format!(
                "OFREP_HEADERS entry {position} (`{name}`) has an empty value; skipped"
            ));
            continue;
        }
        match Header::new(name, value) {
            Ok(header) => headers.push(header),
            Err(why) => warnings.push(format!("OFREP_HEADERS entry {position}: {why}; skipped")),
        }
    }
    (headers, warnings)
}

/// Parses one `-H 'Name: value'`. A `Name=value` form is accepted too, since that is how
/// OFREP_HEADERS writes it and people copy between the two.
pub fn parse_flag(raw: &str) -> Result<Header, String> {
    let (name, value) = raw
        .split_once(':')
        .or_else(|| raw.split_once('='))
        .ok_or_else(|| {
            format!(
                "header `{}` has no `:`; write it as 'Name: value'",
                first_word(raw)
            )
        })?;
    let name = name.trim();
    if name.is_empty() {
        return Err("a header has an empty name; write it as 'Name: value'".into());
    }
    Header::new(name, value.trim())
}

/// Flags win over the environment: a `-H` replaces every environment header of the same name.
pub fn merge(from_env: Vec<Header>, from_flags: Vec<Header>) -> Vec<Header> {
    let mut merged: Vec<Header> = from_env
        .into_iter()
        .filter(|e| !from_flags.iter().any(|f| f.name == e.name))
        .collect();
    merged.extend(from_flags);
    merged
}

/// The part of a bad header worth echoing: up to the first space, so a pasted token is not.
fn first_word(raw: &str) -> &str {
    raw.split_whitespace().next().unwrap_or("")
}

/// Header pairs with lowercase names, in order, values lossily decoded: how a transcript or a
/// log shows headers, on the client's side and the reference server's.
pub fn pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(headers: &[Header]) -> Vec<(String, String)> {
        headers
            .iter()
            .map(|h| (h.name.to_string(), h.value_str().to_owned()))
            .collect()
    }

    #[test]
    fn adr_0007_example_is_url_decoded_first() {
        let (headers, warnings) = parse_env("Authorization=Bearer%20token,X-Custom=value");
        assert_eq!(
            pairs(&headers),
            [
                ("authorization".into(), "Bearer token".into()),
                ("x-custom".into(), "value".into())
            ]
        );
        assert!(warnings.is_empty());
    }

    #[test]
    fn only_the_first_equals_sign_splits() {
        let (headers, _) = parse_env("X-Sig=a=b==");
        assert_eq!(pairs(&headers), [("x-sig".into(), "a=b==".into())]);
    }

    #[test]
    fn an_encoded_comma_still_separates() {
        let (headers, warnings) = parse_env("A=1%2CB=2");
        assert_eq!(
            pairs(&headers),
            [("a".into(), "1".into()), ("b".into(), "2".into())]
        );
        assert!(warnings.is_empty());
    }

    #[test]
    fn whitespace_is_trimmed() {
        let (headers, _) = parse_env("  A =  1 , B=2 ");
        assert_eq!(
            pairs(&headers),
            [("a".into(), "1".into()), ("b".into(), "2".into())]
        );
    }

    #[test]
    fn malformed_entries_are_skipped_with_a_warning_that_hides_values() {
        let (headers, warnings) = parse_env("novalue,=secret,Good=1,Bad Name=x,Empty=");
        assert_eq!(pairs(&headers), [("good".into(), "1".into())]);
        assert_eq!(warnings.len(), 4, "{warnings:?}");
        assert!(warnings.iter().all(|w| !w.contains("secret")));
    }

    #[test]
    fn an_empty_variable_means_no_headers_and_no_warnings() {
        let (headers, warnings) = parse_env("");
        assert!(headers.is_empty() && warnings.is_empty());
    }

    #[test]
    fn flags_take_name_colon_value() {
        let header = parse_flag("Authorization: Bearer a:b").unwrap();
        assert_eq!(header.name, "authorization");
        assert_eq!(header.value_str(), "Bearer a:b");
        assert!(parse_flag("NoSeparator").is_err());
        assert!(parse_flag(": x").is_err());
        assert!(parse_flag("Bad Name: x").is_err());
        assert!(parse_flag("X: bad\nvalue").is_err());
    }

    #[test]
    fn a_bad_flag_does_not_echo_a_token() {
        let err = parse_flag("Bearer sekrit-token").unwrap_err();
        assert!(!err.contains("sekrit"), "{err}");
    }

    #[test]
    fn flags_replace_environment_headers_of_the_same_name() {
        let (env, _) = parse_env("Authorization=old,X-Env=1");
        let flags = vec![parse_flag("authorization: new").unwrap()];
        let merged = merge(env, flags);
        assert_eq!(
            pairs(&merged),
            [
                ("x-env".into(), "1".into()),
                ("authorization".into(), "new".into())
            ]
        );
    }
}
