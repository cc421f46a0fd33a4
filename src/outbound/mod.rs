//! Mail out: what is due (planner), drafts and reminders rendered, and the outbox that
//! sends each exactly once.

pub mod draft;
pub mod outbox;
pub mod planner;
