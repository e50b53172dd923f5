//! Colours that mean something in every workbook `bilan` writes: the one home of
//! the status colours (the synthesis and the annotated reports share them).

use crate::finding::Status;

/// Background and text colours (RGB) of a status: green, amber, red.
pub const fn status_colors(s: Status) -> (u32, u32) {
    match s {
        Status::Conforme => (0xC6EFCE, 0x006100),
        Status::ConformeAvecReserves => (0xFFEB9C, 0x9C5700),
        Status::NonConforme => (0xFFC7CE, 0x9C0006),
    }
}

/// Background of a file that was skipped (not checked).
pub const SKIPPED: u32 = 0xEDEDED;
