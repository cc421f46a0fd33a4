//! The words of dates, times and durations, one table per language. The grammar in
//! [`super`] reads only these tables: a language is added by adding a table.
//!
//! Entries are lower case, as in folded text; an entry of several words matches them
//! with any whitespace between.

use chrono::Weekday;
use chrono_tz::Tz;
use chrono_tz::{America, Europe};

/// What a word or phrase means to the grammar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Meaning {
    /// A month name or abbreviation, 1-12.
    Month(u32),
    /// A day of the week.
    Weekday(Weekday),
    /// Before a weekday, the one strictly before today ("last Friday").
    Before,
    /// A day counted back from the day the mail was written ("yesterday" is 1).
    DaysBack(i64),
    /// After an hour, makes it a clock time ("13 Uhr", "3 o'clock").
    Clock,
    /// After an hour, a clock time only when a [`Meaning::ClockLead`] word leads it, and
    /// otherwise a unit of hours (Dutch "om 3 uur" against "3 uur").
    ClockOrHours,
    /// A word that makes a following [`Meaning::ClockOrHours`] a clock time, and an
    /// hour written with [`Meaning::HourMark`] ("from 9h", "om 9u").
    ClockLead,
    /// A time of day by name: noon is 12, midnight 24 (the end of the day).
    Named(u32),
    /// A place that, with a [`Meaning::ZoneTime`] word, names a zone ("Dutch time").
    ZonePlace(Tz),
    /// "UTC", "GMT": before an offset, names it ("UTC+1").
    Utc,
    /// "time", "tijd", "Zeit".
    ZoneTime,
    /// A zone by its region alone ("3:40 PM Eastern").
    Zone(Tz),
    /// A unit of hours after a number ("2 hours", "3 Std").
    Hours,
    /// A unit of minutes after a number.
    Minutes,
    /// A one-letter unit of hours ("2h", "3 u"): trusted only for a small number, and
    /// read after a clock time as its mark ("14.30 u"); after a
    /// [`Meaning::ClockLead`] word the hour's mark ("until 11h").
    HourMark,
    /// A one-letter unit of minutes, only after hours ("2h30m").
    MinuteMark,
    /// Joins hours and minutes ("3 hours and 20 minutes").
    And,
    /// A quantity in words before a unit ("two hours", "anderhalf uur").
    Quantity(f64),
    /// Glued to a day number ("5th", "3de").
    Ordinal,
    /// Between a day and its month ("5th of March").
    Of,
    /// The day after the one being told ("the next morning").
    NextDay,
    /// A whole phrase that is a duration, in minutes ("an hour and a half").
    Duration(i64),
}

impl Meaning {
    /// A bit for each kind of meaning, for a set of the kinds a text has.
    pub fn bit(self) -> u32 {
        1 << match self {
            Month(_) => 0,
            Weekday(_) => 1,
            Before => 2,
            DaysBack(_) => 3,
            Clock => 4,
            ClockOrHours => 5,
            ClockLead => 6,
            Named(_) => 7,
            ZonePlace(_) => 8,
            Utc => 9,
            ZoneTime => 10,
            Zone(_) => 11,
            Hours => 12,
            Minutes => 13,
            HourMark => 14,
            MinuteMark => 15,
            And => 16,
            Quantity(_) => 17,
            Ordinal => 18,
            Of => 19,
            NextDay => 20,
            Duration(_) => 21,
        }
    }
}

/// One language's words.
pub struct Lexicon {
    /// ISO 639-1 code.
    pub language: &'static str,
    /// Every word or phrase with its meaning.
    pub words: &'static [(&'static str, Meaning)],
}

use Meaning::*;

/// English.
pub const EN: Lexicon = Lexicon {
    language: "en",
    words: &[
        ("january", Month(1)),
        ("jan", Month(1)),
        ("february", Month(2)),
        ("feb", Month(2)),
        ("march", Month(3)),
        ("mar", Month(3)),
        ("april", Month(4)),
        ("apr", Month(4)),
        ("may", Month(5)),
        ("june", Month(6)),
        ("jun", Month(6)),
        ("july", Month(7)),
        ("jul", Month(7)),
        ("august", Month(8)),
        ("aug", Month(8)),
        ("september", Month(9)),
        ("sept", Month(9)),
        ("sep", Month(9)),
        ("october", Month(10)),
        ("oct", Month(10)),
        ("november", Month(11)),
        ("nov", Month(11)),
        ("december", Month(12)),
        ("dec", Month(12)),
        ("monday", Weekday(Weekday::Mon)),
        ("tuesday", Weekday(Weekday::Tue)),
        ("wednesday", Weekday(Weekday::Wed)),
        ("thursday", Weekday(Weekday::Thu)),
        ("friday", Weekday(Weekday::Fri)),
        ("saturday", Weekday(Weekday::Sat)),
        ("sunday", Weekday(Weekday::Sun)),
        ("last", Before),
        ("previous", Before),
        ("past", Before),
        ("today", DaysBack(0)),
        ("this morning", DaysBack(0)),
        ("this afternoon", DaysBack(0)),
        ("tonight", DaysBack(0)),
        ("yesterday", DaysBack(1)),
        ("last night", DaysBack(1)),
        ("day before yesterday", DaysBack(2)),
        ("the day before yesterday", DaysBack(2)),
        ("o'clock", Clock),
        // Before "9h", "11h": a clock time, not hours ("from 9h until 11h").
        ("from", ClockLead),
        ("until", ClockLead),
        ("till", ClockLead),
        ("to", ClockLead),
        ("between", ClockLead),
        ("and", ClockLead),
        ("at", ClockLead),
        ("since", ClockLead),
        ("noon", Named(12)),
        ("midday", Named(12)),
        ("midnight", Named(24)),
        ("dutch", ZonePlace(Europe::Amsterdam)),
        ("netherlands", ZonePlace(Europe::Amsterdam)),
        ("amsterdam", ZonePlace(Europe::Amsterdam)),
        ("belgian", ZonePlace(Europe::Amsterdam)),
        ("brussels", ZonePlace(Europe::Amsterdam)),
        ("german", ZonePlace(Europe::Amsterdam)),
        ("berlin", ZonePlace(Europe::Amsterdam)),
        ("central european", ZonePlace(Europe::Amsterdam)),
        ("uk", ZonePlace(Europe::London)),
        ("british", ZonePlace(Europe::London)),
        ("london", ZonePlace(Europe::London)),
        ("irish", ZonePlace(Europe::Dublin)),
        ("dublin", ZonePlace(Europe::Dublin)),
        ("eastern", ZonePlace(America::New_York)),
        ("new york", ZonePlace(America::New_York)),
        ("pacific", ZonePlace(America::Los_Angeles)),
        ("central", ZonePlace(America::Chicago)),
        ("mountain", ZonePlace(America::Denver)),
        ("atlantic", ZonePlace(America::Halifax)),
        ("time", ZoneTime),
        ("utc", Utc),
        ("gmt", Utc),
        ("eastern", Zone(America::New_York)),
        ("pacific", Zone(America::Los_Angeles)),
        ("central", Zone(America::Chicago)),
        ("mountain", Zone(America::Denver)),
        ("atlantic", Zone(America::Halifax)),
        ("hour", Hours),
        ("hours", Hours),
        ("hr", Hours),
        ("hrs", Hours),
        ("h", HourMark),
        ("minute", Minutes),
        ("minutes", Minutes),
        ("min", Minutes),
        ("mins", Minutes),
        ("m", MinuteMark),
        ("and", And),
        ("a", Quantity(1.0)),
        ("an", Quantity(1.0)),
        ("one", Quantity(1.0)),
        ("half an", Quantity(0.5)),
        ("half a", Quantity(0.5)),
        ("one and a half", Quantity(1.5)),
        ("a couple of", Quantity(2.0)),
        ("two", Quantity(2.0)),
        ("three", Quantity(3.0)),
        ("four", Quantity(4.0)),
        ("five", Quantity(5.0)),
        ("six", Quantity(6.0)),
        ("eight", Quantity(8.0)),
        ("st", Ordinal),
        ("nd", Ordinal),
        ("rd", Ordinal),
        ("th", Ordinal),
        ("of", Of),
        ("next morning", NextDay),
        ("next day", NextDay),
        ("following morning", NextDay),
        ("following day", NextDay),
        ("the next morning", NextDay),
        ("the next day", NextDay),
        ("the following morning", NextDay),
        ("the following day", NextDay),
        ("the morning after", NextDay),
        ("an hour and a half", Duration(90)),
        ("one hour and a half", Duration(90)),
    ],
};

/// Dutch.
pub const NL: Lexicon = Lexicon {
    language: "nl",
    words: &[
        ("januari", Month(1)),
        ("februari", Month(2)),
        ("maart", Month(3)),
        ("mrt", Month(3)),
        ("mei", Month(5)),
        ("juni", Month(6)),
        ("juli", Month(7)),
        ("augustus", Month(8)),
        ("oktober", Month(10)),
        ("okt", Month(10)),
        ("maandag", Weekday(Weekday::Mon)),
        ("dinsdag", Weekday(Weekday::Tue)),
        ("woensdag", Weekday(Weekday::Wed)),
        ("donderdag", Weekday(Weekday::Thu)),
        ("vrijdag", Weekday(Weekday::Fri)),
        ("zaterdag", Weekday(Weekday::Sat)),
        ("zondag", Weekday(Weekday::Sun)),
        ("afgelopen", Before),
        ("vorige", Before),
        ("vandaag", DaysBack(0)),
        ("vanochtend", DaysBack(0)),
        ("vanmorgen", DaysBack(0)),
        ("vanmiddag", DaysBack(0)),
        ("vanavond", DaysBack(0)),
        ("gisteren", DaysBack(1)),
        ("gisterochtend", DaysBack(1)),
        ("gistermorgen", DaysBack(1)),
        ("gistermiddag", DaysBack(1)),
        ("gisteravond", DaysBack(1)),
        ("gisternacht", DaysBack(1)),
        ("eergisteren", DaysBack(2)),
        ("uur", ClockOrHours),
        ("om", ClockLead),
        ("tot", ClockLead),
        ("van", ClockLead),
        ("vanaf", ClockLead),
        ("tussen", ClockLead),
        ("en", ClockLead),
        ("rond", ClockLead),
        ("omstreeks", ClockLead),
        ("tegen", ClockLead),
        ("sinds", ClockLead),
        ("middernacht", Named(24)),
        ("nederlandse", ZonePlace(Europe::Amsterdam)),
        ("belgische", ZonePlace(Europe::Amsterdam)),
        ("duitse", ZonePlace(Europe::Amsterdam)),
        ("tijd", ZoneTime),
        ("uur", Hours),
        ("uren", Hours),
        ("u", HourMark),
        ("minuten", Minutes),
        ("en", And),
        ("een", Quantity(1.0)),
        ("anderhalf", Quantity(1.5)),
        ("twee", Quantity(2.0)),
        ("drie", Quantity(3.0)),
        ("vier", Quantity(4.0)),
        ("vijf", Quantity(5.0)),
        ("zes", Quantity(6.0)),
        ("acht", Quantity(8.0)),
        ("e", Ordinal),
        ("ste", Ordinal),
        ("de", Ordinal),
        ("volgende ochtend", NextDay),
        ("volgende dag", NextDay),
        ("volgende morgen", NextDay),
        ("de ochtend erna", NextDay),
        ("de dag erna", NextDay),
        ("de ochtend daarna", NextDay),
        ("de dag daarna", NextDay),
    ],
};

/// German.
pub const DE: Lexicon = Lexicon {
    language: "de",
    words: &[
        ("januar", Month(1)),
        ("jänner", Month(1)),
        ("februar", Month(2)),
        ("märz", Month(3)),
        ("maerz", Month(3)),
        ("mai", Month(5)),
        ("dezember", Month(12)),
        ("dez", Month(12)),
        ("montag", Weekday(Weekday::Mon)),
        ("dienstag", Weekday(Weekday::Tue)),
        ("mittwoch", Weekday(Weekday::Wed)),
        ("donnerstag", Weekday(Weekday::Thu)),
        ("freitag", Weekday(Weekday::Fri)),
        ("samstag", Weekday(Weekday::Sat)),
        ("sonnabend", Weekday(Weekday::Sat)),
        ("sonntag", Weekday(Weekday::Sun)),
        ("letzten", Before),
        ("letzte", Before),
        ("vergangenen", Before),
        ("vergangene", Before),
        ("heute", DaysBack(0)),
        ("heute morgen", DaysBack(0)),
        ("heute früh", DaysBack(0)),
        ("gestern", DaysBack(1)),
        ("vorgestern", DaysBack(2)),
        ("uhr", Clock),
        ("von", ClockLead),
        ("ab", ClockLead),
        ("bis", ClockLead),
        ("um", ClockLead),
        ("zwischen", ClockLead),
        ("und", ClockLead),
        ("seit", ClockLead),
        ("mittag", Named(12)),
        ("mitternacht", Named(24)),
        ("deutscher", ZonePlace(Europe::Amsterdam)),
        ("deutsche", ZonePlace(Europe::Amsterdam)),
        ("zeit", ZoneTime),
        ("stunde", Hours),
        ("stunden", Hours),
        ("std", Hours),
        ("und", And),
        ("ein", Quantity(1.0)),
        ("eine", Quantity(1.0)),
        ("eineinhalb", Quantity(1.5)),
        ("anderthalb", Quantity(1.5)),
        ("zwei", Quantity(2.0)),
        ("drei", Quantity(3.0)),
        ("vier", Quantity(4.0)),
        ("fünf", Quantity(5.0)),
        ("sechs", Quantity(6.0)),
        ("acht", Quantity(8.0)),
        ("nächsten morgen", NextDay),
        ("nächsten tag", NextDay),
        ("folgenden morgen", NextDay),
        ("folgenden tag", NextDay),
    ],
};

/// Every language the grammar reads; a mail may mix them.
pub const LANGUAGES: [&Lexicon; 3] = [&EN, &NL, &DE];
