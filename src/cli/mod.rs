//! The binary's own modules (`main.rs` stays a thin entry point): arguments,
//! commands, rendering of errors. They only call the library through `bilan::`.

pub mod args;
pub mod commands;
pub mod render;
