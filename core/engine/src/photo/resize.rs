//! Downscaling with `fast_image_resize`: Lanczos-3 convolution with SIMD kernels picked at
//! run time (AVX2 / SSE4.1 on x86-64, NEON on ARM64), several times faster than a scalar
//! resampler at the same quality; see `bench/photo/RESULTS.md`.

use fast_image_resize as fr;
use image::RgbImage;

use super::PhotoError;

/// The size a `width`×`height` picture takes when its long edge is brought down to
/// `long_edge` (never enlarged; each side at least 1 pixel).
#[must_use]
pub fn fit_long_edge(width: u32, height: u32, long_edge: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= long_edge || long == 0 {
        return (width, height);
    }
    let scale = |v: u32| {
        let scaled = (u64::from(v) * u64::from(long_edge) + u64::from(long) / 2) / u64::from(long);
        u32::try_from(scaled).unwrap_or(u32::MAX).max(1)
    };
    (scale(width), scale(height))
}

/// Resizes an RGB picture to exactly `width`×`height` (returns it as is if it already is).
pub fn resize_rgb(image: RgbImage, width: u32, height: u32) -> Result<RgbImage, PhotoError> {
    if image.dimensions() == (width, height) {
        return Ok(image);
    }
    let src = fr::images::ImageRef::new(image.width(), image.height(), image.as_raw(), fr::PixelType::U8x3)
        .map_err(|e| PhotoError::Internal(format!("resize source: {e}")))?;
    let out = resize(&src, width, height, fr::PixelType::U8x3)?;
    RgbImage::from_raw(width, height, out)
        .ok_or_else(|| PhotoError::Internal("resize output size".to_owned()))
}

/// Resizes RGBA pixels to `width`×`height` and drops the alpha channel (a camera frame is
/// opaque).
pub fn resize_rgba_to_rgb(
    pixels: &[u8],
    src_width: u32,
    src_height: u32,
    width: u32,
    height: u32,
) -> Result<RgbImage, PhotoError> {
    let rgba = if (src_width, src_height) == (width, height) {
        None
    } else {
        let src = fr::images::ImageRef::new(src_width, src_height, pixels, fr::PixelType::U8x4)
            .map_err(|e| PhotoError::Internal(format!("resize source: {e}")))?;
        Some(resize(&src, width, height, fr::PixelType::U8x4)?)
    };
    let rgba = rgba.as_deref().unwrap_or(pixels);
    let rgb: Vec<u8> = rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    RgbImage::from_raw(width, height, rgb)
        .ok_or_else(|| PhotoError::Internal("rgba conversion size".to_owned()))
}

fn resize(
    src: &fr::images::ImageRef<'_>,
    width: u32,
    height: u32,
    pixel: fr::PixelType,
) -> Result<Vec<u8>, PhotoError> {
    let mut dst = fr::images::Image::new(width, height, pixel);
    let options = fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Lanczos3));
    fr::Resizer::new()
        .resize(src, &mut dst, &options)
        .map_err(|e| PhotoError::Internal(format!("resize: {e}")))?;
    Ok(dst.into_vec())
}

#[cfg(test)]
mod tests {
    use image::Rgb;

    use super::*;

    #[test]
    fn fitting_brings_the_long_edge_down_and_never_enlarges() {
        assert_eq!(fit_long_edge(4000, 3000, 1920), (1920, 1440));
        assert_eq!(fit_long_edge(3264, 2448, 1920), (1920, 1440));
        assert_eq!(fit_long_edge(1200, 1800, 1920), (1200, 1800));
        assert_eq!(fit_long_edge(20_000, 1, 1920), (1920, 1));
    }

    #[test]
    fn a_flat_colour_stays_flat_when_resized() {
        let image = RgbImage::from_pixel(100, 80, Rgb([200, 100, 50]));
        let small = resize_rgb(image, 50, 40).expect("resizes");
        assert_eq!(small.dimensions(), (50, 40));
        assert!(small.pixels().all(|p| *p == Rgb([200, 100, 50])));
    }

    #[test]
    fn rgba_loses_its_alpha_channel() {
        let pixels = [10u8, 20, 30, 255].repeat(8 * 6);
        let rgb = resize_rgba_to_rgb(&pixels, 8, 6, 4, 3).expect("resizes");
        assert!(rgb.pixels().all(|p| *p == Rgb([10, 20, 30])));
        let same = resize_rgba_to_rgb(&pixels, 8, 6, 8, 6).expect("converts");
        assert_eq!(same.dimensions(), (8, 6));
    }
}
