//! The application: the configuration file (each section owned by its module), the
//! daemon's wiring, metrics and the health server.

pub mod config;
pub mod daemon;
pub mod demo;
pub mod metrics;
