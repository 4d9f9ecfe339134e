//! The `--flags FILE` loader on any text: it never panics, an error names `origin:line:column`,
//! and a file that loads takes every control change (which re-validates the whole set).

#![no_main]

use libfuzzer_sys::fuzz_target;
use ofrep::serve::FlagSet;

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    match FlagSet::parse(text, "fuzz.json") {
        Ok(set) => {
            for flag in set.flags() {
                for variant in flag.variants.keys() {
                    let changed = set.with_default_variant(&flag.key, variant);
                    assert!(changed.is_ok(), "{}: {changed:?}", flag.key);
                }
            }
        }
        Err(message) => {
            let mut parts = message.splitn(4, ':');
            assert_eq!(parts.next(), Some("fuzz.json"), "{message}");
            for part in [parts.next(), parts.next()] {
                let number = part.and_then(|p| p.parse::<usize>().ok());
                assert!(number.is_some_and(|n| n >= 1), "{message}");
            }
        }
    }
});
