//! Worst-case message generators: the inputs an attacker or an unlucky customer would
//! send to make a reading stage slow or large. Shared by the tests (`tests/poison.rs`)
//! and the benchmark (`benches/worst.rs`); every generator builds a whole RFC 5322
//! message of about `size` bytes, deterministically.

#![allow(dead_code)]

/// One class of hostile input.
pub struct Case {
    /// Short name, for tables and assertion messages.
    pub name: &'static str,
    /// Builds a message of about the given size in bytes.
    pub build: fn(usize) -> Vec<u8>,
}

/// Every class, in the order the benchmark table prints them.
pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "html-deep-quotes",
            build: html_deep_quotes,
        },
        Case {
            name: "html-deep-blocks",
            build: html_deep_blocks,
        },
        Case {
            name: "html-entities-tags",
            build: html_entities_tags,
        },
        Case {
            name: "anchors-en",
            build: |n| anchors(n, ANCHORS_EN),
        },
        Case {
            name: "anchors-nl",
            build: |n| anchors(n, ANCHORS_NL),
        },
        Case {
            name: "anchors-de",
            build: |n| anchors(n, ANCHORS_DE),
        },
        Case {
            name: "from-to-repeated",
            build: |n| anchors(n, &["from 09:15 to "]),
        },
        Case {
            name: "starting-at-repeated",
            build: |n| anchors(n, &["starting at 09:15 "]),
        },
        Case {
            name: "next-morning-repeated",
            build: |n| anchors(n, &["until the next morning "]),
        },
        Case {
            name: "times-no-space",
            build: |n| anchors(n, &["9:15-10:30,"]),
        },
        Case {
            name: "ids-and-numbers",
            build: |n| anchors(n, ANCHORS_IDS),
        },
        Case {
            name: "quote-markers",
            build: quote_markers,
        },
        Case {
            name: "endless-line",
            build: endless_line,
        },
        Case {
            name: "endless-digits",
            build: endless_digits,
        },
        Case {
            name: "tiny-parts",
            build: tiny_parts,
        },
        Case {
            name: "deep-multipart",
            build: deep_multipart,
        },
        Case {
            name: "huge-headers",
            build: huge_headers,
        },
        Case {
            name: "address-lists",
            build: address_lists,
        },
        Case {
            name: "spoken-and-corrected",
            build: |n| anchors(n, SPOKEN),
        },
        Case {
            name: "monitor-and-notices",
            build: |n| anchors(n, MACHINE),
        },
    ]
}

/// What the rewriting stage reads: times and numbers in words and corrections, packed.
const SPOKEN: &[&str] = &[
    "van kwart over negen tot tien voor half elf 's avonds ",
    "two and a half hours and three quarters ",
    "halb elf zwölf dreiviertel neun ",
    "dreihundertfünfundzwanzig Mitarbeiter ",
    "84 users, not 48; not 9:30 but 9:45 ",
    "tweeënhalf uur en een kwartier ",
];

/// Monitor events, Microsoft's entry headings and table rows of times, packed.
const MACHINE: &[&str] = &[
    "Monitor is DOWN 2026-03-16 08:00:00 UTC\n",
    "2026-03-16 09:00:00 +01:00 UP\n",
    "EX1234567 - Exchange Online\nIssue type: Advisory\n",
    "Site\tUsers\tStart\tEnd\nHull\t5\t09:00\t10:00\n",
];

/// Every anchor phrase the English readers key on, with their values.
const ANCHORS_EN: &[&str] = &[
    "from 09:15 to 11:40 ",
    "starting at 09:15 for 2 hours ",
    "until the next morning ",
    "between 9:00 and 10:30 on 14 March ",
    "since yesterday 8am ",
    "restored at 14:05 CEST ",
    "Duration: 2h 30m\n",
    "Start: 2026-03-14 09:15\n",
    "about two and a half hours ",
    "last Monday at noon ",
    "we request an SLA credit ",
    "120 users in Amsterdam and 40 in Utrecht ",
    "Affected users: 95\n",
    "bought through CSP: yes\n",
    "we restarted Outlook and cleared the cache ",
    "Tenant ID: ",
    "Ticket #48213 ",
    "Phone: +31 20 123 4567\n",
    ". ",
];

const ANCHORS_NL: &[&str] = &[
    "van 09:15 tot 11:40 ",
    "vanaf 9 uur gedurende 2 uur ",
    "tot de volgende ochtend ",
    "tussen 9:00 en 10:30 op 14 maart ",
    "sinds gisteren 8 uur ",
    "hersteld om 14:05 ",
    "Duur: ruim anderhalf uur\n",
    "Begintijd: 14-03-2026 09:15\n",
    "afgelopen maandag rond middernacht ",
    "wij verzoeken om een creditering ",
    "120 gebruikers in Amsterdam en 40 in Utrecht ",
    "Aantal gebruikers: 95\n",
    "via CSP gekocht: ja\n",
    "opgelost ",
    ". ",
];

const ANCHORS_DE: &[&str] = &[
    "von 09:15 bis 11:40 Uhr ",
    "ab 9 Uhr etwa drei Stunden ",
    "bis zum nächsten Morgen ",
    "zwischen 9:00 und 10:30 am 14. März ",
    "seit gestern 8 Uhr ",
    "behoben um 14:05 MESZ ",
    "Dauer: knapp drei Stunden\n",
    "Startzeit: 14.03.2026 09:15\n",
    "letzten Montag gegen Mittag ",
    "wir bitten um eine Gutschrift ",
    "120 Benutzer in Berlin und 40 in Hamburg ",
    "Betroffene Benutzer: 95\n",
    "über CSP gekauft: ja\n",
    "wieder ",
    ". ",
];

const ANCHORS_IDS: &[&str] = &[
    "EX1234567 ",
    "c0ffee00-1234-4abc-8def-0123456789ab ",
    "#48213 ",
    "PSR-2026-00417 ",
    "2603040010003391 ",
    "[SLA-12] ",
    "1,200 users ",
    "0a1b2c3d-",
    "CVE-2026-1234 ",
    "KB5001234 ",
];

fn head(content_type: &str, extra: &str) -> String {
    format!(
        "From: Dana Vos <dana@harbourfinch.example>\r\nTo: support@partner.example\r\n\
         Subject: SLA credit request EX1234567\r\nDate: Mon, 16 Mar 2026 10:00:00 +0100\r\n\
         Message-ID: <worst@harbourfinch.example>\r\nMIME-Version: 1.0\r\n{extra}\
         Content-Type: {content_type}\r\n\r\n"
    )
}

/// Repeats `pieces` in turn until the whole message reaches `size`.
fn fill(mut out: String, size: usize, pieces: &[&str]) -> Vec<u8> {
    let mut k = 0;
    while out.len() < size {
        out.push_str(pieces[k % pieces.len()]);
        k += 1;
    }
    out.into_bytes()
}

/// Blockquotes nested as deep as half the message, then line breaks inside them.
fn html_deep_quotes(size: usize) -> Vec<u8> {
    let mut out = head("text/html; charset=utf-8", "");
    let half = size / 2;
    while out.len() < half {
        out.push_str("<blockquote>");
    }
    fill(out, size, &["<br>", "x<br>"])
}

/// Every block and table tag nested, then text.
fn html_deep_blocks(size: usize) -> Vec<u8> {
    let mut out = head("text/html; charset=utf-8", "");
    let half = size / 2;
    while out.len() < half {
        out.push_str("<div><table><tr><td><ul><li><p>");
    }
    fill(out, size, &["a</td>", "<li>b", "</p>"])
}

/// Entities, broken entities and unterminated tags, mixed.
fn html_entities_tags(size: usize) -> Vec<u8> {
    let out = head("text/html; charset=utf-8", "");
    fill(
        out,
        size,
        &[
            "&amp;",
            "&#x41;",
            "&nbsp;",
            "&bogus",
            "<",
            "<!--",
            "--><",
            "<p",
            "&#99999999;",
        ],
    )
}

/// A plain-text claim whose body repeats anchor phrases.
fn anchors(size: usize, pieces: &[&str]) -> Vec<u8> {
    let out = head("text/plain; charset=utf-8", "");
    fill(out, size, pieces)
}

/// Quote markers, attribution lines and forwarded-message separators, nested.
fn quote_markers(size: usize) -> Vec<u8> {
    let out = head("text/plain; charset=utf-8", "");
    fill(
        out,
        size,
        &[
            "> > > > > > > > > > > > > > > > > > > > \n",
            "On Mon, 16 Mar 2026 at 10:00, Dana wrote:\n",
            "---------- Forwarded message ---------\n",
            "From: x@y.example\nSent: Monday\nTo: z\nSubject: re\n",
            "-- \n",
            "Van: a\nVerzonden: b\n",
            "\n",
        ],
    )
}

/// One line with no break at all.
fn endless_line(size: usize) -> Vec<u8> {
    let out = head("text/plain; charset=utf-8", "");
    fill(out, size, &["outage", "x"])
}

/// One line of digits, separators and hyphens (number, date and GUID shapes).
fn endless_digits(size: usize) -> Vec<u8> {
    let out = head("text/plain; charset=utf-8", "");
    fill(out, size, &["12", ":", "30", "-", "0a1b", ".", "2026", "/"])
}

/// Thousands of tiny text parts.
fn tiny_parts(size: usize) -> Vec<u8> {
    let mut out = head("multipart/mixed; boundary=\"b\"", "");
    while out.len() < size {
        out.push_str("--b\r\nContent-Type: text/plain\r\n\r\nEX1234567 from 9:00 to 10:00\r\n");
    }
    out.push_str("--b--\r\n");
    out.into_bytes()
}

/// Multiparts nested inside each other as deep as the size allows.
fn deep_multipart(size: usize) -> Vec<u8> {
    let mut out = head("multipart/mixed; boundary=\"b0\"", "");
    let mut i = 0usize;
    while out.len() < size {
        out.push_str(&format!(
            "--b{i}\r\nContent-Type: multipart/mixed; boundary=\"b{}\"\r\n\r\n",
            i + 1
        ));
        i += 1;
    }
    out.into_bytes()
}

/// One enormous Subject, folded, and References with thousands of IDs.
fn huge_headers(size: usize) -> Vec<u8> {
    let mut extra = String::from("References:");
    let mut k = 0usize;
    while extra.len() < size / 2 {
        extra.push_str(&format!(" <ref{k}@x.example>\r\n"));
        k += 1;
    }
    extra.push_str("X-Subject:");
    while extra.len() < size {
        extra.push_str(" EX1234567 from 9:00 to 10:00\r\n");
    }
    head("text/plain", &extra)
        .into_bytes()
        .into_iter()
        .chain(b"Please credit us.\r\n".iter().copied())
        .collect()
}

/// To and Cc lists with thousands of addresses.
fn address_lists(size: usize) -> Vec<u8> {
    let mut extra = String::from("Cc:");
    let mut k = 0usize;
    while extra.len() < size {
        extra.push_str(&format!(" \"User {k}\" <user{k}@customer.example>,\r\n"));
        k += 1;
    }
    extra.push_str(" last@customer.example\r\n");
    let mut out = head("text/plain", &extra);
    out.push_str("Please credit us.\r\n");
    out.into_bytes()
}

/// The yardstick: a real credit request padded with ordinary prose to `size`.
pub fn ordinary(size: usize) -> Vec<u8> {
    let mut out = head("text/plain; charset=utf-8", "");
    out.push_str(
        "Hello support,\r\n\r\nOn 14 March 2026 Exchange Online was down for us from 09:15 to \
         11:40 CET (incident EX1234567). About 120 users in Amsterdam and Utrecht could not \
         send or receive mail. We restarted Outlook and checked the service health page.\r\n\
         Tenant ID: c0ffee00-1234-4abc-8def-0123456789ab\r\nOur licences were bought through \
         you as our CSP. Please claim the SLA credit for us.\r\n\r\n",
    );
    const PROSE: &[&str] = &[
        "Our team has been working on the quarterly report, and the finance department asked \
         whether the new invoices can be sent to the shared mailbox instead of the old one. ",
        "We also noticed that some of the meeting rooms still show the previous booking \
         policy, which confuses visitors who reserve a room for the afternoon. ",
        "The new colleagues who joined last week have received their laptops, although two \
         of them are still waiting for a docking station and a second screen. ",
        "Could you let us know whether the training session on document sharing can take \
         place in the spring, preferably on a day when most of the staff are in the office?\r\n",
        "Apart from that everything runs smoothly, and we appreciate the quick responses we \
         usually get from your service desk when something needs attention. ",
        "Kind regards from the operations team, who would like to thank you once more for \
         the help during the migration of our file shares.\r\n\r\n",
    ];
    let mut bytes = fill(out, size.saturating_sub(60), PROSE);
    bytes.extend_from_slice(b"\r\nDana Vos\r\nPhone: +31 20 123 4567\r\n");
    bytes
}
