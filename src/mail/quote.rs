//! Separating the sender's new text from quoted history and the signature.
//!
//! Replies keep the thread below the new text; only the new part is evidence of this
//! message. Forwards are the opposite: the forwarded mail *is* the content (a colleague
//! forwarding the customer's request), so its text is kept after the marker.

use crate::mail::pattern::Pattern;
use regex::Regex;

/// The parts of a body that extraction reads differently.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Parts {
    /// The sender's own new text, without quotes and signature.
    pub new_text: String,
    /// The signature block (closing phrase onwards): contact details live here.
    pub signature: String,
    /// Where each mail forwarded inline begins in `new_text`, and its From field.
    pub forwarded: Vec<Forwarded>,
}

/// A mail forwarded inline: its text is part of the new text, from `at` on.
#[derive(Debug, Clone, PartialEq)]
pub struct Forwarded {
    /// Byte offset in [`Parts::new_text`].
    pub at: usize,
    /// Its "From:" field as written, empty when the header block had none.
    pub from: String,
}

/// An inline yes or no this short ("Ja", "Yes, all of them.") is read with its question.
const MAX_ANSWER_CHARS: usize = 60;
/// A bare answer that means little without its question: a yes or no, or a number
/// (perhaps "about" one) that the question says is of what.
static YES_OR_NO: Pattern<Regex> = re!(
    r"(?i)^\W*(?:(?:yes|no|yep|nope|ja|nee|nein|jawohl|correct|klopt|richtig|stimmt)\b|(?:about|approx\.?|approximately|around|ca\.?|circa|ongeveer|zo'n|etwa|ungefähr|rund)?\s*\d)"
);

static POSTSCRIPT: Pattern<Regex> = re!(
    r"(?i)^\s*(?:p\.?\s?p\.?\s?s\.?|p\.\s?s\.?|ps\b:?|nb\b|n\.b\.|nachtrag\b|correction\b|correctie\b|korrektur\b)"
);
static REPLY_SEPARATOR: Pattern<Regex> = re!(
    r"(?i)^\s*-{2,}\s*(original message|oorspronkelijk bericht|origineel bericht|urspr(ü|ue)ngliche nachricht|message d'origine)\s*-{2,}\s*$",
);
static FORWARD_SEPARATOR: Pattern<Regex> = re!(
    r"(?i)^\s*(-{2,}\s*(forwarded message|doorgestuurd bericht|weitergeleitete nachricht|message transféré)\s*-{2,}|begin forwarded message:|anfang der weitergeleiteten nachricht:|begin doorgestuurd bericht:)\s*$",
);
static WROTE_START: Pattern<Regex> = re!(r"(?i)^\s*(on|op|am|le|el)\s.{4,}");
static WROTE_END: Pattern<Regex> =
    re!(r"(?i)(wrote|schreef|schrieb|a écrit|escribió)(\s+[^:]{0,60})?:\s*$",);
static HEADER_FROM: Pattern<Regex> = re!(r"(?i)^\s*\*?(from|van|von|de|da)\s*:\*?\s*\S");
static HEADER_SENT: Pattern<Regex> =
    re!(r"(?i)^\s*\*?(sent|date|verzonden|datum|gesendet|envoyé|verstuurd)\s*:\*?\s*\S",);
static UNDERSCORES: Pattern<Regex> = re!(r"^\s*_{10,}\s*$");
/// A closing phrase at the start of a line, with the punctuation after it. The name
/// that may follow is checked in code ([`is_closing`]): as a capture group with Unicode
/// letter classes, the pattern cost a bounded-backtracking search over its whole
/// automaton on every closing line (2,400 instructions, a tenth of a short mail's reading).
static CLOSING: Pattern<Regex> = re!(
    r"^\s*(?i:(kind regards|best regards|warm regards|with kind regards|with best regards|regards|best wishes|all the best|many thanks|thanks(?: again| in advance| a lot)?|thank you(?: very much)?|cheers|sincerely|yours sincerely|yours faithfully|best|met vriendelijke groet(?:en)?|vriendelijke groet(?:en)?|hartelijke groet(?:en)?|met groet|groet(?:en|jes)?|mvg|alvast bedankt|bedankt|dank je wel|mit freundlichen gr(?:ü|ue)(?:ß|ss)en|freundliche gr(?:ü|ue)(?:ß|ss)e|viele gr(?:ü|ue)(?:ß|ss)e|beste gr(?:ü|ue)(?:ß|ss)e|liebe gr(?:ü|ue)(?:ß|ss)e|gru(?:ß|ss)|mfg|vielen dank|danke(?: schön)?))\s*[,.!]?\s*",
);
/// The longest name a closing line may carry ("Kind regards, Anna de Vries"). Counted
/// in code: `{0,30}` of a Unicode letter class in the pattern made 30 copies of it, 2 MB
/// of automaton and cache that a daemon holds for its whole life.
const MAX_CLOSING_NAME_CHARS: usize = 31;

/// Whether a line is a closing phrase, perhaps with a name after it: a capital, then
/// letters, dots, apostrophes, hyphens and spaces.
fn is_closing(line: &str) -> bool {
    let Some(phrase) = CLOSING.get().find(line) else {
        return false;
    };
    let name = line[phrase.end()..].trim_end();
    let mut chars = name.chars();
    match chars.next() {
        None => true,
        Some(first) => {
            first.is_uppercase()
                && chars.all(|c| c.is_alphabetic() || matches!(c, '.' | '\'' | '-' | ' '))
                && name.chars().count() <= MAX_CLOSING_NAME_CHARS
        }
    }
}
static FORWARD_SUBJECT: Pattern<Regex> = re!(r"(?i)^\s*(fwd?|wg|doorst|tr|fw)\s*:");

/// Splits a body into new text and signature, dropping quoted history.
pub fn split(body: &str, subject: &str) -> Parts {
    let is_forward = FORWARD_SUBJECT.get().is_match(subject);
    let lines = lines_of(body);
    // The new text is at most the body: one allocation instead of a dozen doublings.
    let mut parts = Parts {
        new_text: String::with_capacity(body.len()),
        signature: String::new(),
        forwarded: Vec::new(),
    };
    let mut in_signature = false;
    let mut inline: Option<Vec<bool>> = None;
    // The quoted question just above, for a short answer written under it.
    let mut question: Option<&str> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim();
        if trimmed.starts_with('>') {
            let quoted = trimmed.trim_start_matches(['>', ' ']);
            question = quoted.ends_with('?').then_some(quoted);
            i += 1;
            continue;
        }
        // "> 4. Bought through CSP?" then "Yes": a bare yes, no or number means nothing
        // alone, so it is read with its question (other answers stand alone, questions
        // quoted).
        if let Some(q) = question.filter(|_| !trimmed.is_empty()) {
            question = None;
            if trimmed.chars().count() <= MAX_ANSWER_CHARS
                && !in_signature
                && YES_OR_NO.get().is_match(trimmed)
            {
                parts.new_text.push_str(q);
                parts.new_text.push(' ');
                parts.new_text.push_str(trimmed);
                parts.new_text.push('\n');
                i += 1;
                continue;
            }
        }
        // Outlook writes "-----Original Message-----" above forwards too.
        let forwarded = maybe_separator(trimmed) && FORWARD_SEPARATOR.get().is_match(line)
            || (is_forward
                && (starts_header_block(&lines, i) || REPLY_SEPARATOR.get().is_match(line)));
        if forwarded {
            // Forwarded content counts: skip its header block and keep reading. Its date
            // stays, as a "Date:" field: "today" in the forwarded mail is counted from it.
            let block = skip_header_block(&lines, i + usize::from(!starts_header_block(&lines, i)));
            i = block.end;
            in_signature = false;
            parts.new_text.push('\n');
            parts.forwarded.push(Forwarded {
                at: parts.new_text.len(),
                from: block.from.unwrap_or_default().to_string(),
            });
            if let Some(date) = block.date {
                parts.new_text.push_str("Date: ");
                parts.new_text.push_str(date);
                parts.new_text.push_str("\n\n");
            }
            continue;
        }
        let wrote = wrote_line(&lines, i);
        // Answers written between the quoted questions: the quotes go (above), the
        // answers stay.
        if wrote && inline.get_or_insert_with(|| inline_answers(&lines))[i + 1] {
            i += 1;
            continue;
        }
        if wrote || starts_history(&lines, i) {
            break;
        }
        if trimmed.starts_with('_')
            && UNDERSCORES.get().is_match(line)
            && (i + 1..lines.len().min(i + 3)).any(|j| HEADER_FROM.get().is_match(lines[j]))
        {
            if is_forward {
                i += 1;
                continue;
            }
            break;
        }
        if line == "-- "
            || trimmed == "--"
            || (!in_signature
                && trimmed.len() <= 64
                // A closing phrase starts with a letter: blank lines, numbers and
                // punctuation are not asked.
                && trimmed.starts_with(char::is_alphabetic)
                && is_closing(line))
        {
            in_signature = true;
        }
        // A postscript after the signature is the sender's text again.
        if in_signature && POSTSCRIPT.get().is_match(line) {
            in_signature = false;
        }
        let target = if in_signature {
            &mut parts.signature
        } else {
            &mut parts.new_text
        };
        target.push_str(line);
        target.push('\n');
        i += 1;
    }
    parts
}

/// The unquoted top of a reply: its lines before the first quoted line, reply or
/// forward separator, quoted header block or "… wrote:" line. Staff commands are read
/// only here, so a command in the history below is never obeyed again.
pub fn top(body: &str) -> String {
    let lines = lines_of(body);
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with('>')
            || (maybe_separator(trimmed) && FORWARD_SEPARATOR.get().is_match(line))
            || starts_history(&lines, i)
            || wrote_line(&lines, i)
            || (trimmed.starts_with('_') && UNDERSCORES.get().is_match(line))
        {
            break;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Whether a message forwards other mail: a forward subject ("Fwd:", "WG:", "Doorst:")
/// or a forwarded block in its text.
pub fn is_forward(body: &str, subject: &str) -> bool {
    FORWARD_SUBJECT.get().is_match(subject)
        || lines_of(body)
            .iter()
            .any(|line| maybe_separator(line.trim()) && FORWARD_SEPARATOR.get().is_match(line))
}

/// The first line of text slaclaim writes around its own words in drafts, reminders
/// and digests; [`strip_own`] removes what lies between it and [`OWN_END`], wherever it
/// is echoed, quoted or attached.
pub const OWN_BEGIN: &str = "----- slaclaim: text written by slaclaim begins -----";
/// The last such line.
pub const OWN_END: &str = "----- slaclaim: text written by slaclaim ends -----";

/// Whether `line`, with any quoting ("> ", "| ") and indentation taken off, is one of
/// our marker lines beginning with `marker`'s first words.
fn is_marker(line: &str, marker: &str) -> bool {
    let bare = line.trim_start_matches(|c: char| c == '>' || c == '|' || c.is_whitespace());
    bare.trim_end().eq_ignore_ascii_case(marker)
}

/// `text` without what slaclaim wrote: every block from an [`OWN_BEGIN`] line to its
/// [`OWN_END`] line (or to the end, when an echo cut it off) goes, quoted or not. The
/// sender's own words around it stay. Borrowed back when there is none (most mail).
pub fn strip_own(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("----- slaclaim:") {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut inside = false;
    for line in lines_of(text) {
        if !inside && is_marker(line, OWN_BEGIN) {
            inside = true;
        } else if inside && is_marker(line, OWN_END) {
            inside = false;
        } else if !inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Whether line `i` starts the quoted history of a reply: a reply separator
/// ("-----Original Message-----") or a quoted header block (From:/Sent:). "… wrote:"
/// lines are asked apart: they may head inline answers.
fn starts_history(lines: &[&str], i: usize) -> bool {
    let (line, trimmed) = (lines[i], lines[i].trim());
    maybe_separator(trimmed) && REPLY_SEPARATOR.get().is_match(line)
        || starts_header_block(lines, i)
}

fn is_quoted(line: &&str) -> bool {
    line.trim_start().starts_with('>')
}

/// For each line index, whether the lines from there on answer inline (read after a
/// "… wrote:" line): some unquoted text stands between their first quoted line and the
/// body's last one. A bottom quote is quoted throughout. One pass from the end, so a
/// body of many "wrote" lines costs no more than one.
fn inline_answers(lines: &[&str]) -> Vec<bool> {
    let mut answers = vec![false; lines.len() + 1];
    let Some(last) = lines.iter().rposition(is_quoted) else {
        return answers;
    };
    let mut text_after = false;
    for k in (0..=last).rev() {
        let quoted = is_quoted(&lines[k]);
        answers[k] = if quoted { text_after } else { answers[k + 1] };
        text_after |= !quoted && !lines[k].trim().is_empty();
    }
    answers
}

/// `text.lines()` collected (LF or CRLF ends, no empty last line), split with memchr
/// and the vector sized once: this runs over every body.
pub(crate) fn lines_of(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut lines = Vec::with_capacity(memchr::memchr_iter(b'\n', bytes).count() + 1);
    let mut start = 0;
    for newline in memchr::memchr_iter(b'\n', bytes) {
        let end = if newline > start && bytes[newline - 1] == b'\r' {
            newline - 1
        } else {
            newline
        };
        lines.push(&text[start..end]);
        start = newline + 1;
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// Separator lines start with dashes or name a forward ("Begin forwarded message:").
fn maybe_separator(trimmed: &str) -> bool {
    trimmed.starts_with('-') || trimmed.ends_with(':')
}

fn starts_header_block(lines: &[&str], i: usize) -> bool {
    // "From:", "Van:", "Von:", "De:", "Da:", perhaps starred: the first letter decides
    // most lines before any search.
    let first = lines[i].trim_start().trim_start_matches('*').bytes().next();
    matches!(first, Some(b'f' | b'F' | b'v' | b'V' | b'd' | b'D'))
        && lines[i].contains(':')
        && HEADER_FROM.get().is_match(lines[i])
        && (i + 1..lines.len().min(i + 5)).any(|j| HEADER_SENT.get().is_match(lines[j]))
}

/// A forwarded header block: the line after it, and its date and sender fields.
struct HeaderBlock<'a> {
    end: usize,
    date: Option<&'a str>,
    from: Option<&'a str>,
}

/// Reads a forwarded header block (From:/Date:/Subject:/To: lines) from line `i`.
fn skip_header_block<'a>(lines: &[&'a str], mut i: usize) -> HeaderBlock<'a> {
    static FIELD: Pattern<Regex> = re!(
        r"(?i)^\s*\*?(from|van|von|de|sent|date|datum|verzonden|gesendet|to|aan|an|cc|subject|onderwerp|betreff|objet)\s*:\**",
    );
    let (mut date, mut from) = (None, None);
    while i < lines.len() {
        let Some(field) = FIELD.get().captures(lines[i]) else {
            if lines[i].trim().is_empty() {
                i += 1;
                continue;
            }
            break;
        };
        if let (Some(name), Some(all)) = (field.get(1), field.get(0)) {
            let value = Some(lines[i][all.end()..].trim());
            match name.as_str().to_ascii_lowercase().as_str() {
                "sent" | "date" | "datum" | "verzonden" | "gesendet" => date = value,
                "from" | "van" | "von" | "de" => from = value,
                _ => {}
            }
        }
        i += 1;
        if i < lines.len() && !lines[i].trim().is_empty() && !FIELD.get().is_match(lines[i]) {
            // A long subject wrapped onto a line of its own, with fields after it.
            if lines.get(i + 1).is_some_and(|l| FIELD.get().is_match(l)) {
                i += 1;
                continue;
            }
            break;
        }
    }
    HeaderBlock { end: i, date, from }
}

/// "On Tue, 20 Jan 2026 at 11:02, Sanne <s@x> wrote:", possibly wrapped over 3 lines.
fn wrote_line(lines: &[&str], i: usize) -> bool {
    let first = lines[i].trim_start().get(..3).unwrap_or_default();
    if !["on ", "op ", "am ", "le ", "el "]
        .iter()
        .any(|w| w.eq_ignore_ascii_case(first))
        || !WROTE_START.get().is_match(lines[i])
    {
        return false;
    }
    let mut joined = String::new();
    for line in lines.iter().skip(i).take(3) {
        joined.push_str(line.trim());
        if WROTE_END.get().is_match(&joined) {
            return true;
        }
        joined.push(' ');
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_between_quoted_questions_are_new_text() {
        let body = "See my answers below.\n\nOn 2 Nov 2026, Helpdesk wrote:\n> Which incident?\n\nEX5550123\n\n> How many users?\n\n31 in Delft\n> Thanks\n";
        let p = split(body, "Re: questions");
        assert!(
            p.new_text.contains("EX5550123") && p.new_text.contains("31 in Delft"),
            "{p:?}"
        );
        assert!(!p.new_text.contains("Which incident"), "{p:?}");
        // A plain bottom quote is still cut whole.
        let bottom =
            "Fine by me.\n\nOn 2 Nov 2026, Helpdesk wrote:\n> Which incident?\n> EX5550999\n";
        assert!(!split(bottom, "Re: x").new_text.contains("EX5550999"));
    }

    #[test]
    fn the_top_of_a_reply_ends_at_the_first_quote() {
        let body = "submitted 2611220040009876\nthanks\n\nOn Mon, 2 Nov 2026 at 10:00, slaclaim <s@p.example> wrote:\n> ineligible: <reason>\n";
        assert_eq!(top(body), "submitted 2611220040009876\nthanks\n\n");
        assert_eq!(top("> withdrawn\nok\n"), "");
        assert_eq!(
            top("ok\n-----Original Message-----\nineligible: x\n"),
            "ok\n"
        );
    }

    #[test]
    fn forwards_are_known_by_subject_or_block() {
        assert!(is_forward("see below", "Fwd: [SLA-3] draft"));
        assert!(is_forward(
            "fyi\n---------- Forwarded message ---------\nFrom: x\n",
            "[SLA-3] draft"
        ));
        assert!(!is_forward("submitted 123456789", "Re: [SLA-3] draft"));
    }

    #[test]
    fn our_own_text_goes_wherever_it_is_and_the_senders_stays() {
        let echoed = format!(
            "Thank you, your request 4471 was received.\nYour message:\n{OWN_BEGIN}\nAdvisory incidents are not eligible.\nineligible: <reason>\n{OWN_END}\nOur team will answer within a day.\n"
        );
        let kept = strip_own(&echoed);
        assert!(
            kept.contains("request 4471") && kept.contains("within a day"),
            "{kept}"
        );
        assert!(
            !kept.contains("Advisory") && !kept.contains("ineligible"),
            "{kept}"
        );
        // Quoted, and cut off by the echo: gone to the end.
        let quoted =
            format!("95 users, not 59.\n\n> {OWN_BEGIN}\n> Not bought through CSP: MISSING\n");
        assert_eq!(strip_own(&quoted), "95 users, not 59.\n\n");
        assert!(matches!(
            strip_own("plain mail\n"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn lines_split_as_str_lines_does() {
        for text in [
            "",
            "\n",
            "a",
            "a\n",
            "a\r\nb",
            "a\r\n\r\nb\n",
            "\r",
            "a\r",
            "\r\n",
            "x\ry\nz\r\n\r",
            "ü\r\nß",
        ] {
            assert_eq!(lines_of(text), text.lines().collect::<Vec<_>>(), "{text:?}");
        }
    }

    #[test]
    fn gmail_quote_and_gt_lines_are_dropped() {
        let p = split(
            "New text here.\n\nOn Tue, 20 Jan 2026 at 11:02, Sanne <s@x.example>\nwrote:\n> old EX1011845\n",
            "Re: x",
        );
        assert_eq!(p.new_text.trim(), "New text here.");
    }

    #[test]
    fn outlook_blocks_in_three_languages_cut() {
        for (from, sent) in [("From", "Sent"), ("Van", "Verzonden"), ("Von", "Gesendet")] {
            let body = format!(
                "Nieuw.\n\n{from}: Tom <t@x>\n{sent}: Monday 9 March\nTo: a\n\nOld SP1234567\n"
            );
            assert_eq!(split(&body, "RE: y").new_text.trim(), "Nieuw.");
        }
        let body = "Hallo\n-----Ursprüngliche Nachricht-----\nalt\n";
        assert_eq!(split(body, "").new_text.trim(), "Hallo");
        let body = "Hoi\nOp 9 mrt. 2026 om 10:00 schreef Tom <t@x>:\noud\n";
        assert_eq!(split(body, "").new_text.trim(), "Hoi");
        let body = "Hallo\nAm 09.03.2026 um 10:00 schrieb Tom:\nalt\n";
        assert_eq!(split(body, "").new_text.trim(), "Hallo");
    }

    #[test]
    fn a_short_inline_answer_is_read_with_its_question() {
        let body = "Answers below.\n\nOn Mon, Kim wrote:\n> 1. Which sites?\n\nHull and York\n\n\
                    > 2. Bought through us (CSP)?\n\nYes\n\n> 3. Anything else?\n\n\
                    A long answer that goes on and on about what happened that morning, far more than a word.\n";
        let p = split(body, "Re: claim");
        assert!(
            p.new_text.contains("2. Bought through us (CSP)? Yes\n"),
            "{p:?}"
        );
        assert!(!p.new_text.contains("Which sites?"), "{p:?}");
        assert!(p.new_text.contains("Hull and York"), "{p:?}");
        assert!(!p.new_text.contains("Anything else"), "{p:?}");
        // A bare number is as empty without its question as a yes.
        let body = "See below.\n\n> Hoeveel gebruikers?\nca. 35\n\n> Welke locaties?\nDelft\n";
        let p = split(body, "Re: claim");
        assert!(p.new_text.contains("Hoeveel gebruikers? ca. 35\n"), "{p:?}");
        assert!(!p.new_text.contains("Welke locaties"), "{p:?}");
    }

    #[test]
    fn a_postscript_after_the_signature_is_text_again() {
        let body = "Please claim it.\n\nBest regards,\nJo Smit\nAcme BV\n\nP.S. It was 12 sites, not 21.\n";
        let p = split(body, "claim");
        assert!(p.new_text.contains("P.S. It was 12 sites"), "{p:?}");
        assert!(p.signature.contains("Acme BV"), "{p:?}");
        let p = split("Hi\n\nThanks,\nAnn\nPS: the tenant is below\n", "x");
        assert!(p.new_text.contains("PS: the tenant"), "{p:?}");
        // A name or a word that merely starts alike stays in the signature.
        let p = split("Hi\n\nThanks,\nAnn\nPsychology dept.\n", "x");
        assert!(p.signature.contains("Psychology"), "{p:?}");
    }

    #[test]
    fn signature_is_kept_apart() {
        let p = split(
            "Please claim EX123456.\n\nKind regards,\nJo Bloggs\n+31 6 1234 5678\n",
            "",
        );
        assert_eq!(p.new_text.trim(), "Please claim EX123456.");
        assert!(p.signature.contains("+31 6 1234 5678"));
        let p = split("Thanks again for the help. We need more.\n-- \nJo\n", "");
        assert!(p.new_text.contains("We need more"));
        assert!(p.signature.starts_with("-- \nJo"), "{p:?}");
    }

    #[test]
    fn closing_lines_carry_at_most_a_short_name() {
        assert!(is_closing("Met vriendelijke groet, Ilse Ørsted"));
        assert!(is_closing("Cheers!  "));
        assert!(is_closing("Vielen Dank, Jürgen Groß   "));
        let name = "Abcdefghij Abcdefghij Abcdefghi";
        assert_eq!(name.chars().count(), MAX_CLOSING_NAME_CHARS);
        assert!(is_closing(&format!("Regards, {name}  ")));
        assert!(!is_closing(&format!("Regards, {name}x")));
        // A sentence that only starts like a closing is not one.
        assert!(!is_closing(
            "Thanks For the quick help with the outage yesterday"
        ));
        assert!(!is_closing("Thanks, 42 users"));
        // The name is read in code: a capital, then letters and . ' - and spaces.
        assert!(is_closing("Best regards, Anne-Marie O'Neill"));
        assert!(is_closing("Thanks in advance"));
        assert!(!is_closing("Regards from the whole team"));
        assert!(!is_closing("Cheers, Tom (on call)"));
    }

    #[test]
    fn forwarded_mail_is_content() {
        let body = "See below.\n\n---------- Forwarded message ---------\nFrom: Cust <c@cust.example>\nDate: Mon, 2 Mar 2026\nSubject: outage\nTo: me\n\nTenant 1234 EX1234567 was down.\n";
        let p = split(body, "Fwd: outage");
        assert!(p.new_text.contains("EX1234567"), "{p:?}");
        // The forwarded mail's date stays, as a field of its own.
        assert!(p.new_text.contains("\nDate: Mon, 2 Mar 2026\n"), "{p:?}");
        assert!(!p.new_text.contains("Subject: outage"), "{p:?}");
        let body = "See below.\n\n-------- Forwarded Message --------\nSubject: a subject that\n\
                    wraps\nDate: Mon, 2 Mar 2026\nFrom: Alerts <alerts@vendor.example>\n\nBody.\n";
        let p = split(body, "Fwd: x");
        assert!(
            !p.new_text.contains("wraps") && p.new_text.contains("Body."),
            "{p:?}"
        );
        assert_eq!(p.forwarded.len(), 1);
        assert_eq!(p.forwarded[0].from, "Alerts <alerts@vendor.example>");
        let body = "FYI\n\nFrom: Cust <c@cust.example>\nSent: Monday\nTo: me\nSubject: outage\n\nEX7654321 was down.\n";
        assert!(split(body, "FW: outage").new_text.contains("EX7654321"));
        assert!(!split(body, "RE: outage").new_text.contains("EX7654321"));
    }
}
