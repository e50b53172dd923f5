//! Layer 0, `base`: what every other layer speaks. Cell positions
//! ([`model`]), French numbers, dates and labels ([`values`], [`format`]), the
//! wording of system and library errors ([`messages`]), the schemas and rules
//! compiled into the binary ([`embedded`]). Imports nothing from the crate
//! outside this layer.

pub mod embedded;
pub mod format;
pub mod messages;
pub mod model;
pub mod values;
