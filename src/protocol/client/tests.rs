use super::*;

#[test]
fn base_urls_are_normalised_to_end_in_a_slash() {
    assert_eq!(
        base_url("http://127.0.0.1:8016").unwrap().as_str(),
        "http://127.0.0.1:8016/"
    );
    assert_eq!(
        base_url("https://h.example/prefix").unwrap().as_str(),
        "https://h.example/prefix/"
    );
}

#[test]
fn bad_base_urls_are_usage_errors_naming_what_was_given() {
    let err = base_url("flags.example.com").unwrap_err();
    assert!(err.to_string().contains("flags.example.com"), "{err}");
    assert!(base_url("ftp://h.example/").is_err());
    let err = base_url("http://h.example/ofrep/v1/evaluate/flags").unwrap_err();
    assert_eq!(
        err.hint(),
        Some("give the base URL, the part before /ofrep: http://h.example/")
    );
}

#[test]
fn a_bad_base_url_never_echoes_its_query() {
    let err = base_url("ftp://h.example/?token=sekrit").unwrap_err();
    assert!(!err.to_string().contains("sekrit"), "{err}");
}

#[test]
fn a_base_url_without_a_scheme_never_echoes_its_userinfo_or_query() {
    for text in [
        "user:pw@h.example/?t=sekrit",
        "user:pw@h.example",
        "u:pw@[::1/?t=sekrit",
    ] {
        let err = base_url(text).unwrap_err();
        let shown = format!("{err} {}", err.hint().unwrap_or_default());
        assert!(
            !shown.contains("pw") && !shown.contains("sekrit"),
            "{shown}"
        );
    }
}

#[test]
fn request_urls_keep_the_base_path_and_add_query_parameters() {
    let client = Client::new(ClientConfig {
        base: base_url("http://127.0.0.1:1/api").unwrap(),
        headers: vec![],
        timeout: Duration::from_secs(1),
        max_body: 1,
        follow_redirects: false,
        tls: Default::default(),
        proxies: Default::default(),
    })
    .unwrap();
    let mut request = Request::new(Endpoint::Bulk, Map::new());
    request
        .query
        .push(("flagConfigEtag".into(), "\"a b\"".into()));
    assert_eq!(
        client.url_for(&request).unwrap().as_str(),
        "http://127.0.0.1:1/api/ofrep/v1/evaluate/flags?flagConfigEtag=%22a+b%22"
    );
}
