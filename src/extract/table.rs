//! Tables of affected users per site: tab-separated, pipe, space-aligned and HTML tables
//! (which reach us as tab-separated rows), with the meaning of each column taken from its
//! header row, and a Total row when there is one.

use crate::mail::pattern::Pattern;
use regex::Regex;

/// What a table of sites says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteCounts {
    /// Its Total row, when it has one.
    pub total: Option<u64>,
    /// Each site and its count, in order.
    pub sites: Vec<(String, u64)>,
    /// The header row, for the evidence.
    pub source: String,
    /// Whether the names are places (a place column; a list that says it is per site).
    pub places: bool,
}

impl SiteCounts {
    /// The number affected: the Total row, else the sum of the rows.
    pub fn count(&self) -> u64 {
        self.total
            .unwrap_or_else(|| self.sites.iter().map(|(_, n)| n).sum())
    }
}

/// Header words of a column of affected people (en, nl, de). Adding a language is adding
/// its words here.
static USERS_COLUMN: Pattern<Regex> = re!(
    r"(?i)\b(users?|affected|staff|employees|people|accounts|seats|count|number|gebruikers|medewerkers|getroffen|aantal|personen|benutzer|nutzer|mitarbeiter(innen)?|betroffene?|anzahl|personen)\b|^#$"
);
/// Header words of a column of places.
static PLACE_COLUMN: Pattern<Regex> = re!(
    r"(?i)\b(office|site|location|branch|city|town|building|campus|school|store|shop|region|country|state|hotel|clinic|practice|hospital|warehouse|depot|plant|factory|vestiging|locatie|kantoor|stad|plaats|filiaal|gebouw|winkel|praktijk|ziekenhuis|magazijn|fabriek|land|provincie|standort|niederlassung|filiale|ort|stadt|gebäude|büro|werk|praxis|klinik|krankenhaus|lager|fabrik|land|bundesland)\b"
);
/// A row that sums the others.
static TOTAL_ROW: Pattern<Regex> =
    re!(r"(?i)^\W*(total|totaal|totalen|gesamt|summe|insgesamt|sum|in total|overall)\W*$");
/// Cells of a space-aligned row: two spaces or more apart.
static WIDE_GAP: Pattern<Regex> = re!(r"\s{2,}");

/// Rows read at most: a table of sites is short; a log pasted as a table is not one.
const MAX_ROWS: usize = 200;

/// The cells of a row, or None when the line is no table row.
fn cells(line: &str) -> Option<Vec<String>> {
    let line = line.trim();
    // Empty cells keep their place in tab and pipe rows (a Total row's empty "since").
    let mut cells: Vec<String> = if line.contains('\t') {
        line.split('\t').map(|c| c.trim().to_string()).collect()
    } else if line.contains('|') {
        let inner = line.trim_matches('|');
        inner.split('|').map(|c| c.trim().to_string()).collect()
    } else {
        WIDE_GAP
            .get()
            .split(line)
            .map(|c| c.trim().to_string())
            .collect()
    };
    while cells.last().is_some_and(String::is_empty) {
        cells.pop();
    }
    (cells.iter().filter(|c| !c.is_empty()).count() >= 2).then_some(cells)
}

/// Header words of a column of start times, of end times and of days; the first two
/// may follow a word for the outage ("Down from", "Outage end", "Ausfall bis").
static START_COLUMN: Pattern<Regex> = re!(
    r"(?i)^\W*(?:(?:down|outage|offline|unavailable|impact|disruption|storing|uitval|ausfall|störung)\s+)?(start|started|start time|begin|beginn|begintijd|starttijd|startzeit|from|van|vanaf|von|ab|since|sinds|seit|went down|down at|failed|uitgevallen|ausgefallen)\b"
);
static END_COLUMN: Pattern<Regex> = re!(
    r"(?i)^\W*(?:(?:down|outage|offline|unavailable|impact|disruption|storing|uitval|ausfall|störung)\s+)?(end|ended|end time|ende|eind|einde|eindtijd|endzeit|to|until|till|tot|bis|restored|hersteld|behoben|back up|back at|back|resolved|fixed|opgelost|wieder da|wieder verfügbar)\b"
);
static DAY_COLUMN: Pattern<Regex> = re!(r"(?i)^\W*(date|day|datum|dag|tag)\b");
/// A cell that is a clock time.
static CLOCK_CELL: Pattern<Regex> =
    re!(r"(?i)^\d{1,2}[:.h]\d{2}(?:\s*(?:uhr|uur|h|a\.?m\.?|p\.?m\.?))?$");
/// A zone written in a header cell: "Beginn (MEZ)", "Start (UTC)".
static ZONE_IN_HEADER: Pattern<Regex> = re!(r"\(([A-Za-z]{1,5}(?:[+-]\d{1,2})?)\)");

/// `text` with a sentence after each table of start and end times, one per distinct
/// row: "04.11. from 13:40 to 15:25 MEZ". The sentences are what the window rules read;
/// the table stays for the site counts. None when there is no such table.
pub fn time_rows(text: &str) -> Option<String> {
    // One look at each line first: most mail has no rows holding two clock times (a
    // row a mail program wrapped may hold them over two lines).
    let clocks: usize = text.lines().filter(|l| row_like(l)).map(clock_like).sum();
    if clocks < 2 {
        return None;
    }
    let lines = joined_lines(text);
    let mut out = String::with_capacity(text.len() + 256);
    let mut changed = false;
    let mut h = 0;
    while h < lines.len() {
        out.push_str(&lines[h]);
        out.push('\n');
        let head = if row_like(&lines[h]) {
            cells(&lines[h])
        } else {
            None
        };
        let columns = head.as_ref().and_then(|head| {
            let start = head.iter().position(|c| START_COLUMN.get().is_match(c))?;
            let end = head.iter().position(|c| END_COLUMN.get().is_match(c))?;
            let day = head.iter().position(|c| DAY_COLUMN.get().is_match(c));
            let zone = head
                .iter()
                .find_map(|c| ZONE_IN_HEADER.get().captures(c))
                .and_then(|c| c.get(1))
                .map(|z| z.as_str().to_string());
            Some((start, end, day, zone))
        });
        h += 1;
        let Some((start, end, day, zone)) = columns else {
            continue;
        };
        let mut said: Vec<String> = Vec::new();
        while h < lines.len() && said.len() < MAX_ROWS {
            let line = &lines[h];
            if is_rule(line) {
                out.push_str(line);
                out.push('\n');
                h += 1;
                continue;
            }
            let Some(row) = cells(line) else { break };
            out.push_str(line);
            out.push('\n');
            h += 1;
            let clock = |i: usize| row.get(i).filter(|c| CLOCK_CELL.get().is_match(c));
            let (Some(a), Some(b)) = (clock(start), clock(end)) else {
                continue;
            };
            let mut sentence = String::new();
            if let Some(d) = day.and_then(|d| row.get(d)) {
                sentence.push_str(d);
                sentence.push(' ');
            }
            sentence.push_str(&format!("from {a} to {b}"));
            if let Some(z) = &zone {
                sentence.push(' ');
                sentence.push_str(z);
            }
            sentence.push('.');
            if !said.contains(&sentence) {
                said.push(sentence);
            }
        }
        if !said.is_empty() {
            changed = true;
            out.push('\n');
            for s in said {
                out.push_str(&s);
                out.push('\n');
            }
            out.push('\n');
        }
    }
    changed.then_some(out)
}

/// Comma- or semicolon-separated values (RFC 4180 quoting) as tab-separated rows, the
/// form the table reader takes. Underscores in cells become spaces ("users_affected").
pub fn from_csv(text: &str) -> String {
    let first = text.lines().next().unwrap_or_default();
    // Excel writes semicolons where the comma is the decimal sign.
    let sep = if first.matches(';').count() > first.matches(',').count() {
        ';'
    } else {
        ','
    };
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut cell = String::new();
        let mut quoted = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '"' if quoted && chars.peek() == Some(&'"') => {
                    cell.push('"');
                    chars.next();
                }
                '"' => quoted = !quoted,
                c if c == sep && !quoted => {
                    out.push_str(cell.trim());
                    out.push('\t');
                    cell.clear();
                }
                '\t' | '_' => cell.push(' '),
                c => cell.push(c),
            }
        }
        out.push_str(cell.trim());
        out.push('\n');
    }
    out
}

/// A rule line between header and rows: `---|:---:` or `+-----+`.
fn is_rule(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty()
        && t.chars()
            .all(|c| matches!(c, '-' | '|' | ':' | '+' | '=' | ' ' | '\t'))
}

/// Pipe rows that a mail program wrapped ("| a | b |" cut after "b |") made whole
/// again: a line that does not start with a pipe but has one continues the pipe row above.
fn joined_lines(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut in_pipe_row = false;
    for line in text.lines() {
        let t = line.trim();
        let continues = in_pipe_row && !t.starts_with('|') && t.contains('|');
        match out.last_mut() {
            Some(last) if continues => {
                last.push(' ');
                last.push_str(t);
            }
            _ => out.push(line.to_string()),
        }
        in_pipe_row = t.starts_with('|') || continues;
    }
    out
}

/// The leading whole number of a cell ("38", "1.204", "38 users"), if any.
fn number(cell: &str) -> Option<u64> {
    let digits: String = cell
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | '\u{a0}' | ' '))
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().ok().filter(|n| *n < 1_000_000)
}

/// Whether a line could be a table row: cells apart by a tab, a pipe or a wide gap.
fn row_like(line: &str) -> bool {
    memchr::memchr2(b'\t', b'|', line.as_bytes()).is_some()
        || memchr::memmem::find(line.trim().as_bytes(), b"  ").is_some()
}

/// How many clock-time shapes a line holds: a digit, a separator and two digits
/// ("9:15", "13.40", "9h15"). Cheap, for a first look.
fn clock_like(line: &str) -> usize {
    line.as_bytes()
        .windows(4)
        .filter(|w| {
            w[0].is_ascii_digit()
                && matches!(w[1], b':' | b'.' | b'h')
                && w[2].is_ascii_digit()
                && w[3].is_ascii_digit()
        })
        .count()
}

/// The first table in `text` with a people column and a column of names (places, or
/// teams and tenants), read row by row;
/// else the first list of counts under a label that says they are people
/// ([`labelled_counts`]).
pub fn site_counts(text: &str) -> Option<SiteCounts> {
    // Most mail has no table: one look at each line, no copies, before any splitting.
    let users_column = USERS_COLUMN.get();
    if !text
        .lines()
        .any(|l| row_like(l) && users_column.is_match(l))
    {
        return labelled_counts(text);
    }
    header_table(text).or_else(|| labelled_counts(text))
}

/// Most rows a labelled list of counts is read for (as [`MAX_ROWS`] for tables).
const MAX_LIST_ROWS: usize = 50;

/// A list of names and counts under a label line about people, without a header row:
/// "Users affected:" then "Main campus    310" rows, or "Affected staff per site:" then
/// "- Leeds: 40" bullets; a Total row is the total. Two named rows at least (one is a
/// sentence, which the head count reads). The names are places when the label or a
/// name says so ("per site", "campus"); a list of departments still gives the count.
fn labelled_counts(text: &str) -> Option<SiteCounts> {
    let lines: Vec<&str> = text.lines().collect();
    for (h, label) in lines.iter().enumerate() {
        let label = label.trim();
        if !label.ends_with(':') || label.len() > 80 || !USERS_COLUMN.get().is_match(label) {
            continue;
        }
        // One blank line may stand between the label and its list.
        let first = match lines.get(h + 1) {
            Some(l) if l.trim().is_empty() => h + 2,
            _ => h + 1,
        };
        let mut found = SiteCounts {
            total: None,
            sites: Vec::new(),
            source: label.trim_end_matches(':').to_string(),
            places: PLACE_COLUMN.get().is_match(label),
        };
        for line in lines.iter().skip(first).take(MAX_LIST_ROWS) {
            let Some((name, n)) = list_row(line) else {
                break;
            };
            if TOTAL_ROW.get().is_match(name) {
                found.total = Some(n);
                break;
            }
            found.places |= PLACE_COLUMN.get().is_match(name);
            found.sites.push((name.to_string(), n));
        }
        if found.sites.len() >= 2 {
            return Some(found);
        }
    }
    None
}

/// One row of a labelled list: a name and its count, apart by a wide gap, a tab, a pipe
/// or a colon ("- Leeds: 40 users"); the name has a letter and is no number itself.
fn list_row(line: &str) -> Option<(&str, u64)> {
    let t = line.trim().trim_start_matches(['-', '*', '•', '·']).trim();
    let (name, count) = match t.split_once(':') {
        Some((name, count)) if !count.trim().is_empty() => (name, count),
        _ => {
            let at = t
                .find('\t')
                .or_else(|| t.find('|'))
                .or_else(|| t.find("  "))?;
            (&t[..at], &t[at..])
        }
    };
    let name = name.trim().trim_matches('|').trim();
    let count = count.trim().trim_matches(['|', '\t']).trim();
    if name.is_empty()
        || name.len() > 60
        || !name.chars().any(char::is_alphabetic)
        || !count.starts_with(|c: char| c.is_ascii_digit())
    {
        return None;
    }
    // The count stands alone or before a word ("40", "40 users"), not in a time or date.
    let digits_end = count
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | ',')))
        .unwrap_or(count.len());
    if count[..digits_end].ends_with(['.', ',']) && digits_end < count.len() {
        return None;
    }
    if count[digits_end..].starts_with([':', '/', '-']) {
        return None;
    }
    Some((name, number(count)?))
}

/// The first table with a people column and a place column in its header row.
fn header_table(text: &str) -> Option<SiteCounts> {
    let lines = joined_lines(text);
    for (h, header) in lines.iter().enumerate() {
        if !row_like(header) {
            continue;
        }
        let Some(head) = cells(header) else { continue };
        let Some(users) = head.iter().position(|c| USERS_COLUMN.get().is_match(c)) else {
            continue;
        };
        let named = |i: usize, c: &String| i != users && !USERS_COLUMN.get().is_match(c);
        // The names are places when their header says so; another column of names
        // ("Department", "Tenant") still splits the count, but names no places.
        let place_column = head
            .iter()
            .enumerate()
            .position(|(i, c)| named(i, c) && PLACE_COLUMN.get().is_match(c));
        let Some(place) = place_column.or_else(|| {
            head.iter()
                .enumerate()
                .position(|(i, c)| named(i, c) && c.starts_with(char::is_alphabetic))
        }) else {
            continue;
        };
        let mut found = SiteCounts {
            total: None,
            sites: Vec::new(),
            source: head.join(" | "),
            places: place_column.is_some(),
        };
        for line in lines.iter().skip(h + 1).take(MAX_ROWS) {
            if is_rule(line) {
                continue;
            }
            let Some(row) = cells(line) else { break };
            if row.len() > head.len() {
                break;
            }
            let (Some(name), Some(n)) = (row.get(place), row.get(users).and_then(|c| number(c)))
            else {
                break;
            };
            if TOTAL_ROW.get().is_match(name) {
                found.total = Some(n);
            } else {
                found.sites.push((name.clone(), n));
            }
        }
        if !found.sites.is_empty() {
            return Some(found);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sites(s: &SiteCounts) -> Vec<(&str, u64)> {
        s.sites.iter().map(|(p, n)| (p.as_str(), *n)).collect()
    }

    #[test]
    fn tab_separated_with_a_total() {
        let t = "Counts per office:\nOffice\tPeople affected\tSince\nPerth\t12\t08:10\nDundee\t7\t08:10\nTotal\t19\t\n\nThanks";
        let s = site_counts(t).unwrap();
        assert_eq!(sites(&s), [("Perth", 12), ("Dundee", 7)]);
        assert_eq!((s.total, s.count()), (Some(19), 19));
    }

    #[test]
    fn pipe_table_wrapped_by_the_mail_program() {
        let t = "| Klant | Aantal gebruikers | Plaats |\n|---|---:|---|\n| Bakkerij Zoet | \n 14 | Zeist |\n| Garage Snel | 6 | Houten |\n";
        let s = site_counts(t).unwrap();
        assert_eq!(sites(&s), [("Zeist", 14), ("Houten", 6)]);
        assert_eq!(s.count(), 20);
    }

    #[test]
    fn space_aligned_in_german() {
        let t = "Standort        Betroffene Mitarbeiter\nTrier           31\nKoblenz          9\nGesamt          40\n";
        let s = site_counts(t).unwrap();
        assert_eq!(sites(&s), [("Trier", 31), ("Koblenz", 9)]);
        assert_eq!(s.count(), 40);
    }

    #[test]
    fn start_and_end_columns_become_sentences() {
        let t = "Times:\nSite\tUsers\tStart (CET)\tEnd (CET)\nLyon\t5\t09:10\t10:05\nNice\t3\t09:10\t10:05\n\nBye\n";
        let out = time_rows(t).unwrap();
        assert!(
            out.contains("Nice\t3\t09:10\t10:05\n\nfrom 09:10 to 10:05 CET.\n"),
            "{out}"
        );
        assert_eq!(out.matches("from 09:10").count(), 1, "{out}");
        let t = "| Datum | Van | Tot |\n|---|---|---|\n| 3-3-2026 | 8.15 | 9.40 |\n";
        let out = time_rows(t).unwrap();
        assert!(out.contains("3-3-2026 from 8.15 to 9.40."), "{out}");
        // Headed with a word for the outage first.
        let t = "Depot   Staff   Down from   Down until\nLeiden  7       07:40       08:55\n";
        let out = time_rows(t).unwrap_or_default();
        assert!(out.contains("from 07:40 to 08:55."), "{out}");
        let t = "Filiale\tAusfall von\tAusfall bis\nTrier\t13:05\t14:20\n";
        let out = time_rows(t).unwrap_or_default();
        assert!(out.contains("from 13:05 to 14:20."), "{out}");
        // An end column saying the service came back; times written with AM/PM.
        let t = "Clinic\tStaff\tWent down\tBack at\nTacoma\t9\t1:20 PM\t2:05 PM\n";
        let out = time_rows(t).unwrap_or_default();
        assert!(out.contains("from 1:20 PM to 2:05 PM."), "{out}");
        assert_eq!(time_rows("Site\tUsers\nLyon\t5\n"), None);
        assert_eq!(time_rows("We met at 9:10 and left at 10:05.\n"), None);
    }

    #[test]
    fn a_row_of_times_wrapped_over_two_lines_is_still_read() {
        // Each line alone holds one clock time; the row holds two.
        let t = "| Begin | Eind |\n|---|---|\n| 9h15 |\n 11h40 |\n";
        let out = time_rows(t).unwrap_or_default();
        assert!(out.contains("from 9h15 to 11h40"), "{out}");
    }

    #[test]
    fn csv_files_read_as_tables() {
        let csv = "office_name,users_affected,comment\n\"Hull, East\",17,\"said \"\"no mail\"\"\"\nYork,5,\n";
        assert_eq!(
            from_csv(csv),
            "office name\tusers affected\tcomment\nHull, East\t17\tsaid \"no mail\"\nYork\t5\t\n"
        );
        let s = site_counts(&from_csv(csv)).unwrap();
        assert_eq!(sites(&s), [("Hull, East", 17), ("York", 5)]);
        let semi = "Standort;Betroffene;Bemerkung\nUlm;8;\nGesamt;8;\n";
        assert_eq!(site_counts(&from_csv(semi)).unwrap().count(), 8);
    }

    #[test]
    fn lists_of_counts_under_a_label_about_people() {
        // Phrasings of my own: space-aligned rows, bullets with colons, a Total row.
        let t = "Users affected:\n  Harbour office    120\n  Old town           35\n  Total             155\n\nThanks";
        let s = site_counts(t).unwrap();
        assert_eq!(sites(&s), [("Harbour office", 120), ("Old town", 35)]);
        assert_eq!((s.count(), s.places), (155, true));
        let t = "Getroffen medewerkers per vestiging:\n\n- Assen: 18\n- Emmen: 7 medewerkers\n";
        let s = site_counts(t).unwrap();
        assert_eq!(sites(&s), [("Assen", 18), ("Emmen", 7)]);
        assert_eq!((s.count(), s.places), (25, true));
        // Departments: the count, but no places.
        let t = "Betroffene Mitarbeiter:\n* Vertrieb: 12\n* Buchhaltung: 8\n";
        let s = site_counts(t).unwrap();
        assert_eq!((s.count(), s.places), (20, false));
        // One row is a sentence; times and dates are no counts; no label, no list.
        assert_eq!(site_counts("Users affected:\n- Leeds: 40\n\nThanks"), None);
        assert_eq!(
            site_counts("Users affected:\n- Start: 09:15\n- End: 11:40\n"),
            None
        );
        assert_eq!(site_counts("Leeds    40\nYork     12\n"), None);
        assert_eq!(
            site_counts("Affected users:\n- Date: 12.03.2026\n- Ticket: 4471\n"),
            None,
        );
    }

    #[test]
    fn places_by_their_kind_and_other_names_by_count_only() {
        let s = site_counts("Hotel\tAffected staff\nLyon\t48\nGrenoble\t19\nTotal\t67\n");
        let s = s.as_ref().map(|s| (s.count(), s.places, sites(s)));
        assert_eq!(s, Some((67, true, vec![("Lyon", 48), ("Grenoble", 19)])));
        let s = site_counts("Praxis | Mitarbeiter\nJena | 12\nGera | 7\n");
        assert_eq!(s.map(|s| (s.count(), s.places)), Some((19, true)));
        // A team or tenant column splits the count but names no places.
        let s = site_counts("Team  Users\nSales  20\nFinance  10\n");
        assert_eq!(s.map(|s| (s.count(), s.places)), Some((30, false)));
    }

    #[test]
    fn tables_without_both_columns_are_not_site_tables() {
        assert_eq!(site_counts("Start\tEnd\n09:00\t10:30\n"), None);
        assert_eq!(site_counts("Tenant | Incident\nabc | EX123456\n"), None);
        assert_eq!(site_counts("plain prose, no table at all"), None);
    }
}
