//! JPEG decoding, at reduced scale when the target size allows it.
//!
//! Two pure-Rust decoders, each where it is the faster (measured in
//! `bench/photo/RESULTS.md`):
//!
//! * When half the stored size still covers the target, `jpeg-decoder` runs the inverse
//!   DCT at 1/2, 1/4 or 1/8 of the size: a 12 MP photo bound for a 1920 px long edge is
//!   decoded straight to 2000×1500, a quarter of the pixels to colour-convert and keep
//!   (9 MB instead of 36 MB), faster than any full-size decode.
//! * Otherwise (an 8 MP photo bound for 1920 px) the whole frame is needed, and
//!   `zune-jpeg` decodes it about a third faster than `jpeg-decoder`, with 11 MB less
//!   memory at its peak (it colour-converts row by row instead of keeping full planes).
//!
//! Both run in strict mode: a damaged stream is refused, never turned into a photo with
//! grey blocks.

use std::panic::{AssertUnwindSafe, catch_unwind};

use image::RgbImage;
use jpeg_decoder::PixelFormat;

use super::PhotoError;
use super::header::JpegHeader;

/// Decodes `bytes` (whose headers are `header`) to RGB at the smallest DCT scale that keeps
/// the long edge at least `long_edge` pixels (or at full size if it is smaller).
pub fn decode_scaled(bytes: &[u8], header: &JpegHeader, long_edge: u32) -> Result<RgbImage, PhotoError> {
    let (want_w, want_h) = scaled_request(header.width, header.height, long_edge);
    let dct_scaling_helps = header.width.max(header.height).div_ceil(2) >= long_edge;
    // The decoders are well fuzzed; a panic on some new damaged file must still reach the
    // app as an error, never as a crash.
    catch_unwind(AssertUnwindSafe(|| {
        if dct_scaling_helps {
            decode_dct_scaled(bytes, want_w, want_h)
        } else {
            decode_full_size(bytes, header)
        }
    }))
    .unwrap_or_else(|_| Err(PhotoError::Damaged("the decoder gave up on the data".to_owned())))
}

fn decode_full_size(bytes: &[u8], header: &JpegHeader) -> Result<RgbImage, PhotoError> {
    use zune_core::bytestream::ZCursor;
    use zune_core::colorspace::ColorSpace;
    use zune_core::options::DecoderOptions;

    let (w, h) = (header.width, header.height);
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::RGB)
        .set_strict_mode(true)
        .set_max_width(w as usize)
        .set_max_height(h as usize);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder.decode_headers().map_err(map_zune_err)?;
    if let Some(space) = decoder.input_colorspace()
        && matches!(space, ColorSpace::CMYK | ColorSpace::YCCK)
    {
        return Err(PhotoError::Unsupported("cmyk jpeg".to_owned()));
    }
    let pixels = decoder.decode().map_err(map_zune_err)?;
    let (dw, dh) = decoder.dimensions().map(|(a, b)| (a as u32, b as u32)).unwrap_or((0, 0));
    if (dw, dh) != (w, h) || pixels.len() as u64 != u64::from(w) * u64::from(h) * 3 {
        return Err(PhotoError::Damaged(format!(
            "decoder returned {} bytes for {dw}x{dh} pixels, the header says {w}x{h}",
            pixels.len()
        )));
    }
    RgbImage::from_raw(w, h, pixels)
        .ok_or_else(|| PhotoError::Damaged(format!("decoded buffer does not hold {w}x{h} pixels")))
}

fn map_zune_err(err: zune_jpeg::errors::DecodeErrors) -> PhotoError {
    match err {
        zune_jpeg::errors::DecodeErrors::Unsupported(scheme) => {
            PhotoError::Unsupported(format!("{scheme:?}").to_lowercase())
        }
        other => PhotoError::Damaged(format!("{other}").trim_matches('"').to_lowercase()),
    }
}

/// The size to ask the decoder for: the upright long edge scaled to `long_edge`.
fn scaled_request(width: u32, height: u32, long_edge: u32) -> (u16, u16) {
    let long = width.max(height);
    let clamp = |v: u32| u16::try_from(v.max(1)).unwrap_or(u16::MAX);
    if long <= long_edge {
        return (clamp(width), clamp(height));
    }
    let scale = |v: u32| clamp(u32::try_from(u64::from(v) * u64::from(long_edge)).unwrap_or(u32::MAX) / long);
    (scale(width), scale(height))
}

fn decode_dct_scaled(bytes: &[u8], want_w: u16, want_h: u16) -> Result<RgbImage, PhotoError> {
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    decoder.read_info().map_err(map_err)?;
    let (w, h) = decoder.scale(want_w, want_h).map_err(map_err)?;
    let (w, h) = (u32::from(w), u32::from(h));
    // At most 4 bytes a pixel at the output size: what the pixel cap already allowed.
    decoder
        .set_max_decoding_buffer_size(usize::try_from(u64::from(w) * u64::from(h) * 4).unwrap_or(usize::MAX));
    let pixels = decoder.decode().map_err(map_err)?;
    let format = decoder
        .info()
        .map(|i| i.pixel_format)
        .ok_or_else(|| PhotoError::Damaged("no frame information after decoding".to_owned()))?;
    let expected = |bpp: u64| u64::from(w) * u64::from(h) * bpp;
    let rgb = match format {
        PixelFormat::RGB24 if pixels.len() as u64 == expected(3) => pixels,
        PixelFormat::L8 if pixels.len() as u64 == expected(1) => {
            pixels.iter().flat_map(|&l| [l, l, l]).collect()
        }
        PixelFormat::CMYK32 => return Err(PhotoError::Unsupported("cmyk jpeg".to_owned())),
        PixelFormat::L16 => return Err(PhotoError::Unsupported("16-bit grey jpeg".to_owned())),
        other => {
            return Err(PhotoError::Damaged(format!(
                "decoder returned {} bytes of {other:?} for {w}x{h} pixels",
                pixels.len()
            )));
        }
    };
    RgbImage::from_raw(w, h, rgb)
        .ok_or_else(|| PhotoError::Damaged(format!("decoded buffer does not hold {w}x{h} pixels")))
}

fn map_err(err: jpeg_decoder::Error) -> PhotoError {
    match err {
        jpeg_decoder::Error::Unsupported(feature) => {
            PhotoError::Unsupported(format!("{feature:?}").to_lowercase())
        }
        other => PhotoError::Damaged(other.to_string().to_lowercase()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_keeps_the_aspect_and_never_asks_for_more_than_stored() {
        assert_eq!(scaled_request(4000, 3000, 1920), (1920, 1440));
        assert_eq!(scaled_request(3000, 4000, 1920), (1440, 1920));
        assert_eq!(scaled_request(640, 480, 1920), (640, 480));
        assert_eq!(scaled_request(65_535, 1, 1920), (1920, 1));
    }

    fn grey_jpeg(w: u32, h: u32) -> Vec<u8> {
        let luma: Vec<u8> = (0..w * h).map(|i| (i % w * 255 / w) as u8).collect();
        let mut out = Vec::new();
        jpeg_encoder::Encoder::new(&mut out, 90)
            .encode(&luma, w as u16, h as u16, jpeg_encoder::ColorType::Luma)
            .expect("encodes");
        out
    }

    #[test]
    fn a_grey_jpeg_decodes_to_grey_rgb_at_full_and_reduced_scale() {
        let jpeg = grey_jpeg(640, 480);
        let header = crate::photo::header::read_header(&jpeg).expect("parses");
        assert_eq!(header.components, 1);
        for long_edge in [640, 320] {
            let image = decode_scaled(&jpeg, &header, long_edge).expect("decodes");
            assert_eq!(image.width(), long_edge);
            assert!(image.pixels().all(|p| p.0[0] == p.0[1] && p.0[1] == p.0[2]));
            let left = image.get_pixel(2, 10).0[0];
            let right = image.get_pixel(long_edge - 3, 10).0[0];
            assert!(left < 20 && right > 230, "{left} {right}");
        }
    }

    #[test]
    fn both_decoders_refuse_a_truncated_stream() {
        let jpeg = grey_jpeg(640, 480);
        let header = crate::photo::header::read_header(&jpeg).expect("parses");
        let cut = &jpeg[..jpeg.len() * 2 / 3];
        for long_edge in [640, 320] {
            let err = decode_scaled(cut, &header, long_edge).expect_err("truncated");
            assert!(matches!(err, PhotoError::Damaged(_)), "{long_edge}: {err}");
        }
    }
}
