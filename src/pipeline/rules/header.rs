//! A rule file's header: the first block comment `/* … */`, TOML.
//!
//! Dependency-free: `build.rs` includes this file to split the built-in rules
//! the way the engine does.

/// Splits a rule file into its TOML header and the script. The header is the
/// first block comment `/* … */`; the script keeps its line numbers (the header
/// is blanked out, not removed).
pub fn split_header(text: &str) -> Option<(&str, String)> {
    let trimmed = text.trim_start();
    let offset = text.len() - trimmed.len();
    let rest = trimmed.strip_prefix("/*")?;
    let end = rest.find("*/")?;
    let header = &rest[..end];
    let header_len = offset + 2 + end + 2;
    Some((header, blank_out(&text[..header_len], &text[header_len..])))
}

/// `rest` after `head` blanked out: the lines of `head` become empty lines and
/// its last line spaces, so that every line and column of `rest` is where it
/// was in the file (the interpreter's positions stay the file's), without
/// making the tokenizer walk a header's worth of spaces.
pub fn blank_out(head: &str, rest: &str) -> String {
    let lines = head.matches('\n').count();
    let last = head.rsplit('\n').next().map_or(0, |l| l.chars().count());
    let mut out = String::with_capacity(lines + last + rest.len());
    out.extend(std::iter::repeat_n('\n', lines));
    out.extend(std::iter::repeat_n(' ', last));
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    /// `build.rs` stores each built-in rule's script split from its header:
    /// the engine must compile exactly what splitting the file gives.
    #[test]
    fn built_in_scripts_are_the_files_split_from_their_headers() {
        let files = crate::base::embedded::rules();
        let mut compared = 0;
        for file in &files {
            let Some(built) = crate::base::embedded::prebuilt(file) else {
                continue;
            };
            let split = super::split_header(&file.text).map(|(_, script)| script);
            assert_eq!(built.script.map(str::to_string), split, "{}", file.path.display());
            compared += usize::from(built.script.is_some());
        }
        assert!(compared > 50, "only {compared} built-in rules compared");
    }
}
