//! Message kind: RFC 3834 and list headers first, then what the content asks for.

use crate::mail::pattern::Pattern;
use serde::Serialize;

use regex::Regex;

use crate::mail::message::Email;

/// What a message is, from the helpdesk's point of view.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A customer asks for an SLA credit to be claimed.
    CreditRequest,
    /// A customer follows up on an existing ticket or claim.
    TicketUpdate,
    /// Out-of-office and other automatic responses (RFC 3834).
    AutoReply,
    /// Delivery status notifications (non-delivery reports).
    Bounce,
    /// Newsletters and list mail.
    Bulk,
    /// Microsoft 365 service health and message center mail.
    ServiceNotification,
    /// Anything else: general questions, sales, spam.
    #[default]
    Other,
}

impl Kind {
    /// The snake_case name used in JSON and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::CreditRequest => "credit_request",
            Kind::TicketUpdate => "ticket_update",
            Kind::AutoReply => "auto_reply",
            Kind::Bounce => "bounce",
            Kind::Bulk => "bulk",
            Kind::ServiceNotification => "service_notification",
            Kind::Other => "other",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(s: &str) -> Option<Kind> {
        ALL.iter().copied().find(|k| k.as_str() == s)
    }

    /// Whether the kind carries claim evidence (the other kinds keep only ticket refs).
    pub fn is_customer_content(self) -> bool {
        matches!(self, Kind::CreditRequest | Kind::TicketUpdate)
    }
}

/// Every kind, in declaration order.
pub const ALL: [Kind; 7] = [
    Kind::CreditRequest,
    Kind::TicketUpdate,
    Kind::AutoReply,
    Kind::Bounce,
    Kind::Bulk,
    Kind::ServiceNotification,
    Kind::Other,
];

/// A header-based decision and the header that made it.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The kind decided.
    pub kind: Kind,
    /// Why, for the record ("Auto-Submitted: auto-replied").
    pub reason: String,
    /// List headers alone: real claim content may override it (a group alias).
    pub weak: bool,
}

static BOUNCE_SUBJECT: Pattern<Regex> = re!(
    r"(?i)^\s*(undeliverable|undelivered mail|delivery status notification|delivery failure|mail delivery failed|failure notice|returned mail|unzustellbar|onbestelbaar|niet bezorgd|non remis|nicht zustellbar)",
);
static AUTO_SUBJECT: Pattern<Regex> = re!(
    r"(?i)^\s*(auto(?:matic)?[ -]?(?:reply|response|antwort)|automatisch antwoord|automatische antwort|out of (?:the )?office|ooo\b|afwezig|abwesenheit|abwesend|auto:|réponse automatique|autosvar)",
);
static BOUNCE_SENDER: Pattern<Regex> =
    re!(r"(?i)^(mailer-daemon|postmaster|mail-daemon|microsoftexchange[0-9a-f]{32})@");
static MS_NOTICE: Pattern<Regex> = re!(
    r"(?i)service health|servicestatus|dienststatus|message center|berichtencentrum|nachrichtencenter|major update|service incident|service advisory"
);

/// Decides from headers alone, when the headers are decisive.
pub fn by_headers(email: &Email) -> Option<Verdict> {
    let v = |kind, reason: String| {
        Some(Verdict {
            kind,
            reason,
            weak: false,
        })
    };
    let from = email.from_addr.as_deref().unwrap_or_default();
    if email.content_type == "multipart/report" {
        return match email.report_type.as_deref() {
            Some("disposition-notification") => v(
                Kind::AutoReply,
                "multipart/report; report-type=disposition-notification".into(),
            ),
            _ => v(Kind::Bounce, "multipart/report delivery status".into()),
        };
    }
    let null_return = email
        .header("return-path")
        .is_some_and(|r| r.trim() == "<>");
    if BOUNCE_SENDER.get().is_match(from) {
        return v(Kind::Bounce, format!("sender {from}"));
    }
    if BOUNCE_SUBJECT.get().is_match(&email.subject)
        && (null_return || email.header("auto-submitted").is_some())
    {
        return v(
            Kind::Bounce,
            "delivery failure subject from a null sender".into(),
        );
    }
    let domain = email.sender_domain().unwrap_or_default();
    if is_microsoft_domain(&domain)
        && (MS_NOTICE.get().is_match(&email.subject)
            || MS_NOTICE
                .get()
                .is_match(crate::extract::text::first_chars(&email.body, 2000)))
    {
        return v(
            Kind::ServiceNotification,
            format!("Microsoft notification from {domain}"),
        );
    }
    if let Some(a) = email.header("auto-submitted") {
        if !a.trim().eq_ignore_ascii_case("no") {
            return v(Kind::AutoReply, format!("Auto-Submitted: {a}"));
        }
    }
    // Below, only hints: out-of-office forms, and headers that ticket portals and some
    // Outlook set-ups put on genuine requests too. Claim content outweighs them.
    let weak = |kind, reason: String| {
        Some(Verdict {
            kind,
            reason,
            weak: true,
        })
    };
    for name in [
        "x-autoreply",
        "x-autorespond",
        "x-autoreply-from",
        "x-mail-autoreply",
        "x-auto-reply",
    ] {
        if let Some(value) = email.header(name) {
            if !value.trim().eq_ignore_ascii_case("no") {
                return weak(Kind::AutoReply, format!("{name}: {value}"));
            }
        }
    }
    if email
        .header("x-autogenerated")
        .is_some_and(|x| x.eq_ignore_ascii_case("reply"))
    {
        return weak(Kind::AutoReply, "X-Autogenerated: Reply".into());
    }
    if let Some(x) = email.header("x-auto-response-suppress") {
        let x = x.to_ascii_lowercase();
        if ["all", "oof", "autoreply", "dr", "ndr", "rn", "nrn"]
            .iter()
            .any(|t| x.contains(t))
        {
            return weak(Kind::AutoReply, format!("X-Auto-Response-Suppress: {x}"));
        }
    }
    for name in ["precedence", "x-precedence"] {
        if let Some(p) = email.header(name) {
            match p.trim().to_ascii_lowercase().as_str() {
                "auto_reply" | "auto-reply" => {
                    return weak(Kind::AutoReply, format!("{name}: {p}"));
                }
                "bulk" | "list" | "junk" => return weak(Kind::Bulk, format!("{name}: {p}")),
                _ => {}
            }
        }
    }
    if AUTO_SUBJECT.get().is_match(&email.subject) {
        return weak(Kind::AutoReply, "automatic-reply subject".into());
    }
    if null_return {
        return weak(Kind::AutoReply, "null Return-Path".into());
    }
    for name in [
        "list-unsubscribe",
        "list-id",
        "list-post",
        "x-campaign-id",
        "feedback-id",
    ] {
        if email.header(name).is_some() {
            return Some(Verdict {
                kind: Kind::Bulk,
                reason: format!("{name} header"),
                weak: true,
            });
        }
    }
    None
}

/// What the content says, for messages the headers did not decide.
#[derive(Debug, Clone, Copy, Default)]
pub struct Signals {
    /// A credit is asked for (not withdrawn, not a status question).
    pub credit_requested: bool,
    /// The new text names an incident ID.
    pub has_incident: bool,
    /// The message answers an earlier one (In-Reply-To/References or Re:).
    pub is_reply: bool,
    /// The message names a ticket reference.
    pub has_ticket_ref: bool,
}

/// Microsoft's own sending domains.
fn is_microsoft_domain(domain: &str) -> bool {
    domain == "microsoft.com"
        || domain.ends_with(".microsoft.com")
        || domain == "microsoftonline.com"
}

/// Whether a mail poses as Microsoft: its sender's name says Microsoft (or Office 365,
/// M365) while the address is on no Microsoft domain.
pub fn poses_as_microsoft(email: &Email) -> bool {
    let name = email
        .from_name
        .as_deref()
        .unwrap_or_default()
        .to_lowercase();
    let says_microsoft = ["microsoft", "office 365", "office365", "m365"]
        .iter()
        .any(|w| name.contains(w));
    says_microsoft && !is_microsoft_domain(&email.sender_domain().unwrap_or_default())
}

/// Decides the kind of customer mail from what it says.
pub fn by_content(s: Signals) -> Kind {
    if s.credit_requested && (s.has_incident || !s.is_reply) {
        Kind::CreditRequest
    } else if s.is_reply || s.has_ticket_ref || s.credit_requested {
        Kind::TicketUpdate
    } else {
        Kind::Other
    }
}

static REPLY_SUBJECT: Pattern<Regex> = re!(r"(?i)^\s*(re|aw|antw|sv|vs|ant|odp)\s*(\[\d+\])?\s*:");

/// Whether a message answers an earlier one.
pub fn is_reply(email: &Email) -> bool {
    !email.thread_ids.is_empty() || REPLY_SUBJECT.get().is_match(&email.subject)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_microsoft_name_on_another_domain_poses_as_microsoft() {
        let mail = |from: &str| {
            Email::parse(format!("From: {from}\r\nSubject: x\r\n\r\nbody\r\n").as_bytes())
        };
        assert!(poses_as_microsoft(&mail(
            "\"Microsoft 365 Billing\" <billing@refund-desk.example>"
        )));
        assert!(poses_as_microsoft(&mail(
            "Office365 Team <team@o365-mail.example>"
        )));
        assert!(!poses_as_microsoft(&mail(
            "Microsoft 365 <o365mc@microsoft.com>"
        )));
        assert!(!poses_as_microsoft(&mail(
            "Kim Jansen <kim@customer.example>"
        )));
    }

    fn kind(raw: &str) -> Option<Kind> {
        by_headers(&Email::parse(raw.as_bytes())).map(|v| v.kind)
    }

    #[test]
    fn rfc3834_and_vendor_headers() {
        assert_eq!(
            kind("Auto-Submitted: auto-replied\nSubject: x\n\nbody"),
            Some(Kind::AutoReply)
        );
        assert_eq!(kind("Auto-Submitted: no\nSubject: x\n\nbody"), None);
        assert_eq!(
            kind("X-Auto-Response-Suppress: OOF\nSubject: x\n\nb"),
            Some(Kind::AutoReply)
        );
        assert_eq!(
            kind("X-Autoreply: yes\nSubject: x\n\nb"),
            Some(Kind::AutoReply)
        );
        assert_eq!(
            kind("Precedence: auto_reply\nSubject: x\n\nb"),
            Some(Kind::AutoReply)
        );
        assert_eq!(
            kind("X-Precedence: bulk\nSubject: x\n\nb"),
            Some(Kind::Bulk)
        );
        assert_eq!(kind("Precedence: junk\nSubject: x\n\nb"), Some(Kind::Bulk));
        assert_eq!(
            kind("List-Unsubscribe: <mailto:u@x>\nSubject: x\n\nb"),
            Some(Kind::Bulk)
        );
        assert_eq!(
            kind("Subject: Automatisch antwoord: x\n\nb"),
            Some(Kind::AutoReply)
        );
        assert_eq!(
            kind("Return-Path: <>\nSubject: hello\n\nb"),
            Some(Kind::AutoReply)
        );
    }

    #[test]
    fn bounces() {
        assert_eq!(
            kind("From: MAILER-DAEMON@mx.example\nSubject: x\n\nb"),
            Some(Kind::Bounce)
        );
        assert_eq!(
            kind(
                "Content-Type: multipart/report; report-type=delivery-status; boundary=b\nSubject: x\n\n--b\nContent-Type: text/plain\n\nfailed\n--b--\n"
            ),
            Some(Kind::Bounce)
        );
        assert_eq!(
            kind("Return-Path: <>\nSubject: Undeliverable: hi\n\nb"),
            Some(Kind::Bounce)
        );
    }

    #[test]
    fn microsoft_notifications_only_from_microsoft() {
        assert_eq!(
            kind("From: o365mc@microsoft.com\nSubject: Service health: EX123456 - x\n\nb"),
            Some(Kind::ServiceNotification)
        );
        assert_eq!(
            kind("From: a@contoso.example\nSubject: Service health: EX123456\n\nb"),
            None
        );
    }

    #[test]
    fn content_rules() {
        let s = Signals {
            credit_requested: true,
            has_incident: true,
            is_reply: true,
            has_ticket_ref: true,
        };
        assert_eq!(by_content(s), Kind::CreditRequest);
        assert_eq!(
            by_content(Signals {
                has_incident: false,
                ..s
            }),
            Kind::TicketUpdate
        );
        assert_eq!(by_content(Signals::default()), Kind::Other);
    }
}
