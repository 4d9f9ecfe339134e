//! How many problems of each kind one connection has reported, so that a stream of broken lines
//! (invalid UTF-8 as fast as the socket allows) yields a few problems, not one per line: one is
//! enough to grade a check or to warn, and the rest would only fill the output.

use std::mem::Discriminant;

use super::parser::Problem;

/// How many problems of one kind are passed on per connection.
pub const SHOWN_PER_KIND: usize = 16;

/// What to do with a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Among the first of its kind: pass it on.
    Show,
    /// The last one of its kind that is passed on: say that the rest will not be.
    ShowLast,
    /// Past the limit: drop it.
    Hide,
}

/// Counts per kind for one connection.
#[derive(Debug, Default)]
pub struct Tally {
    seen: Vec<(Discriminant<Problem>, usize)>,
}

impl Tally {
    pub fn judge(&mut self, problem: &Problem) -> Verdict {
        let kind = std::mem::discriminant(problem);
        let count = match self.seen.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, count)) => {
                *count = count.saturating_add(1);
                *count
            }
            None => {
                self.seen.push((kind, 1));
                1
            }
        };
        match count.cmp(&SHOWN_PER_KIND) {
            std::cmp::Ordering::Less => Verdict::Show,
            std::cmp::Ordering::Equal => Verdict::ShowLast,
            std::cmp::Ordering::Greater => Verdict::Hide,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_is_shown_up_to_the_limit_and_the_last_one_says_so() {
        let mut tally = Tally::default();
        let utf8 = Problem::InvalidUtf8 { line: 1 };
        let verdicts: Vec<Verdict> = (0..SHOWN_PER_KIND + 2)
            .map(|_| tally.judge(&utf8))
            .collect();
        assert!(
            verdicts[..SHOWN_PER_KIND - 1]
                .iter()
                .all(|v| *v == Verdict::Show)
        );
        assert_eq!(verdicts[SHOWN_PER_KIND - 1], Verdict::ShowLast);
        assert_eq!(verdicts[SHOWN_PER_KIND..], [Verdict::Hide, Verdict::Hide]);
        assert_eq!(
            tally.judge(&Problem::IdWithNul { line: 9 }),
            Verdict::Show,
            "another kind has its own count"
        );
    }
}
