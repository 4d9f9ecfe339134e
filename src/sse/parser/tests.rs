use super::*;

fn parse_with(limits: Limits, chunks: &[&[u8]]) -> (Vec<Item>, String) {
    let mut parser = Parser::new(limits);
    let mut items = Vec::new();
    for chunk in chunks {
        items.extend(parser.feed(chunk));
    }
    items.extend(parser.finish());
    (items, parser.last_event_id().to_owned())
}

/// Parses `input` whole, split in two at every offset, and byte by byte; all must agree.
fn parse_all_ways(limits: Limits, input: &[u8]) -> Vec<Item> {
    let whole = parse_with(limits, &[input]);
    for at in 0..=input.len() {
        let (a, b) = input.split_at(at);
        assert_eq!(
            parse_with(limits, &[a, b]),
            whole,
            "split at {at} of {input:?}"
        );
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(parse_with(limits, &bytes), whole, "byte by byte: {input:?}");
    whole.0
}

fn limits(max_line: usize, max_event_data: usize) -> Limits {
    Limits {
        max_line,
        max_event_data,
    }
}

fn parse(input: &str) -> Vec<Item> {
    parse_all_ways(Limits::default(), input.as_bytes())
}

fn events(items: &[Item]) -> Vec<&Event> {
    items.iter().filter_map(Item::event).collect()
}

fn problems(items: &[Item]) -> Vec<&Problem> {
    items
        .iter()
        .filter_map(|item| match item {
            Item::Problem(problem) => Some(problem),
            _ => None,
        })
        .collect()
}

fn message(data: &str) -> Item {
    Item::Event(Event {
        event_type: "message".into(),
        named: None,
        data: data.into(),
        id: None,
        last_event_id: String::new(),
    })
}

#[test]
fn lf_crlf_and_cr_line_ends_give_the_same_events() {
    let lf = "data: a\n\ndata: b\n\n";
    let expected = vec![message("a"), message("b")];
    assert_eq!(parse(lf), expected);
    assert_eq!(parse(&lf.replace('\n', "\r\n")), expected);
    assert_eq!(parse(&lf.replace('\n', "\r")), expected);
    assert_eq!(parse("data: a\r\n\rdata: b\n\r\n"), expected);
}

#[test]
fn lf_then_cr_is_two_line_ends() {
    assert_eq!(
        parse("data: a\n\rdata: b\r\n\r\n"),
        vec![message("a"), message("b")]
    );
}

#[test]
fn multi_line_data_is_joined_with_lf_without_a_trailing_lf() {
    assert_eq!(
        parse("data: a\ndata: b\r\ndata:c\rdata\n\n"),
        vec![message("a\nb\nc\n")]
    );
    assert_eq!(parse("data\ndata\n\n"), vec![message("\n")]);
}

#[test]
fn only_one_space_after_the_colon_is_removed() {
    assert_eq!(
        parse("data:x\n\ndata: x\n\ndata:  x\n\ndata:\tx\n\n"),
        vec![message("x"), message("x"), message(" x"), message("\tx")]
    );
}

#[test]
fn a_data_field_with_an_empty_value_still_dispatches() {
    assert_eq!(parse("data\n\ndata:\n\n"), vec![message(""), message("")]);
}

#[test]
fn an_event_without_data_is_not_dispatched() {
    assert_eq!(
        parse("\n\nevent: x\n\nid: 1\n\n: c\n\n"),
        vec![Item::Comment(" c".into())]
    );
    // The event type does not leak into the next event.
    assert_eq!(parse("event: x\n\ndata: d\n\n"), vec![message("d")]);
}

#[test]
fn comments_keep_the_text_after_the_colon() {
    assert_eq!(
        parse(": keep-alive\r\n:\n:: x\n\n"),
        vec![
            Item::Comment(" keep-alive".into()),
            Item::Comment(String::new()),
            Item::Comment(": x".into()),
        ]
    );
}

#[test]
fn a_comment_inside_an_event_does_not_end_it() {
    assert_eq!(
        parse("data: a\n: ping\ndata: b\n\n"),
        vec![Item::Comment(" ping".into()), message("a\nb")]
    );
}

#[test]
fn event_names_are_kept_and_an_empty_name_means_message() {
    let items = parse("event: refetch\ndata: 1\n\nevent:\ndata: 2\n\nevent: message\ndata: 3\n\n");
    let events = events(&items);
    assert_eq!(events[0].event_type, "refetch");
    assert_eq!(events[0].named.as_deref(), Some("refetch"));
    assert_eq!(events[1].event_type, "message");
    assert_eq!(events[1].named.as_deref(), Some(""));
    assert_eq!(events[2].event_type, "message");
    assert_eq!(events[2].named.as_deref(), Some("message"));
}

#[test]
fn the_last_event_id_persists_across_events_and_an_empty_id_resets_it() {
    let items =
        parse("id: 1\ndata: a\n\ndata: b\n\nid:\ndata: c\n\nid: 7\n\ndata: d\n\nid\ndata: e\n\n");
    let events = events(&items);
    let seen: Vec<_> = events
        .iter()
        .map(|e| (e.id.as_deref(), e.last_event_id.as_str()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (Some("1"), "1"),
            (None, "1"),
            (Some(""), ""),
            (None, "7"),
            (Some(""), "")
        ]
    );
}

#[test]
fn the_last_event_id_survives_the_end_of_the_stream_and_a_resume() {
    let mut parser = Parser::new(Limits::default());
    parser.feed(b"id: 42\ndata: a\n\n");
    parser.finish();
    assert_eq!(parser.last_event_id(), "42");
    let mut resumed = Parser::resume(Limits::default(), "42".into());
    let items = resumed.feed(b"data: b\n\n");
    assert_eq!(events(&items)[0].last_event_id, "42");
}

#[test]
fn an_id_with_nul_is_ignored_and_reported() {
    let items = parse("id: 1\n\nid: a\0b\ndata: x\n\n");
    assert_eq!(problems(&items), vec![&Problem::IdWithNul { line: 3 }]);
    let event = events(&items)[0];
    assert_eq!(event.id, None);
    assert_eq!(event.last_event_id, "1");
}

#[test]
fn an_id_no_header_can_carry_is_ignored_and_the_last_good_one_stays() {
    let items =
        parse("id: 1\n\nid: a\u{1}b\ndata: x\n\nid: \u{7f}\ndata: y\n\nid: t\tab é\ndata: z\n\n");
    assert_eq!(
        problems(&items),
        vec![
            &Problem::IdNotAHeader { line: 3 },
            &Problem::IdNotAHeader { line: 6 }
        ]
    );
    let events = events(&items);
    assert_eq!(
        (events[0].id.as_deref(), events[0].last_event_id.as_str()),
        (None, "1")
    );
    assert_eq!(
        (events[1].id.as_deref(), events[1].last_event_id.as_str()),
        (None, "1")
    );
    assert_eq!(
        events[2].id.as_deref(),
        Some("t\tab é"),
        "a tab and non-ASCII fit a header"
    );
}

#[test]
fn a_digits_only_retry_is_reported_and_anything_else_is_a_problem() {
    let items = parse("retry: 3000\nretry:15\nretry: 1.5\nretry: abc\nretry\nretry:  5\n");
    assert_eq!(
        items,
        vec![
            Item::Retry(3000),
            Item::Retry(15),
            Item::Problem(Problem::InvalidRetry {
                line: 3,
                value: "1.5".into()
            }),
            Item::Problem(Problem::InvalidRetry {
                line: 4,
                value: "abc".into()
            }),
            Item::Problem(Problem::InvalidRetry {
                line: 5,
                value: String::new()
            }),
            Item::Problem(Problem::InvalidRetry {
                line: 6,
                value: " 5".into()
            }),
        ]
    );
}

#[test]
fn a_huge_retry_saturates() {
    assert_eq!(
        parse("retry: 99999999999999999999999\n"),
        vec![Item::Retry(u64::MAX)]
    );
}

#[test]
fn an_invalid_retry_value_is_cut_for_display() {
    let line = format!("retry: {}\n", "x".repeat(1_000));
    let items = parse_all_ways(Limits::default(), line.as_bytes());
    let [Item::Problem(problem @ Problem::InvalidRetry { value, .. })] = items.as_slice() else {
        panic!("expected one InvalidRetry, got {items:?}");
    };
    assert_eq!(value.chars().count(), SHOWN_VALUE_CHARS);
    assert!(!problem.to_string().contains('\n'));
}

#[test]
fn unknown_fields_and_fields_without_a_colon_are_ignored() {
    assert_eq!(
        parse("foo: bar\nDATA: x\ndata : y\nbar\ndata: z\n\n"),
        vec![message("z")]
    );
}

#[test]
fn a_bom_at_the_start_is_stripped_once() {
    assert_eq!(parse("\u{FEFF}data: a\n\n"), vec![message("a")]);
    // A second BOM is part of the field name, which then is unknown.
    assert_eq!(parse("\u{FEFF}\u{FEFF}data: a\n\n"), vec![]);
    // A BOM elsewhere is ordinary text.
    assert_eq!(parse("data: \u{FEFF}a\n\n"), vec![message("\u{FEFF}a")]);
    assert_eq!(parse("\n\u{FEFF}data: a\n\n"), vec![]);
}

#[test]
fn a_partial_bom_at_the_end_is_ordinary_bytes() {
    let items = parse_all_ways(Limits::default(), &[0xEF, 0xBB]);
    assert_eq!(items, vec![Item::Problem(Problem::UnterminatedEvent),]);
    let items = parse_all_ways(Limits::default(), b"\xEF\xBBdata: a\n\n");
    assert_eq!(items, vec![Item::Problem(Problem::InvalidUtf8 { line: 1 })]);
}

#[test]
fn invalid_utf8_is_replaced_and_reported_with_its_line() {
    let items = parse_all_ways(
        Limits::default(),
        b"data: ok\ndata: a\xFFb\n\ndata: \xE2\x82\n\n",
    );
    assert_eq!(
        items,
        vec![
            Item::Problem(Problem::InvalidUtf8 { line: 2 }),
            message("ok\na\u{FFFD}b"),
            Item::Problem(Problem::InvalidUtf8 { line: 4 }),
            message("\u{FFFD}"),
        ]
    );
}

#[test]
fn a_multi_byte_character_split_across_chunks_is_valid() {
    assert_eq!(parse("data: é€😀\n\n"), vec![message("é€😀")]);
}

#[test]
fn an_unterminated_event_at_the_end_is_discarded_and_reported() {
    assert_eq!(
        parse("data: a\n\ndata: b\n"),
        vec![message("a"), Item::Problem(Problem::UnterminatedEvent)]
    );
    assert_eq!(
        parse("data: a\n\ndata: b"),
        vec![message("a"), Item::Problem(Problem::UnterminatedEvent)]
    );
    assert_eq!(
        parse("data: a\n\n: bye\n"),
        vec![message("a"), Item::Comment(" bye".into())]
    );
}

#[test]
fn a_stream_ending_after_cr_is_terminated() {
    assert_eq!(parse("data: a\r\r"), vec![message("a")]);
}

#[test]
fn a_too_long_line_is_skipped_with_its_event_and_later_events_arrive() {
    let limits = limits(16, 64);
    let input = format!("data: a\ndata: {}\nid: 3\n\ndata: b\n\n", "x".repeat(40));
    let items = parse_all_ways(limits, input.as_bytes());
    assert_eq!(
        items,
        vec![
            Item::Problem(Problem::LineTooLong { line: 2, limit: 16 }),
            Item::Event(Event {
                last_event_id: "3".into(),
                ..event_data("b")
            }),
        ]
    );
}

fn event_data(data: &str) -> Event {
    let Item::Event(event) = message(data) else {
        unreachable!()
    };
    event
}

#[test]
fn a_too_long_comment_does_not_cost_the_event() {
    let limits = limits(16, 64);
    let input = format!("data: a\n:{}\ndata: b\n\n", "x".repeat(40));
    assert_eq!(
        parse_all_ways(limits, input.as_bytes()),
        vec![
            Item::Problem(Problem::LineTooLong { line: 2, limit: 16 }),
            message("a\nb"),
        ]
    );
}

#[test]
fn a_line_of_exactly_the_limit_is_kept() {
    let limits = limits(8, 64);
    assert_eq!(parse_all_ways(limits, b"data: ab\n\n"), vec![message("ab")]);
}

#[test]
fn data_over_the_limit_discards_the_event() {
    let limits = limits(64, 8);
    let items = parse_all_ways(
        limits,
        b"data: 1234\ndata: 5678\ndata: 9\n\ndata: 1234\ndata: 567\n\n",
    );
    assert_eq!(
        items,
        vec![
            Item::Problem(Problem::DataTooLarge { line: 2, limit: 8 }),
            message("1234\n567"),
        ]
    );
}

#[test]
fn an_endless_line_keeps_memory_bounded() {
    let limits = limits(1024, 4096);
    let mut parser = Parser::new(limits);
    let chunk = vec![b'x'; 64 * 1024];
    let mut items = Vec::new();
    for _ in 0..160 {
        items.extend(parser.feed(&chunk));
        assert!(
            parser.buffered() <= 2 * 1024,
            "buffered {}",
            parser.buffered()
        );
    }
    // The blank line ends the event the long line belonged to.
    items.extend(parser.feed(b"\n\ndata: after\n\n"));
    assert_eq!(
        items,
        vec![
            Item::Problem(Problem::LineTooLong {
                line: 1,
                limit: 1024
            }),
            message("after"),
        ]
    );
}

#[test]
fn a_long_line_within_the_limit_does_not_pin_its_memory() {
    let mut parser = Parser::new(Limits::default());
    let line = format!(": {}\n", "x".repeat(512 * 1024));
    parser.feed(line.as_bytes());
    assert!(parser.buffered() <= KEPT_CAPACITY);
}

#[test]
fn problems_display_as_one_line() {
    let all = [
        Problem::InvalidUtf8 { line: 1 },
        Problem::LineTooLong { line: 2, limit: 3 },
        Problem::DataTooLarge { line: 4, limit: 5 },
        Problem::IdWithNul { line: 6 },
        Problem::IdNotAHeader { line: 6 },
        Problem::InvalidRetry {
            line: 7,
            value: "a\nb\u{1b}[31m".into(),
        },
        Problem::UnterminatedEvent,
    ];
    for problem in all {
        let text = problem.to_string();
        assert!(!text.contains(['\n', '\r', '\u{1b}']), "{text}");
    }
}

/// A small deterministic generator, so that failures reproduce without a fuzzing crate.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_bytes_never_panic_and_chunking_never_matters() {
    // Bytes that matter to the parser, weighted over plain noise.
    const ALPHABET: &[u8] = b"\r\n\r\n:: data:event:id:retry:0123 x\0\xEF\xBB\xBF\xFF\xC3\xA9";
    let limits = limits(12, 20);
    let mut rng = XorShift(0x5EED_F00D);
    for _ in 0..3000 {
        let len = rng.below(80);
        let input: Vec<u8> = (0..len)
            .map(|_| match rng.below(8) {
                0 => rng.next() as u8,
                _ => ALPHABET[rng.below(ALPHABET.len())],
            })
            .collect();
        let whole = parse_with(limits, &[&input]);
        for _ in 0..4 {
            let mut chunks = Vec::new();
            let mut rest = input.as_slice();
            while !rest.is_empty() {
                let (chunk, tail) = rest.split_at(1 + rng.below(rest.len()));
                chunks.push(chunk);
                rest = tail;
            }
            assert_eq!(
                parse_with(limits, &chunks),
                whole,
                "input {input:?} chunks {chunks:?}"
            );
        }
    }
}
