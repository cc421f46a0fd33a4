//! The `[extract]` section: which incident prefixes there are, the partner's names,
//! personal mail domains, and the bounds on what one message may cost.

use serde::Deserialize;
use std::collections::BTreeMap;

/// A setting of `[extract]` that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("invalid config: {0}")]
pub struct InvalidSetting(pub String);

/// Settings of the extraction engine.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ExtractConfig {
    /// Incident-ID prefix -> service name; replaces the default list when given.
    #[serde(default = "default_prefixes")]
    pub incident_prefixes: BTreeMap<String, String>,
    /// Extra prefixes added to the defaults (or to `incident-prefixes`).
    #[serde(default)]
    pub extra_incident_prefixes: BTreeMap<String, String>,
    /// The partner's own names ("Cloudwise"): "bought through Cloudwise" means CSP.
    #[serde(default)]
    pub partner_names: Vec<String>,
    /// Mail domains of personal mailboxes, which Partner Center does not accept as evidence.
    #[serde(default = "default_personal_domains")]
    pub personal_domains: Vec<String>,
    /// Bytes of one message's new text (its own words and forwarded originals, after
    /// quotes are cut) that are read; the rest is left unread and the extraction says
    /// so. Keeps one pathological mail from costing more than a long real one.
    #[serde(default = "default_max_text_bytes")]
    pub max_text_bytes: usize,
    /// Claims one message may open. Past it, one ticket is opened and flagged for staff
    /// ("too many incidents or tenants: review"): one mail must not make thousands.
    #[serde(default = "default_max_claims_per_message")]
    pub max_claims_per_message: usize,
}

fn default_max_claims_per_message() -> usize {
    10
}

impl Default for ExtractConfig {
    fn default() -> Self {
        ExtractConfig {
            incident_prefixes: default_prefixes(),
            extra_incident_prefixes: BTreeMap::new(),
            partner_names: Vec::new(),
            personal_domains: default_personal_domains(),
            max_text_bytes: default_max_text_bytes(),
            max_claims_per_message: default_max_claims_per_message(),
        }
    }
}

fn default_max_text_bytes() -> usize {
    256 * 1024
}

/// Microsoft 365 service-health prefixes. IT (Intune) and DZ (Defender XDR) are in the
/// same service-health feed as the others and appear in customers' claims as well.
fn default_prefixes() -> BTreeMap<String, String> {
    [
        ("EX", "Exchange Online"),
        ("FO", "Exchange Online Protection"),
        ("SB", "Skype for Business"),
        ("OS", "Office subscription"),
        ("PB", "Power BI"),
        ("SP", "SharePoint Online"),
        ("YA", "Yammer / Viva Engage"),
        ("MO", "Microsoft 365 portal"),
        ("TM", "Microsoft Teams"),
        ("OD", "OneDrive for Business"),
        ("IT", "Microsoft Intune"),
        ("DZ", "Microsoft Defender XDR"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn default_personal_domains() -> Vec<String> {
    [
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "yahoo.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "t-online.de",
        "hotmail.nl",
        "live.nl",
        "outlook.nl",
        "ziggo.nl",
        "kpnmail.nl",
        "planet.nl",
        "home.nl",
        "xs4all.nl",
        "telenet.be",
        "skynet.be",
    ]
    .into_iter()
    .map(str::to_string)
    .collect()
}

impl ExtractConfig {
    /// All incident prefixes in force, with their service names.
    pub fn prefixes(&self) -> BTreeMap<String, String> {
        let mut all = self.incident_prefixes.clone();
        all.extend(self.extra_incident_prefixes.clone());
        all
    }

    /// Refuses prefix lists that could never find an incident.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        let all = self.prefixes();
        if all.is_empty() {
            return Err(InvalidSetting(
                "extract.incident-prefixes is empty: no incident could ever be found".into(),
            ));
        }
        for prefix in all.keys() {
            if prefix.len() != 2 || !prefix.chars().all(|c| c.is_ascii_uppercase()) {
                return Err(InvalidSetting(format!(
                    "extract.incident-prefixes: {prefix:?} is not two upper-case letters (Microsoft incident IDs look like EX1234567)"
                )));
            }
        }
        Ok(())
    }
}
