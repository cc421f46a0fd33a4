//! Decoding one raw RFC 5322 message into the headers and text the extractors read.

use chrono::{DateTime, FixedOffset, TimeZone};
use mail_parser::{
    Address, HeaderName, HeaderValue, Message, MessageParser, MimeHeaders, PartType,
};
use std::sync::LazyLock;

/// Bytes of body text the extractors read at most; longer bodies are cut (and noted).
pub const MAX_TEXT_BYTES: usize = 256 * 1024;
/// How deep attached `message/rfc822` parts are followed.
const MAX_NESTING: usize = 3;

/// Most multipart boundaries a message may declare before the rest of it goes unread.
/// Real mail declares a handful; each one is a nesting level or a new multipart, and
/// mail-parser's cost per part grows with their number (1 MiB of nested multiparts cost
/// 6.7 times 256 KiB of them).
pub const MAX_BOUNDARIES: usize = 256;

/// Where the line declaring boundary number `n` + 1 (counted from 0) starts, if the
/// message declares more than `n`.
fn nth_boundary(raw: &[u8], n: usize) -> Option<usize> {
    // Each '=' is asked whether "boundary" (any case, spaces allowed) stands before it.
    let mut seen = 0;
    for eq in memchr::memchr_iter(b'=', raw) {
        let mut end = eq;
        while end > 0 && matches!(raw[end - 1], b' ' | b'\t') && eq - end < 8 {
            end -= 1;
        }
        let Some(word) = end.checked_sub(8).map(|start| &raw[start..end]) else {
            continue;
        };
        if !word.eq_ignore_ascii_case(b"boundary") {
            continue;
        }
        if seen == n {
            return Some(memchr::memrchr(b'\n', &raw[..end]).map_or(0, |i| i + 1));
        }
        seen += 1;
    }
    None
}

/// A text file attached to a mail.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TextFile {
    /// Its file name, as given, or empty.
    pub name: String,
    /// Comma-separated values (text/csv or a .csv name).
    pub csv: bool,
    /// Its text, cut at [`MAX_TEXT_FILE_BYTES`].
    pub text: String,
}

/// Attached text files read from one mail: evidence comes as one or two.
pub const MAX_TEXT_FILES: usize = 4;
/// Bytes read of each: a table of sites or a monitor's log is short.
pub const MAX_TEXT_FILE_BYTES: usize = 64 * 1024;

/// A decoded email: the headers slaclaim decides on and its readable text.
#[derive(Debug, Clone, Default)]
pub struct Email {
    /// Message-ID without angle brackets.
    pub message_id: Option<String>,
    /// Display name of the first From address.
    pub from_name: Option<String>,
    /// Address of the first From mailbox, as written.
    pub from_addr: Option<String>,
    /// Date header, with the sender's offset.
    pub date: Option<DateTime<FixedOffset>>,
    /// Decoded Subject (RFC 2047 words resolved).
    pub subject: String,
    /// Message-IDs from In-Reply-To and References.
    pub thread_ids: Vec<String>,
    /// Raw header fields that classification reads, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// `type/subtype` of the top-level part, lower-cased.
    pub content_type: String,
    /// `report-type` parameter of a multipart/report.
    pub report_type: Option<String>,
    /// The readable text of the message's own body parts.
    pub body: String,
    /// Readable text of attached `message/rfc822` parts (not of returned bounces).
    pub attached: Vec<Email>,
    /// Attached text files (a CSV of sites, a monitoring log), at most
    /// [`MAX_TEXT_FILES`] of at most [`MAX_TEXT_FILE_BYTES`] each.
    pub text_files: Vec<TextFile>,
    /// Problems met while decoding, for the record; extraction still ran.
    pub problems: Vec<String>,
}

/// The parser, told to read only the headers we use: MIME structure, From, Date,
/// Subject and the Message-ID family. Every other header is skipped, not decoded (the
/// default parser builds Received traces, address lists and lossy text for all of
/// them); the ones classification needs are read raw from their byte offsets.
static PARSER: LazyLock<MessageParser> = LazyLock::new(|| {
    MessageParser::new()
        .with_mime_headers()
        .with_message_ids()
        .header_date(HeaderName::Date)
        .header_text(HeaderName::Subject)
        .header_address(HeaderName::From)
        .default_header_ignore()
});

impl Email {
    /// Parses raw bytes; never fails, recording what could not be decoded instead.
    pub fn parse(raw: &[u8]) -> Email {
        let (raw, cut) = match nth_boundary(raw, MAX_BOUNDARIES) {
            Some(at) => (&raw[..at], true),
            None => (raw, false),
        };
        // mail-parser asserts on some broken multipart nesting (found by fuzzing); a
        // message it cannot walk is still read, as headers plus plain text.
        let mut email =
            match std::panic::catch_unwind(|| PARSER.parse(raw).map(|m| from_message(&m, 0))) {
                Ok(Some(email)) => email,
                Ok(None) => Email {
                    problems: vec!["cannot parse message: no headers or body found".into()],
                    ..Email::default()
                },
                Err(panic) => Email::parse_plain(raw, &panic_text(panic.as_ref())),
            };
        if cut {
            email.problems.push(format!(
                "more than {MAX_BOUNDARIES} multipart boundaries declared: the rest of the message is not read"
            ));
        }
        email
    }

    /// Fallback for MIME that the parser gives up on: the header block alone, and the
    /// rest of the bytes as text.
    fn parse_plain(raw: &[u8], why: &str) -> Email {
        let split = find_blank_line(raw).unwrap_or(raw.len());
        let (head, rest) = raw.split_at(split);
        let mut email = std::panic::catch_unwind(|| {
            PARSER
                .parse_headers(head)
                .map(|m| from_message(&m, MAX_NESTING))
        })
        .ok()
        .flatten()
        .unwrap_or_default();
        email.content_type.clear();
        email.report_type = None;
        let mut body = String::from_utf8_lossy(rest).replace("\r\n", "\n");
        body.truncate(crate::floor_char_boundary(&body, MAX_TEXT_BYTES));
        email.body = body;
        email.problems.push(format!(
            "cannot parse MIME structure ({why}); body read as plain text"
        ));
        email
    }

    /// The first value of a header, by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The domain of the From address, lower-cased.
    pub fn sender_domain(&self) -> Option<String> {
        let addr = self.from_addr.as_deref()?;
        let (_, domain) = addr.rsplit_once('@')?;
        let domain = domain.trim().trim_end_matches('>').to_ascii_lowercase();
        (!domain.is_empty()).then_some(domain)
    }
}

/// Headers kept for classification; everything else is left in the raw message.
const KEPT_HEADERS: &[&str] = &[
    "to",
    "auto-submitted",
    "x-auto-response-suppress",
    "precedence",
    "x-precedence",
    "x-autoreply",
    "x-autorespond",
    "x-autoreply-from",
    "x-mail-autoreply",
    "x-autogenerated",
    "x-auto-reply",
    "x-ms-exchange-generated-message-source",
    "list-unsubscribe",
    "list-id",
    "list-post",
    "return-path",
    "content-language",
    "x-campaign-id",
    "feedback-id",
    "x-mailer",
    "authentication-results",
];

/// Bit n set when some kept header name is n bytes long: most headers (the X-MS-Exchange
/// family, Received, DKIM) are ruled out by their length before any name is compared.
const KEPT_LENGTHS: u64 = {
    let mut mask = 0u64;
    let mut i = 0;
    while i < KEPT_HEADERS.len() {
        mask |= 1 << KEPT_HEADERS[i].len();
        i += 1;
    }
    mask
};

/// The kept header of this name, in its lower-case spelling.
fn kept_header(name: &str) -> Option<&'static str> {
    if name.len() >= 64 || KEPT_LENGTHS & (1 << name.len()) == 0 {
        return None;
    }
    KEPT_HEADERS
        .iter()
        .find(|k| k.eq_ignore_ascii_case(name))
        .copied()
}

/// "type/subtype" in lower case.
fn mime_type(ctype: &str, subtype: &str) -> String {
    let mut out = String::with_capacity(ctype.len() + 1 + subtype.len());
    out.push_str(ctype);
    out.push('/');
    out.push_str(subtype);
    out.make_ascii_lowercase();
    out
}

/// The last value of each header [`from_message`] reads: mail-parser's accessors search
/// all headers from the end, once per call; this is one pass, the last one winning.
#[derive(Default)]
struct Picked<'a, 'x> {
    message_id: Option<&'a HeaderValue<'x>>,
    subject: Option<&'a HeaderValue<'x>>,
    from: Option<&'a HeaderValue<'x>>,
    date: Option<&'a HeaderValue<'x>>,
    in_reply_to: Option<&'a HeaderValue<'x>>,
    references: Option<&'a HeaderValue<'x>>,
}

fn pick<'a, 'x>(msg: &'a Message<'x>) -> Picked<'a, 'x> {
    let mut picked = Picked::default();
    for header in msg.headers() {
        let slot = match header.name {
            HeaderName::MessageId => &mut picked.message_id,
            HeaderName::Subject => &mut picked.subject,
            HeaderName::From => &mut picked.from,
            HeaderName::Date => &mut picked.date,
            HeaderName::InReplyTo => &mut picked.in_reply_to,
            HeaderName::References => &mut picked.references,
            _ => continue,
        };
        *slot = Some(&header.value);
    }
    picked
}

fn from_message(msg: &Message<'_>, depth: usize) -> Email {
    let picked = pick(msg);
    let mut email = Email {
        message_id: picked
            .message_id
            .and_then(HeaderValue::as_text)
            .map(|s| s.trim_matches(['<', '>', ' ']).to_string()),
        subject: picked
            .subject
            .and_then(HeaderValue::as_text)
            .unwrap_or_default()
            .trim()
            .to_string(),
        ..Email::default()
    };
    let from = picked.from.and_then(HeaderValue::as_address);
    if let Some(Address::List(list)) = from {
        if let Some(first) = list.first() {
            email.from_name = first.name().map(str::to_string);
            email.from_addr = first.address().map(str::to_string);
        }
    } else if let Some(addr) = from.and_then(|a| a.first()) {
        email.from_name = addr.name().map(str::to_string);
        email.from_addr = addr.address().map(str::to_string);
    }
    let date = picked.date.and_then(HeaderValue::as_datetime);
    email.date = date.and_then(to_chrono);
    if date.is_some() && email.date.is_none() {
        email
            .problems
            .push("Date header is not a valid date".into());
    }
    for value in [picked.in_reply_to, picked.references].map(|v| v.unwrap_or(&HeaderValue::Empty)) {
        match value {
            HeaderValue::Text(t) => email.thread_ids.push(t.to_string()),
            HeaderValue::TextList(list) => {
                email.thread_ids.extend(list.iter().map(|t| t.to_string()))
            }
            _ => {}
        }
    }
    // Only kept headers are read as text (`headers_raw` checks the UTF-8 of every value,
    // DKIM signatures and Received traces included).
    for header in msg.headers() {
        let Some(kept) = kept_header(header.name()) else {
            continue;
        };
        let raw = msg
            .raw_message
            .get(header.offset_start() as usize..header.offset_end() as usize);
        if let Some(value) = raw.and_then(|b| std::str::from_utf8(b).ok()) {
            email
                .headers
                .push((kept.to_string(), value.trim().to_string()));
        }
    }
    if let Some(ct) = msg.content_type() {
        email.content_type = mime_type(ct.ctype(), ct.subtype().unwrap_or_default());
        email.report_type = ct.attribute("report-type").map(|s| s.to_ascii_lowercase());
    }
    collect_text(msg, &mut email, depth);
    email
}

fn collect_text(msg: &Message<'_>, email: &mut Email, depth: usize) {
    let is_report = email.content_type == "multipart/report";
    let mut body = String::new();
    for (i, part_id) in msg.text_body.iter().enumerate() {
        // A report's later parts are machine status and the returned message.
        if is_report && i > 0 {
            break;
        }
        let Some(part) = msg.parts.get(*part_id as usize) else {
            continue;
        };
        if part.is_encoding_problem {
            email
                .problems
                .push(format!("body part {part_id} has an encoding problem"));
        }
        let html;
        let recovered;
        let text = match &part.body {
            // Base64 that the parser gave up on arrives still encoded: decoded here the way
            // RFC 2045 asks, ignoring what is not in the alphabet.
            PartType::Text(t) if part.is_encoding_problem && is_base64(part) => {
                recovered = lenient_base64_text(part, t);
                recovered.as_str()
            }
            // Only the first MAX_TEXT_BYTES are read (a huge log pasted as text must not
            // be copied whole): cut here, on a character boundary, before copying.
            PartType::Text(t) => &t[..crate::floor_char_boundary(t, MAX_TEXT_BYTES + 1)],
            PartType::Html(h) => {
                html = crate::mail::html::to_text(h, MAX_TEXT_BYTES + 1);
                html.as_str()
            }
            _ => continue,
        };
        let ctype = part
            .content_type()
            .map(|c| mime_type(c.ctype(), c.subtype().unwrap_or_default()))
            .unwrap_or_default();
        if ctype.contains("delivery-status") || ctype.contains("rfc822-headers") {
            continue;
        }
        if !body.is_empty() {
            body.push('\n');
        }
        push_lf(&mut body, text);
    }
    if body.trim().is_empty() && !is_report {
        // A lone text part whose base64 the parser gave up on is filed as an attachment.
        for part in &msg.parts {
            let inline = part
                .content_disposition()
                .is_none_or(|d| !d.is_attachment());
            let text = match &part.body {
                PartType::Text(t) if inline && part.is_encoding_problem && is_base64(part) => t,
                _ => continue,
            };
            let is_text = part
                .content_type()
                .is_none_or(|c| c.ctype().eq_ignore_ascii_case("text"));
            if is_text {
                push_lf(&mut body, &lenient_base64_text(part, text));
                break;
            }
        }
    }
    // A placeholder matters only when an HTML part stands beside it (asked first: most
    // mail has none, and the check reads the body).
    let html_beside = msg.html_body.iter().any(|id| !msg.text_body.contains(id));
    if (body.trim().is_empty() || (html_beside && names_html(&body))) && !is_report {
        // No text body, or only a "view this in HTML" placeholder: the first HTML body
        // is the message (some senders also mark it oddly).
        if let Some(html) = msg.body_html(0) {
            let text = crate::mail::html::to_text(&html, MAX_TEXT_BYTES + 1);
            if body.trim().is_empty() || is_placeholder(&body) || says_much_more(&text, &body) {
                body.clear();
                push_lf(&mut body, &text);
            }
        }
    }
    if body.len() > MAX_TEXT_BYTES {
        body.truncate(crate::floor_char_boundary(&body, MAX_TEXT_BYTES));
        email
            .problems
            .push(format!("body text cut to {MAX_TEXT_BYTES} bytes"));
    }
    email.body = body;
    if depth >= MAX_NESTING || is_report {
        return;
    }
    for part in msg.attachments() {
        match &part.body {
            PartType::Message(inner) => email.attached.push(from_message(inner, depth + 1)),
            _ if email.text_files.len() < MAX_TEXT_FILES => {
                if let Some(file) = text_file(part) {
                    email.text_files.push(file);
                }
            }
            _ => {}
        }
    }
}

/// An attachment that is a text file: text/* (not HTML) or named .csv, .txt, .log or
/// .tsv, in UTF-8.
fn text_file(part: &mail_parser::MessagePart<'_>) -> Option<TextFile> {
    let name = part.attachment_name().unwrap_or_default().to_string();
    let lower = name.to_ascii_lowercase();
    let ctype = part
        .content_type()
        .map(|c| mime_type(c.ctype(), c.subtype().unwrap_or_default()))
        .unwrap_or_default();
    let named = [".csv", ".txt", ".log", ".tsv"]
        .iter()
        .any(|ext| lower.ends_with(ext));
    let text: &str = match &part.body {
        PartType::Text(t) => t,
        PartType::Binary(b) | PartType::InlineBinary(b) if named => std::str::from_utf8(b).ok()?,
        _ => return None,
    };
    if !(named || ctype.starts_with("text/")) || ctype == "text/html" {
        return None;
    }
    let mut out = String::new();
    push_lf(
        &mut out,
        &text[..crate::floor_char_boundary(text, MAX_TEXT_FILE_BYTES)],
    );
    Some(TextFile {
        csv: ctype == "text/csv" || lower.ends_with(".csv"),
        name,
        text: out.trim_start_matches('\u{feff}').to_string(),
    })
}

/// Whether a part says it is base64 (the parser forgets its encoding when it fails).
fn is_base64(part: &mail_parser::MessagePart<'_>) -> bool {
    part.content_transfer_encoding()
        .is_some_and(|e| e.trim().eq_ignore_ascii_case("base64"))
}

/// The text of a base64 part the parser could not decode: characters outside the
/// alphabet are skipped (RFC 2045 §6.8), decoding stops at the padding, and plain text
/// that a gateway appended after it (a virus-scan footer) is kept as text.
fn lenient_base64_text(part: &mail_parser::MessagePart<'_>, encoded: &str) -> String {
    let bytes = encoded.as_bytes();
    let mut clean = Vec::with_capacity(bytes.len());
    let mut end = bytes.len();
    for (i, &b) in bytes.iter().enumerate() {
        if b.is_ascii_alphanumeric() || b == b'+' || b == b'/' {
            clean.push(b);
        } else if b == b'=' {
            end = i;
            break;
        }
    }
    // One character alone cannot make a byte; two or three are a padded last quantum.
    if clean.len() % 4 == 1 {
        clean.pop();
    }
    while clean.len() % 4 != 0 {
        clean.push(b'=');
    }
    let decoded = mail_parser::decoders::base64::base64_decode(&clean).unwrap_or_default();
    let charset = part
        .content_type()
        .and_then(|c| c.attribute("charset"))
        .and_then(|c| mail_parser::decoders::charsets::map::charset_decoder(c.as_bytes()));
    let mut text = match charset {
        Some(decode) => decode(&decoded),
        None => String::from_utf8_lossy(&decoded).into_owned(),
    };
    let after = String::from_utf8_lossy(&bytes[end..]);
    let after = after.trim_start_matches(['=', '\r', '\n', ' ', '\t']);
    if !after.trim().is_empty() {
        text.push('\n');
        text.push_str(after);
    }
    if part
        .content_type()
        .is_some_and(|c| c.subtype().is_some_and(|s| s.eq_ignore_ascii_case("html")))
    {
        text = crate::mail::html::to_text(&text, MAX_TEXT_BYTES + 1);
    }
    text.truncate(crate::floor_char_boundary(&text, MAX_TEXT_BYTES + 1));
    text
}

/// "This message is in HTML format": a plain part that only points at the HTML one.
/// Short, without figures, and saying so in one of the forms mail programs write (en,
/// nl, de, fr).
fn is_placeholder(body: &str) -> bool {
    static PLACEHOLDER: crate::mail::pattern::Pattern<regex::Regex> = re!(
        r"(?i)(html[- ]?(format|formaat|formatted|opmaak|fähig|compatible)|(supports?|ondersteunt|unterstützt)\W+(geen|kein|no)?\W*html|html\W+(ondersteunt|unterstützt|supports?|kan weergeven|anzeigen kann)|(view|bekijk|öffnen Sie)\W+(this|the|het|die)\W+.{0,30}\b(browser|webbrowser)|format html|(cannot|can ?not|can't|unable to|kan|kann)\W+(\w+\W+){0,4}(display|show|render|weergeven|tonen|anzeigen|darstellen)|(view|read|open|see|bekijk|lees|open|öffnen|lesen|anzeigen)\W+(\w+\W+){0,4}(in|als|as)\W+html|(sent|written|composed|created|verzonden|verstuurd|opgesteld|gemaakt|gesendet|geschrieben|verfasst|erstellt)\W+(\w+\W+){0,2}(in|als|as)\W+html|html[- ]?(view|version|weergave|versie|ansicht|darstellung))"
    );
    names_html(body) && PLACEHOLDER.get().is_match(body.trim())
}

/// Whether a plain part could be a placeholder: short, without figures (a short real
/// note, "down 09:00-10:00", has some), and naming HTML or a browser, as every form
/// in every language does.
fn names_html(body: &str) -> bool {
    let t = body.trim().as_bytes();
    t.len() < 400
        && t.iter().filter(|b| b.is_ascii_digit()).count() < 3
        && (t.windows(4).any(|w| w.eq_ignore_ascii_case(b"html"))
            || t.windows(7).any(|w| w.eq_ignore_ascii_case(b"browser")))
}

/// Whether the HTML alternative says much more than a plain part that names HTML: then
/// the plain part is a stub, in whatever words ("Dit bericht is opgemaakt in HTML").
fn says_much_more(html_text: &str, plain: &str) -> bool {
    let words = |t: &str| t.split_whitespace().count();
    words(html_text) >= 2 * words(plain) + 10
}

/// Appends `text` with its CRLF line ends as LF: one copy, where a copy and then a
/// replace made two (most bodies arrive with CRLF).
fn push_lf(out: &mut String, text: &str) {
    out.reserve(text.len());
    let bytes = text.as_bytes();
    let mut from = 0;
    for cr in memchr::memchr_iter(b'\r', bytes) {
        if bytes.get(cr + 1) == Some(&b'\n') {
            out.push_str(&text[from..cr]);
            from = cr + 1;
        }
    }
    out.push_str(&text[from..]);
}

fn find_blank_line(raw: &[u8]) -> Option<usize> {
    raw.windows(2)
        .position(|w| w == b"\n\n")
        .or_else(|| raw.windows(4).position(|w| w == b"\r\n\r\n"))
}

/// The message of a caught panic.
pub fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

fn to_chrono(d: &mail_parser::DateTime) -> Option<DateTime<FixedOffset>> {
    let secs = (i32::from(d.tz_hour) * 3600 + i32::from(d.tz_minute) * 60)
        * if d.tz_before_gmt { -1 } else { 1 };
    let offset = FixedOffset::east_opt(secs)?;
    offset
        .with_ymd_and_hms(
            i32::from(d.year),
            u32::from(d.month),
            u32::from(d.day),
            u32::from(d.hour),
            u32::from(d.minute),
            u32::from(d.second),
        )
        .single()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_with_stray_characters_is_still_read() {
        use base64_encode as enc;
        let text = "Our staff in Leiden lost mail for three hours; please file a credit.\r\n";
        let mut encoded = enc(text.as_bytes());
        // A stray '#' and '!' inside, a line break, then a gateway's footer after it.
        encoded.insert(10, '#');
        encoded.insert(30, '!');
        encoded.insert(40, '\n');
        let raw = format!(
            "From: a@b.example\r\nSubject: x\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{encoded}\r\n\r\n-- \r\nScanned by MailGuard\r\n"
        );
        let e = Email::parse(raw.as_bytes());
        assert!(e.body.contains("lost mail for three hours"), "{:?}", e.body);
        assert!(e.body.contains("Scanned by MailGuard"), "{:?}", e.body);
    }

    #[test]
    fn a_lone_html_part_with_broken_base64_is_still_read() {
        let mut encoded = base64_encode(
            b"<html><body><p>Teams was down for 12 users in Gouda.</p></body></html>",
        );
        encoded.insert(20, '!');
        let raw = format!(
            "From: a@b.example\r\nSubject: x\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{encoded}\r\n"
        );
        let e = Email::parse(raw.as_bytes());
        assert!(e.body.contains("12 users in Gouda"), "{:?}", e.body);
        assert!(!e.body.contains("<p>"), "{:?}", e.body);
    }

    /// Base64 of `bytes`, for tests.
    fn base64_encode(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    #[test]
    fn a_plain_placeholder_gives_way_to_the_html() {
        for placeholder in [
            "Your mail program cannot show this message: it is in HTML format.",
            "Dit bericht is opgesteld in HTML-formaat. Gebruik een programma dat HTML ondersteunt.",
            "Ihr E-Mail-Programm unterstützt kein HTML.",
            "Deze mail bevat HTML-opmaak; open hem in een programma dat HTML ondersteunt.",
            // Phrasings of my own: what the client cannot do, or where to read it.
            "Your email client cannot display this message. Please view it in HTML.",
            "We can't render this e-mail here: please read it as HTML.",
            "Ihr Programm kann diese Nachricht nicht anzeigen (HTML).",
            "Open dit bericht als HTML om het te lezen.",
            "This note was written in HTML; if it looks empty, switch to the HTML view.",
            "Deze e-mail is verstuurd als HTML. Zet je mailprogramma op HTML-weergave.",
            "Diese Nachricht wurde in HTML verfasst. Bitte wechseln Sie zur HTML-Ansicht.",
        ] {
            let raw = format!(
                "From: a@b.example\r\nSubject: x\r\nContent-Type: multipart/alternative; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\n{placeholder}\r\n--B\r\nContent-Type: text/html\r\n\r\n<p>Teams was down for <b>40 users</b> in Utrecht.</p>\r\n--B--\r\n"
            );
            let e = Email::parse(raw.as_bytes());
            assert!(e.body.contains("40 users"), "{placeholder}: {:?}", e.body);
        }
        // A short real text part that mentions HTML stays.
        assert!(!is_placeholder(
            "The HTML version of the portal was down too, 09:00-10:00."
        ));
        assert!(!is_placeholder(
            "Outlook could not open the HTML signature."
        ));
    }

    #[test]
    fn a_plain_part_naming_html_is_a_stub_when_the_html_says_much_more() {
        let long = "<p>Outlook failed for the whole Liège office, 31 people, from nine until \
                    half past ten; we restarted clients, cleared caches and called you twice \
                    before the service came back by itself, so we ask for the SLA credit now \
                    that Microsoft has confirmed the incident.</p>";
        let mail = |plain: &str, html: &str| {
            Email::parse(format!(
                "From: a@b.example\r\nSubject: x\r\nContent-Type: multipart/alternative; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\n{plain}\r\n--B\r\nContent-Type: text/html\r\n\r\n{html}\r\n--B--\r\n"
            ).as_bytes())
        };
        // Wording no list has: what decides is how little the plain part says.
        for plain in [
            "Zie de HTML-weergave.",
            "Le message est en HTML.",
            "HTML only",
        ] {
            assert!(mail(plain, long).body.contains("31 people"), "{plain}");
        }
        // A plain part as long as the HTML is the sender's text, HTML named or not.
        let note = "The HTML page of the portal also failed for us.";
        assert!(
            mail(
                note,
                "<p>The HTML page of the portal also failed for us.</p>"
            )
            .body
            .contains(note)
        );
    }

    #[test]
    fn boundaries_past_the_cap_are_not_read() {
        let nest = |levels: usize, word: &str| {
            let mut m = format!(
                "Subject: nest\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; {word}=b0\r\n\r\n"
            );
            for i in 0..levels {
                m.push_str(&format!(
                    "--b{i}\r\nContent-Type: multipart/mixed; {word}=\"b{}\"\r\n\r\n",
                    i + 1
                ));
            }
            m.push_str(&format!(
                "--b{levels}\r\nContent-Type: text/plain\r\n\r\nEX1234567 down\r\n"
            ));
            for i in (0..=levels).rev() {
                m.push_str(&format!("--b{i}--\r\n"));
            }
            m.into_bytes()
        };
        let shallow = Email::parse(&nest(20, "boundary"));
        assert!(shallow.body.contains("EX1234567"), "{:?}", shallow.body);
        assert!(shallow.problems.iter().all(|p| !p.contains("boundaries")));
        for word in ["boundary", "BOUNDARY ", "Boundary\t"] {
            let deep = Email::parse(&nest(MAX_BOUNDARIES + 10, word));
            assert!(!deep.body.contains("EX1234567"), "{word:?}");
            assert!(
                deep.problems.iter().any(|p| p.contains("boundaries")),
                "{word:?}"
            );
        }
        // The cut is where the declaring line starts.
        let raw = b"a\nb: x; boundary=1\nc: boundary = 2\n";
        assert_eq!(nth_boundary(raw, 1), Some(19));
        assert_eq!(nth_boundary(raw, 2), None);
        assert_eq!(nth_boundary(b"=", 0), None);
    }

    #[test]
    fn picked_headers_are_what_the_accessors_return() {
        let raw = b"Subject: first\r\nMessage-ID: <a@x>\r\nFrom: A <a@x.example>\r\nDate: Tue, 10 Mar 2026 15:03:27 +0100\r\nSubject: second\r\nIn-Reply-To: <p@x>\r\nMessage-ID: <b@x>\r\nReferences: <r1@x> <r2@x>\r\nFrom: B <b@x.example>\r\nDate: nonsense\r\n\r\nbody\r\n";
        let Some(m) = PARSER.parse(&raw[..]) else {
            panic!("the test message parses");
        };
        let p = pick(&m);
        assert_eq!(p.subject.and_then(HeaderValue::as_text), m.subject());
        assert_eq!(p.subject.and_then(HeaderValue::as_text), Some("second"));
        assert_eq!(p.message_id.and_then(HeaderValue::as_text), m.message_id());
        assert_eq!(p.from.and_then(HeaderValue::as_address), m.from());
        assert_eq!(p.date.and_then(HeaderValue::as_datetime), m.date());
        assert_eq!(
            p.in_reply_to.unwrap_or(&HeaderValue::Empty),
            m.in_reply_to()
        );
        assert_eq!(p.references.unwrap_or(&HeaderValue::Empty), m.references());
    }

    #[test]
    fn kept_headers_found_in_any_case_and_only_those() {
        for name in KEPT_HEADERS {
            assert_eq!(kept_header(&name.to_ascii_uppercase()), Some(*name));
        }
        assert_eq!(kept_header("X-MS-Exchange-Organization-SCL"), None);
        assert_eq!(kept_header("List-Idx"), None);
        assert_eq!(kept_header(&"x".repeat(200)), None);
        assert_eq!(mime_type("Text", "HTML"), "text/html");
    }

    #[test]
    fn decodes_rfc2047_subject_and_sender_domain() {
        let e = Email::parse(b"From: =?iso-8859-1?q?J=FCrgen?= <J@Example.DE>\r\nSubject: =?utf-8?B?R3V0c2NocmlmdA==?=\r\nDate: Tue, 10 Mar 2026 15:03:27 +0100\r\n\r\nhi\r\n");
        assert_eq!(e.subject, "Gutschrift");
        assert_eq!(e.from_name.as_deref(), Some("Jürgen"));
        assert_eq!(e.sender_domain().as_deref(), Some("example.de"));
        assert_eq!(e.date.map(|d| d.offset().local_minus_utc()), Some(3600));
    }

    #[test]
    fn latin1_and_cp1252_bodies_decode() {
        let mut raw = b"Subject: x\r\nContent-Type: text/plain; charset=windows-1252\r\n\r\nM\xe4rz \x80 \x93ok\x94\r\n".to_vec();
        let e = Email::parse(&raw);
        assert!(e.body.contains("März € “ok”"), "{:?}", e.body);
        raw = b"Subject: x\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nM\xfcnchen\r\n"
            .to_vec();
        assert!(Email::parse(&raw).body.contains("München"));
    }

    #[test]
    fn parser_panics_become_a_recorded_problem() {
        // Found by cargo-fuzz: mail-parser's debug assertion on broken multipart nesting.
        let raw = include_bytes!("../../tests/data/mail-parser-assert.eml");
        let e = Email::parse(raw);
        if cfg!(debug_assertions) {
            assert!(
                e.problems
                    .iter()
                    .any(|p| p.contains("cannot parse MIME structure")),
                "{:?}",
                e.problems
            );
            assert!(!e.body.is_empty());
        }
        assert!(e.from_addr.is_some());
    }

    #[test]
    fn crlf_line_ends_become_lf_and_lone_crs_stay() {
        let e = Email::parse(b"Subject: x\r\n\r\nline one\r\nline\rtwo\r\n\r\nend\r");
        assert_eq!(e.body, "line one\nline\rtwo\n\nend\r");
    }

    #[test]
    fn garbage_is_recorded_not_fatal() {
        let e = Email::parse(b"");
        assert!(e.body.is_empty());
        let _ = Email::parse(&[0xff, 0xfe, 0x00, b'\n', b'\n', 0x80]);
    }
}
