//! HTML to plain text, keeping table cells and quoted blocks visible to the extractors.
//!
//! mail-parser's own converter drops cell boundaries, which glues "Tenant ID" to its
//! value in HTML-only mails; this one ends each cell with a tab and each row with a
//! newline, and prefixes `<blockquote>` content with `> ` so quote stripping sees it.

/// Deepest blockquote level marked with "> ": deeper levels are marked as this one.
/// Quote stripping only asks whether a line is quoted, and every break inside N open
/// quotes would otherwise write N markers (depth times breaks: gigabytes).
pub const MAX_QUOTE_DEPTH: usize = 8;

/// Converts an HTML body to text: block tags become line breaks, cells tab-separated.
/// The text is never longer than `max_bytes` (the rest of the HTML is not read).
pub fn to_text(html: &str, max_bytes: usize) -> String {
    let mut out = String::with_capacity((html.len() / 2).min(max_bytes));
    let mut quote_depth = 0usize;
    let mut skip_until: Option<&'static str> = None;
    // Open table cells: inside one, block tags do not break the row.
    let mut cell_depth = 0usize;
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        if out.len() >= max_bytes {
            rest = "";
            break;
        }
        if skip_until.is_none() {
            push_text(&mut out, &rest[..lt], quote_depth);
        }
        let after = &rest[lt + 1..];
        if after.starts_with("!--") {
            rest = match after.find("-->") {
                Some(end) => &after[end + 3..],
                None => "",
            };
            continue;
        }
        let Some(gt) = after.find('>') else {
            rest = "";
            break;
        };
        let tag = &after[..gt];
        rest = &after[gt + 1..];
        let closing = tag.starts_with('/');
        // The tag name, lower-cased on the stack (no name we act on is longer than 16).
        let raw = tag.trim_start_matches('/').as_bytes();
        let len = raw.iter().take_while(|b| b.is_ascii_alphanumeric()).count();
        let mut buf = [0u8; 16];
        for (lower, b) in buf.iter_mut().zip(&raw[..len]) {
            *lower = b.to_ascii_lowercase();
        }
        let name = match buf.get(..len) {
            Some(lower) => std::str::from_utf8(lower).unwrap_or_default(),
            None => "",
        };
        if let Some(wanted) = skip_until {
            if closing && name == wanted {
                skip_until = None;
            }
            continue;
        }
        match name {
            "script" | "style" | "head" | "title" if !closing => {
                skip_until = Some(match name {
                    "script" => "script",
                    "style" => "style",
                    "head" => "head",
                    _ => "title",
                });
            }
            "blockquote" => {
                quote_depth = if closing {
                    quote_depth.saturating_sub(1)
                } else {
                    quote_depth + 1
                };
                newline(&mut out, quote_depth);
            }
            "td" | "th" => {
                // A cell's paragraphs stay on its row: a table reads as one line a row,
                // cells apart by tabs, as a plain-text table does.
                if closing {
                    cell_depth = cell_depth.saturating_sub(1);
                    out.push('\t');
                } else {
                    cell_depth += 1;
                }
            }
            "br" | "p" | "div" | "li" | "ul" | "ol" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6"
            | "hr" | "pre" | "section" | "article" | "header" | "footer"
                if cell_depth > 0 =>
            {
                let spaced = out.ends_with([' ', '\t', '\n']);
                out.push_str(if spaced { "" } else { " " });
            }
            "tr" | "table" => {
                cell_depth = 0;
                // One line break between rows, not one for each end and start.
                if name == "table" || !out.ends_with('\n') {
                    newline(&mut out, quote_depth);
                }
            }
            "li" if !closing => {
                newline(&mut out, quote_depth);
                out.push_str("* ");
            }
            "br" | "p" | "div" | "ul" | "ol" | "li" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6"
            | "hr" | "pre" | "section" | "article" | "header" | "footer" => {
                newline(&mut out, quote_depth)
            }
            _ => {}
        }
    }
    if skip_until.is_none() {
        push_text(&mut out, rest, quote_depth);
    }
    // The last text run may have gone past the limit.
    out.truncate(crate::floor_char_boundary(&out, max_bytes));
    // Collapse the runs of blank lines that nested block tags leave behind.
    let mut result = String::with_capacity(out.len());
    let mut blank = 0;
    for line in crate::mail::quote::lines_of(&out) {
        let line = line.trim_end();
        if line.trim().is_empty() || line.trim() == ">" {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        result.push_str(line);
        result.push('\n');
    }
    result
}

fn newline(out: &mut String, quote_depth: usize) {
    out.push('\n');
    for _ in 0..quote_depth.min(MAX_QUOTE_DEPTH) {
        out.push_str("> ");
    }
}

/// Appends a text run with HTML whitespace collapsed and entities decoded.
fn push_text(out: &mut String, text: &str, quote_depth: usize) {
    // Runs of plain ASCII (no whitespace, no entity) are copied whole; the rest goes
    // character by character.
    let plain = |b: u8| b.is_ascii() && b != b'&' && !matches!(b, b'\t'..=b'\r' | b' ');
    let bytes = text.as_bytes();
    let mut last_space = out.ends_with([' ', '\n', '\t']);
    let mut i = 0;
    while i < bytes.len() {
        if plain(bytes[i]) {
            let end = bytes[i..]
                .iter()
                .position(|&b| !plain(b))
                .map_or(bytes.len(), |n| i + n);
            quote_prefix(out, quote_depth);
            out.push_str(&text[i..end]);
            last_space = false;
            i = end;
            continue;
        }
        let Some(c) = text[i..].chars().next() else {
            break;
        };
        i += c.len_utf8();
        if c.is_whitespace() {
            push_space(out, &mut last_space);
            continue;
        }
        if c == '&' {
            // Entity names that decode are ASCII: skipping bytes skips characters.
            if let Some((decoded, len)) = entity(&text[i..]) {
                if decoded.is_whitespace() {
                    push_space(out, &mut last_space);
                } else {
                    out.push(decoded);
                    last_space = false;
                }
                i += len;
                continue;
            }
        }
        quote_prefix(out, quote_depth);
        out.push(c);
        last_space = false;
    }
}

/// One space for a run of whitespace.
fn push_space(out: &mut String, last_space: &mut bool) {
    if !*last_space {
        out.push(' ');
    }
    *last_space = true;
}

/// The entity that `tail` (the text after a '&') starts with: its character, and its
/// length up to and with the ';'.
fn entity(tail: &str) -> Option<(char, usize)> {
    let semi = tail.find(';').filter(|&s| s <= 10)?;
    decode_entity(&tail[..semi]).map(|c| (c, semi + 1))
}

/// "> " per open blockquote at the start of a line.
fn quote_prefix(out: &mut String, quote_depth: usize) {
    if out.ends_with('\n') {
        for _ in 0..quote_depth.min(MAX_QUOTE_DEPTH) {
            out.push_str("> ");
        }
    }
}

fn decode_entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code);
    }
    Some(match name {
        "nbsp" | "ensp" | "emsp" | "thinsp" => ' ',
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "euro" => '€',
        "copy" => '©',
        "reg" => '®',
        "middot" => '·',
        "bull" => '•',
        "auml" => 'ä',
        "ouml" => 'ö',
        "uuml" => 'ü',
        "Auml" => 'Ä',
        "Ouml" => 'Ö',
        "Uuml" => 'Ü',
        "szlig" => 'ß',
        "eacute" => 'é',
        "egrave" => 'è',
        "euml" => 'ë',
        "iuml" => 'ï',
        "ccedil" => 'ç',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The character-by-character definition the run copying in `push_text` must equal.
    fn push_text_by_chars(out: &mut String, text: &str, quote_depth: usize) {
        let mut last_space = out.ends_with([' ', '\n', '\t']);
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c.is_whitespace() {
                push_space(out, &mut last_space);
                continue;
            }
            if c == '&' {
                if let Some((decoded, len)) = entity(&text[i + 1..]) {
                    if decoded.is_whitespace() {
                        push_space(out, &mut last_space);
                    } else {
                        out.push(decoded);
                        last_space = false;
                    }
                    for _ in 0..len {
                        chars.next();
                    }
                    continue;
                }
            }
            quote_prefix(out, quote_depth);
            out.push(c);
            last_space = false;
        }
    }

    #[test]
    fn text_runs_are_copied_as_characters_would_be() {
        let parts = [
            "a",
            "Tenant",
            " ",
            "  ",
            "\t",
            "\n",
            "\u{b}",
            "\u{1c}",
            "\u{a0}",
            "\u{2003}",
            "ü",
            "&amp;",
            "&nbsp;",
            "&#160;",
            "&#x41;",
            "&bogus;",
            "&",
            "&#;",
            "&#1114112;",
            "&ü;",
            "12:30",
            ";",
        ];
        // Every pair and triple of parts, after text that does and does not end a line.
        for a in parts {
            for b in parts {
                for c in parts {
                    let text = format!("{a}{b}{c}");
                    for start in ["", "x", "x\n", "x "] {
                        for depth in [0, 2] {
                            let (mut fast, mut slow) = (start.to_string(), start.to_string());
                            push_text(&mut fast, &text, depth);
                            push_text_by_chars(&mut slow, &text, depth);
                            assert_eq!(fast, slow, "{text:?} after {start:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn long_and_odd_tag_names_are_passed_over() {
        let t = to_text(
            "<averyveryverylongtagname>a</averyveryverylongtagname><SCRIPT>x</Script><Ünï>b<br/>c",
            usize::MAX,
        );
        assert!(
            t.contains('a') && t.contains('b') && t.contains('c'),
            "{t:?}"
        );
        assert!(!t.contains('x'), "{t:?}");
    }

    #[test]
    fn table_cells_stay_apart() {
        let t = to_text(
            "<table><tr><th>Tenant ID</th><td>abc</td></tr><tr><td>Users</td><td>5</td></tr></table>",
            usize::MAX,
        );
        assert!(t.contains("Tenant ID\tabc"), "{t:?}");
        assert!(t.contains("Users\t5"), "{t:?}");
    }

    #[test]
    fn entities_and_scripts() {
        let t = to_text(
            "<head><title>x</title></head><p>A&nbsp;&amp;&#39;B&ndash;C</p><script>evil()</script>",
            usize::MAX,
        );
        assert_eq!(t.trim(), "A &'B–C");
    }

    #[test]
    fn deep_quotes_are_marked_at_a_bounded_depth_and_the_text_is_capped() {
        for depth in [MAX_QUOTE_DEPTH + 1, 1000, 20_000] {
            let html = format!("{}{}", "<blockquote>".repeat(depth), "x<br>".repeat(5000));
            let t = to_text(&html, usize::MAX);
            let marker = "> ".repeat(MAX_QUOTE_DEPTH);
            let bad = t
                .lines()
                .find(|l| l.contains('x') && !l.starts_with(&marker));
            assert!(bad.is_none(), "{depth}: {bad:?}");
            assert!(!t.contains(&"> ".repeat(MAX_QUOTE_DEPTH + 1)), "{depth}");
            // Linear in the input, whatever the depth.
            assert!(t.len() <= 5 * html.len(), "{depth}: {}", t.len());
        }
        let html = "<p>Tenant ü</p>".repeat(10_000);
        let t = to_text(&html, 1001);
        assert!(
            t.len() <= 1001 && t.trim_start().starts_with("Tenant ü"),
            "{}",
            t.len()
        );
    }

    #[test]
    fn blockquote_is_marked_as_quote() {
        let t = to_text(
            "<p>new</p><blockquote><p>old text</p></blockquote>",
            usize::MAX,
        );
        assert!(t.lines().any(|l| l.starts_with("> old text")), "{t:?}");
    }

    #[test]
    fn unterminated_markup_does_not_panic() {
        for s in [
            "<",
            "<p",
            "&",
            "&#xZZZ;",
            "&#99999999;",
            "<!-- x",
            "<script>",
        ] {
            let _ = to_text(s, usize::MAX);
        }
    }
}
