//! EXIF orientation: the eight ways a camera stores a picture, and turning the pixels upright.
//!
//! The pipeline orients after downscaling, so it turns 2 MP rather than 12 MP; the result
//! is the same picture.

use image::RgbImage;
use image::imageops;

/// How the stored pixels must be turned to appear upright (EXIF tag 0x0112, values 1–8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Orientation {
    /// 1: stored upright.
    #[default]
    TopLeft,
    /// 2: mirrored left to right.
    FlipHorizontal,
    /// 3: upside down.
    Rotate180,
    /// 4: mirrored top to bottom.
    FlipVertical,
    /// 5: turn 90° clockwise, then mirror left to right (a transpose).
    Rotate90FlipHorizontal,
    /// 6: turn 90° clockwise.
    Rotate90,
    /// 7: turn 270° clockwise, then mirror left to right (a transverse).
    Rotate270FlipHorizontal,
    /// 8: turn 270° clockwise (90° counter-clockwise).
    Rotate270,
}

impl Orientation {
    /// The orientation for an EXIF value; `None` outside 1–8.
    #[must_use]
    pub fn from_exif(value: u8) -> Option<Self> {
        Some(match value {
            1 => Self::TopLeft,
            2 => Self::FlipHorizontal,
            3 => Self::Rotate180,
            4 => Self::FlipVertical,
            5 => Self::Rotate90FlipHorizontal,
            6 => Self::Rotate90,
            7 => Self::Rotate270FlipHorizontal,
            8 => Self::Rotate270,
            _ => return None,
        })
    }

    /// The EXIF value, 1–8.
    #[must_use]
    pub fn exif_value(self) -> u8 {
        match self {
            Self::TopLeft => 1,
            Self::FlipHorizontal => 2,
            Self::Rotate180 => 3,
            Self::FlipVertical => 4,
            Self::Rotate90FlipHorizontal => 5,
            Self::Rotate90 => 6,
            Self::Rotate270FlipHorizontal => 7,
            Self::Rotate270 => 8,
        }
    }

    /// Whether turning upright swaps width and height.
    #[must_use]
    pub fn swaps_axes(self) -> bool {
        matches!(
            self,
            Self::Rotate90FlipHorizontal | Self::Rotate90 | Self::Rotate270FlipHorizontal | Self::Rotate270
        )
    }

    /// The upright size of a stored `width`×`height` picture.
    #[must_use]
    pub fn upright_size(self, width: u32, height: u32) -> (u32, u32) {
        if self.swaps_axes() { (height, width) } else { (width, height) }
    }
}

/// Turns `image` upright.
#[must_use]
pub fn apply(image: RgbImage, orientation: Orientation) -> RgbImage {
    let mut image = image;
    match orientation {
        Orientation::TopLeft => image,
        Orientation::FlipHorizontal => {
            imageops::flip_horizontal_in_place(&mut image);
            image
        }
        Orientation::Rotate180 => {
            imageops::rotate180_in_place(&mut image);
            image
        }
        Orientation::FlipVertical => {
            imageops::flip_vertical_in_place(&mut image);
            image
        }
        Orientation::Rotate90FlipHorizontal => {
            let mut turned = imageops::rotate90(&image);
            imageops::flip_horizontal_in_place(&mut turned);
            turned
        }
        Orientation::Rotate90 => imageops::rotate90(&image),
        Orientation::Rotate270FlipHorizontal => {
            let mut turned = imageops::rotate270(&image);
            imageops::flip_horizontal_in_place(&mut turned);
            turned
        }
        Orientation::Rotate270 => imageops::rotate270(&image),
    }
}

#[cfg(test)]
mod tests {
    use image::Rgb;

    use super::*;

    /// A 3×2 picture whose pixels are numbered 0..6 row by row:
    /// ```text
    /// 0 1 2
    /// 3 4 5
    /// ```
    fn numbered() -> RgbImage {
        RgbImage::from_fn(3, 2, |x, y| Rgb([u8::try_from(y * 3 + x).expect("small"), 0, 0]))
    }

    fn rows(image: &RgbImage) -> Vec<Vec<u8>> {
        (0..image.height()).map(|y| (0..image.width()).map(|x| image.get_pixel(x, y)[0]).collect()).collect()
    }

    #[test]
    fn each_of_the_eight_orientations_moves_pixels_as_exif_defines() {
        // What a camera that stored `numbered()` with each tag meant the viewer to see.
        let expected: [(u8, Vec<Vec<u8>>); 8] = [
            (1, vec![vec![0, 1, 2], vec![3, 4, 5]]),
            (2, vec![vec![2, 1, 0], vec![5, 4, 3]]),
            (3, vec![vec![5, 4, 3], vec![2, 1, 0]]),
            (4, vec![vec![3, 4, 5], vec![0, 1, 2]]),
            (5, vec![vec![0, 3], vec![1, 4], vec![2, 5]]),
            (6, vec![vec![3, 0], vec![4, 1], vec![5, 2]]),
            (7, vec![vec![5, 2], vec![4, 1], vec![3, 0]]),
            (8, vec![vec![2, 5], vec![1, 4], vec![0, 3]]),
        ];
        for (value, want) in expected {
            let orientation = Orientation::from_exif(value).expect("valid");
            assert_eq!(orientation.exif_value(), value);
            let turned = apply(numbered(), orientation);
            assert_eq!(rows(&turned), want, "orientation {value}");
            assert_eq!((turned.width(), turned.height()), orientation.upright_size(3, 2));
        }
    }

    #[test]
    fn values_outside_one_to_eight_are_not_orientations() {
        assert_eq!(Orientation::from_exif(0), None);
        assert_eq!(Orientation::from_exif(9), None);
    }
}
