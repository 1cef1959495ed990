//! JPEG encoding with `jpeg-encoder` (pure Rust, AVX2 kernels on x86-64; about twice as
//! fast as the `image` crate's encoder at the same quality, see `bench/photo/RESULTS.md`).
//!
//! The output is written from pixels, so none of the camera's metadata (EXIF with GPS,
//! serial numbers, maker notes; XMP; ICC) can survive. It carries only a JFIF header and one
//! comment segment of our own: `fieldkit-photo/1 code=<verification code>`.

use image::RgbImage;

use super::PhotoError;

/// The comment segment's prefix.
pub const COMMENT_PREFIX: &str = "fieldkit-photo/1 code=";

/// Encodes `image` at `quality` (1–100, 4:2:0 chroma below 90) with our comment segment.
pub fn encode(image: &RgbImage, quality: u8, code: &str) -> Result<Vec<u8>, PhotoError> {
    let (w, h) = image.dimensions();
    let too_big = || PhotoError::Internal(format!("{w}x{h} pixels is too large for a jpeg"));
    let (w16, h16) = (u16::try_from(w).map_err(|_| too_big())?, u16::try_from(h).map_err(|_| too_big())?);
    let mut out = Vec::with_capacity(image.as_raw().len() / 6);
    let encoder = jpeg_encoder::Encoder::new(&mut out, quality);
    encoder
        .encode(image.as_raw(), w16, h16, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| PhotoError::Internal(format!("jpeg encoding: {e}")))?;
    insert_comment(out, &format!("{COMMENT_PREFIX}{code}"))
}

/// Inserts a COM segment with `text` after the SOI and JFIF APP0 segments of `jpeg`.
fn insert_comment(jpeg: Vec<u8>, text: &str) -> Result<Vec<u8>, PhotoError> {
    let len = u16::try_from(text.len() + 2)
        .map_err(|_| PhotoError::Internal(format!("comment of {} bytes is too long", text.len())))?;
    let mut at = 2;
    if jpeg.get(2..4) == Some(&[0xFF, 0xE0]) {
        let app0 = jpeg.get(4..6).map_or(0, |b| usize::from(u16::from_be_bytes([b[0], b[1]])));
        at = 4 + app0;
    }
    if at > jpeg.len() || jpeg.get(..2) != Some(&[0xFF, 0xD8]) {
        return Err(PhotoError::Internal("encoder output does not start like a jpeg".to_owned()));
    }
    let mut out = Vec::with_capacity(jpeg.len() + text.len() + 4);
    out.extend_from_slice(&jpeg[..at]);
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&jpeg[at..]);
    Ok(out)
}

/// The marker segments of a JPEG before its first scan, as (marker, payload) pairs.
#[cfg(test)]
pub(crate) fn segments(jpeg: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pos = 2;
    while pos + 4 <= jpeg.len() && jpeg[pos] == 0xFF {
        let marker = jpeg[pos + 1];
        let len = usize::from(u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]));
        out.push((marker, jpeg[pos + 4..pos + 2 + len].to_vec()));
        if marker == 0xDA {
            break;
        }
        pos += 2 + len;
    }
    out
}

#[cfg(test)]
mod tests {
    use image::Rgb;

    use super::*;

    #[test]
    fn the_output_has_only_jfif_and_our_comment_before_the_image_data() {
        let image = RgbImage::from_fn(64, 48, |x, y| Rgb([(x * 4) as u8, (y * 5) as u8, 90]));
        let jpeg = encode(&image, 85, "7KQ2-MX4P").expect("encodes");
        let segs = segments(&jpeg);
        assert_eq!(segs[0].0, 0xE0);
        assert!(segs[0].1.starts_with(b"JFIF\0"));
        assert_eq!(segs[1], (0xFE, b"fieldkit-photo/1 code=7KQ2-MX4P".to_vec()));
        let app_markers: Vec<u8> = segs.iter().map(|s| s.0).filter(|m| (0xE1..=0xEF).contains(m)).collect();
        assert!(app_markers.is_empty(), "no exif, xmp or icc: {app_markers:x?}");
        let mut decoder = jpeg_decoder::Decoder::new(&jpeg[..]);
        let pixels = decoder.decode().expect("decodes");
        assert_eq!(pixels.len(), 64 * 48 * 3);
    }

    #[test]
    fn a_higher_quality_makes_a_larger_file() {
        let image =
            RgbImage::from_fn(128, 96, |x, y| Rgb([(x * y % 251) as u8, (x * 3) as u8, (y * 7) as u8]));
        let low = encode(&image, 40, "A").expect("encodes");
        let high = encode(&image, 95, "A").expect("encodes");
        assert!(high.len() > low.len(), "{} <= {}", high.len(), low.len());
    }
}
