//! Bytes → text: a byte-order mark, the declared charset, UTF-8 or else GB18030 (Excel's
//! Chinese CSV), and the delimiter the header line uses.

use std::borrow::Cow;

use encoding_rs::{Encoding, GB18030, UTF_8};

use super::{FileError, MAX_ECHO_CHARS};

/// Decodes the file: a byte-order mark wins, then the declared charset, then UTF-8, then
/// GB18030 (a superset of GBK, what Excel saves a Chinese "CSV (comma delimited)" in).
/// Nothing is replaced: bytes invalid in the chosen encoding refuse the file.
pub fn decode<'a>(bytes: &'a [u8], charset: Option<&str>) -> Result<(Cow<'a, str>, &'static str), FileError> {
    let (encoding, body): (&'static Encoding, &[u8]) = if let Some((enc, bom)) = Encoding::for_bom(bytes) {
        (enc, &bytes[bom..])
    } else if let Some(label) = charset {
        let enc = Encoding::for_label(label.trim().as_bytes())
            .ok_or_else(|| FileError::UnknownCharset(label.chars().take(MAX_ECHO_CHARS).collect()))?;
        (enc, bytes)
    } else if std::str::from_utf8(bytes).is_ok() {
        (UTF_8, bytes)
    } else {
        (GB18030, bytes)
    };
    let text = encoding.decode_without_bom_handling_and_without_replacement(body).ok_or(
        FileError::NotText(if encoding == GB18030 { "utf-8 or gbk/gb18030" } else { encoding.name() }),
    )?;
    Ok((text, encoding.name()))
}

/// The delimiter of the header line: `,` unless it has none and has tabs or semicolons
/// (Excel's "Unicode text" and European "CSV" save those).
pub(super) fn delimiter(text: &str) -> u8 {
    let first = text.lines().next().unwrap_or_default();
    if first.contains(',') {
        b','
    } else if first.contains('\t') {
        b'\t'
    } else if first.contains(';') {
        b';'
    } else {
        b','
    }
}

#[cfg(test)]
mod tests {
    use fieldkit_domain::geo::Datum;

    use crate::customer_csv::tests::parse_with;
    use crate::customer_csv::{FileError, ParseOptions, parse};

    #[test]
    fn excels_chinese_gbk_csv_is_decoded() -> anyhow::Result<()> {
        let text = "name,lat,lng,grade\n华联超市,31.2,121.4,B\n";
        let (gbk, _, unmappable) = encoding_rs::GBK.encode(text);
        assert!(!unmappable);
        assert!(std::str::from_utf8(&gbk).is_err(), "the test bytes really are not utf-8");
        let parsed = parse_with(&gbk, &[])?;
        assert_eq!(parsed.encoding, "gb18030");
        assert_eq!(parsed.rows[0].name, "华联超市");
        // A declared charset is used as declared.
        let declared = parse(&gbk, &ParseOptions { charset: Some("GBK"), datum: Datum::Wgs84, users: &[] })?;
        assert_eq!(declared.rows[0].name, "华联超市");
        Ok(())
    }

    #[test]
    fn bytes_that_are_no_known_text_refuse_the_file() {
        // 0x80 alone is not GB18030, and 0xFF never is.
        assert_eq!(
            parse_with(b"name,lat,lng,grade\n\xff\x80,1,2,A\n", &[]),
            Err(FileError::NotText("utf-8 or gbk/gb18030"))
        );
        let err = parse(b"x", &ParseOptions { charset: Some("klingon"), datum: Datum::Wgs84, users: &[] });
        assert_eq!(err, Err(FileError::UnknownCharset("klingon".into())));
        assert_eq!(parse_with(b"", &[]), Err(FileError::Empty));
    }

    #[test]
    fn a_semicolon_separated_file_is_read() -> anyhow::Result<()> {
        let parsed = parse_with(b"name;lat;lng;grade\nShop;31.2;121.4;C\n", &[])?;
        assert_eq!((parsed.rows.len(), parsed.bad_rows.len()), (1, 0));
        Ok(())
    }
}
