//! Conformance scenarios: the result model the runner fills and the reports read.

pub mod model;
