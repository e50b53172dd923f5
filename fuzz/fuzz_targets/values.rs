//! The French number and date parsers and label normalisation on arbitrary text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = bilan::base::values::parse_french_number(s);
        let _ = bilan::base::values::parse_french_date(s);
        let n = bilan::base::values::normalize_label(s);
        let _ = bilan::base::values::normalize_label(&n);
    }
});
