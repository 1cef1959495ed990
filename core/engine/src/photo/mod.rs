//! The photo pipeline: the camera's JPEG (or raw RGBA) in, a stamped, stripped, hashed JPEG
//! out, ready to be signed ([`fieldkit_domain::signing`]) and stored as a blob.
//!
//! ```text
//! header ─▶ caps ─▶ decode at DCT scale ─▶ downscale ─▶ orient ─▶ watermark ─▶ encode ─▶ SHA-256, dHash
//! ```
//!
//! * [`header`] reads the frame size and EXIF orientation without decoding; the pixel cap
//!   and the minimum size are enforced there, before a byte of pixels is allocated.
//! * [`decode`] decodes at 1/2, 1/4 or 1/8 scale when the target size allows it.
//! * [`resize`] brings the long edge down to [`PipelineConfig::long_edge`] (SIMD Lanczos-3).
//! * [`orient`] turns the pixels upright (all eight EXIF orientations), after the resize.
//! * [`watermark`] burns the panel: time, place and accuracy, customer, address, rep and
//!   the verification code, in Chinese and Latin, with the app's font.
//! * [`encode`] writes a fresh JPEG: no camera EXIF, GPS or serials; one comment segment.
//! * [`dhash`] hashes the picture above the panel for reuse detection.
//!
//! Every failure is a [`PhotoError`]; nothing here panics on bad input (the decoder runs
//! under `catch_unwind` as a last line of defence).

pub mod decode;
pub mod dhash;
pub mod encode;
pub mod header;
pub mod orient;
pub mod resize;
pub mod watermark;

use std::time::{Duration, Instant};

use fieldkit_domain::clock::EventTime;
use fieldkit_domain::ids::VisitId;
use fieldkit_domain::model::LocationFix;
use fieldkit_domain::signing::{PerceptualHash, Sha256Hash};
use image::RgbImage;

pub use orient::Orientation;
pub use watermark::WatermarkFonts;

/// The pipeline's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PipelineConfig {
    /// The long edge of the output in pixels; smaller pictures are not enlarged.
    pub long_edge: u32,
    /// JPEG quality, 1–100.
    pub quality: u8,
    /// Inputs with more pixels than this are refused before decoding.
    pub max_input_pixels: u64,
    /// Progressive JPEGs (whose every DCT coefficient the decoder holds: 3 bytes a pixel)
    /// with more pixels than this are refused before decoding.
    pub max_progressive_pixels: u64,
    /// Inputs whose upright short edge is below this are refused (not a camera photo, and
    /// too small for a legible panel).
    pub min_short_edge: u32,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            long_edge: 1920,
            quality: 85,
            // 50 MP sensors (8160×6120) and below.
            max_input_pixels: 52_000_000,
            max_progressive_pixels: 16_000_000,
            min_short_edge: 240,
        }
    }
}

impl PipelineConfig {
    fn validate(&self) -> Result<(), PhotoError> {
        if !(1..=100).contains(&self.quality) {
            return Err(PhotoError::BadConfig(format!("quality {} is outside 1..=100", self.quality)));
        }
        if !(64..=16_384).contains(&self.long_edge) {
            return Err(PhotoError::BadConfig(format!("long edge {} is outside 64..=16384", self.long_edge)));
        }
        if self.min_short_edge == 0 || self.min_short_edge > self.long_edge {
            return Err(PhotoError::BadConfig(format!(
                "minimum short edge {} is outside 1..={}",
                self.min_short_edge, self.long_edge
            )));
        }
        Ok(())
    }
}

/// The picture to process.
#[derive(Debug, Clone, Copy)]
pub enum PhotoInput<'a> {
    /// The camera's JPEG file, EXIF and all.
    Jpeg(&'a [u8]),
    /// Raw pixels from a camera frame: 4 bytes a pixel (R, G, B, ignored alpha), row by row.
    Rgba {
        /// Width of the stored frame.
        width: u32,
        /// Height of the stored frame.
        height: u32,
        /// `width * height * 4` bytes.
        pixels: &'a [u8],
        /// How the frame must be turned to be upright (the camera API's rotation).
        orientation: Orientation,
    },
}

/// The time printed on the photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureTime {
    /// The device's estimate of server time (device clock plus the offset measured at the
    /// last sync), Unix milliseconds.
    ServerEstimate(i64),
    /// Only the device clock, which the user may have set by hand, Unix milliseconds: the
    /// panel marks it.
    DeviceClockOnly(i64),
}

impl CaptureTime {
    /// The server estimate when the device has one, else the device clock.
    #[must_use]
    pub fn from_event_time(at: &EventTime) -> Self {
        at.server_estimate_ms.map_or(Self::DeviceClockOnly(at.device_ms), Self::ServerEstimate)
    }
}

/// What the panel says about the photo.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureContext {
    /// The visit the photo is taken in.
    pub visit_id: Option<VisitId>,
    /// The customer's name as people read it.
    pub customer_name: String,
    /// The customer's address as people read it.
    pub customer_address: String,
    /// The rep's name.
    pub rep_name: String,
    /// The phone's location fix, with accuracy and mock flag.
    pub fix: Option<LocationFix>,
    /// When.
    pub time: CaptureTime,
    /// The local time zone's offset from UTC at capture, in minutes (480 for China).
    pub utc_offset_minutes: i32,
    /// The short code printed on the photo
    /// ([`verification_code`](fieldkit_domain::signing::verification_code) of the fact id).
    pub verification_code: String,
}

/// How long each stage took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageTimings {
    /// Header checks and decoding.
    pub decode: Duration,
    /// Downscaling.
    pub resize: Duration,
    /// Turning upright.
    pub orient: Duration,
    /// Drawing the panel.
    pub watermark: Duration,
    /// JPEG encoding.
    pub encode: Duration,
    /// SHA-256 and dHash.
    pub hash: Duration,
}

impl StageTimings {
    /// The sum of the stages.
    #[must_use]
    pub fn total(&self) -> Duration {
        self.decode + self.resize + self.orient + self.watermark + self.encode + self.hash
    }
}

/// The pipeline's output.
#[derive(Clone, PartialEq)]
pub struct ProcessedPhoto {
    /// The final JPEG.
    pub jpeg: Vec<u8>,
    /// SHA-256 of `jpeg`: the blob's address and what the receipt signs.
    pub sha256: Sha256Hash,
    /// Perceptual hash of the picture above the panel.
    pub dhash: PerceptualHash,
    /// Width of the final picture.
    pub width: u32,
    /// Height of the final picture.
    pub height: u32,
    /// Time spent in each stage.
    pub timings: StageTimings,
}

impl std::fmt::Debug for ProcessedPhoto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessedPhoto")
            .field("jpeg_len", &self.jpeg.len())
            .field("sha256", &self.sha256)
            .field("dhash", &self.dhash)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("timings", &self.timings)
            .finish()
    }
}

/// Why a photo could not be processed. Messages name sizes and byte counts, never the
/// capture's personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    /// No bytes at all.
    #[error("the photo is empty (0 bytes)")]
    Empty,
    /// Bytes that do not start like a JPEG.
    #[error("not a jpeg: {len} bytes starting {start:02x?}")]
    NotJpeg {
        /// The first bytes (zero-padded).
        start: [u8; 4],
        /// How many bytes there were.
        len: usize,
    },
    /// A JPEG whose structure or data is broken.
    #[error("damaged jpeg: {0}")]
    Damaged(String),
    /// A valid JPEG of a kind the pipeline does not take (lossless, 12-bit, CMYK, ...).
    #[error("unsupported jpeg: {0}")]
    Unsupported(String),
    /// More pixels than the cap: refused before decoding.
    #[error("{width}x{height} pixels is over the cap of {max} pixels")]
    TooManyPixels {
        /// Width the input claims.
        width: u32,
        /// Height the input claims.
        height: u32,
        /// The cap.
        max: u64,
    },
    /// A picture too small to be a camera photo or to carry a legible panel.
    #[error("{width}x{height} pixels is below the minimum short edge of {min} pixels")]
    TooSmall {
        /// Width of the input.
        width: u32,
        /// Height of the input.
        height: u32,
        /// The minimum short edge.
        min: u32,
    },
    /// An RGBA buffer whose length does not match its size.
    #[error("rgba buffer of {len} bytes does not hold {width}x{height} pixels")]
    BadRgba {
        /// Width given.
        width: u32,
        /// Height given.
        height: u32,
        /// Bytes given.
        len: usize,
    },
    /// Font bytes that are not a readable font.
    #[error("font data of {len} bytes (collection index {index}) is not a readable font")]
    BadFont {
        /// Bytes given.
        len: usize,
        /// Collection index asked for.
        index: u32,
    },
    /// A setting out of range.
    #[error("bad pipeline configuration: {0}")]
    BadConfig(String),
    /// A failure inside the pipeline that no input should cause.
    #[error("photo pipeline failed: {0}")]
    Internal(String),
}

/// The photo pipeline: settings plus the watermark's fonts, made once and reused.
#[derive(Debug, Clone)]
pub struct PhotoPipeline {
    config: PipelineConfig,
    fonts: WatermarkFonts,
}

impl PhotoPipeline {
    /// A pipeline with `config`, drawing with `fonts`.
    pub fn new(config: PipelineConfig, fonts: WatermarkFonts) -> Result<Self, PhotoError> {
        config.validate()?;
        Ok(Self { config, fonts })
    }

    /// The pipeline's settings.
    #[must_use]
    pub fn config(&self) -> &PipelineConfig {
        &self.config
    }

    /// Runs the pipeline on `input`, printing `ctx` on the panel.
    pub fn process(&self, input: PhotoInput<'_>, ctx: &CaptureContext) -> Result<ProcessedPhoto, PhotoError> {
        let mut timings = StageTimings::default();
        let started = Instant::now();
        let (stored, orientation) = match input {
            PhotoInput::Jpeg(bytes) => {
                let header = header::read_header(bytes)?;
                self.check_size(header.width, header.height, header.orientation)?;
                if header.progressive {
                    let pixels = u64::from(header.width) * u64::from(header.height);
                    if pixels > self.config.max_progressive_pixels {
                        return Err(PhotoError::TooManyPixels {
                            width: header.width,
                            height: header.height,
                            max: self.config.max_progressive_pixels,
                        });
                    }
                }
                let decoded = decode::decode_scaled(bytes, &header, self.config.long_edge)?;
                timings.decode = started.elapsed();
                let (w, h) = resize::fit_long_edge(header.width, header.height, self.config.long_edge);
                let step = Instant::now();
                let resized = resize::resize_rgb(decoded, w, h)?;
                timings.resize = step.elapsed();
                (resized, header.orientation)
            }
            PhotoInput::Rgba { width, height, pixels, orientation } => {
                self.check_size(width, height, orientation)?;
                let expected = u64::from(width) * u64::from(height) * 4;
                if pixels.len() as u64 != expected {
                    return Err(PhotoError::BadRgba { width, height, len: pixels.len() });
                }
                timings.decode = started.elapsed();
                let (w, h) = resize::fit_long_edge(width, height, self.config.long_edge);
                let step = Instant::now();
                let resized = resize::resize_rgba_to_rgb(pixels, width, height, w, h)?;
                timings.resize = step.elapsed();
                (resized, orientation)
            }
        };
        let step = Instant::now();
        let mut image = orient::apply(stored, orientation);
        timings.orient = step.elapsed();

        let step = Instant::now();
        watermark::burn(&mut image, &self.fonts, &watermark::panel_lines(ctx));
        timings.watermark = step.elapsed();

        let step = Instant::now();
        let jpeg = encode::encode(&image, self.config.quality, &ctx.verification_code)?;
        timings.encode = step.elapsed();

        let step = Instant::now();
        let sha256 = Sha256Hash::of(&jpeg);
        let dhash = dhash::dhash(&image, watermark::scene_rows(image.height()));
        timings.hash = step.elapsed();
        let (width, height) = image.dimensions();
        Ok(ProcessedPhoto { jpeg, sha256, dhash, width, height, timings })
    }

    /// Refuses inputs over the pixel cap or under the minimum short edge, from their size
    /// alone.
    fn check_size(&self, width: u32, height: u32, orientation: Orientation) -> Result<(), PhotoError> {
        let pixels = u64::from(width) * u64::from(height);
        if pixels > self.config.max_input_pixels {
            return Err(PhotoError::TooManyPixels { width, height, max: self.config.max_input_pixels });
        }
        let (w, h) = orientation.upright_size(width, height);
        if w.min(h) < self.config.min_short_edge {
            return Err(PhotoError::TooSmall { width: w, height: h, min: self.config.min_short_edge });
        }
        Ok(())
    }
}

/// Decodes one of our own JPEGs to RGB at full size (tests and tools).
pub fn decode_full(jpeg: &[u8]) -> Result<RgbImage, PhotoError> {
    let header = header::read_header(jpeg)?;
    decode::decode_scaled(jpeg, &header, header.width.max(header.height))
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::PathBuf;

    use fieldkit_domain::ids::VisitId;
    use fieldkit_domain::model::{LocationProvider, WgsPoint};
    use fieldkit_domain::signing::NEAR_DUPLICATE_MAX_DISTANCE;
    use uuid::Uuid;

    use super::*;

    /// The CJK font the tests draw with: Debian's `fonts-wqy-microhei`, or the file named by
    /// `FIELDKIT_TEST_FONT`.
    pub(crate) const TEST_FONT: &str = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc";

    pub(crate) fn test_fonts() -> WatermarkFonts {
        let path = std::env::var("FIELDKIT_TEST_FONT").unwrap_or_else(|_| TEST_FONT.to_owned());
        let bytes = std::fs::read(&path).unwrap_or_else(|e| {
            panic!("test font {path}: {e} (apt-get install fonts-wqy-microhei, or set FIELDKIT_TEST_FONT)")
        });
        WatermarkFonts::load(bytes, 0).expect("test font loads")
    }

    pub(crate) fn context() -> CaptureContext {
        CaptureContext {
            visit_id: Some(VisitId(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0002))),
            customer_name: "全家便利店（南京东路店）FamilyMart".to_owned(),
            customer_address: "上海市黄浦区南京东路 353 号".to_owned(),
            rep_name: "张伟 Zhang Wei".to_owned(),
            fix: Some(LocationFix {
                point: WgsPoint::new(31.230_416, 121.473_701).expect("valid"),
                accuracy_m: 12.0,
                fix_time_ms: 1_759_999_999_000,
                provider: LocationProvider::Gnss,
                is_mock: false,
            }),
            time: CaptureTime::ServerEstimate(1_760_000_000_000),
            utc_offset_minutes: 480,
            verification_code: "7KQ2-MX4P".to_owned(),
        }
    }

    fn fixture_path(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/photos").join(name)
    }

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(fixture_path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
    }

    fn pipeline(long_edge: u32) -> PhotoPipeline {
        PhotoPipeline::new(PipelineConfig { long_edge, ..PipelineConfig::default() }, test_fonts())
            .expect("valid")
    }

    /// Mean BT.601 luma of an 8×8 grid of cells over the top `rows` rows.
    fn luma_grid(image: &RgbImage, rows: u32) -> [f64; 64] {
        let (w, _) = image.dimensions();
        let mut sum = [0f64; 64];
        let mut n = [0f64; 64];
        for y in 0..rows {
            for x in 0..w {
                let cell = (y * 8 / rows) as usize * 8 + (x * 8 / w) as usize;
                let [r, g, b] = image.get_pixel(x, y).0;
                sum[cell] += 0.299 * f64::from(r) + 0.587 * f64::from(g) + 0.114 * f64::from(b);
                n[cell] += 1.0;
            }
        }
        std::array::from_fn(|i| sum[i] / n[i])
    }

    fn mean_abs_diff(a: &[f64; 64], b: &[f64; 64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>() / 64.0
    }

    /// 8×8 mean luma of the upright pictures, from ImageMagick (`-auto-orient -grayscale
    /// Rec601Luma -filter Box -resize 8x8!`): an oracle independent of this code.
    const LANDSCAPE_GRID: [u8; 64] = [
        165, 187, 181, 169, 169, 179, 143, 68, 186, 186, 194, 192, 185, 136, 117, 28, 199, 215, 191, 158, 76,
        78, 119, 28, 102, 100, 90, 81, 70, 113, 110, 61, 122, 113, 101, 104, 49, 142, 109, 69, 101, 105, 85,
        84, 60, 158, 82, 31, 85, 119, 99, 64, 93, 186, 74, 16, 58, 75, 73, 69, 144, 146, 62, 17,
    ];
    const PORTRAIT_GRID: [u8; 64] = [
        194, 191, 128, 182, 185, 204, 216, 200, 161, 166, 135, 173, 192, 213, 228, 212, 137, 147, 134, 153,
        172, 185, 195, 183, 144, 155, 145, 143, 158, 150, 145, 128, 151, 157, 161, 161, 166, 155, 131, 113,
        163, 174, 199, 80, 201, 183, 161, 137, 87, 85, 93, 80, 126, 92, 94, 102, 127, 129, 133, 94, 146, 140,
        148, 152,
    ];

    #[test]
    fn every_orientation_sample_comes_out_upright_pixel_for_pixel() {
        for (name, size, oracle) in [
            ("landscape_1.jpg", (1800, 1200), LANDSCAPE_GRID),
            ("landscape_6.jpg", (1800, 1200), LANDSCAPE_GRID),
            ("landscape_8.jpg", (1800, 1200), LANDSCAPE_GRID),
            ("portrait_3.jpg", (1200, 1800), PORTRAIT_GRID),
            ("portrait_5.jpg", (1200, 1800), PORTRAIT_GRID),
        ] {
            let bytes = fixture(name);
            let header = header::read_header(&bytes).expect("header");
            let decoded = decode::decode_scaled(&bytes, &header, 450).expect("decodes");
            let upright = orient::apply(decoded, header.orientation);
            let (w, h) = upright.dimensions();
            assert_eq!(w * size.1, h * size.0, "{name} is {w}x{h}, not shaped like {size:?}");
            let oracle = oracle.map(f64::from);
            let grid = luma_grid(&upright, h);
            let diff = mean_abs_diff(&grid, &oracle);
            assert!(diff < 6.0, "{name}: mean luma difference {diff:.1} from the upright picture");
            // The test has teeth: the same pixels left unturned, or turned the wrong way, are far off.
            for wrong in [Orientation::FlipHorizontal, Orientation::Rotate180, Orientation::FlipVertical] {
                let turned = orient::apply(upright.clone(), wrong);
                let diff = mean_abs_diff(&luma_grid(&turned, h), &oracle);
                assert!(diff > 25.0, "{name} turned {wrong:?} is only {diff:.1} off");
            }
        }
    }

    #[test]
    fn the_pipeline_outputs_the_upright_picture_at_the_configured_long_edge() {
        let pipeline = pipeline(600);
        for (name, want, oracle) in
            [("landscape_6.jpg", (600, 400), LANDSCAPE_GRID), ("portrait_5.jpg", (400, 600), PORTRAIT_GRID)]
        {
            let out = pipeline.process(PhotoInput::Jpeg(&fixture(name)), &context()).expect("processes");
            assert_eq!((out.width, out.height), want, "{name}");
            let image = decode_full(&out.jpeg).expect("our output decodes");
            assert_eq!(image.dimensions(), want);
            // Compare the top five rows of cells: the panel covers the bottom quarter.
            let grid = luma_grid(&image, image.height());
            let diff: f64 = (0..40).map(|i| (grid[i] - f64::from(oracle[i])).abs()).sum::<f64>() / 40.0;
            assert!(diff < 8.0, "{name}: {diff:.1}");
        }
    }

    #[test]
    fn the_camera_exif_and_gps_do_not_survive_and_our_comment_does() {
        let input = fixture("gps_dscn0010.jpg");
        assert!(input.windows(4).any(|w| w == b"GPS\0" || w == b"NIKO"), "the fixture carries camera exif");
        let out = pipeline(1920).process(PhotoInput::Jpeg(&input), &context()).expect("processes");
        assert_eq!((out.width, out.height), (640, 480), "never enlarged");
        let segments = encode::segments(&out.jpeg);
        assert!(segments.iter().all(|(m, _)| !(0xE1..=0xEF).contains(m)), "no exif, xmp or icc segment");
        let comments: Vec<_> = segments.iter().filter(|(m, _)| *m == 0xFE).collect();
        assert_eq!(comments.len(), 1);
        assert_eq!(comments[0].1, b"fieldkit-photo/1 code=7KQ2-MX4P");
        for needle in [&b"Exif"[..], b"NIKON", b"COOLPIX", b"GPS"] {
            assert!(
                !out.jpeg.windows(needle.len()).any(|w| w == needle),
                "{:?} survived",
                String::from_utf8_lossy(needle)
            );
        }
        assert_eq!(out.sha256, Sha256Hash::of(&out.jpeg));
    }

    #[test]
    fn the_picture_above_the_panel_does_not_depend_on_the_context() {
        let pipeline = pipeline(640);
        let input = fixture("gps_dscn0010.jpg");
        let a = pipeline.process(PhotoInput::Jpeg(&input), &context()).expect("processes");
        let mut other = context();
        other.customer_name = "Another shop".to_owned();
        other.time = CaptureTime::DeviceClockOnly(1_700_000_000_000);
        let b = pipeline.process(PhotoInput::Jpeg(&input), &other).expect("processes");
        assert_ne!(a.sha256, b.sha256);
        assert_eq!(a.dhash, b.dhash, "the hash ignores the panel");
        let (ia, ib) = (decode_full(&a.jpeg).expect("decodes"), decode_full(&b.jpeg).expect("decodes"));
        let top = a.height - watermark::panel_layout(a.width, a.height).panel_height;
        let differing_row = |y: u32| (0..a.width).any(|x| ia.get_pixel(x, y) != ib.get_pixel(x, y));
        // JPEG blocks are 16 rows tall at 4:2:0 and the decoder's chroma upsampling reads one
        // row into the next block: rows a block clear of the panel's block match exactly.
        assert!((0..(top / 16 - 1) * 16).all(|y| !differing_row(y)), "the picture changed above the panel");
        assert!((top..a.height).any(differing_row), "the panel shows the context");
    }

    #[test]
    fn the_watermark_matches_its_golden_image() {
        // Regenerate with FIELDKIT_UPDATE_GOLDEN=1 after a deliberate change of the panel.
        let path = fixture_path("golden_watermark_480.jpg");
        let out = pipeline(480)
            .process(PhotoInput::Jpeg(&fixture("landscape_1.jpg")), &context())
            .expect("processes");
        assert_eq!((out.width, out.height), (480, 320));
        if std::env::var_os("FIELDKIT_UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &out.jpeg).expect("writes the golden image");
        }
        let golden = decode_full(&std::fs::read(&path).expect("golden image")).expect("decodes");
        let ours = decode_full(&out.jpeg).expect("decodes");
        assert_eq!(golden.dimensions(), ours.dimensions());
        let mut total = 0u64;
        let mut off = 0u64;
        for (g, o) in golden.as_raw().iter().zip(ours.as_raw()) {
            let d = u64::from(g.abs_diff(*o));
            total += d;
            off += u64::from(d > 40);
        }
        let n = golden.as_raw().len() as u64;
        assert!(total as f64 / (n as f64) < 1.5, "mean difference {:.2}", total as f64 / n as f64);
        assert!(off * 500 < n, "{off} of {n} samples differ by more than 40");
    }

    #[test]
    fn a_resized_and_re_encoded_copy_is_a_near_duplicate_and_another_photo_is_not() {
        let pipeline = pipeline(900);
        let original =
            pipeline.process(PhotoInput::Jpeg(&fixture("landscape_1.jpg")), &context()).expect("processes");
        // A rep saves the stamped photo, shrinks it to 70 %, recompresses it hard and sends
        // it again for another visit.
        let stamped = decode_full(&original.jpeg).expect("decodes");
        let smaller = resize::resize_rgb(stamped, 630, 420).expect("resizes");
        let copy_bytes = encode::encode(&smaller, 60, "COPY").expect("encodes");
        let mut ctx = context();
        ctx.customer_name = "另一家店 Another shop".to_owned();
        let copy = pipeline.process(PhotoInput::Jpeg(&copy_bytes), &ctx).expect("processes");
        let distance = original.dhash.distance(copy.dhash);
        assert!(distance <= 4, "copy is {distance} bits away");
        assert!(original.dhash.is_near_duplicate(copy.dhash));

        let unrelated =
            pipeline.process(PhotoInput::Jpeg(&fixture("gps_dscn0010.jpg")), &context()).expect("processes");
        let distance = original.dhash.distance(unrelated.dhash);
        assert!(distance > 2 * NEAR_DUPLICATE_MAX_DISTANCE, "unrelated photo only {distance} bits away");

        // The server can recompute the hash from the stamped JPEG alone.
        let recomputed = dhash::dhash_of_stamped_jpeg(&original.jpeg, 52_000_000).expect("hashes");
        assert!(recomputed.distance(original.dhash) <= 4, "{recomputed:?} vs {:?}", original.dhash);
    }

    #[test]
    fn rgba_frames_are_taken_with_their_rotation() {
        let bytes = fixture("landscape_6.jpg");
        let header = header::read_header(&bytes).expect("header");
        let stored = decode::decode_scaled(&bytes, &header, 450).expect("decodes");
        let (w, h) = stored.dimensions();
        let rgba: Vec<u8> = stored.as_raw().chunks_exact(3).flat_map(|p| [p[0], p[1], p[2], 255]).collect();
        let input =
            PhotoInput::Rgba { width: w, height: h, pixels: &rgba, orientation: Orientation::Rotate90 };
        let out = pipeline(300).process(input, &context()).expect("processes");
        assert_eq!((out.width, out.height), (300, 200));
        let image = decode_full(&out.jpeg).expect("decodes");
        let grid = luma_grid(&image, image.height());
        let diff: f64 = (0..40).map(|i| (grid[i] - f64::from(LANDSCAPE_GRID[i])).abs()).sum::<f64>() / 40.0;
        assert!(diff < 10.0, "{diff:.1}");
        let short =
            PhotoInput::Rgba { width: w, height: h, pixels: &rgba[4..], orientation: Orientation::TopLeft };
        assert_eq!(
            pipeline(300).process(short, &context()),
            Err(PhotoError::BadRgba { width: w, height: h, len: rgba.len() - 4 })
        );
    }

    #[test]
    fn empty_and_non_jpeg_inputs_get_clear_errors() {
        let pipeline = pipeline(1920);
        let err = pipeline.process(PhotoInput::Jpeg(&[]), &context()).expect_err("empty");
        assert_eq!(err, PhotoError::Empty);
        assert_eq!(err.to_string(), "the photo is empty (0 bytes)");
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        let err = pipeline.process(PhotoInput::Jpeg(png), &context()).expect_err("png");
        assert_eq!(err.to_string(), "not a jpeg: 16 bytes starting [89, 50, 4e, 47]");
        let err = pipeline.process(PhotoInput::Jpeg(b"\xff"), &context()).expect_err("one byte");
        assert!(matches!(err, PhotoError::NotJpeg { len: 1, .. }), "{err}");
    }

    #[test]
    fn a_one_pixel_jpeg_is_refused_as_too_small() {
        let one =
            encode::encode(&RgbImage::from_pixel(1, 1, image::Rgb([9, 9, 9])), 85, "X").expect("encodes");
        let err = pipeline(1920).process(PhotoInput::Jpeg(&one), &context()).expect_err("1x1");
        assert_eq!(err, PhotoError::TooSmall { width: 1, height: 1, min: 240 });
        assert_eq!(err.to_string(), "1x1 pixels is below the minimum short edge of 240 pixels");
    }

    #[test]
    fn a_20000_by_20000_jpeg_is_refused_by_the_pixel_cap_before_decoding() {
        let huge = header::tests::header_only_jpeg(20_000, 20_000, None);
        let err = pipeline(1920).process(PhotoInput::Jpeg(&huge), &context()).expect_err("too big");
        assert_eq!(err, PhotoError::TooManyPixels { width: 20_000, height: 20_000, max: 52_000_000 });
        assert_eq!(err.to_string(), "20000x20000 pixels is over the cap of 52000000 pixels");
        // A real photo whose frame header is edited to claim 20000×20000: the data would
        // decode (wrongly) if the decoder ever saw it.
        let mut real = fixture("gps_dscn0010.jpg");
        // The frame header of the photo itself, not of the thumbnail inside its EXIF.
        let mut sof = 2;
        while real[sof + 1] != 0xC0 {
            sof += 2 + usize::from(u16::from_be_bytes([real[sof + 2], real[sof + 3]]));
        }
        assert_eq!(header::read_header(&real).expect("parses").width, 640);
        real[sof + 5..sof + 9].copy_from_slice(&[0x4E, 0x20, 0x4E, 0x20]);
        let err = pipeline(1920).process(PhotoInput::Jpeg(&real), &context()).expect_err("too big");
        assert!(matches!(err, PhotoError::TooManyPixels { width: 20_000, height: 20_000, .. }), "{err}");
        let rgba = PhotoInput::Rgba {
            width: 20_000,
            height: 20_000,
            pixels: &[],
            orientation: Orientation::TopLeft,
        };
        assert!(matches!(pipeline(1920).process(rgba, &context()), Err(PhotoError::TooManyPixels { .. })));
    }

    #[test]
    fn the_damaged_camera_jpeg_is_refused_cleanly() {
        let err = pipeline(800)
            .process(PhotoInput::Jpeg(&fixture("corrupted.jpg")), &context())
            .expect_err("damaged");
        assert!(matches!(err, PhotoError::Damaged(_)), "{err}");
        assert!(err.to_string().starts_with("damaged jpeg: "), "{err}");
    }

    #[test]
    fn truncated_and_bit_flipped_jpegs_never_panic() {
        let pipeline = pipeline(320);
        let good = fixture("gps_dscn0010.jpg");
        for end in [2, 3, 100, 1000, good.len() / 3, good.len() - 2] {
            let _ = pipeline.process(PhotoInput::Jpeg(&good[..end]), &context());
        }
        let mut rng = fastrand::Rng::with_seed(5);
        for _ in 0..40 {
            let mut bytes = good.clone();
            for _ in 0..8 {
                let at = rng.usize(..bytes.len());
                bytes[at] ^= 1 << rng.u8(..8);
            }
            let _ = pipeline.process(PhotoInput::Jpeg(&bytes), &context());
        }
    }

    #[test]
    fn out_of_range_settings_are_refused() {
        for config in [
            PipelineConfig { quality: 0, ..PipelineConfig::default() },
            PipelineConfig { quality: 101, ..PipelineConfig::default() },
            PipelineConfig { long_edge: 10, ..PipelineConfig::default() },
            PipelineConfig { min_short_edge: 4000, ..PipelineConfig::default() },
        ] {
            assert!(
                matches!(PhotoPipeline::new(config, test_fonts()), Err(PhotoError::BadConfig(_))),
                "{config:?}"
            );
        }
    }

    #[test]
    fn the_time_printed_is_the_server_estimate_when_there_is_one() {
        let at = EventTime {
            device_ms: 5,
            hlc: fieldkit_domain::clock::Hlc { wall_ms: 5, counter: 0, node: 1 },
            server_estimate_ms: Some(7),
        };
        assert_eq!(CaptureTime::from_event_time(&at), CaptureTime::ServerEstimate(7));
        let at = EventTime { server_estimate_ms: None, ..at };
        assert_eq!(CaptureTime::from_event_time(&at), CaptureTime::DeviceClockOnly(5));
    }
}
