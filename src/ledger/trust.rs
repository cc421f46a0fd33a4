//! What a message's authentication proves: the verdict of our own receiving servers
//! (their Authentication-Results, RFC 8601), never of the sender.
//!
//! Only fields our servers add are believed: those at the top of the header whose
//! authserv-id is in `[trust] authserv-ids`; with `exchange-online`, the topmost field
//! (Exchange writes no authserv-id, and strips its own organisation headers from mail
//! that arrives). Anything lower down was written by whoever sent the mail.

use serde::{Deserialize, Serialize};

use crate::mail::authres::{self, AuthFields};

/// The `[trust]` table.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TrustConfig {
    /// authserv-ids of our own receiving servers (Dovecot/Postfix with OpenDKIM and
    /// OpenDMARC write their host name).
    #[serde(default)]
    pub authserv_ids: Vec<String>,
    /// Mail arrives through Exchange Online: believe its topmost Authentication-Results
    /// and `X-MS-Exchange-Organization-AuthAs: Internal`.
    #[serde(default)]
    pub exchange_online: bool,
    /// Groups of domains that speak for the same customer: its own domains and its
    /// reseller's. A ticket's mail may come from any domain of its first requester's group.
    #[serde(default)]
    pub customer_domains: Vec<Vec<String>>,
    /// Domains Microsoft's service mail passes DMARC for (subdomains included).
    #[serde(default = "default_microsoft_domains")]
    pub microsoft_domains: Vec<String>,
}

impl Default for TrustConfig {
    fn default() -> Self {
        TrustConfig {
            authserv_ids: Vec::new(),
            exchange_online: false,
            customer_domains: Vec::new(),
            microsoft_domains: default_microsoft_domains(),
        }
    }
}

fn default_microsoft_domains() -> Vec<String> {
    [
        "microsoft.com",
        "microsoftonline.com",
        "office365.com",
        "office.com",
        "azure.com",
    ]
    .map(String::from)
    .to_vec()
}

impl TrustConfig {
    /// Whether any receiving server is trusted, so verdicts exist at all.
    pub fn configured(&self) -> bool {
        !self.authserv_ids.is_empty() || self.exchange_online
    }

    /// Every domain that may write for a customer whose first requester wrote from
    /// `domain`.
    pub fn customer_domains_of(&self, domain: &str) -> Vec<String> {
        let mut out = vec![domain.to_ascii_lowercase()];
        for group in &self.customer_domains {
            if group.iter().any(|d| d.eq_ignore_ascii_case(domain)) {
                out.extend(group.iter().map(|d| d.to_ascii_lowercase()));
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Whether `domain` is Microsoft's (or a subdomain of one).
    pub fn is_microsoft(&self, domain: &str) -> bool {
        self.microsoft_domains.iter().any(|m| aligned(domain, m))
    }
}

/// One method's outcome and the domain it speaks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// "pass", "fail", "none", …
    pub result: String,
    /// header.from for DMARC, header.d for DKIM, the smtp.mailfrom domain for SPF.
    pub domain: String,
}

/// What our receiving servers found about one message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// The DMARC result, if one was evaluated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dmarc: Option<Check>,
    /// Every DKIM signature's result.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dkim: Vec<Check>,
    /// The SPF result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spf: Option<Check>,
    /// Exchange Online says the sender is inside the organisation.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub internal: bool,
    /// Why the From cannot be authenticated at all: several From fields, or several
    /// addresses in one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_problem: Option<String>,
}

/// `domain` is `org` or one of its subdomains (DMARC's relaxed alignment, without the
/// public-suffix lookup: configured domains are organisational ones).
fn aligned(domain: &str, org: &str) -> bool {
    let (d, o) = (domain.to_ascii_lowercase(), org.to_ascii_lowercase());
    let o = o.trim_start_matches('@');
    !o.is_empty() && (d == o || d.ends_with(&format!(".{o}")))
}

impl Verdict {
    /// DMARC evaluated and failed, or the From is not one address.
    pub fn dmarc_failed(&self) -> bool {
        self.from_problem.is_some() || self.dmarc.as_ref().is_some_and(|c| c.result == "fail")
    }

    /// DMARC passed for exactly `domain`, the From's domain.
    pub fn dmarc_passed_for(&self, domain: &str) -> bool {
        self.from_problem.is_none()
            && self
                .dmarc
                .as_ref()
                .is_some_and(|c| c.result == "pass" && c.domain.eq_ignore_ascii_case(domain))
    }

    /// The From `domain` is proved: DMARC passed for it, a DKIM signature of it (or of
    /// its organisation) verified, or Exchange says the sender is internal.
    pub fn authenticated_for(&self, domain: &str) -> bool {
        self.from_problem.is_none()
            && (self.dmarc_passed_for(domain)
                || self
                    .dkim
                    .iter()
                    .any(|c| c.result == "pass" && aligned(domain, &c.domain))
                || self.internal)
    }

    /// One line for people: "DMARC pass (contoso.example); DKIM pass (contoso.example)".
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(p) = &self.from_problem {
            parts.push(format!("unauthenticated: {p}"));
        }
        if let Some(c) = &self.dmarc {
            parts.push(format!("DMARC {} ({})", c.result, c.domain));
        }
        for c in &self.dkim {
            parts.push(format!("DKIM {} ({})", c.result, c.domain));
        }
        if let Some(c) = &self.spf {
            parts.push(format!("SPF {} ({})", c.result, c.domain));
        }
        if self.internal {
            parts.push("internal sender (Exchange Online)".into());
        }
        if parts.is_empty() {
            "no authentication results from our servers".into()
        } else {
            parts.join("; ")
        }
    }
}

/// The verdict stored for the mail that asked for `claim`'s credit, with that mail's
/// sender domain; None when there is no such mail or no verdict was recorded for it.
pub fn of_request(
    store: &crate::store::Store,
    claim: i64,
) -> Result<Option<(Verdict, Option<String>)>, crate::store::StoreError> {
    let Some(row) = store
        .evidence(claim)?
        .into_iter()
        .find(|r| r.field == "customer_request")
    else {
        return Ok(None);
    };
    let (trust, domain) = store.message_trust(row.message)?;
    Ok(trust
        .and_then(|t| serde_json::from_str::<Verdict>(&t).ok())
        .map(|v| (v, domain)))
}

/// The verdict on `raw`, or None when no receiving server is trusted.
pub fn verdict(raw: &[u8], cfg: &TrustConfig) -> Option<Verdict> {
    cfg.configured()
        .then(|| verdict_of(&authres::auth_fields(raw), cfg))
}

/// The verdict from fields already walked.
pub fn verdict_of(fields: &AuthFields, cfg: &TrustConfig) -> Verdict {
    let trusted: Vec<authres::AuthResults> = if cfg.exchange_online {
        fields
            .all
            .first()
            .and_then(|v| authres::parse(v, true).ok())
            .into_iter()
            .collect()
    } else {
        fields
            .top
            .iter()
            .filter_map(|v| authres::parse(v, false).ok())
            .filter(|r| {
                cfg.authserv_ids
                    .iter()
                    .any(|id| id.eq_ignore_ascii_case(&r.authserv_id))
            })
            .collect()
    };
    let mut v = Verdict::default();
    for m in trusted.iter().flat_map(|r| &r.results) {
        let check = |domain: Option<&str>| Check {
            result: m.result.clone(),
            domain: domain
                .map(|d| d.rsplit('@').next().unwrap_or(d).to_ascii_lowercase())
                .unwrap_or_default(),
        };
        match m.method.as_str() {
            "dmarc" if v.dmarc.is_none() => v.dmarc = Some(check(m.prop("header.from"))),
            "dkim" => v
                .dkim
                .push(check(m.prop("header.d").or(m.prop("header.i")))),
            "spf" if v.spf.is_none() => {
                v.spf = Some(check(m.prop("smtp.mailfrom").or(m.prop("smtp.helo"))))
            }
            _ => {}
        }
    }
    v.internal = cfg.exchange_online
        && fields
            .exchange_auth_as
            .as_deref()
            .is_some_and(|a| a.eq_ignore_ascii_case("internal"));
    if fields.from_fields > 1 {
        v.from_problem = Some(format!("{} From fields", fields.from_fields));
    } else if fields.from_addresses > 1 {
        v.from_problem = Some(format!("{} addresses in From", fields.from_addresses));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> TrustConfig {
        TrustConfig {
            authserv_ids: vec!["mx.cloudwise-partners.example".into()],
            ..TrustConfig::default()
        }
    }

    /// The way Postfix with OpenDKIM and OpenDMARC writes them: one field each, on top.
    const OPENDMARC: &str = "Authentication-Results: mx.cloudwise-partners.example; dmarc=pass (p=reject dis=none) header.from=contoso.example\r\nAuthentication-Results: mx.cloudwise-partners.example;\r\n\tdkim=pass (2048-bit key; unprotected) header.d=contoso.example header.i=@contoso.example header.b=\"AbC/12+x\";\r\n\tdkim-atps=neutral\r\nReceived: from mail.contoso.example (mail.contoso.example [192.0.2.10])\r\n\tby mx.cloudwise-partners.example (Postfix) with ESMTPS id 4F1;\r\n\tTue, 10 Mar 2026 15:00:01 +0100 (CET)\r\n";

    #[test]
    fn our_servers_fields_on_top_are_believed() {
        let raw =
            format!("{OPENDMARC}From: Ann <ann@contoso.example>\r\nSubject: x\r\n\r\nbody\r\n");
        let v = verdict(raw.as_bytes(), &cfg()).unwrap();
        assert!(v.dmarc_passed_for("contoso.example"));
        assert!(v.authenticated_for("contoso.example"));
        assert!(!v.authenticated_for("fabrikam.example"));
        assert!(!v.dmarc_failed());
        assert_eq!(
            v.dkim,
            vec![Check {
                result: "pass".into(),
                domain: "contoso.example".into()
            }]
        );
    }

    #[test]
    fn fields_written_by_the_sender_are_not() {
        // Our id, but below the sender's own fields: a forgery.
        let raw = "Received: by mx.cloudwise-partners.example\r\nFrom: ann@contoso.example\r\nAuthentication-Results: mx.cloudwise-partners.example; dmarc=pass header.from=contoso.example\r\nSubject: x\r\n\r\n";
        let v = verdict(raw.as_bytes(), &cfg()).unwrap();
        assert!(!v.authenticated_for("contoso.example"));
        // Another server's id on top: not ours to believe.
        let raw = "Authentication-Results: mx.contoso.example; dmarc=pass header.from=contoso.example\r\nFrom: ann@contoso.example\r\n\r\n";
        assert!(
            !verdict(raw.as_bytes(), &cfg())
                .unwrap()
                .authenticated_for("contoso.example")
        );
        // A pass inside a quoted value of our own field.
        let raw = "Authentication-Results: mx.cloudwise-partners.example; spf=fail smtp.mailfrom=\"a; dmarc=pass header.from=contoso.example\"\r\nFrom: ann@contoso.example\r\n\r\n";
        let v = verdict(raw.as_bytes(), &cfg()).unwrap();
        assert!(!v.authenticated_for("contoso.example"));
        assert_eq!(v.spf.map(|c| c.result), Some("fail".into()));
    }

    #[test]
    fn several_froms_are_unauthenticated() {
        let raw = format!(
            "{OPENDMARC}From: ann@contoso.example\r\nFrom: boss@cloudwise-partners.example\r\n\r\n"
        );
        let v = verdict(raw.as_bytes(), &cfg()).unwrap();
        assert!(!v.authenticated_for("contoso.example"));
        assert!(v.dmarc_failed());
        let raw = format!(
            "{OPENDMARC}From: ann@contoso.example, boss@cloudwise-partners.example\r\n\r\n"
        );
        assert!(
            verdict(raw.as_bytes(), &cfg())
                .unwrap()
                .from_problem
                .is_some()
        );
    }

    #[test]
    fn exchange_online_believes_its_topmost_field_and_internal_senders() {
        let cfg = TrustConfig {
            exchange_online: true,
            ..TrustConfig::default()
        };
        let raw = "Received: from AM0PR01MB (2603:10a6::1) by AM0PR02MB\r\nAuthentication-Results: spf=pass (sender IP is 192.0.2.7) smtp.mailfrom=fabrikam.example; dkim=pass (signature was verified) header.d=fabrikam.example;dmarc=pass action=none header.from=fabrikam.example;compauth=pass reason=100\r\nX-MS-Exchange-Organization-AuthAs: Anonymous\r\nFrom: Joe <joe@fabrikam.example>\r\nAuthentication-Results: spf=pass smtp.mailfrom=contoso.example; dmarc=pass header.from=contoso.example\r\n\r\n";
        let v = verdict(raw.as_bytes(), &cfg).unwrap();
        assert!(v.dmarc_passed_for("fabrikam.example"));
        assert!(!v.dmarc_passed_for("contoso.example"));
        assert!(!v.internal);
        let raw = "Authentication-Results: dkim=none (message not signed) header.d=none;dmarc=none action=none header.from=cloudwise-partners.example;\r\nX-MS-Exchange-Organization-AuthAs: Internal\r\nFrom: lea@cloudwise-partners.example\r\n\r\n";
        let v = verdict(raw.as_bytes(), &cfg).unwrap();
        assert!(v.internal);
        assert!(v.authenticated_for("cloudwise-partners.example"));
    }

    #[test]
    fn nothing_is_believed_without_a_trusted_server() {
        let raw = format!("{OPENDMARC}From: ann@contoso.example\r\n\r\n");
        assert_eq!(verdict(raw.as_bytes(), &TrustConfig::default()), None);
    }

    #[test]
    fn customer_domain_groups() {
        let cfg = TrustConfig {
            customer_domains: vec![vec!["contoso.example".into(), "reseller.example".into()]],
            ..TrustConfig::default()
        };
        assert_eq!(
            cfg.customer_domains_of("Contoso.example"),
            ["contoso.example", "reseller.example"]
        );
        assert_eq!(
            cfg.customer_domains_of("fabrikam.example"),
            ["fabrikam.example"]
        );
        assert!(cfg.is_microsoft("email.microsoft.com"));
        assert!(!cfg.is_microsoft("microsoft.com.evil.example"));
        assert!(!cfg.is_microsoft("notmicrosoft.com"));
    }
}
