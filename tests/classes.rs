//! Our own test mails for each class of phrasing the extractor must generalize over
//! (issue #18): five short mails per class, written here, in no sample set. Each
//! asserts the fields its class is about.

use slaclaim::extract::classify::Kind;
use slaclaim::extract::{Extraction, Extractor};

/// A customer's mail with this subject, date and plain-text body.
fn mail(subject: &str, date: &str, body: &str) -> Extraction {
    let raw = format!(
        "From: Customer <it@customer.example>\r\nTo: Support <support@partner.example>\r\n\
         Subject: {subject}\r\nDate: {date}\r\nMessage-ID: <t@customer.example>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    );
    extract(raw.as_bytes())
}

fn extract(raw: &[u8]) -> Extraction {
    Extractor::new(&Default::default()).unwrap().extract(raw)
}

/// Windows as "start/end/minutes" in UTC, "HH:MM" when on the mail's day.
fn windows(e: &Extraction) -> Vec<String> {
    e.downtime
        .iter()
        .map(|w| {
            let f = |t: Option<chrono::DateTime<chrono::Utc>>| {
                t.map_or("null".into(), |t| t.format("%m-%d %H:%M").to_string())
            };
            format!("{}/{}/{}", f(w.start), f(w.end), w.minutes)
        })
        .collect()
}

/// Each window's length in minutes.
fn lengths(e: &Extraction) -> Vec<i64> {
    e.downtime.iter().map(|w| w.minutes).collect()
}

const WED_CET: &str = "Wed, 11 Mar 2026 10:00:00 +0100";
const WED_GMT: &str = "Wed, 11 Mar 2026 10:00:00 +0000";

#[test]
fn worded_durations() {
    for (body, minutes) in [
        (
            "Please claim an SLA credit for EX2000001: Outlook was gone for roughly three and a half hours on 10 March.",
            210,
        ),
        (
            "Graag een SLA-creditering voor EX2000002, de mail lag op 10 maart ruim tweeënhalf uur plat.",
            150,
        ),
        (
            "Bitte eine SLA-Gutschrift für EX2000003: am 10. März knapp vier Stunden kein Exchange.",
            240,
        ),
        (
            "SLA credit please for TM2000004, Teams failed for forty-five minutes on 10 March.",
            45,
        ),
        (
            "Graag SLA-creditering voor SP2000005: op 10 maart twee uur en een kwartier geen SharePoint.",
            135,
        ),
    ] {
        let e = mail("SLA credit", WED_CET, body);
        assert_eq!(lengths(&e), [minutes], "{body}");
    }
}

#[test]
fn worded_clock_times() {
    for (body, want) in [
        (
            "Graag een SLA-creditering voor EX2100001. Op 10 maart van kwart over acht tot half elf geen mail.",
            "03-10 07:15/03-10 09:30/135",
        ),
        (
            "Bitte SLA-Gutschrift für EX2100002: am 10. März von viertel nach neun bis dreiviertel elf kein Outlook.",
            "03-10 08:15/03-10 09:45/90",
        ),
        (
            "Bitte SLA-Gutschrift für TM2100003: am 10. März ab halb acht bis zehn nach halb neun kein Teams.",
            "03-10 06:30/03-10 07:40/70",
        ),
        (
            "Please claim an SLA credit for EX2100004: on 10 March mail was down from a quarter past nine until half past eleven.",
            "03-10 08:15/03-10 10:30/135",
        ),
        (
            "Graag SLA-creditering voor SP2100005: op 10 maart van tien voor half drie 's middags tot kwart voor vier.",
            "03-10 13:20/03-10 14:45/85",
        ),
    ] {
        assert_eq!(
            windows(&mail("SLA credit", WED_CET, body)),
            [want],
            "{body}"
        );
    }
}

#[test]
fn dates_relative_midnight_and_month_first() {
    // Relative days count from the Date header; a forwarded mail's from its own date.
    let e = mail(
        "SLA credit",
        WED_CET,
        "Please claim an SLA credit for EX2200001. Yesterday mail was down from 09:00 to 10:30.",
    );
    assert_eq!(windows(&e), ["03-10 08:00/03-10 09:30/90"]);
    let e = mail(
        "SLA-claim",
        WED_CET,
        "Graag een SLA-claim voor EX2200002: eergisteren van 14:00 tot 15:00 geen Teams.",
    );
    assert_eq!(windows(&e), ["03-09 13:00/03-09 14:00/60"]);
    let e = mail(
        "Fwd: outage",
        WED_CET,
        "Please file an SLA credit for the customer below, EX2200003.\n\n---------- Forwarded message ---------\n\
         From: Kim <kim@end-customer.example>\nDate: Mon, 9 Mar 2026 17:40:00 +0100\nSubject: outage\nTo: it@customer.example\n\n\
         Today from 13:10 until 14:05 nobody could send mail.\n",
    );
    assert_eq!(windows(&e), ["03-09 12:10/03-09 13:05/55"]);
    // Across midnight.
    let e = mail(
        "SLA credit",
        WED_CET,
        "Please claim an SLA credit for EX2200004: on 9 March from 23:30 until 01:15 the mail queue was stuck.",
    );
    assert_eq!(windows(&e), ["03-09 22:30/03-10 00:15/105"]);
    // A US sender (Date header west of -3h) writes month first; "Eastern" on 9 March
    // 2026 is already daylight time (UTC-4).
    let e = mail(
        "SLA credit",
        "Wed, 11 Mar 2026 10:00:00 -0400",
        "Please claim an SLA credit for EX2200005: on 03/09/2026 from 9:00 AM to 11:00 AM Eastern email was down.",
    );
    assert_eq!(windows(&e), ["03-09 13:00/03-09 15:00/120"]);
}

#[test]
fn machine_lines() {
    for (body, want) in [
        (
            "Please claim an SLA credit for EX2300001. Our monitor said:\n\nMonitor is DOWN: OWA\n2026-03-10 08:01:30 UTC\n\nMonitor is UP: OWA\n2026-03-10 09:16:30 UTC\n",
            "03-10 08:01/03-10 09:16/75",
        ),
        (
            "SLA credit please, EX2300002. Log:\n2026-03-10 10:00:00 +01:00  UP\n2026-03-10 10:20:00 +01:00  DOWN  timeout\n2026-03-10 10:50:00 +01:00  DOWN  503\n2026-03-10 11:05:00 +01:00  UP\n",
            "03-10 09:20/03-10 10:05/45",
        ),
        (
            "Bitte SLA-Gutschrift für EX2300003. Nagios:\n** PROBLEM alert - mail/SMTP is CRITICAL **\nDate/Time: 10.03.2026 07:40:00\n\n** RECOVERY alert - mail/SMTP is OK **\nDate/Time: 10.03.2026 08:10:00\n",
            "03-10 06:40/03-10 07:10/30",
        ),
        (
            "Graag SLA-creditering voor EX2300004.\n10.03.2026 12:10:00  OK\n10.03.2026 12:15:00  CRITICAL\n10.03.2026 13:45:00  OK\n",
            "03-10 11:15/03-10 12:45/90",
        ),
        (
            "Please claim an SLA credit for SP2300005, newest first from our checker:\n2026-03-10T15:30:00Z UP\n2026-03-10T14:00:00Z DOWN\n",
            "03-10 14:00/03-10 15:30/90",
        ),
    ] {
        assert_eq!(
            windows(&mail("SLA credit", WED_CET, body)),
            [want],
            "{body}"
        );
    }
}

#[test]
fn corrections() {
    for (body, users) in [
        (
            "Please claim an SLA credit for EX2400001. 48 users in Leeds had no mail on 10 March. Sorry: 84 users, not 48.",
            84,
        ),
        (
            "Graag SLA-creditering voor EX2400002: 30 medewerkers in Gouda. Correctie: het waren er niet 30 maar 36.",
            36,
        ),
        (
            "Bitte SLA-Gutschrift für EX2400003: 12 Mitarbeiter in Ulm, nicht 21 wie im Ticket.",
            12,
        ),
        (
            "SLA credit please for TM2400004, 150 staff (not 105) in York could not call.",
            150,
        ),
        (
            "Please claim an SLA credit for EX2400005: 64 users in Bath instead of 46 as I wrote before.",
            64,
        ),
    ] {
        assert_eq!(
            mail("SLA credit", WED_GMT, body).affected_users,
            Some(users),
            "{body}"
        );
    }
}

#[test]
fn tables_of_sites_and_times() {
    let cases: [(&str, u64, &[&str]); 5] = [
        (
            "Please claim an SLA credit for EX2500001.\n\nSite\tUsers\nHull\t20\nYork\t5\nTotal\t25\n",
            25,
            &["Hull", "York"],
        ),
        (
            "SLA credit please, EX2500002.\n\n| Office | Affected |\n|---|---|\n| Leeds | 14 |\n| Wakefield | 6 |\n",
            20,
            &["Leeds", "Wakefield"],
        ),
        (
            "Bitte SLA-Gutschrift für EX2500003.\n\nStandort      Benutzer\nKiel          17\nLübeck        4\n",
            21,
            &["Kiel", "Lübeck"],
        ),
        (
            "Graag SLA-creditering voor EX2500004.\n\nVestiging\tGebruikers\tBegin\tEinde\nDelft\t9\t09:00\t10:30\nGouda\t3\t09:00\t10:30\n",
            12,
            &["Delft", "Gouda"],
        ),
        (
            "Please claim an SLA credit for EX2500005.\n\nLocation  |  Staff  |  Notes\nDerby     |  40     |  HQ\nBelper    |  2      |\n",
            42,
            &["Derby", "Belper"],
        ),
    ];
    for (body, users, places) in cases {
        let e = mail("SLA credit", WED_CET, body);
        assert_eq!(e.affected_users, Some(users), "{body}");
        assert_eq!(e.locations, places, "{body}");
    }
    // The start and end columns make the window.
    let e = mail(
        "SLA credit",
        WED_CET,
        cases[3]
            .0
            .replace("voor EX2500004.", "voor EX2500004, gisteren:")
            .as_str(),
    );
    assert_eq!(windows(&e), ["03-10 08:00/03-10 09:30/90"]);
    // An HTML table whose place column is named by the kind of site, with a Total row.
    let e = alternative_mail(
        "Your email client cannot display this message. Please view it in HTML.",
        "<p>Please submit an SLA credit claim for EX2500006.</p><table><tr><th>Hotel</th>\
         <th>Affected staff</th></tr><tr><td>Lyon</td><td>48</td></tr><tr><td>Grenoble</td>\
         <td>19</td></tr><tr><td><b>Total</b></td><td><b>67</b></td></tr></table>",
    );
    assert_eq!(e.affected_users, Some(67));
    assert_eq!(e.locations, ["Lyon", "Grenoble"]);
    // A column of teams splits the count but names no place.
    let e = mail(
        "SLA credit",
        WED_CET,
        "Please claim an SLA credit for EX2500007.\n\nTeam | Users\nSales | 20\nFinance | 10\n",
    );
    assert_eq!(e.affected_users, Some(30));
    assert!(e.locations.is_empty());
}

#[test]
fn attached_csv_files() {
    let raw = "From: it@customer.example\r\nSubject: SLA credit EX2600001\r\nDate: Wed, 11 Mar 2026 10:00:00 +0000\r\n\
               MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\
               Please claim an SLA credit; the sites are attached.\r\n--b\r\nContent-Type: text/csv; name=sites.csv\r\n\
               Content-Disposition: attachment; filename=sites.csv\r\n\r\nbranch_name;people_affected\r\nBristol;31\r\nBath;9\r\n--b--\r\n";
    let e = extract(raw.as_bytes());
    assert_eq!(e.affected_users, Some(40));
    assert_eq!(e.locations, ["Bristol", "Bath"]);
}

#[test]
fn negation_and_intent() {
    for (subject, body, asks) in [
        (
            "Outage EX2700001",
            "We are not after a credit, just tell us what happened with EX2700001.",
            false,
        ),
        (
            "SLA credit EX2700002",
            "Please drop the claim for EX2700002, we will not claim after all.",
            false,
        ),
        (
            "Re: [SLA-9] your SLA credit claim",
            "Here are the times you asked for: 10 March, 09:00-10:00. Please go ahead and submit it.",
            true,
        ),
        (
            "Creditnota factuur 2026-77",
            "Op factuur 2026-77 staan twee licenties te veel; graag een creditnota.",
            false,
        ),
        (
            "SLA credit EX2700005",
            "Kunnen jullie een SLA-creditering aanvragen voor EX2700005? Exchange was onbereikbaar.",
            true,
        ),
        (
            "SLA credit EX2700006",
            "On second thought, please don't bother with the credit for EX2700006: it was our proxy.",
            false,
        ),
        (
            "Re: [SLA-12] credit claim",
            "Forget about the claim, the outage was on our side after all.",
            false,
        ),
    ] {
        assert_eq!(
            mail(subject, WED_CET, body).credit_requested,
            asks,
            "{body}"
        );
    }
}

#[test]
fn a_mail_posing_as_microsoft_is_other() {
    let raw = "From: \"Microsoft 365 Refunds\" <refunds@m365-credit.example>\r\nSubject: Your SLA credit of EUR 420 is ready\r\n\
               Date: Wed, 11 Mar 2026 10:00:00 +0000\r\n\r\nDue to incident EX2800001 your tenant qualifies for a service credit. \
               Confirm your payment details within 24 hours. Ticket INV-2026-5531.\r\n";
    let e = extract(raw.as_bytes());
    assert_eq!(e.kind.as_str(), "other");
    assert!(e.incident_ids.is_empty() && !e.credit_requested, "{e:?}");
}

#[test]
fn where_the_id_stands() {
    // Only in the Subject.
    let e = mail(
        "SLA credit EX2900001",
        WED_CET,
        "Please claim a service credit, mail was down on 10 March from 9:00 to 10:00.",
    );
    assert_eq!(e.incident_ids, ["EX2900001"]);
    // In lower case.
    let e = mail(
        "SLA credit",
        WED_CET,
        "Please claim a service credit for ex2900002, copied from our notes.",
    );
    assert_eq!(e.incident_ids, ["EX2900002"]);
    // A project code that looks like one.
    let e = mail(
        "SLA credit",
        WED_CET,
        "Please claim a credit for EX2900003. SP2900004 is just our own project number.",
    );
    assert_eq!(e.incident_ids, ["EX2900003"]);
    // A CVE or KB number is no ticket.
    let e = mail(
        "SLA credit",
        WED_CET,
        "Please claim a credit for EX2900005; we had installed KB5031234 for CVE-2026-1234. Our ticket: 77123.",
    );
    assert_eq!(e.ticket_refs, ["77123"]);
    // A link's path is no incident.
    let e = mail(
        "SLA credit",
        WED_CET,
        "Please claim a credit for TM2900006. See https://x.sharepoint.com/sites/EX2900007/a.aspx",
    );
    assert_eq!(e.incident_ids, ["TM2900006"]);
}

#[test]
fn forwarded_microsoft_notices_are_context() {
    let notice = "\n\n---------- Forwarded message ---------\nFrom: Microsoft 365 <o365mc@microsoft.com>\n\
                  Date: Tue, 10 Mar 2026 18:00:00 +0000\nSubject: Service health\nTo: it@customer.example\n\n\
                  EX3000001 - Exchange Online\nUsers can't send mail\nIssue type: Incident\n\
                  Start time: Tuesday, March 10, 2026, at 8:00 AM UTC\nEnd time: Tuesday, March 10, 2026, at 9:40 AM UTC\n\n\
                  SP3000002 - SharePoint Online\nSearch is slow\nIssue type: Advisory\n\
                  Start time: Tuesday, March 10, 2026, at 7:00 AM UTC\n";
    // The customer's own times win over the notice's.
    let e = mail(
        "Fwd: Service health",
        WED_GMT,
        &format!(
            "Please claim an SLA credit for EX3000001 only. For us it was 08:10 to 09:30 UK time yesterday.{notice}"
        ),
    );
    assert_eq!(e.incident_ids, ["EX3000001"]);
    assert_eq!(windows(&e), ["03-10 08:10/03-10 09:30/80"]);
    assert!(!e.advisory, "the advisory beside it is not the claim's");
    // Without the customer's times, the claimed incident's entry gives them.
    let e = mail(
        "Fwd: Service health",
        WED_GMT,
        &format!("Please claim an SLA credit for EX3000001 only.{notice}"),
    );
    assert_eq!(windows(&e), ["03-10 08:00/03-10 09:40/100"]);
}

/// Base64 of `data`, lines of 76 characters.
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out.as_bytes()
        .chunks(76)
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// A mail whose one text/plain part is in base64, as given (perhaps damaged).
fn base64_mail(encoded: &str) -> Extraction {
    let raw = format!(
        "From: Customer <it@customer.example>\r\nTo: Support <support@partner.example>\r\n\
         Subject: SLA credit\r\nDate: {WED_CET}\r\nMessage-ID: <b@customer.example>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{encoded}\r\n"
    );
    extract(raw.as_bytes())
}

#[test]
fn transfer_encoding_damage_loses_nothing() {
    let body = |id: &str, users: u32| {
        format!(
            "Please file an SLA credit claim for {id}. On 10 March from 09:00 to 10:30 CET \
             {users} users in Antwerp could not open their mailboxes. Bought via CSP: yes."
        )
    };
    // Each damage leaves the rest of the part readable (RFC 2045: a decoder ignores
    // characters outside the alphabet).
    type Damage = fn(String) -> String;
    let damages: [(&str, Damage); 5] = [
        ("a stray character", |b| {
            let mut b = b;
            b.insert(10, '!');
            b
        }),
        ("spaces inside lines", |b| b.replacen("\r\n", " \r\n ", 3)),
        ("no padding", |b| b.trim_end_matches('=').to_string()),
        ("a signature line after the data", |b| {
            format!("{b}\r\n-- \r\nsent from my phone")
        }),
        ("lines of unequal length", |b| {
            b.replace("\r\n", "")
                .as_bytes()
                .chunks(50)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join("\r\n")
        }),
    ];
    for (i, (what, damage)) in damages.into_iter().enumerate() {
        let id = format!("EX31000{i:02}");
        let users = 40 + i as u32;
        let e = base64_mail(&damage(base64(body(&id, users).as_bytes())));
        assert_eq!(e.incident_ids, [id.as_str()], "{what}");
        assert_eq!(e.affected_users, Some(u64::from(users)), "{what}");
        assert_eq!(e.locations, ["Antwerp"], "{what}");
        assert_eq!(windows(&e), ["03-10 08:00/03-10 09:30/90"], "{what}");
    }
}

/// A multipart/alternative mail: this text/plain part, then this HTML.
fn alternative_mail(plain: &str, html: &str) -> Extraction {
    let raw = format!(
        "From: Customer <it@customer.example>\r\nTo: Support <support@partner.example>\r\n\
         Subject: Outage claim\r\nDate: {WED_CET}\r\nMessage-ID: <h@customer.example>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{plain}\r\n\
         --b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n--b1--\r\n"
    );
    extract(raw.as_bytes())
}

#[test]
fn placeholder_text_parts_give_way_to_the_html() {
    let html = |id: &str| {
        format!(
            "<html><body><p>Hello,</p><p>We would like an SLA credit for <b>{id}</b>.</p>\
             <table><tr><th>Site</th><th>Users</th></tr><tr><td>Ghent</td><td>30</td></tr>\
             <tr><td>Bruges</td><td>12</td></tr></table>\
             <p>Down on 10&nbsp;March from 13:00 to 14:15 CET.</p></body></html>"
        )
    };
    for (i, plain) in [
        "This message is in HTML format. Please use an HTML-capable mail program to read it.",
        "Your mail client does not support HTML messages.",
        "Diese Nachricht ist im HTML-Format verfasst.",
        "Dit bericht is opgemaakt in HTML.",
        "",
    ]
    .into_iter()
    .enumerate()
    {
        let id = format!("SP32000{i:02}");
        let e = alternative_mail(plain, &html(&id));
        assert_eq!(e.incident_ids, [id.as_str()], "{plain:?}");
        assert!(e.credit_requested, "{plain:?}");
        assert_eq!(e.affected_users, Some(42), "{plain:?}");
        assert_eq!(e.locations, ["Ghent", "Bruges"], "{plain:?}");
        assert_eq!(windows(&e), ["03-10 12:00/03-10 13:15/75"], "{plain:?}");
    }
}

#[test]
fn conversation_structure() {
    // Answers written between our quoted questions.
    let e = mail(
        "Re: [SLA-41] your credit request",
        WED_CET,
        "Answers below.\n\n> Which incident was it?\nEX3300001\n\n> How many users were affected, and where?\n\
         25, all in our Leuven office\n\n> Were the licences bought through us (CSP)?\nYes\n\n\
         > When did it start and end?\n10 March, 11:00 until 12:20 CET\n",
    );
    assert_eq!(e.incident_ids, ["EX3300001"]);
    assert_eq!(e.affected_users, Some(25));
    assert_eq!(e.purchased_via_csp, Some(true));
    assert_eq!(windows(&e), ["03-10 10:00/03-10 11:20/80"]);
    // A reseller forwards its customer's mail inline.
    let e = mail(
        "Fwd: Teams outage",
        WED_CET,
        "Hi, please handle this one for our customer.\n\n---------- Forwarded message ---------\n\
         From: Anna Peeters <anna@bakery.example>\nDate: Tue, 10 Mar 2026 16:05:00 +0100\n\
         Subject: Teams outage\n\nWe want an SLA credit for TM3300002: Teams calls failed today \
         between 14:00 and 15:30 for 18 staff in Mechelen.\n",
    );
    assert_eq!(e.incident_ids, ["TM3300002"]);
    assert_eq!(e.affected_users, Some(18));
    assert_eq!(windows(&e), ["03-10 13:00/03-10 14:30/90"]);
    // Quoted history holds another incident and other numbers: only the new text counts.
    let e = mail(
        "Re: outage",
        WED_CET,
        "This time please claim a credit for EX3300003: 60 users, 10 March 08:00-09:00 CET.\n\n\
         On Mon, 2 Feb 2026 at 10:00, Support <support@partner.example> wrote:\n\
         > Your claim for EX3300099 (300 users, 1 February 14:00-18:00) was filed.\n",
    );
    assert_eq!(e.incident_ids, ["EX3300003"]);
    assert_eq!(e.affected_users, Some(60));
    assert_eq!(windows(&e), ["03-10 07:00/03-10 08:00/60"]);
    // An Outlook reply: the old mail below a header block, not quoted with ">".
    let e = mail(
        "AW: Störung",
        WED_CET,
        "Bitte reichen Sie eine SLA-Gutschrift für EX3300004 ein, 33 Mitarbeiter in Köln, \
         10. März 9:30 bis 11:00 Uhr.\n\n-----Ursprüngliche Nachricht-----\nVon: Support \
         <support@partner.example>\nGesendet: Montag, 2. Februar 2026 10:00\nBetreff: Störung\n\n\
         Die Störung EX3300098 betraf 200 Benutzer.\n",
    );
    assert_eq!(e.incident_ids, ["EX3300004"]);
    assert_eq!(e.affected_users, Some(33));
    assert_eq!(e.locations, ["Köln"]);
    // A Dutch reply above a quoted Dutch question, with the answer "ja" alone.
    let e = mail(
        "Re: [SLA-42] creditaanvraag",
        WED_CET,
        "> Zijn de licenties via ons (CSP) aangeschaft?\nja\n\n\
         Het ging om SP3300005, gisteren van 10.00 tot 11.45 uur, 12 medewerkers in Gent. \
         Graag de SLA-creditering indienen.\n",
    );
    assert_eq!(e.incident_ids, ["SP3300005"]);
    assert_eq!(e.purchased_via_csp, Some(true));
    assert_eq!(windows(&e), ["03-10 09:00/03-10 10:45/105"]);
}

#[test]
fn ranges_that_end_at_a_bare_hour() {
    // The end hour without minutes, in digits or words, often with a word that rounds it.
    for (body, window) in [
        (
            "Please claim an SLA credit for EX3400001. On 10 March Outlook was down from 8:30 until 11 for 20 users.",
            "03-10 07:30/03-10 10:00/150",
        ),
        (
            "SLA credit please for TM3400002: on 10 March Teams failed from half past nine until shortly after eleven.",
            "03-10 08:30/03-10 10:00/90",
        ),
        (
            "Bitte eine SLA-Gutschrift für SP3400003, am 10. März war SharePoint von halb neun bis kurz nach elf weg.",
            "03-10 07:30/03-10 10:00/150",
        ),
        (
            "Graag een SLA-creditering voor EX3400004: op 10 maart van kwart over negen tot kort na twaalf geen mail.",
            "03-10 08:15/03-10 11:00/165",
        ),
        (
            "Please file the SLA credit for EX3400005, on 10 March between 13:20 and 15 mail bounced.",
            "03-10 12:20/03-10 14:00/100",
        ),
    ] {
        let e = mail("SLA credit", WED_CET, body);
        assert_eq!(windows(&e), [window], "{body}");
    }
    // A count after the connector is no end hour.
    let e = mail(
        "SLA credit",
        WED_CET,
        "Please claim an SLA credit for EX3400006: on 10 March from 8:30 up to 11 users could not log in.",
    );
    assert!(
        windows(&e).iter().all(|w| !w.ends_with("/150")),
        "{:?}",
        windows(&e)
    );
}

#[test]
fn counts_listed_under_a_label_without_a_header_row() {
    for (body, users, places) in [
        (
            "Please claim an SLA credit for EX3500001 (10 March, 09:00-11:00 CET).\n\nUsers affected:\n  Harbour office    120\n  Old town           35\n  Total             155\n",
            155,
            &["Harbour office", "Old town"][..],
        ),
        (
            "Please claim an SLA credit for EX3500002.\n\nAffected staff per site:\n- Leeds: 40\n- York: 12\n",
            52,
            &["Leeds", "York"][..],
        ),
        (
            "Graag een SLA-creditering voor EX3500003.\n\nGetroffen medewerkers per vestiging:\n\n- Assen: 18\n- Emmen: 7 medewerkers\n",
            25,
            &["Assen", "Emmen"][..],
        ),
        (
            "Bitte eine SLA-Gutschrift für EX3500004.\n\nBetroffene Benutzer je Standort:\nTrier\t31\nKoblenz\t9\n",
            40,
            &["Trier", "Koblenz"][..],
        ),
        // Departments: the count, no places.
        (
            "Please claim an SLA credit for EX3500005.\n\nAffected users:\n* Sales: 12\n* Finance: 8\n",
            20,
            &[][..],
        ),
    ] {
        let e = mail("SLA credit", WED_CET, body);
        assert_eq!(e.affected_users, Some(users), "{body}");
        assert_eq!(e.locations, places, "{body}");
    }
}

#[test]
fn a_tenant_corrected_beside_the_wrong_one() {
    let (right, wrong) = (
        "2c2d2e2f-1111-4222-8333-444455556666",
        "7a7b7c7d-1111-4222-8333-444455556666",
    );
    for body in [
        format!(
            "Please claim an SLA credit for EX3600001. Our tenant is {right}, not {wrong} as I wrote before."
        ),
        format!(
            "Please claim an SLA credit for EX3600002 for tenant {right} (rather than {wrong}, that was a typo)."
        ),
        format!("Graag een SLA-creditering voor EX3600003, tenant {right} in plaats van {wrong}."),
        format!("Bitte eine SLA-Gutschrift für EX3600004, Mandant {right} statt {wrong}."),
        format!(
            "Please claim an SLA credit for EX3600005. Tenant ID: {right} - not the old tenant ID {wrong}."
        ),
    ] {
        let e = mail("SLA credit", WED_CET, &body);
        assert_eq!(e.tenant_ids, [right], "{body}");
    }
}

#[test]
fn a_part_and_the_rest_make_the_first_count_the_whole() {
    for (body, users) in [
        (
            "Please claim an SLA credit for EX3700001: around 60 staff were affected (45 at HQ in Bristol, the rest in Bath).",
            60,
        ),
        (
            "Please claim an SLA credit for EX3700002. 120 users lost mail, 80 in Cork and the remainder in Limerick.",
            120,
        ),
        (
            "Graag een SLA-creditering voor EX3700003. Er waren 44 medewerkers getroffen, 30 in Breda en de rest in Tilburg.",
            44,
        ),
        (
            "Bitte eine SLA-Gutschrift für EX3700004. 90 Mitarbeiter waren betroffen, davon 60 in Ulm, die übrigen in Augsburg.",
            90,
        ),
        (
            "Please claim an SLA credit for EX3700005: 35 people could not work, 20 at the Hull depot, the others at home.",
            35,
        ),
    ] {
        let e = mail("SLA credit", WED_CET, body);
        assert_eq!(e.affected_users, Some(users), "{body}");
    }
}

#[test]
fn quarters_and_halves_of_an_hour() {
    for (body, window) in [
        (
            "Please claim an SLA credit for EX3800001: on 10 March from 9:10 mail was gone for three quarters of an hour.",
            "03-10 08:10/03-10 08:55/45",
        ),
        (
            "Please claim an SLA credit for EX3800002: on 10 March from 9:10 Teams failed for an hour and a quarter.",
            "03-10 08:10/03-10 09:25/75",
        ),
        (
            "Graag een SLA-creditering voor EX3800003: op 10 maart vanaf 9.10 uur ruim vijf kwartier geen mail.",
            "03-10 08:10/03-10 09:25/75",
        ),
        (
            "Bitte eine SLA-Gutschrift für EX3800004: am 10. März ab 9:10 Uhr eine Dreiviertelstunde kein Exchange.",
            "03-10 08:10/03-10 08:55/45",
        ),
        (
            "Bitte eine SLA-Gutschrift für EX3800005: am 10. März ab 9:10 Uhr eineinviertel Stunden kein SharePoint.",
            "03-10 08:10/03-10 09:25/75",
        ),
    ] {
        let e = mail("SLA credit", WED_CET, body);
        assert_eq!(windows(&e), [window], "{body}");
    }
}

#[test]
fn a_plain_credit_asked_for_after_an_outage() {
    for body in [
        "Outlook was down on 10 March from 9:00 to 11:00 for 8 users (EX3900001). Can you get us a credit for this?",
        "Teams failed on 10 March, 13:00-14:30, incident TM3900002. Could you please ask Microsoft for a credit?",
        "After the SharePoint outage SP3900003 on 10 March (10:00-12:00) we would like a credit.",
        "Hi, please process the request below for our customer.\n\n---------- Forwarded message ---------\n\
         From: Gemma <gemma@customer.example>\nDate: Tue, 10 Mar 2026 at 16:20\nSubject: outage\n\n\
         Today from 10:00 to 13:30 our 11 staff had no email (EX3900004). Can you get us a credit for it?",
        "Exchange outage EX3900005 on 10 March, 08:00-09:30. Would you be able to secure a credit for us?",
    ] {
        let e = mail("Outage", WED_CET, body);
        assert!(e.credit_requested, "{body}");
        assert_eq!(e.incident_ids.len(), 1, "{body}");
    }
    // The same words about an invoice are a billing question.
    let e = mail(
        "Invoice",
        WED_CET,
        "Could you get us a credit for the double-charged invoice 4471?",
    );
    assert!(!e.credit_requested);
}

#[test]
fn counts_said_as_fractions_of_a_dozen_or_of_us() {
    for (body, users) in [
        (
            "Please claim an SLA credit for EX4000001: on 10 March 9:00-10:00 a dozen users in Breda and half a dozen in Oss had no mail.",
            18,
        ),
        (
            "Graag een SLA-creditering voor EX4000002: op 10 maart 9.00-10.00 uur een half dozijn collega's in Venlo zonder mail.",
            6,
        ),
        (
            "Bitte eine SLA-Gutschrift für EX4000003: am 10. März 9:00-10:00 Uhr ein halbes Dutzend Kollegen in Passau ohne Mail.",
            6,
        ),
        (
            "Please claim an SLA credit for EX4000004: on 10 March 9:00-10:00 everyone at our Tilburg office (all 23 of us) was cut off.",
            23,
        ),
        (
            "Please claim an SLA credit for EX4000005: on 10 March 9:00-10:00 the 8 of us in the Kendal branch had no Teams.",
            8,
        ),
    ] {
        let e = mail("SLA credit", WED_CET, body);
        assert_eq!(e.affected_users, Some(users), "{body}");
    }
}

#[test]
fn bare_hours_with_their_part_of_the_day() {
    for (body, window) in [
        (
            "Please claim an SLA credit for EX4100001: on 10 March Teams was down from 8 in the morning until 2 in the afternoon.",
            "03-10 07:00/03-10 13:00/360",
        ),
        (
            "Graag een SLA-creditering voor EX4100002: op 10 maart lag Teams van 's ochtends 8 uur tot 's middags 2 uur plat.",
            "03-10 07:00/03-10 13:00/360",
        ),
        (
            "Bitte eine SLA-Gutschrift für EX4100003: am 10. März war Teams von morgens 8 bis nachmittags um 2 gestört.",
            "03-10 07:00/03-10 13:00/360",
        ),
        (
            "Please claim an SLA credit for EX4100004: on 10 March mail failed from 7 in the evening until 11 at night.",
            "03-10 18:00/03-10 22:00/240",
        ),
        (
            "Graag een SLA-creditering voor EX4100005: op 10 maart van 9 uur 's ochtends tot 1 uur 's middags geen mail.",
            "03-10 08:00/03-10 12:00/240",
        ),
    ] {
        let e = mail("SLA credit", WED_CET, body);
        assert_eq!(windows(&e), [window], "{body}");
    }
}

#[test]
fn four_digit_clock_times() {
    for (body, window) in [
        (
            "Please claim an SLA credit for EX4200001: on 10 March mail was down between 0830 and 1045 GMT.",
            "03-10 08:30/03-10 10:45/135",
        ),
        (
            "Please claim an SLA credit for EX4200002: on 10 March Outlook failed from 0915 to 1120.",
            "03-10 08:15/03-10 10:20/125",
        ),
        (
            "Please claim an SLA credit for EX4200003: outage on 10 March, 1400-1630 UTC.",
            "03-10 14:00/03-10 16:30/150",
        ),
        (
            "Graag een SLA-creditering voor EX4200004: op 10 maart van 0900 tot 1130 uur geen mail.",
            "03-10 08:00/03-10 10:30/150",
        ),
        (
            "Please claim an SLA credit for EX4200005: on 10 March the outage began 0745Z and ended 0930Z.",
            "03-10 07:45/03-10 09:30/105",
        ),
    ] {
        let e = mail("SLA credit", WED_CET, body);
        assert_eq!(windows(&e), [window], "{body}");
    }
    // A year range and a reference are no window.
    let e = mail(
        "SLA credit",
        WED_CET,
        "Please claim an SLA credit for EX4200006, ticket 0830-1045; our contract runs between 2025 and 2026.",
    );
    assert!(e.downtime.is_empty(), "{:?}", windows(&e));
}

#[test]
fn places_where_nobody_was_hit() {
    for (body, users, places) in [
        (
            "Please claim an SLA credit for EX4300001: no users in Leeds were affected, only the 30 in York.",
            30,
            vec!["York"],
        ),
        (
            "Please claim an SLA credit for EX4300002: 40 users in Hull could not log in; nobody in Goole was affected.",
            40,
            vec!["Hull"],
        ),
        (
            "Please claim an SLA credit for EX4300003. Our Leeds office was not affected, but 25 staff in York were.",
            25,
            vec!["York"],
        ),
        (
            "Graag een SLA-creditering voor EX4300004: 25 gebruikers in Gent konden niet inloggen, niemand in Brugge.",
            25,
            vec!["Gent"],
        ),
        (
            "Bitte eine SLA-Gutschrift für EX4300005: 25 Mitarbeiter in Graz waren betroffen, keine Nutzer in Linz.",
            25,
            vec!["Graz"],
        ),
    ] {
        let e = mail("SLA credit", WED_CET, body);
        assert_eq!(e.affected_users, Some(users), "{body}");
        assert_eq!(e.locations, places, "{body}");
    }
}

#[test]
fn a_label_inside_running_text() {
    for (body, users, places) in [
        (
            "Please claim an SLA credit for EX4400001. Users impacted: ~140 (Sheffield). Down on 10 March.",
            140,
            vec!["Sheffield"],
        ),
        (
            "Please claim an SLA credit for EX4400002. Affected users: 75. Down on 10 March.",
            75,
            vec![],
        ),
        (
            "Graag een SLA-creditering voor EX4400003. Aantal gebruikers: 64 (Delft). Storing op 10 maart.",
            64,
            vec!["Delft"],
        ),
        (
            "Bitte eine SLA-Gutschrift für EX4400004. Betroffene Nutzer: 18 (Erfurt). Ausfall am 10. März.",
            18,
            vec!["Erfurt"],
        ),
        (
            "Please claim an SLA credit for EX4400005 from 10 March. Site: Swindon. Number of users: 220.",
            220,
            vec!["Swindon"],
        ),
    ] {
        let e = mail("SLA credit", WED_CET, body);
        assert_eq!(e.affected_users, Some(users), "{body}");
        assert_eq!(e.locations, places, "{body}");
    }
}

#[test]
fn the_csp_answer_in_other_words() {
    for body in [
        "Please claim an SLA credit for EX4500001, down on 10 March; yes, CSP.",
        "Please claim an SLA credit for EX4500002 (10 March). We are a CSP customer of yours.",
        "Bitte eine SLA-Gutschrift für EX4500003 (10. März). Die Abos sind über CSP bezogen.",
        "Graag een SLA-creditering voor EX4500004 (10 maart). Wij zijn CSP-klant bij jullie.",
        "Bitte eine SLA-Gutschrift für EX4500005 (10. März). Lizenzen: ja, über CSP.",
    ] {
        let e = mail("SLA credit", WED_CET, body);
        assert_eq!(e.purchased_via_csp, Some(true), "{body}");
    }
    let e = mail(
        "SLA credit",
        WED_CET,
        "Please claim an SLA credit for EX4500006 (10 March). We are a CSP customer, but of another partner.",
    );
    assert_eq!(e.purchased_via_csp, Some(false));
}

#[test]
fn an_hour_in_words_and_its_minutes() {
    for (body, minutes) in [
        (
            "Please claim an SLA credit for EX4600001: on 10 March mail was down for an hour and 40 minutes.",
            100,
        ),
        (
            "Please claim an SLA credit for EX4600002: on 10 March Teams failed for one hour and twenty minutes.",
            80,
        ),
        (
            "Bitte eine SLA-Gutschrift für EX4600003: am 10. März dauerte der Ausfall eine Stunde und 25 Minuten.",
            85,
        ),
        (
            "Graag een SLA-creditering voor EX4600004: op 10 maart duurde de storing een uur en 10 minuten.",
            70,
        ),
        (
            "Please claim an SLA credit for EX4600005: on 10 March mail was gone for two hours, 15 min.",
            135,
        ),
    ] {
        let e = mail("SLA credit", WED_CET, body);
        assert_eq!(lengths(&e), [minutes], "{body}");
    }
}

#[test]
fn minutes_past_and_to_the_hour() {
    for (body, window) in [
        (
            "Please claim an SLA credit for EX4700001: on 10 March mail failed between ten past nine and twenty to eleven.",
            "03-10 08:10/03-10 09:40/90",
        ),
        (
            "Please claim an SLA credit for EX4700002: on 10 March from twenty-five past eight until 10:00 no Teams.",
            "03-10 07:25/03-10 09:00/95",
        ),
        (
            "Please claim an SLA credit for EX4700003: on 10 March from 9:05 until twenty five to twelve.",
            "03-10 08:05/03-10 10:35/150",
        ),
        (
            "Please claim an SLA credit for EX4700004: on 10 March from five past two in the afternoon until 4:30 pm.",
            "03-10 13:05/03-10 15:30/145",
        ),
        (
            "Graag een SLA-creditering voor EX4700005: op 10 maart vanaf 8 uur 's ochtends tot ongeveer 10 uur.",
            "03-10 07:00/03-10 09:00/120",
        ),
    ] {
        let e = mail("SLA credit", WED_CET, body);
        assert_eq!(windows(&e), [window], "{body}");
    }
}

#[test]
fn answers_to_our_own_quoted_questions() {
    let raw = "From: Customer <it@customer.example>\r\nTo: Support <support@partner.example>\r\n\
        Subject: Re: [Ticket #55123] SLA credit\r\nDate: Wed, 11 Mar 2026 10:00:00 +0000\r\n\
        Message-ID: <a@customer.example>\r\nIn-Reply-To: <t55123@partner.example>\r\n\r\n\
        Answers below.\r\n\r\n> How many users were affected?\r\n63, all in Swansea.\r\n\
        > Was it bought through us?\r\nYes.\r\n\r\nOn Tue, 10 Mar 2026 at 16:00, Support <support@partner.example> wrote:\r\n\
        > We need a few details.\r\n";
    let e = extract(raw.as_bytes());
    assert_eq!(e.purchased_via_csp, Some(true));
    assert_eq!(e.affected_users, Some(63));
}

#[test]
fn start_and_end_fields_that_name_the_outage() {
    for (body, window) in [
        (
            "Graag een SLA-creditering voor EX4800001.\nBegin storing: dinsdag 10 maart 2026 om 14:10\nEinde storing: dinsdag 10 maart 2026 om 16:40",
            "03-10 13:10/03-10 15:40/150",
        ),
        (
            "Bitte eine SLA-Gutschrift für EX4800002.\nBeginn der Störung: 10.03.2026, 08:30 Uhr\nEnde der Störung: 10.03.2026, 10:15 Uhr",
            "03-10 07:30/03-10 09:15/105",
        ),
        (
            "Bitte eine SLA-Gutschrift für EX4800003.\nStörungsbeginn: 10.03.2026 08:30\nStörungsende: 10.03.2026 09:00",
            "03-10 07:30/03-10 08:00/30",
        ),
        (
            "Graag een SLA-creditering voor EX4800004.\nStoringsbegin: 10-03-2026 08:30\nStoringseinde: 10-03-2026 10:00",
            "03-10 07:30/03-10 09:00/90",
        ),
        (
            "Please claim an SLA credit for EX4800005.\nOutage began: 10 March 08:30\nService restored: 10 March 09:45",
            "03-10 07:30/03-10 08:45/75",
        ),
    ] {
        let e = mail("SLA credit", WED_CET, body);
        assert_eq!(windows(&e), [window], "{body}");
    }
}

#[test]
fn bare_hour_ranges_with_a_part_of_the_day_that_names_the_day() {
    for (body, window) in [
        (
            "Please claim an SLA credit for EX4900001. From 9 to 11 this morning no mail.",
            "03-11 08:00/03-11 10:00/120",
        ),
        (
            "Please claim an SLA credit for EX4900002. No Teams from 2 to 4 yesterday afternoon.",
            "03-10 13:00/03-10 15:00/120",
        ),
        (
            "Please claim an SLA credit for EX4900003. Yesterday between 2 and 4 in the afternoon no Teams.",
            "03-10 13:00/03-10 15:00/120",
        ),
        (
            "Graag een SLA-creditering voor EX4900004. Van 9 tot 11 vanochtend geen mail.",
            "03-11 08:00/03-11 10:00/120",
        ),
        (
            "Graag een SLA-creditering voor EX4900005. Gisteren van 2 tot 5 's middags geen mail voor 55 man.",
            "03-10 13:00/03-10 16:00/180",
        ),
        (
            "Please claim an SLA credit for EX4900006. From quarter past two yesterday afternoon until 4:30 pm no Teams.",
            "03-10 13:15/03-10 15:30/135",
        ),
    ] {
        let e = mail("SLA credit", WED_CET, body);
        assert_eq!(windows(&e), [window], "{body}");
    }
}

#[test]
fn a_reply_that_answers_and_says_go_ahead_is_an_update_that_asks() {
    for (subject, body) in [
        (
            "RE: [SLA-88] Outlook outage - details needed",
            "Answers below.\n\n> Which incident ID does the admin centre show?\nEX5000001\n\n\
             > How many users?\n80, all in Leeds\n\nPlease go ahead with the credit claim.\n",
        ),
        (
            "Re: [PSR-2026-00912] Vragen over uw claim",
            "> Welk incident?\nTM5000002\n\nGa je gang met de SLA-claim, dien hem maar in.\n",
        ),
        (
            "AW: Ticket #48213 Rückfragen",
            "> Welche Incident-ID?\nSP5000003\n\nBitte reichen Sie die Gutschrift so bei Microsoft ein.\n",
        ),
    ] {
        let e = mail(subject, WED_GMT, body);
        assert_eq!(e.kind, Kind::TicketUpdate, "{body}");
        assert!(e.credit_requested, "{body}");
        assert_eq!(e.incident_ids.len(), 1, "{body}");
    }
    // A new claim asked for in a reply stays a request.
    let e = mail(
        "RE: [SLA-88] Outlook outage",
        WED_GMT,
        "Sadly it happened again: please file a new SLA credit claim for EX5000004.\n",
    );
    assert_eq!(e.kind, Kind::CreditRequest);
}

#[test]
fn wrapped_requests_stated_totals_and_twelve_hour_ends() {
    // The request wraps across lines, the total precedes its breakdown, the end has no
    // am/pm, and the CSP is "our CSP".
    let e = mail(
        "FW: SharePoint down",
        "Thu, 12 Mar 2026 15:30:00 -0500",
        "Can you take care of this one?\n\n-----Original Message-----\n\
         From: Jo Lin <jlin@lakeside.example>\nSent: Thursday, March 12, 2026 2:10 PM\n\
         Subject: SharePoint down\n\n\
         SharePoint Online was unusable yesterday 3/11 from 9:05 to 12:50 CDT\n\
         (SP5100001). It hit 175 staff: 140 in Madison and the others at our\n\
         Green Bay branch. Can we get a service\ncredit from Microsoft for this? We buy\n\
         through our CSP.\n",
    );
    assert_eq!(e.kind, Kind::CreditRequest);
    assert_eq!(e.incident_ids, ["SP5100001"]);
    assert_eq!(e.affected_users, Some(175));
    assert_eq!(e.purchased_via_csp, Some(true));
    assert_eq!(windows(&e), ["03-11 14:05/03-11 17:50/225"]);
    let e = mail(
        "Storing Teams",
        WED_CET,
        "Op 10 maart konden we van kwart voor tien tot half één niet bellen (TM5100002).\n\
         Dit trof 103 medewerkers: 64 in Eindhoven, 27 in Tilburg en 12 in Breda.\n\
         Kunnen jullie hiervoor een servicecredit aanvragen?\n",
    );
    assert_eq!(e.kind, Kind::CreditRequest);
    assert_eq!(e.affected_users, Some(103));
    assert_eq!(windows(&e), ["03-10 08:45/03-10 11:30/165"]);
    let e = mail(
        "Exchange outage",
        WED_GMT,
        "Please claim an SLA credit for EX5100003: on 10 March mail was down from 10:40 to 1:15 GMT.\n",
    );
    assert_eq!(windows(&e), ["03-10 10:40/03-10 13:15/155"]);
}

#[test]
fn written_fractions_and_dated_start_and_end() {
    for (body, minutes) in [
        (
            "Please claim an SLA credit for EX5200001: mail was down for 2½ hours on 10 March.",
            150,
        ),
        (
            "Please claim an SLA credit for EX5200002: Teams was out for 1 3/4 hrs on 10 March.",
            105,
        ),
        (
            "Graag een SLA-claim voor EX5200003: op 10 maart ¾ uur geen mail.",
            45,
        ),
        (
            "Please claim an SLA credit for EX5200004: no SharePoint for 90+ minutes on 10 March.",
            90,
        ),
    ] {
        let e = mail("SLA credit", WED_GMT, body);
        assert_eq!(lengths(&e), [minutes], "{body}");
    }
    for body in [
        "Please claim an SLA credit for EX5200005. It started 10/03/2026 08:00 GMT and ended 10/03/2026 09:30 GMT.",
        "Please claim an SLA credit for EX5200006. Start: 10/03/2026 08:00 GMT, End: 10/03/2026 09:30 GMT.",
        // Month first from a US sender whose Date header is in UTC: day first would be
        // 3 October, after the mail.
        "Please claim an SLA credit for EX5200007. On 03/10/2026 from 8:00 AM to 9:30 AM UTC mail was down.",
    ] {
        let e = mail("SLA credit", WED_GMT, body);
        assert_eq!(windows(&e), ["03-10 08:00/03-10 09:30/90"], "{body}");
    }
}

#[test]
fn hours_with_their_mark_quarter_fractions_outage_headed_tables_and_subject_ids() {
    // "8h45" and "10h" after words that lead a time: clock times, not ten hours.
    let e = mail(
        "SLA credit SP5300001",
        WED_CET,
        "SharePoint was unreachable on 10 March from 8h45 until 10h for 19 users in Namur.\n\
         Please request the service credit.\n",
    );
    assert_eq!(windows(&e), ["03-10 07:45/03-10 09:00/75"]);
    let e = mail(
        "Storing EX5300002",
        WED_CET,
        "Op 10 maart lag de mail plat van 7u tot 9u30, 12 gebruikers in Gent. Graag een servicecredit aanvragen.\n",
    );
    assert_eq!(windows(&e), ["03-10 06:00/03-10 08:30/150"]);
    // A start and "some N and a quarter hours later".
    let e = mail(
        "Exchange outage EX5300003",
        WED_GMT,
        "Mail stopped at 13:20 on 10 March and returned some three and a quarter hours later.\n\
         Please claim the SLA credit.\n",
    );
    assert_eq!(windows(&e), ["03-10 13:20/03-10 16:35/195"]);
    // A table whose time columns are headed "Offline from" and "Offline until".
    let e = mail(
        "Credit for outage EX5300004",
        WED_GMT,
        "Please claim the SLA credit. Per branch:\n\n\
         Branch     Staff   Offline from   Offline until\n\
         Cardiff    16      07:05          08:20\n\
         Swansea    6       07:05          08:20\n",
    );
    assert_eq!(e.affected_users, Some(22));
    // No date given: the mail's own day.
    assert_eq!(windows(&e), ["03-11 07:05/03-11 08:20/75"]);
    // A reply that answers with the details and names the incident only in the Subject.
    let e = mail(
        "Re: [SLA-412] credit for TM5300005 - details",
        WED_GMT,
        "> How many users?\n27, in Exeter.\n\nPlease go ahead and file it.\n",
    );
    assert_eq!(e.kind, Kind::TicketUpdate);
    assert_eq!(e.incident_ids, ["TM5300005"]);
    assert_eq!(e.affected_users, Some(27));
    // Under a Subject that names a credit, a body that wants none.
    let e = mail(
        "Credit request EX5300006",
        WED_GMT,
        "To be clear, we are not after a refund; we only want to know if EX5300006 is fixed.\n",
    );
    assert!(!e.credit_requested);
}

#[test]
fn failure_and_recovery_verbs_weekdays_with_their_part_of_the_day_and_listed_sites() {
    // A start said by the failure ("went down", "fiel … aus", "viel … weg") and an end by
    // the recovery ("came back", "lief wieder", "werkte weer").
    for body in [
        "On Tuesday 10 March Exchange went down at 15:05 and only came back at 16:35. Please claim an SLA credit for EX5400001.",
        "Am Dienstag, 10. März, fiel Exchange um 15:05 aus und lief erst um 16:35 wieder. Bitte eine SLA-Gutschrift für EX5400002.",
        "Dinsdag 10 maart om 15.05 viel Exchange weg, pas om 16.35 werkte het weer. Graag een servicecredit voor EX5400003.",
    ] {
        let e = mail("Exchange outage", WED_GMT, body);
        assert_eq!(windows(&e), ["03-10 15:05/03-10 16:35/90"], "{body}");
    }
    // The weekday with its part of the day written onto it names both.
    let e = mail(
        "Storing TM5400004",
        WED_CET,
        "Dinsdagmiddag tussen kwart over twee en tien voor vier lag Teams eruit. Graag een servicecredit aanvragen.\n",
    );
    assert_eq!(windows(&e), ["03-10 13:15/03-10 14:50/95"]);
    let e = mail(
        "Ausfall TM5400005",
        WED_CET,
        "Dienstagnachmittag von halb drei bis Viertel nach vier ging Teams nicht. Bitte eine Gutschrift beantragen.\n",
    );
    assert_eq!(windows(&e), ["03-10 13:30/03-10 15:15/105"]);
    // A users field that lists sites with their counts, either way round.
    let e = mail(
        "SLA credit EX5400006",
        WED_GMT,
        "Please claim the SLA credit. Outage on 10 March 08:00-09:00 GMT.\nUsers affected: Truro 23, Penzance 11, St Ives 4\n",
    );
    assert_eq!(e.affected_users, Some(38));
    assert_eq!(e.locations, ["Truro", "Penzance", "St Ives"]);
    let e = mail(
        "Gutschrift EX5400007",
        WED_CET,
        "Bitte eine SLA-Gutschrift beantragen. Ausfall am 10.03. von 8 bis 9 Uhr.\nBetroffene Mitarbeiter: 52 (Linz) und 17 (Wels), insgesamt 69\n",
    );
    assert_eq!(e.affected_users, Some(69));
}

#[test]
fn status_fields_wrapped_asides_money_back_regions_and_breakdowns_of_any_noun() {
    // An alert block laid out as fields, its time a line below its state.
    let e = mail(
        "SLA credit EX5400011",
        WED_CET,
        "Please claim the SLA credit; our monitor's alerts:\n\nService: Exchange SMTP\nCurrent status: Offline\nChecked at: 2026-03-10 09:14:05 CET\n\nService: Exchange SMTP\nCurrent status: Online\nChecked at: 2026-03-10 10:02:35 CET\n",
    );
    assert_eq!(windows(&e), ["03-10 08:14/03-10 09:02/48"]);
    // A wrapped sentence whose second line holds "(ref: …)" is not a field: its window
    // and the counts after it stay whole ("kurz vor elf" keeps the hour it names).
    let e = mail(
        "Gutschrift",
        WED_CET,
        "Am Dienstag war Teams bei uns von Viertel nach neun bis\nkurz vor elf nicht erreichbar (Ticket Microsoft: TM5400012). Betroffen waren 20 Kollegen\nin Krems und 5 in Melk, zusammen also 25 Leute. Bitte eine Gutschrift beantragen.\n",
    );
    assert_eq!(windows(&e), ["03-10 08:15/03-10 10:00/105"]);
    assert_eq!(e.affected_users, Some(25));
    assert_eq!(e.locations, ["Krems", "Melk"]);
    // Money back asked for in plain words, lower case throughout.
    let e = mail(
        "teams",
        WED_GMT,
        "teams was gone for us tuesday morning, TM5400013. could we have some money back for that?\n",
    );
    assert_eq!(e.kind.as_str(), "credit_request");
    assert!(e.credit_requested);
    // A North American region, any noun in a breakdown, "your CSP program" wrapped.
    let e = mail(
        "Credit request EX5400014",
        "Wed, 11 Mar 2026 10:00:00 -0500",
        "On 3/10/2026 mail was unavailable from 9:05 AM to 10:20 AM Mountain. 16 dispatchers and drivers in Boise and 4 in Nampa were affected.\nTenant: 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d -- licences bought through your\nCSP program. Please file the SLA credit.\n",
    );
    assert_eq!(windows(&e), ["03-10 15:05/03-10 16:20/75"]);
    assert_eq!(e.affected_users, Some(20));
    assert_eq!(e.purchased_via_csp, Some(true));
}

#[test]
fn dutch_hour_forms_later_guid_corrections_clock_minutes_and_common_nouns() {
    // Dutch hours in their own form, a credit asked for as "creditverzoek".
    let e = mail(
        "Storing Exchange",
        WED_CET,
        "Dinsdag lag Exchange eruit van tegen achten tot kort na tienen (EX5400021). 12 medewerkers in Zeist. Willen jullie het creditverzoek indienen?\n",
    );
    assert_eq!(windows(&e), ["03-10 07:00/03-10 09:00/120"]);
    assert!(e.credit_requested);
    // A GUID called a subscription sentences after it is no tenant.
    let e = mail(
        "SLA credit EX5400022",
        WED_GMT,
        "Please claim the SLA credit. Tenant 11111111-2222-4333-8444-555555555555.\nMail was down for an hour on Tuesday.\n\nApologies, the ID I gave is actually our Azure subscription ID; tenant: 66666666-7777-4888-9999-aaaaaaaaaaaa\n",
    );
    assert_eq!(e.tenant_ids, ["66666666-7777-4888-9999-aaaaaaaaaaaa"]);
    // The minutes of "9:30 am Pacific" count nobody; a German common noun is no place.
    let e = mail(
        "SLA credit EX5400023",
        "Wed, 11 Mar 2026 10:00:00 -0700",
        "Please file an SLA credit: 14 technicians in Fresno lost mail from 8:10 to 9:30 am Pacific on 3/10.\n",
    );
    assert_eq!(e.affected_users, Some(14));
    assert_eq!(e.locations, ["Fresno"]);
    let e = mail(
        "Gutschrift EX5400024",
        WED_CET,
        "Bitte eine SLA-Gutschrift beantragen: 6 Kollegen im Außendienst und 30 in Minden konnten am 10.03. von 9 bis 10 Uhr nicht mailen.\n",
    );
    assert_eq!(e.affected_users, Some(36));
    assert_eq!(e.locations, ["Minden"]);
}

#[test]
fn any_noun_for_people_hit_a_count_after_its_place_and_amending_a_claim() {
    let e = mail(
        "WG: Störung Teams",
        WED_CET,
        "Bitte eine Gutschrift beantragen.\n\n-------- Weitergeleitete Nachricht --------\nVon: Filiale <filiale@customer.example>\nDatum: 10.03.2026 17:00\nBetreff: Störung Teams\n\nHeute von 13:40 bis 15:10 ging Teams nicht (TM5400031). 9 Kassiererinnen in Enns und die Lageristen in Steyr (4) konnten nicht arbeiten.\n",
    );
    assert_eq!(e.affected_users, Some(13));
    assert_eq!(e.locations, ["Enns", "Steyr"]);
    // A reply in a claim's thread asking to put its corrections in goes ahead.
    let e = mail(
        "Re: SLA credit EX5400032",
        WED_GMT,
        "Sorry, my mistake: it was 30 users, not 13. Please amend the claim.\n",
    );
    assert!(e.credit_requested);
    assert_eq!(e.affected_users, Some(30));
}

#[test]
fn afternoon_hours_in_the_americas_wrapped_fields_contracted_corrections_and_krediet() {
    // Worded times from a writer in the Americas: "quarter to two" is the afternoon.
    let e = mail(
        "Teams calling down - compensation?",
        "Fri, 13 Nov 2026 16:40:00 -0500",
        "Our front desk (19 people at the Dayton clinic, another 5 over in Xenia) lost Teams calling yesterday from quarter to two until ten past four Eastern. TM5400041. Is any compensation available?\n",
    );
    assert_eq!(windows(&e), ["11-12 18:45/11-12 21:10/145"]);
    assert_eq!(e.affected_users, Some(24));
    assert_eq!(e.locations, ["Dayton", "Xenia"]);
    // A field of running text the mail program wrapped, with bare counts after places.
    let e = mail(
        "AW: Gutschrift SP5400042",
        WED_CET,
        "Nachtrag: betroffen waren gestern insgesamt 27 Nutzer, aufgeteilt auf\nRosenheim (20) und Wasserburg (7). Bitte beantragen Sie die Gutschrift.\n",
    );
    assert_eq!(e.affected_users, Some(27));
    assert_eq!(e.locations, ["Rosenheim", "Wasserburg"]);
    // A contracted negation corrects a count; the unit goes with the right value.
    let e = mail(
        "Re: SLA credit EX5400043",
        WED_GMT,
        "Small fix, sorry: it wasn't 40 users, it was 64. Please go ahead.\n",
    );
    assert_eq!(e.affected_users, Some(64));
    // "kredietaanvraag" alone asks for a credit.
    let e = mail(
        "Storing Exchange",
        WED_CET,
        "Wij willen een kredietaanvraag indienen voor EX5400044: gisteren van 9 tot 11 uur konden 15 medewerkers in Assen niet mailen.\n",
    );
    assert_eq!(e.kind, Kind::CreditRequest);
    assert_eq!(e.incident_ids, ["EX5400044"]);
    // Places with bare counts in parentheses, in a statement about people hit.
    let e = mail(
        "SLA claim",
        WED_GMT,
        "Please lodge a service credit claim for EX5400045. Sligo (12) and Ennis (4) were hit for two hours on Tuesday; Tralee wasn't affected.\n",
    );
    assert_eq!(e.affected_users, Some(16));
    assert_eq!(e.locations, ["Sligo", "Ennis"]);
    // A status question under a credit Subject asks for nothing.
    let e = mail(
        "Frage zur Gutschrift",
        WED_CET,
        "Hallo, gibt es schon etwas Neues zu unserem Antrag wegen EX5400046? Wir haben noch nichts gehört.\n",
    );
    assert!(!e.credit_requested, "{e:?}");
}

#[test]
fn a_morning_hour_with_minutes_after_an_evening_start_krediet_aanvragen_and_entitlement_lures() {
    // An evening start, and an end whose morning is named before an hour with minutes:
    // the evening word moves only the start.
    let e = mail(
        "Gutschrift EX5410001",
        WED_CET,
        "Bitte beantragen Sie die Gutschrift: gestern Abend ab halb elf war Exchange weg, erst heute morgens um 5:50 Uhr ging es wieder. 9 Nutzer in Fulda.\n",
    );
    assert_eq!(windows(&e), ["03-10 21:30/03-11 04:50/440"]);
    // "het krediet aanvragen" asks for a credit.
    let e = mail(
        "Storing SharePoint",
        WED_CET,
        "Gisteren van 14 tot 16 uur was SharePoint (SP5410002) onbereikbaar voor 22 collega's in Breda. Kunnen jullie het krediet voor ons aanvragen?\n",
    );
    assert_eq!(e.kind, Kind::CreditRequest);
    assert!(e.credit_requested);
    // The afternoon said in one sentence, the times "at about ten to two" and "by five
    // to four" in the next.
    let e = mail(
        "SLA credit EX5410004",
        WED_GMT,
        "SharePoint let us down yesterday afternoon. It stopped at about ten to two and was only back by five to four. Please claim the credit.\n",
    );
    assert_eq!(windows(&e), ["03-10 13:50/03-10 15:55/125"]);
    // Places listed after a count of people, each with its count and the noun left out.
    let e = mail(
        "SLA credit EX5410005",
        WED_GMT,
        "Mail was down yesterday from 9:00 to 10:30. Exeter had 21 people stuck, Taunton 9, Yeovil 4. Please claim the credit.\n",
    );
    assert_eq!(e.affected_users, Some(34));
    assert_eq!(e.locations, ["Exeter", "Taunton", "Yeovil"]);
    // A lure that says the reader is entitled to a refund asks for nothing.
    let e = mail(
        "Refund pending",
        WED_GMT,
        "Because of incident EX5410003 you are now entitled to a service credit. To receive your credit, verify your account and card details today.\n",
    );
    assert!(!e.credit_requested, "{e:?}");
}
