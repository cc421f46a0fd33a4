//! Dev aid: prints the statements slaclaim cuts from each mail's new text.
fn main() {
    for path in std::env::args().skip(1) {
        let raw = std::fs::read(&path).unwrap_or_default();
        let email = slaclaim::mail::message::Email::parse(&raw);
        let parts = slaclaim::mail::quote::split(
            &slaclaim::mail::quote::strip_own(&email.body),
            &email.subject,
        );
        println!("== {path}");
        for s in &slaclaim::extract::text::statements(&parts.new_text) {
            println!("[{:?}] {}", s.label, s.text);
        }
    }
}
