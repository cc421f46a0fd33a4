//! What the sender wants and says: a credit request, an advisory, the CSP answer.

use crate::mail::pattern::Pattern;
use regex::Regex;

use super::fold::{Folded, FoldedRegex, re_folded};
use super::text::Statements;

/// Credit phrases. "gutschrift" stands alone, without word boundaries,
/// to match inside German compounds ("SLA-Gutschrift", "Gutschriftsantrag"): a
/// `\w*gutschrift` alternative left the pattern no literal to skip to.
static CREDIT: Pattern<FoldedRegex> = re_folded!(
    r"\b(credit,? please|please,? (?:a |the |our )?(?:sla |service )?credit|service[- ]?credits?|sla[- ]?credits?|credit (?:claim|request)s?|claim (?:a |an |the |our )?(?:sla |service )?credit|(?:request|claim|file|submit|raise|apply for)\b[^.?!]{0,40}\bcredit|(?:can|could|would|will) you\b[^.?!]{0,30}\b(?:get|obtain|arrange|secure)\b[^.?!]{0,20}\bcredit|(?:can|could|may|do|should|will|would) (?:we|i|us)\b[^.?!]{0,30}\b(?:get|have|receive|claim|be given)\b[^.?!]{0,20}\b(?:credit|money back)|money back|reimburse(?:ment|d)?|geld terug|terugbetaling|geld zurück|ask (?:microsoft |ms |them )?for (?:a |an |the |some )?(?:sla |service )?credit|(?:we'd|we would|i'd|i would) like (?:a |an |the |some )?(?:sla |service )?credit|sla[- ]?claims?|sla[- ]creditering|creditering|(?:sla-?|service)?credit(?:aanvraag|verzoek|claim)|kredietaanvraag|(?:credit|krediet)(?:\s+[a-z']+){0,3}?\s+(?:aanvragen|aan te vragen|indienen|in te dienen|claimen)|creditnota|compensatie|vergoeding|tegoed|compensation|refund|erstattung|rückerstattung|entschädigung|kompensation)\b|gutschrift",
);
static WITHDRAW: Pattern<FoldedRegex> = re_folded!(
    r"\b((?:do not|don't|won't|will not|not going to|no need to|have no intention to)\s+(?:want to\s+|need to\s+|wish to\s+)?(?:claim|request|file|submit|apply)\b|(?:willen|hoeven)\s+(?:hier[0-9_a-zß-öø-ÿ]*\s+)?geen\s+[0-9_a-zß-öø-ÿ]*\s*(?:credit|creditering|claim)|(?:keine|nicht)\s+(?:sla-)?(?:gutschrift|beantragen)|withdraw|cancel (?:the|our|my|this) (?:claim|request)|(?:don't|do not|no need to|needn't) bother|forget (?:about )?(?:the|our|my|this) (?:claim|credit|request)|no longer (?:need|want|wish|require)|don't need the credit|intrekken|trekken\b[^.]{0,40}\bin\b|annuleren|zurückziehen|zurückzuziehen|zurücknehmen|stornieren|nicht mehr (?:nötig|erforderlich|notwendig)|ziehen\b[^.]{0,40}\bzurück|verzichten|lohnt sich nicht|nicht der mühe wert|(?:we'll|we will|we'd rather|i'll|we) pass on\b|not worth (?:it|the|anyone|our|the effort)|drop the (?:claim|request)|close (?:the|this|our) ticket|zien\b[^.]{0,10}\bvan\b[^.]{0,40}\baf\b|afzien van|laten\b[^.]{0,20}\bzitten|niet de moeite|hoeft niet meer|not (?:looking for|asking for|after|seeking|chasing|interested in|requesting) (?:a |an |any |the )?(?:sla |service )?(?:credit|compensation|refund|money back|reimbursement)|niet uit op|nicht auf\b[^.]{0,40}\baus\b|(?:geen|kein) (?:behoefte|interesse) (?:aan|an))",
);
static STATUS: Pattern<FoldedRegex> = re_folded!(
    r"\b(status|any update|an update|any news|heard back|heard anything|any word|etwas neues|was neues|nichts (?:mehr )?gehört|nog niets gehoord|niets meer gehoord|al iets bekend|responded|approved|been submitted|already submitted|checking in|stand van zaken|al iets|nieuws|goedgekeurd|al ingediend|stand der|sachstand|genehmigt|bereits eingereicht|schon eingereicht|neuigkeiten|when will|wanneer|wann|on (?:the|our|your) (?:next )?invoice|op (?:de|onze|jullie) (?:volgende )?factuur|auf (?:der|unserer|ihrer|die) (?:nächsten )?rechnung|show up|appear on|verschijnt|taucht)\b",
);
/// A credit offered to the reader, not asked for: refund notices and the phishing
/// that imitates them ("your organization qualifies for a refund", "confirm your
/// payment details").
static OFFER: Pattern<FoldedRegex> = re_folded!(
    r"\b((?:we are|we're|we) offering\b|(?:wij )?bieden (?:u|jullie|alle)\b|(?:wir )?bieten (?:ihnen|allen)\b|qualif(?:y|ies|ied) for|is ready to be|has been (?:assigned|granted|issued|credited|approved) to your|(?:confirm|verify|update) your (?:[a-z]+ (?:and |& )?){0,3}?(?:payment|bank|billing|card|account) (?:details|information|data)|you(?:r organi[sz]ation| are|'re)(?: now)? (?:eligible|entitled)|to (?:receive|claim) your (?:refund|credit|compensation)|u (?:komt|kunt) in aanmerking|u heeft recht op|om uw (?:terugbetaling|tegoed|vergoeding|credit) te ontvangen|sie haben anspruch auf|um ihre (?:rückerstattung|gutschrift|erstattung) zu erhalten|zugewiesen|gewährt worden|(?:bestätigen|verifizieren|aktualisieren) sie\b[^.]{0,40}\b(?:zahlungsdaten|bankdaten|kontodaten)|toegekend aan|(?:bevestig|controleer|verifieer) uw (?:betaal|bank|reken)gegevens)\b",
);
/// Billing words: a credit note for an invoice error is no SLA credit.
static BILLING: Pattern<FoldedRegex> = re_folded!(
    r"\b(invoices?|factuur|facturen|rechnung(?:en)?|credit ?note|creditnota|double[- ]charged|charged twice|dubbel (?:gefactureerd|berekend)|doppelt berechnet|opgezegd|gekündigt|cancelled)\b",
);
/// What an SLA credit is about: an outage.
static OUTAGE: Pattern<FoldedRegex> = re_folded!(
    r"\b(outage|incident|down|unavailable|unreachable|not reachable|storing|onbereikbaar|niet bereikbaar|störung|ausfall|nicht erreichbar|sla)\b|sla-",
);
static REQUEST_VERB: Pattern<FoldedRegex> = re_folded!(
    r"\b(please|could you|can you|would you|would like|we'd like|we would|want to|wish to|like to|need to claim|raise|submit|file|graag|willen|verzoek|vragen|dienen|indienen|bitte|möchten|bitten|beantragen|einreichen|reichen)\b",
);
static ADVISORY: Pattern<FoldedRegex> =
    re_folded!(r"\b(advisory|adviesmelding|advies|hinweis|empfehlung)\b");
/// A negation and at most two words before the end: "not an", "rather than a real". The
/// words are runs without spaces or sentence punctuation; a Unicode `\w` there doubled
/// the automaton (190 KB held for the daemon's life).
static NEGATION: Pattern<Regex> = re!(
    r"(?i)\b(not|no|never|rather than|instead of|than an?|geen|niet|kein|keine|nicht|statt|anstatt|in plaats van|dan een)\s+(?:[^\s.,;:!?]+\s+){0,2}$",
);
static ADVISORY_CONTEXT: Pattern<Regex> = re!(
    r"(?i)\b(classif|as an?|als|was|is|listed|marked|gemeld|eingestuft|markiert|labelled|labeled)\b"
);

/// The words every credit phrase holds. The gate asks for a word, not a phrase: the
/// raw text still has its line breaks, and a phrase wrapped across two lines ("a
/// service⏎credit") is whole only once statements are cut.
static CREDIT_WORD: Pattern<FoldedRegex> = re_folded!(
    r"credit|krediet|claim|compensat|kompensation|vergoeding|tegoed|refund|erstattung|entschädigung|gutschrift|money back|reimburs|geld terug|terugbetaling|geld zurück",
);

/// Whether the text holds a word of a credit phrase: a yes/no search, before statements
/// are cut ([`credit_requested`] then reads the phrases).
pub(crate) fn mentions_credit(text: &Folded) -> bool {
    CREDIT_WORD.get().is_match(text)
}

/// Whether the text asks for a credit: a credit phrase in a statement that is not a
/// status question, and no withdrawal anywhere.
pub fn credit_requested(statements: &Statements, subject: Option<&str>) -> Option<String> {
    // Each pattern fetched once, not once a statement.
    let (withdraw, offer, outage) = (WITHDRAW.get(), OFFER.get(), OUTAGE.get());
    let (credit, billing, status, verb) = (
        CREDIT.get(),
        BILLING.get(),
        STATUS.get(),
        REQUEST_VERB.get(),
    );
    if statements.any_match(&withdraw) || statements.any_match(&offer) {
        return None;
    }
    // Without an outage anywhere, a credit next to an invoice is a credit note.
    let about_outage =
        statements.any_match(&outage) || subject.is_some_and(|s| outage.is_match(&Folded::new(s)));
    for (_, s) in statements.matching(&credit) {
        if !about_outage && billing.is_match(s.folded()) {
            continue;
        }
        if status.is_match(s.folded()) && !verb.is_match(s.folded()) {
            continue;
        }
        return Some(s.text.clone());
    }
    // The subject speaks for a body without a credit phrase, unless that body only asks
    // how the claim stands ("gibt es schon etwas Neues zu unserem Antrag?").
    subject
        .filter(|s| {
            let f = Folded::new(s);
            credit.is_match(&f) && (about_outage || !billing.is_match(&f))
        })
        .filter(|_| !statements.any_match(&status))
        .map(str::to_string)
}

/// Telling us to go on with a claim: "please go ahead and file it", "submit it once you
/// have everything", "reichen Sie sie bei Microsoft ein", "wil je dit ook meenemen in de
/// claim".
static GO_AHEAD: Pattern<FoldedRegex> = re_folded!(
    r"\b(go ahead|proceed|(?:update|amend|correct) (?:the|our|this|my) (?:claim|request|ticket)|pas (?:de|onze|deze) (?:claim|aanvraag) aan|(?:passen|ändern|korrigieren) sie (?:den|unseren|diesen|die) (?:antrag|anspruch|gutschriftsantrag|meldung)|please (?:submit|file|send|lodge|raise|add|include)|(?:submit|file|lodge|raise) it|add (?:this|it|that) to|include (?:this|it|that) in|(?:dien|dienen) (?:hem|het|deze|de claim|die) (?:dan )?(?:maar )?in|indienen|meenemen in|toevoegen aan|verwerken in|reichen sie\b[^.]{0,60}\bein|einreichen|ergänzen sie|aufnehmen|nehmen sie\b[^.]{0,40}\bauf)\b",
);

/// A claim besides the one a thread is about: "a new SLA credit claim", "another one",
/// "nog een claim", "eine weitere Gutschrift".
static NEW_CLAIM: Pattern<FoldedRegex> = re_folded!(
    r"\b(new|another|second|separate|nieuwe?|andere|nog een|tweede|aparte|weitere[nrs]?|neue[nrs]?|zweite[nrs]?|separate[nrs]?|noch eine?)\b",
);

/// A ticket's tag in a Subject: "[SLA-88]", "[PSR-2026-00417]", "Ticket #48213".
static TICKET_TAG: Pattern<FoldedRegex> =
    re_folded!(r"\[[a-z]{2,6}-[0-9][0-9-]*\]|\bticket:? ?#? ?[0-9]{3,}");

/// Whether a reply's credit phrase tells us to go on with the claim its thread is about
/// ("please go ahead with the credit claim", "reichen Sie die Gutschrift ein") rather
/// than asking for another one. The thread must be a claim's: its Subject names the
/// credit or a ticket.
pub fn continues_claim(statement: &str, subject: &str) -> bool {
    let (folded, subject) = (Folded::new(statement), Folded::new(subject));
    GO_AHEAD.get().is_match(&folded)
        && !NEW_CLAIM.get().is_match(&folded)
        && (CREDIT.get().is_match(&subject) || TICKET_TAG.get().is_match(&subject))
}

/// A reply in a credit claim's thread (its Subject names the credit) that tells us to
/// go on with it: the request stands, with what the reply adds.
pub fn go_ahead(statements: &Statements, subject: &str) -> Option<String> {
    if !CREDIT.get().is_match(&Folded::new(subject)) {
        return None;
    }
    let (withdraw, offer, go) = (WITHDRAW.get(), OFFER.get(), GO_AHEAD.get());
    if statements.any_match(&withdraw) || statements.any_match(&offer) {
        return None;
    }
    let i = statements.first_match(&go, 0)?;
    Some(statements[i].text.clone())
}

/// Whether the sender says the incident was an advisory (not "not an advisory").
pub fn advisory(statements: &Statements) -> Option<String> {
    let advisory = ADVISORY.get();
    for (_, s) in statements.matching(&advisory) {
        for m in advisory.find_iter(s.folded()) {
            let word = m.as_str();
            let before = &s.text[..m.start()];
            // The German and Dutch words are ordinary vocabulary; they count only in an
            // "as/als/classified" frame.
            if word != "advisory" && !ADVISORY_CONTEXT.get().is_match(before) {
                continue;
            }
            if NEGATION.get().is_match(before) {
                continue;
            }
            return Some(s.text.clone());
        }
    }
    None
}

/// Words about buying.
static PURCHASE: Pattern<FoldedRegex> = re_folded!(
    r"\b(csp|bought|purchased|purchase|acquired|gekocht|aangeschaft|afgenomen|aangekocht|bezogen|erworben|gekauft|licen[cs]es?|licenties?|lizenzen?)\b",
);
static UNSURE: Pattern<FoldedRegex> = re_folded!(
    r"(not sure|unsure|don't know|do not know|no idea|unclear|could you check|can you check|please check|weet (?:ik )?niet|weet ik\b[^.]{0,20}\bniet|niet zeker|geen idee|nagaan|kunnen jullie (?:dat )?controleren|nicht sicher|weiß nicht|weiß ich\b[^.]{0,20}\bnicht|unklar|bitte prüfen|können sie (?:das )?prüfen|\bwhether\b[^.]{0,60}\bor\b|\bob\b[^.]{0,60}\boder\b|\?$)",
);
static NO_CSP: Pattern<FoldedRegex> = re_folded!(
    r"(directly (?:from|with|through|via) microsoft|direct (?:bij|van|via) microsoft|rechtstreeks (?:bij|van|via) microsoft|direkt (?:bei|von|über) microsoft|not (?:through|via|from|with) (?:you|csp|cloudwise|a partner|the partner)|niet via|nicht über|not bought|not purchased|no csp|kein csp|geen csp|another (?:partner|csp|reseller)|andere (?:partner|csp)|anderen (?:partner|csp)|enterprise agreement|\bea\b)",
);
static YES_CSP: Pattern<FoldedRegex> = re_folded!(
    r"(through (?:you|csp|your company)|via (?:you|csp|jullie|u\b)|über (?:sie|euch)|als csp|from you|bij jullie|bij u\b|van jullie|\(csp\)|\bcsp\b[^.]{0,20}\b(?:yes|ja)\b|via (?:the )?csp|through the csp|im csp|(?:on|in|under) (?:the )?csp\b|\bwith you\b|\bbij jullie\b|\bbei ihnen\b|(?:onder|under|op|auf|unter|über) (?:jullie|your|uw|eurem|euren|ihrem|ihren|ihr|euer)\W+csp|indirect(?:e|er|en)? reseller|(?:über|uber|durch|by|over) (?:den |the )?csp\b|\b(?:yes|ja)\b\W{1,3}(?:via |through |über |over )?csp\b|\bcsp[- ](?:customer|client|klant|kunde|kundin)\b|(?:through|via|from|by|bij|van|über|uber|durch|bei) (?:our|ons|onze|unseren|unserem|unsere|my|mijn|your|jullie|uw|ihren|ihrem|ihr|euren|eurem|euer) csp\b)",
);
/// Our own question, quoted above the answer: bought "through us" is through the partner.
static THROUGH_US: Pattern<FoldedRegex> =
    re_folded!(r"\b(?:through|via|from|with|bij|van|über|bei) (?:us|ons|uns)\b[^.]*\?$");
static ANSWER: Pattern<Regex> = re!(r"(?i)^\W*(yes|ja|yep|correct|klopt|true|no|nee|nein|false)\b");

/// Whether an ANSWER word means yes.
fn is_yes(answer: &str) -> bool {
    matches!(
        answer.to_lowercase().as_str(),
        "yes" | "ja" | "yep" | "correct" | "klopt" | "true"
    )
}

/// The CSP answer: Some(true/false) when stated, None when unknown or unsure.
pub fn purchased_via_csp(
    statements: &Statements,
    partner_names: &[String],
) -> (Option<bool>, Option<String>) {
    let purchase = PURCHASE.get();
    for (i, s) in statements.matching(&purchase) {
        let about_purchase = s.text.to_lowercase().contains("csp")
            || THROUGH_US.get().is_match(s.folded())
            || YES_CSP.get().is_match(s.folded())
            || NO_CSP.get().is_match(s.folded())
            || partner_names
                .iter()
                .any(|p| s.text.to_lowercase().contains(&p.to_lowercase()));
        if !about_purchase {
            continue;
        }
        if s.label
            .as_deref()
            .is_some_and(|l| PURCHASE.get().is_match(&Folded::new(l)))
        {
            if let Some(a) = ANSWER.get().captures(s.value()).and_then(|c| c.get(1)) {
                let yes = is_yes(a.as_str());
                return (Some(yes), Some(s.text.clone()));
            }
        }
        // "Bought through CSP? No, through our EA.": the answer is the next statement.
        if s.text.trim_end().ends_with('?') {
            if let Some(a) = statements
                .get(i + 1)
                .and_then(|n| ANSWER.get().captures(&n.text))
                .and_then(|c| c.get(1))
            {
                let yes = is_yes(a.as_str());
                return (
                    Some(yes),
                    Some(format!("{} {}", s.text, statements[i + 1].text)),
                );
            }
        }
        if UNSURE.get().is_match(s.folded()) {
            return (None, Some(s.text.clone()));
        }
        if NO_CSP.get().is_match(s.folded()) {
            return (Some(false), Some(s.text.clone()));
        }
        let through_partner = partner_names.iter().any(|p| {
            let t = s.text.to_lowercase();
            let p = p.to_lowercase();
            ["through ", "via ", "from ", "über ", "bij ", "van ", "bei "]
                .iter()
                .any(|pre| t.contains(&format!("{pre}{p}")))
        });
        if YES_CSP.get().is_match(s.folded()) || through_partner {
            return (Some(true), Some(s.text.clone()));
        }
    }
    (None, None)
}

#[cfg(test)]
mod tests {
    use super::super::text::statements;
    use super::*;

    fn csp(text: &str) -> Option<bool> {
        purchased_via_csp(&statements(text), &["Cloudwise".into()]).0
    }

    #[test]
    fn csp_answers() {
        assert_eq!(csp("Bought via CSP:   yes - all licences"), Some(true));
        assert_eq!(csp("Aangeschaft via CSP: nee"), Some(false));
        assert_eq!(
            csp("Die Lizenzen haben wir über Sie als CSP bezogen."),
            Some(true)
        );
        assert_eq!(
            csp("The licences were purchased directly from Microsoft, not through CSP."),
            Some(false)
        );
        assert_eq!(
            csp(
                "I'm not sure whether our licences were bought through you or directly from Microsoft."
            ),
            None
        );
        assert_eq!(
            csp("Licences: bought through Cloudwise, as before"),
            Some(true)
        );
        assert_eq!(csp("We love Teams."), None);
        assert_eq!(csp("We are on CSP with you."), Some(true));
        assert_eq!(csp("Bought through CSP? No, through our EA."), Some(false));
        assert_eq!(csp("Via CSP gekocht? Ja."), Some(true));
        // Our own question answered: "us" is the partner.
        assert_eq!(csp("Were the licences bought through us? Yes."), Some(true));
        assert_eq!(
            csp("Zijn de licenties via ons afgenomen? Nee."),
            Some(false)
        );
        assert_eq!(csp("We bought them from us."), None);
        // Phrasings of my own: the answer before the word, the customer of a CSP, "über".
        assert_eq!(csp("Please go ahead; yes, CSP."), Some(true));
        assert_eq!(csp("Die Abos sind über CSP gekauft."), Some(true));
        assert_eq!(csp("We are a CSP customer of yours."), Some(true));
        assert_eq!(csp("Wij zijn CSP-klant bij jullie."), Some(true));
        // The partner's own CSP programme, named with "your".
        assert_eq!(
            csp("Our seats were bought through your CSP programme in 2024."),
            Some(true)
        );
        assert_eq!(csp("Lizenzen laufen über Ihren CSP-Vertrag."), Some(true));
        assert_eq!(
            csp("We are a CSP customer, but of another partner."),
            Some(false)
        );
        assert_eq!(
            csp("Die Lizenzen wurden nicht über Sie gekauft, sondern direkt bei Microsoft."),
            Some(false)
        );
        // Whether it was one or the other, the sender cannot say.
        assert_eq!(
            csp("Ob wir über Sie oder direkt bei Microsoft kaufen, weiß ich auch nicht."),
            None
        );
        assert_eq!(
            csp("Of we via jullie of rechtstreeks bij Microsoft kopen, weet ik helaas niet."),
            None
        );
    }

    #[test]
    fn csp_through_an_indirect_reseller_or_the_recipient() {
        assert_eq!(
            csp("De licenties lopen via ons als indirect reseller onder jullie CSP."),
            Some(true)
        );
        assert_eq!(
            csp("Die Lizenzen laufen über uns auf Ihrem CSP-Vertrag."),
            Some(true)
        );
        let partner = ["northwind".to_string()];
        let st = statements("All our licences were bought through Northwind last year.");
        assert_eq!(purchased_via_csp(&st, &partner).0, Some(true));
    }

    #[test]
    fn credit_intent() {
        let req = |t: &str| credit_requested(&statements(t), None).is_some();
        assert!(req(
            "We would like to request an SLA credit for this outage."
        ));
        assert!(req("Graag dienen wij een verzoek om SLA-creditering in."));
        assert!(req(
            "Bitte reichen Sie die Gutschriftsanfrage jetzt bei Microsoft ein."
        ));
        assert!(!req("Has our SLA credit claim been approved yet?"));
        assert!(!req("We'd like to withdraw our service credit request."));
        assert!(!req("Just checking in - has Microsoft responded yet?"));
        assert!(!req(
            "We had the outage but we do not want to claim a credit for it."
        ));
        assert!(!req("Wir möchten keine Gutschrift beantragen."));
        // A plain "credit" asked for about an outage (phrasings of my own).
        assert!(req(
            "The outage cost us a morning. Can you get us a credit for this?"
        ));
        assert!(req(
            "Mail was down all day; please ask Microsoft for a credit."
        ));
        assert!(req(
            "After Tuesday's outage we would like a credit, please."
        ));
        // Asked as "can we get", and money back said in words (phrasings of my own).
        assert!(req(
            "Teams was offline half the morning. Could we get some money back for that?"
        ));
        assert!(req(
            "The mail outage hurt us badly; can we claim a credit for it?"
        ));
        assert!(req("Na de storing van dinsdag willen we graag geld terug."));
        assert!(req("Willen jullie het creditverzoek voor ons indienen?"));
        assert!(!req(
            "The outage was short, we're not after any money back."
        ));
        // The same words about an invoice, or asking whether it came, are not.
        assert!(!req(
            "Could you get us a credit for the double-charged invoice?"
        ));
        assert!(!req(
            "Outage last week: did the credit show up on our invoice?"
        ));
    }

    #[test]
    fn declines_withdrawals_and_invoice_questions_are_no_requests() {
        let req = |t: &str| credit_requested(&statements(t), None).is_some();
        // Declining an offered claim.
        assert!(!req(
            "Kind of you, but we will pass on the service credit this time."
        ));
        assert!(!req(
            "For two mailboxes the credit is not worth the effort; close the ticket please."
        ));
        assert!(!req(
            "Wij zien van de SLA-creditering af, het gaat om een klein bedrag."
        ));
        assert!(!req(
            "Auf die Gutschrift verzichten wir, der Aufwand lohnt sich nicht."
        ));
        // Withdrawing one filed.
        assert!(!req("Ziehen Sie den Gutschriftsantrag bitte zurück."));
        // Asking when a credit shows on the bill.
        assert!(!req("When will the service credit appear on our invoice?"));
        assert!(!req("Wanneer verschijnt de creditering op de factuur?"));
        assert!(!req("Wann taucht die Gutschrift auf unserer Rechnung auf?"));
        // A question that asks for one is still a request.
        assert!(req("Could you file an SLA credit claim for us?"));
    }

    #[test]
    fn offered_refunds_and_credit_notes_are_no_requests() {
        let req = |t: &str| credit_requested(&statements(t), None).is_some();
        assert!(!req(
            "After the outage we're offering all customers a credit of one month."
        ));
        // Not looking for one.
        assert!(!req(
            "We are not looking for a service credit, just an explanation of the outage."
        ));
        assert!(!req(
            "Wij zijn niet uit op compensatie, wel op een verklaring."
        ));
        // Even under a Subject that names a credit request.
        let under = |t: &str, subject| credit_requested(&statements(t), Some(subject)).is_some();
        assert!(!under(
            "We're not after any money back, we only want to know when it's fixed.",
            "Credit request SP4400001"
        ));
        assert!(!under(
            "We are not seeking reimbursement; is the issue resolved?",
            "SLA credit?"
        ));
        // A refund notice (or its phishing twin) offers; it does not ask.
        assert!(!req(
            "Following incident EX4400120 your company qualifies for a service credit. Confirm your payment details within 48 hours."
        ));
        assert!(!req(
            "Für die Störung wurde Ihnen eine SLA-Gutschrift zugewiesen."
        ));
        assert!(!req(
            "Your organisation is entitled to a service credit for outage SP4410023. To claim your credit, verify your company and card details here."
        ));
        assert!(!req(
            "Naar aanleiding van storing EX4410024 komt u in aanmerking voor een tegoed. Om uw tegoed te ontvangen, bevestig uw bankgegevens."
        ));
        assert!(!req(
            "Wegen der Störung EX4410025 haben Sie Anspruch auf eine Erstattung; um Ihre Erstattung zu erhalten, melden Sie sich an."
        ));
        // A credit note for an invoice error.
        assert!(!req(
            "Invoice 88120 charged our Business Premium licences twice; please send a credit note."
        ));
        assert!(!req(
            "Op factuur 2026-311 staan opgezegde licenties; graag een creditnota."
        ));
        assert!(
            credit_requested(
                &statements("Zie bijlage."),
                Some("Verzoek creditnota factuur 2026-0412")
            )
            .is_none()
        );
        // An outage with the word invoice nearby is still a claim.
        assert!(req(
            "Exchange was down for three hours; please request the SLA credit so it shows on next month's invoice."
        ));
    }

    #[test]
    fn a_go_ahead_in_a_claim_thread_continues_its_claim_unless_it_asks_for_another() {
        let subject = "RE: [SLA-57] Teams outage - a few questions";
        assert!(continues_claim(
            "Please go ahead with the credit claim now.",
            subject
        ));
        assert!(continues_claim(
            "Ga je gang met de SLA-claim, dien hem maar in.",
            "Re: [PSR-2026-00111] Vragen"
        ));
        assert!(continues_claim(
            "Reichen Sie die Gutschrift bitte so ein.",
            "AW: Ticket #48213"
        ));
        // Another claim, or a thread that is no claim's.
        assert!(!continues_claim(
            "Please file a new SLA credit claim for this outage too.",
            subject
        ));
        assert!(!continues_claim(
            "Please go ahead and claim a credit for EX123456.",
            "Re: Exchange problems this morning"
        ));
    }

    #[test]
    fn a_status_question_under_a_credit_subject_asks_for_nothing() {
        // Phrasings of my own.
        for body in [
            "Gibt es schon etwas Neues zu unserem Antrag? Wir haben nichts gehört.",
            "Have you heard anything from Microsoft about EX123456 yet?",
            "Is er al iets bekend over onze aanvraag?",
        ] {
            assert_eq!(
                credit_requested(&statements(body), Some("Frage zur SLA-Gutschrift")),
                None,
                "{body}"
            );
        }
        // Without the question the subject still asks.
        assert!(
            credit_requested(
                &statements("Mail was down for two hours."),
                Some("SLA credit")
            )
            .is_some()
        );
    }

    #[test]
    fn every_credit_phrase_has_a_word_the_gate_knows() {
        // The gate is asked before any phrase: a phrase whose word it lacks is never read.
        for text in [
            "Wij dienen hierbij een kredietaanvraag in voor de storing.",
            "Kunnen jullie voor die storing het krediet aanvragen?",
            "Willen jullie de credit voor ons indienen bij Microsoft?",
            "Can we have our money back for Tuesday?",
            "Wir bitten um Rückerstattung für den Ausfall.",
        ] {
            assert!(mentions_credit(&Folded::new(text)), "{text}");
            assert!(
                credit_requested(&statements(text), None).is_some(),
                "{text}"
            );
        }
    }

    #[test]
    fn a_credit_phrase_wrapped_across_lines_is_still_seen() {
        let folded = Folded::new("Could you get us a service\ncredit from Microsoft?");
        assert!(mentions_credit(&folded));
        let asked = credit_requested(
            &statements("Could you get us a service\ncredit from Microsoft?"),
            None,
        );
        assert!(asked.is_some());
        assert!(!mentions_credit(&Folded::new(
            "The printer on floor 2 is jammed."
        )));
        // A compound: "servicecredit", "SLA-credit".
        assert!(
            credit_requested(
                &statements("Kunnen jullie een servicecredit aanvragen?"),
                None
            )
            .is_some()
        );
    }

    #[test]
    fn bought_through_our_csp_is_yes() {
        for text in [
            "We buy our licences through our CSP.",
            "De abonnementen lopen via onze CSP.",
            "Die Lizenzen kaufen wir über unseren CSP.",
        ] {
            let (csp, _) = purchased_via_csp(&statements(text), &[]);
            assert_eq!(csp, Some(true), "{text}");
        }
        let (csp, _) = purchased_via_csp(&statements("We bought them through another CSP."), &[]);
        assert_eq!(csp, Some(false));
    }

    #[test]
    fn a_reply_in_a_claim_thread_that_says_go_on_asks_for_the_credit() {
        let go = |t: &str, subject: &str| go_ahead(&statements(t), subject).is_some();
        // Asked to put corrections into the claim (phrasings of my own).
        assert!(go(
            "It was 40 users, not 14. Please amend the claim.",
            "Re: SLA credit TM1234567"
        ));
        assert!(go(
            "Es waren 40, nicht 14. Bitte passen Sie den Antrag an.",
            "AW: Gutschrift TM1234567"
        ));
        let subject = "Re: [SLA-9] Your SLA credit claim";
        assert!(go(
            "Here are the numbers. Feel free to go ahead now.",
            subject
        ));
        assert!(go(
            "Hierbij de tijden, dien hem maar in.",
            "Re: SLA-claim storing"
        ));
        assert!(go(
            "Bitte nehmen Sie das zweite Zeitfenster mit auf.",
            "AW: Gutschriftsanfrage"
        ));
        // Not in a credit thread, or withdrawn.
        assert!(!go(
            "Please go ahead with the migration.",
            "Re: Migration plan"
        ));
        assert!(!go(
            "Please go ahead and close it, we don't want to claim after all.",
            subject
        ));
    }

    #[test]
    fn advisory_and_its_negation() {
        let adv = |t: &str| advisory(&statements(t)).is_some();
        assert!(adv(
            "Microsoft classified it as an advisory rather than an incident."
        ));
        assert!(!adv("It was an incident, not an advisory."));
        assert!(!adv(
            "It was listed as an incident rather than an advisory."
        ));
        assert!(adv("Microsoft hat es als Hinweis eingestuft."));
        assert!(!adv("Danke für den Hinweis."));
    }
}
