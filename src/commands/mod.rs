//! One module per subcommand: glue between the resolved command line, the core, and output.

pub mod serve;
