//! Line numbers: which 1-based line of the file a record starts on, whatever its line ends.

/// 1-based line numbers of byte offsets in the text, counting `\r\n`, `\n` and a lone `\r`
/// as one line break each. The csv crate's own line numbers miscount `\r\n` (what Excel on
/// Windows writes), so lines are counted here from the records' byte offsets, which must
/// come in increasing order.
pub(super) struct Lines<'t> {
    text: &'t [u8],
    at: usize,
    line: u64,
}

impl<'t> Lines<'t> {
    pub(super) fn new(text: &'t str) -> Self {
        Self { text: text.as_bytes(), at: 0, line: 1 }
    }

    /// The line of the first character at or after `byte` that is not a line break (a
    /// record's offset may point at the break before it).
    pub(super) fn line_of(&mut self, byte: u64) -> u64 {
        let mut target = usize::try_from(byte).unwrap_or(usize::MAX).min(self.text.len());
        while target < self.text.len() && matches!(self.text[target], b'\r' | b'\n') {
            target += 1;
        }
        let mut i = self.at;
        while i < target {
            match self.text[i] {
                b'\n' => self.line += 1,
                b'\r' if self.text.get(i + 1) != Some(&b'\n') => self.line += 1,
                _ => {}
            }
            i += 1;
        }
        self.at = self.at.max(target);
        self.line
    }
}

#[cfg(test)]
mod tests {
    use crate::customer_csv::tests::parse_with;

    #[test]
    fn lines_are_counted_the_same_with_windows_unix_and_old_mac_line_ends() -> anyhow::Result<()> {
        for end in ["\r\n", "\n", "\r"] {
            let file =
                ["name,lat,lng,grade", "A,1,2,A", "", "B,1,2,X", "\"C", "C\",1,2,Q", "D,1,2,A"].join(end);
            let parsed = parse_with(file.as_bytes(), &[])?;
            let bad: Vec<u64> = parsed.bad_rows.iter().map(|b| b.line).collect();
            let good: Vec<u64> = parsed.rows.iter().map(|r| r.line).collect();
            assert_eq!((good, bad), (vec![2, 7], vec![4, 5]), "line ends {end:?}");
        }
        Ok(())
    }
}
