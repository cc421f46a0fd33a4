//! The ledger: claims, their deadlines and lifecycle, what each message adds to them
//! (ingest), what staff may change, and who is trusted to change it.

pub mod claim;
pub mod correction;
pub mod deadline;
pub mod evidence;
pub mod ingest;
pub mod lifecycle;
pub mod record;
pub mod report;
pub mod staff;
pub mod trust;
