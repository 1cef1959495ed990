//! The perceptual hash (dHash, 64 bits) that lets the server spot a photo sent again.
//!
//! The picture above the watermark panel (the top three quarters, see
//! [`scene_rows`](super::watermark::scene_rows)) is shrunk to 9×8 grey cells by area
//! averaging, and each bit says whether a cell is brighter than its right-hand neighbour.
//! Resizing and re-encoding move cell averages by a grey level or two, so only the few bits
//! whose neighbours were nearly equal can flip; a different picture flips about half of
//! them. Hashing above the panel makes a photo restamped through the pipeline (its old panel
//! covered by the new one) hash like the original.

use fieldkit_domain::signing::PerceptualHash;
use image::RgbImage;

use super::PhotoError;
use super::decode;
use super::header;
use super::watermark::scene_rows;

const COLS: usize = 9;
const ROWS: usize = 8;

/// The dHash of the top `rows` rows of `image`.
#[must_use]
pub fn dhash(image: &RgbImage, rows: u32) -> PerceptualHash {
    let (width, height) = image.dimensions();
    let rows = rows.min(height);
    if width == 0 || rows == 0 {
        return PerceptualHash(0);
    }
    // Each source pixel goes into the cell its centre falls in: an exact box filter when the
    // cells are whole pixels, and within a pixel of it otherwise. Luma is ITU-R BT.601 in
    // thousandths, summed in integers.
    let cell_of_column: Vec<usize> = (0..width as usize).map(|x| x * COLS / width as usize).collect();
    let mut sum = [[0u64; COLS]; ROWS];
    let mut area = [[0u64; COLS]; ROWS];
    let stride = width as usize * 3;
    for (y, row) in image.as_raw().chunks_exact(stride).take(rows as usize).enumerate() {
        let cy = y * ROWS / rows as usize;
        let (sums, areas) = (&mut sum[cy], &mut area[cy]);
        for (px, &cx) in row.chunks_exact(3).zip(&cell_of_column) {
            sums[cx] += 299 * u64::from(px[0]) + 587 * u64::from(px[1]) + 114 * u64::from(px[2]);
            areas[cx] += 1;
        }
    }
    let mut bits = 0u64;
    for y in 0..ROWS {
        let mean = |x: usize| if area[y][x] > 0 { sum[y][x] as f64 / area[y][x] as f64 } else { 0.0 };
        for x in 0..COLS - 1 {
            bits = (bits << 1) | u64::from(mean(x) > mean(x + 1));
        }
    }
    PerceptualHash(bits)
}

/// The dHash of a JPEG the pipeline made (above its panel), decoded at 1/8 scale: what the
/// server can recompute from an uploaded photo to compare with the signed one.
pub fn dhash_of_stamped_jpeg(bytes: &[u8], max_pixels: u64) -> Result<PerceptualHash, PhotoError> {
    let header = header::read_header(bytes)?;
    let pixels = u64::from(header.width) * u64::from(header.height);
    if pixels > max_pixels {
        return Err(PhotoError::TooManyPixels {
            width: header.width,
            height: header.height,
            max: max_pixels,
        });
    }
    let long_edge = header.width.max(header.height).div_ceil(8).max(64);
    let image = decode::decode_scaled(bytes, &header, long_edge)?;
    let rows = scene_rows(image.height());
    Ok(dhash(&image, rows))
}

#[cfg(test)]
mod tests {
    use image::Rgb;

    use super::*;

    fn gradient(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let v = ((x * 7 + y * 3) % 256) as u8;
            Rgb([v, v.wrapping_mul(3), 255 - v])
        })
    }

    #[test]
    fn a_flat_picture_hashes_to_zero() {
        assert_eq!(dhash(&RgbImage::from_pixel(90, 80, Rgb([7, 7, 7])), 80), PerceptualHash(0));
    }

    #[test]
    fn brightness_falling_to_the_right_sets_every_bit() {
        let image = RgbImage::from_fn(90, 80, |x, _| Rgb([255 - (x as u8) * 2; 3]));
        assert_eq!(dhash(&image, 80), PerceptualHash(u64::MAX));
    }

    #[test]
    fn rows_below_the_limit_do_not_count() {
        let mut image = gradient(90, 120);
        let before = dhash(&image, 90);
        for y in 90..120 {
            for x in 0..90 {
                image.put_pixel(x, y, Rgb([(x * 13 % 256) as u8; 3]));
            }
        }
        assert_eq!(dhash(&image, 90), before);
    }

    #[test]
    fn a_tiny_or_empty_picture_still_hashes() {
        let _ = dhash(&RgbImage::from_pixel(1, 1, Rgb([1, 2, 3])), 1);
        assert_eq!(dhash(&RgbImage::new(0, 0), 0), PerceptualHash(0));
    }
}
