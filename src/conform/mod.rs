//! `conform`: scripted conformance scenarios (Gherkin) run against a server, one result per
//! scenario, each named by the checklist id it proves.

pub mod model;
pub(crate) mod probe;
pub mod provider;
pub mod runner;
pub mod scenario;
pub mod steps;
pub mod suite;
pub mod world;
