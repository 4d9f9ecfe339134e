//! The SSE parser on any bytes: it never panics, keeps its limits, and gives the same items
//! however the stream is cut into chunks.
//!
//! The first two bytes choose small limits (so the too-long paths are reached) and the chunk
//! size; the rest is the stream.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ofrep::sse::parser::{Item, Limits, Parser};

fn all_items<'a>(limits: Limits, chunks: impl Iterator<Item = &'a [u8]>) -> Vec<Item> {
    let mut parser = Parser::new(limits);
    let mut items = Vec::new();
    for chunk in chunks {
        items.extend(parser.feed(chunk));
    }
    items.extend(parser.finish());
    items
}

fuzz_target!(|input: &[u8]| {
    let [limit, chunk, stream @ ..] = input else {
        return;
    };
    let limits = Limits {
        max_line: usize::from(*limit % 64) + 1,
        max_event_data: usize::from(*limit / 4) + 1,
    };
    let whole = all_items(limits, std::iter::once(stream));
    let size = usize::from(*chunk % 16) + 1;
    let split = all_items(limits, stream.chunks(size));
    assert_eq!(whole, split, "chunks of {size} bytes changed the items");
    for item in &whole {
        if let Item::Event(event) = item {
            assert!(event.data.len() <= limits.max_event_data, "{event:?}");
        }
    }
});
