//! How result rows are laid out for a terminal's width, and for piped output.

use super::Layout;
use crate::conform::model::Status;
use crate::report::Palette;

fn plain_row(layout: &Layout, id: &str, name: &str, time: &str) -> String {
    layout.row(&Palette::new(false), Status::Pass, id, name, time)
}

#[test]
fn rows_fit_the_terminal_width_with_names_cut_and_the_time_column_aligned() {
    let rows = [
        ("core-endpoints", "the bulk endpoint answers"),
        (
            "bulk-query-accepted",
            "flagConfigEtag and flagConfigLastModified in Unix seconds are accepted",
        ),
    ];
    let layout = Layout::new(rows.iter().copied(), Some(70));
    let lines: Vec<String> = rows
        .iter()
        .map(|(id, name)| plain_row(&layout, id, name, "12 ms"))
        .collect();
    for line in &lines {
        assert_eq!(line.chars().count(), 70, "{line:?}");
        assert!(line.ends_with("   12 ms"), "{line:?}");
    }
    assert!(
        lines[1].contains("  flagConfigEtag and flagConfig…     12 ms"),
        "{}",
        lines[1]
    );
    assert!(
        lines[0].contains("the bulk endpoint answers "),
        "{}",
        lines[0]
    );
    // A terminal too narrow even for the ids cuts the ids too, and drops no time.
    let narrow = Layout::new(rows.iter().copied(), Some(30));
    let line = plain_row(&narrow, rows[1].0, rows[1].1, "12 ms");
    assert_eq!(line.chars().count(), 30, "{line:?}");
    assert!(line.ends_with("12 ms"), "{line:?}");
}

#[test]
fn piped_rows_are_never_cut_and_the_time_column_still_lines_up() {
    let long = "a scenario name far longer than any terminal would show in one row of the table, and then some";
    let rows = [("core-endpoints", "short"), ("bulk-query-accepted", long)];
    let layout = Layout::new(rows.iter().copied(), None);
    let lines: Vec<String> = rows
        .iter()
        .map(|(id, name)| plain_row(&layout, id, name, "1.5 ms"))
        .collect();
    assert!(lines[1].contains(long), "{}", lines[1]);
    assert!(!lines.iter().any(|l| l.contains('…')));
    let ends: Vec<usize> = lines.iter().map(|l| l.chars().count()).collect();
    assert_eq!(ends[0], ends[1], "{lines:#?}");
    // No time (a skip before its first step): the row ends after the name, no trailing blanks.
    assert_eq!(
        plain_row(&layout, "x", "y", ""),
        "  PASS   x                    y"
    );
}
