//! Authentication-Results (RFC 8601): a strict parser, and the header fields a trust
//! decision reads, in the order the receiving servers wrote them. Pure: what to believe
//! is decided in `trust`.
//!
//! Written here rather than taken from `mail-auth`, whose parser comes with DKIM, ARC
//! and DNS machinery (ring, hickory) that slaclaim does not use.

/// One parsed Authentication-Results field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthResults {
    /// Who wrote it (the receiving server's name); empty in Exchange Online's fields,
    /// which begin with the first result.
    pub authserv_id: String,
    /// The results, in order; empty for `none`.
    pub results: Vec<MethodResult>,
}

/// One `method=result` with its properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodResult {
    /// "dkim", "spf", "dmarc", … lower-cased, version dropped.
    pub method: String,
    /// "pass", "fail", … lower-cased.
    pub result: String,
    /// `ptype.property` (lower-cased) and value, as written.
    pub props: Vec<(String, String)>,
}

impl MethodResult {
    /// The value of property `name` ("header.from"), if given.
    pub fn prop(&self, name: &str) -> Option<&str> {
        self.props
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a field was not understood; such a field is ignored whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed Authentication-Results: {0}")]
pub struct ParseError(pub &'static str);

/// The longest field parsed; longer ones are not from a receiving server.
const MAX_FIELD_BYTES: usize = 8 * 1024;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// An atom or a quoted string's content; `true` when it was quoted.
    Word(String, bool),
    Semi,
    Eq,
}

/// Tokens of a field: comments (nested, with quoted-pairs) and folding whitespace
/// vanish; a quoted string stays one opaque word, so nothing inside it is read as a
/// result. '/' stays inside words: signature values carry it, and a method's version
/// ("dkim/1") is cut off where the method is read.
fn tokens(value: &str) -> Result<Vec<Token>, ParseError> {
    let mut out = Vec::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '(' => {
                let mut depth = 1;
                while depth > 0 {
                    match chars.next() {
                        Some('\\') => {
                            chars.next();
                        }
                        Some('(') => depth += 1,
                        Some(')') => depth -= 1,
                        Some(_) => {}
                        None => return Err(ParseError("unclosed comment")),
                    }
                }
            }
            ')' => return Err(ParseError("unopened comment")),
            '"' => {
                let mut word = String::new();
                loop {
                    match chars.next() {
                        Some('\\') => word.extend(chars.next()),
                        Some('"') => break,
                        Some(c) => word.push(c),
                        None => return Err(ParseError("unclosed quoted string")),
                    }
                }
                out.push(Token::Word(word, true));
            }
            ';' => out.push(Token::Semi),
            '=' => out.push(Token::Eq),
            c => {
                let mut word = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_whitespace() || matches!(n, '(' | ')' | '"' | ';' | '=') {
                        break;
                    }
                    word.push(n);
                    chars.next();
                }
                out.push(Token::Word(word, false));
            }
        }
    }
    Ok(out)
}

/// Parses one field's value. `exchange` accepts Exchange Online's form, which has no
/// authserv-id and begins with the first `method=result`.
pub fn parse(value: &str, exchange: bool) -> Result<AuthResults, ParseError> {
    if value.len() > MAX_FIELD_BYTES {
        return Err(ParseError("field too long"));
    }
    let toks = tokens(value)?;
    let mut i = 0;
    let word = |i: usize| match toks.get(i) {
        Some(Token::Word(w, _)) => Some(w.as_str()),
        _ => None,
    };
    let mut authserv_id = String::new();
    let starts_with_result = toks.get(1) == Some(&Token::Eq);
    if !(exchange && starts_with_result) {
        authserv_id = word(0)
            .ok_or(ParseError("no authserv-id"))?
            .to_ascii_lowercase();
        i = 1;
        // An optional version number after the id.
        if word(i).is_some_and(|w| w.bytes().all(|b| b.is_ascii_digit())) {
            i += 1;
        }
        if toks.get(i).is_none() {
            return Err(ParseError("no results"));
        }
        if toks.get(i) != Some(&Token::Semi) {
            return Err(ParseError("no ';' after the authserv-id"));
        }
    }
    let mut results = Vec::new();
    loop {
        // Exchange's first result has no ';' before it; every other one does.
        if toks.get(i) == Some(&Token::Semi) {
            i += 1;
        } else if !(results.is_empty() && i == 0) {
            break;
        }
        // "; none", and an empty trailing ";" that Exchange writes.
        match word(i) {
            Some(w) if w.eq_ignore_ascii_case("none") && toks.get(i + 1) != Some(&Token::Eq) => {
                i += 1;
                continue;
            }
            None if toks.get(i).is_none() => break,
            _ => {}
        }
        let method = word(i).ok_or(ParseError("a result without a method"))?;
        let method = match method.split_once('/') {
            Some((m, version)) if version.bytes().all(|b| b.is_ascii_digit()) => m,
            Some(_) => return Err(ParseError("a method version that is no number")),
            None => method,
        }
        .to_ascii_lowercase();
        i += 1;
        if toks.get(i) != Some(&Token::Eq) {
            return Err(ParseError("a method without '='"));
        }
        let result = match toks.get(i + 1) {
            Some(Token::Word(w, false)) => w.to_ascii_lowercase(),
            _ => return Err(ParseError("a method without a result")),
        };
        i += 2;
        let mut props = Vec::new();
        // reason=…, ptype.property=value…, until the next ';'.
        while let Some(Token::Word(key, false)) = toks.get(i) {
            if toks.get(i + 1) != Some(&Token::Eq) {
                return Err(ParseError("a property without '='"));
            }
            let value = match toks.get(i + 2) {
                Some(Token::Word(v, _)) => v.clone(),
                _ => return Err(ParseError("a property without a value")),
            };
            props.push((key.to_ascii_lowercase(), value));
            i += 3;
        }
        results.push(MethodResult {
            method,
            result,
            props,
        });
        if toks.get(i).is_none() {
            break;
        }
        if toks.get(i) != Some(&Token::Semi) {
            return Err(ParseError("text after a result"));
        }
    }
    Ok(AuthResults {
        authserv_id,
        results,
    })
}

/// The header fields a trust decision reads, from a raw message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthFields {
    /// The Authentication-Results fields at the top of the header, in order: above
    /// every field other than Received, ARC-* and DKIM-Signature, which receiving
    /// servers add beside them.
    pub top: Vec<String>,
    /// Every Authentication-Results field, in order (the first is the topmost).
    pub all: Vec<String>,
    /// How many From fields there are.
    pub from_fields: usize,
    /// How many addresses the first From field names.
    pub from_addresses: usize,
    /// `X-MS-Exchange-Organization-AuthAs`, which Exchange Online sets and strips from
    /// incoming mail.
    pub exchange_auth_as: Option<String>,
}

/// Fields read at most; a header past this is not a receiving server's.
const MAX_FIELDS: usize = 2000;

/// Walks the header block of `raw` once (bounded by its length and [`MAX_FIELDS`]).
pub fn auth_fields(raw: &[u8]) -> AuthFields {
    let mut out = AuthFields::default();
    let mut in_top = true;
    let mut seen = 0;
    for (name, value) in header_fields(raw) {
        seen += 1;
        if seen > MAX_FIELDS {
            break;
        }
        let name = name.to_ascii_lowercase();
        match name.as_str() {
            "authentication-results" => {
                if in_top {
                    out.top.push(value.clone());
                }
                out.all.push(value);
            }
            "received" | "dkim-signature" => {}
            n if n.starts_with("arc-") => {}
            other => {
                in_top = false;
                if other == "from" {
                    out.from_fields += 1;
                    if out.from_fields == 1 {
                        out.from_addresses = count_addresses(&value);
                    }
                } else if other == "x-ms-exchange-organization-authas"
                    && out.exchange_auth_as.is_none()
                {
                    out.exchange_auth_as = Some(value.trim().to_string());
                }
            }
        }
    }
    out
}

/// The unfolded header fields of `raw`, in order, up to the blank line.
fn header_fields(raw: &[u8]) -> impl Iterator<Item = (String, String)> + '_ {
    let end = raw
        .windows(2)
        .position(|w| w == b"\n\n")
        .into_iter()
        .chain(raw.windows(4).position(|w| w == b"\r\n\r\n"))
        .min()
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in head.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = fields.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            fields.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    fields.into_iter()
}

/// Addresses in an address-list field: top-level commas outside quotes, comments and
/// angle brackets separate them; a group's members count one each.
fn count_addresses(value: &str) -> usize {
    let (mut n, mut depth, mut quoted, mut angle, mut has_at) = (0, 0u32, false, false, false);
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quoted || depth > 0 => {
                chars.next();
            }
            '"' if depth == 0 => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => depth -= 1,
            _ if quoted || depth > 0 => {}
            '<' => angle = true,
            '>' => angle = false,
            '@' => has_at = true,
            ',' | ';' | ':' if !angle => {
                // ':' opens a group: what came before is its name, not an address.
                if c != ':' && has_at {
                    n += 1;
                }
                has_at = false;
            }
            _ => {}
        }
    }
    n + usize::from(has_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(method: &str, result: &str, props: &[(&str, &str)]) -> MethodResult {
        MethodResult {
            method: method.into(),
            result: result.into(),
            props: props
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn the_rfc_8601_examples() {
        // Appendix B.2: nothing done.
        assert_eq!(
            parse("example.org 1; none", false),
            Ok(AuthResults {
                authserv_id: "example.org".into(),
                results: vec![]
            })
        );
        // B.3, with a comment.
        let r = parse("example.com; spf=pass smtp.mailfrom=example.net", false).unwrap();
        assert_eq!(
            r.results,
            vec![res("spf", "pass", &[("smtp.mailfrom", "example.net")])]
        );
        // B.4: several results, comments, and a version.
        let r = parse(
            "example.com;\n  auth=pass (cram-md5) smtp.auth=sender@example.net;\n  spf=pass smtp.mailfrom=example.net",
            false,
        )
        .unwrap();
        assert_eq!(r.results.len(), 2);
        assert_eq!(
            r.results[0],
            res("auth", "pass", &[("smtp.auth", "sender@example.net")])
        );
        // B.6: a reason, and a method version.
        let r = parse(
            "mail-router.example.net; dkim/1=pass (good signature) header.d=newyork.example.com header.b=oINE/O8+hg; dkim=fail reason=\"bad signature\" header.i=@newyork.example.com",
            false,
        )
        .unwrap();
        assert_eq!(r.results[0].prop("header.d"), Some("newyork.example.com"));
        assert_eq!(r.results[1].result, "fail");
        assert_eq!(r.results[1].prop("reason"), Some("bad signature"));
    }

    #[test]
    fn hostile_variants() {
        // A "pass" inside a quoted value is a value, not a result.
        let r = parse(
            "mx.partner.example; spf=fail smtp.mailfrom=\"x; dmarc=pass header.from=partner.example\"",
            false,
        )
        .unwrap();
        assert_eq!(r.results.len(), 1);
        assert_eq!(r.results[0].result, "fail");
        // Nor inside a comment, nested or not.
        let r = parse(
            "mx.partner.example; dmarc=fail (p=reject (dmarc=pass header.from=a.example)) header.from=a.example",
            false,
        )
        .unwrap();
        assert_eq!(r.results.len(), 1);
        assert_eq!(r.results[0].result, "fail");
        // The authserv-id alone is no result.
        assert!(parse("dkim=pass header.d=a.example", false).is_err());
        assert!(parse("mx.partner.example", false).is_err());
        // Broken syntax is refused whole, never half read.
        assert!(
            parse(
                "mx.p.example; dkim=pass (unclosed header.d=a.example",
                false
            )
            .is_err()
        );
        assert!(parse("mx.p.example; dkim=pass header.d=\"a.example", false).is_err());
        assert!(parse("mx.p.example; dkim=pass header.d", false).is_err());
        assert!(parse("mx.p.example; =pass", false).is_err());
        // Unknown methods are kept as they are.
        let r = parse("mx.p.example; x-magic=yes policy.x=1", false).unwrap();
        assert_eq!(r.results, vec![res("x-magic", "yes", &[("policy.x", "1")])]);
        assert!(
            parse(
                &format!("mx.p.example; dkim=pass header.d={}", "a".repeat(9000)),
                false
            )
            .is_err()
        );
    }

    #[test]
    fn exchange_online_fields_have_no_authserv_id() {
        let v = "spf=pass (sender IP is 192.0.2.7) smtp.mailfrom=fabrikam.example; dkim=pass (signature was verified) header.d=fabrikam.example;dmarc=pass action=none header.from=fabrikam.example;compauth=pass reason=100";
        let r = parse(v, true).unwrap();
        assert_eq!(r.authserv_id, "");
        assert_eq!(
            r.results
                .iter()
                .map(|m| m.method.as_str())
                .collect::<Vec<_>>(),
            ["spf", "dkim", "dmarc", "compauth"]
        );
        assert_eq!(r.results[2].prop("header.from"), Some("fabrikam.example"));
        // Outside Exchange mode the first word is the authserv-id: such a field is refused.
        assert!(parse(v, false).is_err());
    }

    #[test]
    fn the_top_of_the_header_is_above_every_other_field() {
        let raw = b"Authentication-Results: mx.ours.example; dkim=pass header.d=a.example\r\nReceived: from x by y\r\nARC-Seal: i=1\r\nAuthentication-Results: mx.ours.example;\r\n dmarc=pass header.from=a.example\r\nFrom: Ann <ann@a.example>\r\nAuthentication-Results: mx.ours.example; dmarc=pass header.from=evil.example\r\nFrom: b@b.example\r\nSubject: x\r\n\r\nAuthentication-Results: body; dkim=pass\r\n";
        let f = auth_fields(raw);
        assert_eq!(f.top.len(), 2);
        assert_eq!(
            f.top[1],
            "mx.ours.example; dmarc=pass header.from=a.example"
        );
        assert_eq!(f.all.len(), 3);
        assert_eq!(f.from_fields, 2);
        assert_eq!(f.from_addresses, 1);
    }

    #[test]
    fn addresses_in_a_from_field() {
        assert_eq!(count_addresses("Ann <ann@a.example>"), 1);
        assert_eq!(count_addresses("\"Doe, Ann (a@b)\" <ann@a.example>"), 1);
        assert_eq!(count_addresses("ann@a.example, bob@b.example"), 2);
        assert_eq!(count_addresses("team: ann@a.example, bob@b.example;"), 2);
        assert_eq!(count_addresses("Ann (a, b@c) <ann@a.example>"), 1);
        assert_eq!(count_addresses(""), 0);
    }
}
