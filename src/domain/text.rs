//! Text from people and other systems, made safe to keep and to show. Identifiers and free text
//! refuse control, format and bidirectional characters (an ESC recolours a terminal, U+202E
//! reverses what a reader sees, U+2028 breaks a line where no line break shows); what older
//! stores or the operations database still hold is escaped wherever it is printed or mailed.

use std::borrow::Cow;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// Longest identifier or name people enter (a partner id, a violation number, `--by`).
pub(crate) const MAX_NAME_CHARS: usize = 100;
/// Longest free text people enter (a reason, a note, a description).
pub(crate) const MAX_TEXT_CHARS: usize = 2_000;

/// Why a piece of text is refused.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TextIssue {
    /// A control, format or bidirectional character (its code point).
    Unsafe(u32),
    /// Longer than allowed (its length in characters).
    TooLong { chars: usize, max: usize },
}

/// Whether a character may never be kept: controls (C0, C1, DEL), format characters (the
/// bidirectional marks, embeddings, overrides and isolates, zero-width characters, the BOM),
/// line and paragraph separators. Private-use characters stay: some Chinese systems keep rare
/// characters of names there.
pub(crate) fn is_unsafe(c: char) -> bool {
    // Most text is ASCII or CJK: answered without the category tables (a publication checks
    // every character of hundreds of scorecards).
    match c as u32 {
        0x20..=0x7e | 0x3000..=0x303f | 0x4e00..=0x9fff | 0xff01..=0xffef => return false,
        0..=0x1f | 0x7f => return true,
        _ => {}
    }
    unsafe_by_category(c)
}

/// The rule itself, by the Unicode category tables.
fn unsafe_by_category(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
            | GeneralCategory::Surrogate
    )
}

fn check(s: &str, max: usize, allowed: &[char]) -> Result<(), TextIssue> {
    if let Some(c) = s.chars().find(|c| is_unsafe(*c) && !allowed.contains(c)) {
        return Err(TextIssue::Unsafe(c as u32));
    }
    let chars = s.chars().count();
    if chars > max {
        return Err(TextIssue::TooLong { chars, max });
    }
    Ok(())
}

/// An identifier or a person's name: no unsafe character at all, at most 100 characters.
pub(crate) fn check_name(s: &str) -> Result<(), TextIssue> {
    check(s, MAX_NAME_CHARS, &[])
}

/// Free text on one line (a reason, a note, a description): a tab is allowed, nothing else
/// unsafe, at most 2,000 characters.
pub(crate) fn check_text(s: &str) -> Result<(), TextIssue> {
    check(s, MAX_TEXT_CHARS, &['\t'])
}

/// Text for a terminal, a log or a mail: every unsafe character written as `\u{…}`, so what
/// passes through an older store or another system shows instead of acting. Line breaks and
/// tabs are kept when `lines` is set (a multi-line page of our own making).
pub(crate) fn escape(s: &str, lines: bool) -> Cow<'_, str> {
    let keep = |c: char| lines && (c == '\n' || c == '\t');
    if !s.chars().any(|c| is_unsafe(c) && !keep(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if is_unsafe(c) && !keep(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Ids as people count them: the digits in them compared as numbers (P2 before P10, P99
/// before P100), the rest as text; equal numbers with more leading zeros after fewer.
pub(crate) fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    fn runs(s: &str) -> impl Iterator<Item = (bool, &str)> {
        let mut rest = s;
        std::iter::from_fn(move || {
            let first = rest.chars().next()?;
            let digits = first.is_ascii_digit();
            let end = rest.find(|c: char| c.is_ascii_digit() != digits).unwrap_or(rest.len());
            let (run, tail) = rest.split_at(end);
            rest = tail;
            Some((digits, run))
        })
    }
    let (mut x, mut y) = (runs(a), runs(b));
    loop {
        match (x.next(), y.next()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some((true, p)), Some((true, q))) => {
                let (p0, q0) = (p.trim_start_matches('0'), q.trim_start_matches('0'));
                let order = p0.len().cmp(&q0.len()).then_with(|| p0.cmp(q0));
                if order != Ordering::Equal {
                    return order;
                }
            }
            (Some((_, p)), Some((_, q))) => {
                if p != q {
                    return p.cmp(q);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_characters_the_review_found_are_refused() {
        for c in ['\u{1b}', '\u{7}', '\u{202e}', '\u{2028}', '\u{b}', '\u{200b}', '\u{feff}', '\u{2066}', '\u{85}'] {
            assert_eq!(check_name(&format!("V{c}1")), Err(TextIssue::Unsafe(c as u32)), "{:x}", c as u32);
            assert_eq!(check_text(&format!("说明{c}")), Err(TextIssue::Unsafe(c as u32)), "{:x}", c as u32);
        }
        assert_eq!(check_text("甲\t乙"), Ok(()));
        assert_eq!(check_name("甲\t乙"), Err(TextIssue::Unsafe(9)));
        assert_eq!(check_text("换\n行"), Err(TextIssue::Unsafe(10)));
        assert_eq!(check_name("张经理"), Ok(()));
        assert_eq!(check_name(&"名".repeat(101)), Err(TextIssue::TooLong { chars: 101, max: 100 }));
        assert_eq!(check_text(&"因".repeat(2_000)), Ok(()));
    }

    #[test]
    fn escaping_shows_what_would_act() {
        assert_eq!(escape("\u{1b}[31m红\u{202e}", false), "\\u{1b}[31m红\\u{202e}");
        assert_eq!(escape("a\nb", true), "a\nb");
        assert_eq!(escape("a\nb", false), "a\\u{a}b");
        assert!(matches!(escape("普通文字 P01", false), Cow::Borrowed(_)));
    }

    #[test]
    fn the_shortcut_agrees_with_the_unicode_tables_for_every_character() {
        for c in (0..=0x10ffff_u32).filter_map(char::from_u32) {
            assert_eq!(is_unsafe(c), unsafe_by_category(c), "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn ids_sort_as_people_count() {
        let mut ids = vec!["P100", "P10", "P2", "P101", "P1", "TK0009", "TK10", "P09"];
        ids.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(ids, ["P1", "P2", "P09", "P10", "P100", "P101", "TK0009", "TK10"]);
    }

    proptest! {
        /// A total order: antisymmetric, and equal only for equal text.
        #[test]
        fn natural_order_is_total(a in "[A-Z]{0,2}[0-9]{0,4}[a-z]{0,2}", b in "[A-Z]{0,2}[0-9]{0,4}[a-z]{0,2}") {
            prop_assert_eq!(natural_cmp(&a, &b), natural_cmp(&b, &a).reverse());
            prop_assert_eq!(natural_cmp(&a, &b) == std::cmp::Ordering::Equal, a == b);
        }

        /// Whatever goes in, nothing unsafe comes out, and safe text is left as it is.
        #[test]
        fn escaped_text_is_always_safe(s in any::<String>()) {
            let e = escape(&s, false);
            prop_assert!(!e.chars().any(is_unsafe));
            if check(&s, usize::MAX, &[]).is_ok() {
                prop_assert_eq!(e.as_ref(), s.as_str());
            }
        }
    }
}
