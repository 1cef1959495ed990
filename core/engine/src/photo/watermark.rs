//! The watermark panel: a darkened band across the bottom of the photo with five lines of
//! white text (time, place, customer, address, rep and verification code), in Chinese and
//! Latin, drawn with the font the app supplies.
//!
//! Text is rasterised with `ab_glyph`: it reads TrueType and CFF outlines from a font file
//! or collection in place (loading a 5 MB CJK collection costs nothing; `fontdue` parses
//! every glyph up front, about 170 ms for the same file), and its rasteriser gives exact
//! anti-aliased coverage that we blend ourselves, so no drawing library is needed
//! (`imageproc` would bring ab_glyph plus a dozen crates for one function).
//!
//! The panel's geometry depends only on the picture's size ([`panel_layout`]) and never
//! covers more than the bottom quarter, so the top three quarters ([`scene_rows`]) are the
//! picture itself: that is what the perceptual hash looks at.

use ab_glyph::{Font, FontArc, GlyphId, PxScale, ScaleFont, point};
use image::RgbImage;

use super::{CaptureContext, CaptureTime, PhotoError};

/// Lines of text in the panel.
pub const PANEL_LINES: u32 = 5;

/// Font size as a fraction of the picture's short edge (1/40: 36 px on a 1440 px edge).
const FONT_PER_SHORT_EDGE: f32 = 1.0 / 40.0;
/// The smallest font size used while the panel fits in the bottom quarter.
const MIN_FONT_PX: f32 = 12.0;
/// Line height as a multiple of the font size.
const LINE_SPACING: f32 = 1.35;
/// Padding around the text as a multiple of the font size.
const PADDING: f32 = 0.6;
/// The panel's height as a multiple of the font size.
const PANEL_PER_FONT: f32 = PANEL_LINES as f32 * LINE_SPACING + 2.0 * PADDING;

/// Text colour.
const INK: [u8; 3] = [255, 255, 255];
/// The accent line along the panel's top edge.
const ACCENT: [u8; 3] = [255, 176, 0];
/// What is left of the photo under the panel (out of 256).
const PANEL_KEEP: u16 = 64;

/// The fonts the watermark is drawn with: the first that has a glyph for a character draws
/// it (an app can pass its CJK system font alone, or a Latin font and the CJK one).
#[derive(Clone)]
pub struct WatermarkFonts {
    fonts: Vec<FontArc>,
}

impl std::fmt::Debug for WatermarkFonts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WatermarkFonts({} fonts)", self.fonts.len())
    }
}

impl WatermarkFonts {
    /// Loads font `collection_index` of `bytes` (a TrueType/OpenType file or a `.ttc`
    /// collection; index 0 for a single font).
    pub fn load(bytes: Vec<u8>, collection_index: u32) -> Result<Self, PhotoError> {
        Ok(Self { fonts: vec![parse(bytes, collection_index)?] })
    }

    /// Adds a font to try for characters the earlier fonts lack.
    pub fn with_fallback(mut self, bytes: Vec<u8>, collection_index: u32) -> Result<Self, PhotoError> {
        self.fonts.push(parse(bytes, collection_index)?);
        Ok(self)
    }

    /// Whether some font has a glyph for `c`.
    #[must_use]
    pub fn covers(&self, c: char) -> bool {
        self.pick(c).1.0 != 0
    }

    /// The font that draws `c` and its glyph (the first font's missing-glyph box if none
    /// has it).
    fn pick(&self, c: char) -> (usize, GlyphId) {
        for (i, font) in self.fonts.iter().enumerate() {
            let id = font.glyph_id(c);
            if id.0 != 0 {
                return (i, id);
            }
        }
        (0, GlyphId(0))
    }

    fn font(&self, index: usize) -> &FontArc {
        // `pick` only returns indexes of loaded fonts, and there is always at least one.
        &self.fonts[index.min(self.fonts.len() - 1)]
    }
}

fn parse(bytes: Vec<u8>, index: u32) -> Result<FontArc, PhotoError> {
    let len = bytes.len();
    ab_glyph::FontVec::try_from_vec_and_index(bytes, index)
        .map(FontArc::new)
        .map_err(|_| PhotoError::BadFont { len, index })
}

/// Where the panel and its text go on a picture of a given size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PanelLayout {
    /// Font size in pixels (ab_glyph's scale: ascent to descent).
    pub font_px: f32,
    /// Distance between baselines in pixels.
    pub line_height: u32,
    /// Padding around the text in pixels.
    pub padding: u32,
    /// Height of the panel in pixels, at the bottom of the picture.
    pub panel_height: u32,
}

/// The panel's geometry for a `width`×`height` picture: the font is 1/40 of the short edge
/// (at least 12 px), shrunk if need be so that the panel stays within the bottom quarter.
#[must_use]
pub fn panel_layout(width: u32, height: u32) -> PanelLayout {
    let short = width.min(height) as f32;
    let most = height as f32 * 0.25 / PANEL_PER_FONT;
    let font_px = (short * FONT_PER_SHORT_EDGE).max(MIN_FONT_PX).min(most).max(1.0);
    let line_height = (font_px * LINE_SPACING).round() as u32;
    let padding = (font_px * PADDING).round() as u32;
    let panel_height = (line_height * PANEL_LINES + 2 * padding).min(height / 4);
    PanelLayout { font_px, line_height, padding, panel_height }
}

/// The rows above the panel (the top three quarters of any picture the pipeline makes):
/// the picture as taken, which the perceptual hash looks at.
#[must_use]
pub fn scene_rows(height: u32) -> u32 {
    height - height / 4
}

/// The panel's five lines for `ctx`.
#[must_use]
pub fn panel_lines(ctx: &CaptureContext) -> [String; PANEL_LINES as usize] {
    let time = match ctx.time {
        CaptureTime::ServerEstimate(ms) => format_time(ms, ctx.utc_offset_minutes),
        CaptureTime::DeviceClockOnly(ms) => {
            format!("{} *仅设备时钟 device clock only", format_time(ms, ctx.utc_offset_minutes))
        }
    };
    let place = match &ctx.fix {
        Some(fix) => {
            let (lat, lng) = (fix.point.lat(), fix.point.lng());
            let mock = if fix.is_mock { "  *模拟定位 mock location" } else { "" };
            format!(
                "{:.6}°{} {:.6}°{}  ±{:.0} m{mock}",
                lat.abs(),
                if lat < 0.0 { 'S' } else { 'N' },
                lng.abs(),
                if lng < 0.0 { 'W' } else { 'E' },
                fix.accuracy_m,
            )
        }
        None => "无定位 no location fix".to_owned(),
    };
    [
        time,
        place,
        format!("客户 Customer  {}", ctx.customer_name),
        format!("地址 Address  {}", ctx.customer_address),
        format!("业务员 Rep  {}    验证码 Code  {}", ctx.rep_name, ctx.verification_code),
    ]
}

/// `unix_ms` as local civil time `YYYY-MM-DD HH:MM:SS UTC±HH:MM` at `utc_offset_minutes`.
#[must_use]
pub fn format_time(unix_ms: i64, utc_offset_minutes: i32) -> String {
    let local_s = unix_ms.div_euclid(1000) + i64::from(utc_offset_minutes) * 60;
    let (days, secs) = (local_s.div_euclid(86_400), local_s.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    let sign = if utc_offset_minutes < 0 { '-' } else { '+' };
    let offset = utc_offset_minutes.unsigned_abs();
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC{sign}{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        offset / 60,
        offset % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Burns the panel with `lines` into the bottom of `image`.
pub fn burn(image: &mut RgbImage, fonts: &WatermarkFonts, lines: &[String]) {
    let (width, height) = image.dimensions();
    let layout = panel_layout(width, height);
    let top = height - layout.panel_height;
    for y in top..height {
        for x in 0..width {
            let p = image.get_pixel_mut(x, y);
            for c in &mut p.0 {
                *c = ((u16::from(*c) * PANEL_KEEP) >> 8) as u8;
            }
        }
    }
    let accent = ((layout.font_px / 8.0).round() as u32).clamp(1, layout.panel_height);
    for y in top..top + accent {
        for x in 0..width {
            image.get_pixel_mut(x, y).0 = ACCENT;
        }
    }
    let max_width = width.saturating_sub(2 * layout.padding) as f32;
    for (i, line) in lines.iter().enumerate() {
        let line_top = top + layout.padding + i as u32 * layout.line_height;
        let text = fit(fonts, line, layout.font_px, max_width);
        draw_line(image, fonts, &text, layout.padding as f32, line_top as f32, layout.font_px);
    }
}

/// The width of `text` at `px`, in pixels.
fn measure(fonts: &WatermarkFonts, text: &str, px: f32) -> f32 {
    let scale = PxScale::from(px);
    let mut x = 0.0;
    let mut previous: Option<(usize, GlyphId)> = None;
    for c in text.chars() {
        let (f, id) = fonts.pick(c);
        let font = fonts.font(f).as_scaled(scale);
        if let Some((pf, pid)) = previous
            && pf == f
        {
            x += font.kern(pid, id);
        }
        x += font.h_advance(id);
        previous = Some((f, id));
    }
    x
}

/// `text`, cut with an ellipsis where it would overflow `max_width`.
fn fit(fonts: &WatermarkFonts, text: &str, px: f32, max_width: f32) -> String {
    if measure(fonts, text, px) <= max_width {
        return text.to_owned();
    }
    let ellipsis = if fonts.covers('…') { "…" } else { "..." };
    let room = max_width - measure(fonts, ellipsis, px);
    let mut cut = String::new();
    for c in text.chars() {
        cut.push(c);
        if measure(fonts, &cut, px) > room {
            cut.pop();
            break;
        }
    }
    cut.truncate(cut.trim_end().len());
    cut.push_str(ellipsis);
    cut
}

fn draw_line(image: &mut RgbImage, fonts: &WatermarkFonts, text: &str, left: f32, top: f32, px: f32) {
    let scale = PxScale::from(px);
    let baseline = top + fonts.font(0).as_scaled(scale).ascent();
    let (width, height) = image.dimensions();
    let mut x = left;
    let mut previous: Option<(usize, GlyphId)> = None;
    for c in text.chars() {
        let (f, id) = fonts.pick(c);
        let font = fonts.font(f);
        let scaled = font.as_scaled(scale);
        if let Some((pf, pid)) = previous
            && pf == f
        {
            x += scaled.kern(pid, id);
        }
        let glyph = id.with_scale_and_position(scale, point(x, baseline));
        x += scaled.h_advance(id);
        previous = Some((f, id));
        let Some(outlined) = font.outline_glyph(glyph) else { continue };
        let bounds = outlined.px_bounds();
        outlined.draw(|gx, gy, coverage| {
            let px = bounds.min.x as i64 + i64::from(gx);
            let py = bounds.min.y as i64 + i64::from(gy);
            if px < 0 || py < 0 || px >= i64::from(width) || py >= i64::from(height) {
                return;
            }
            let a = coverage.clamp(0.0, 1.0);
            let p = image.get_pixel_mut(px as u32, py as u32);
            for (dst, ink) in p.0.iter_mut().zip(INK) {
                *dst = (f32::from(*dst) * (1.0 - a) + f32::from(ink) * a).round() as u8;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use image::Rgb;

    use super::*;
    use crate::photo::tests::{context, test_fonts};

    #[test]
    fn times_print_as_local_civil_time_with_their_offset() {
        assert_eq!(format_time(0, 0), "1970-01-01 00:00:00 UTC+00:00");
        // 2024-02-29 23:59:59.999 UTC, seen from Shanghai and from Newfoundland.
        assert_eq!(format_time(1_709_251_199_999, 480), "2024-03-01 07:59:59 UTC+08:00");
        assert_eq!(format_time(1_709_251_199_999, -210), "2024-02-29 20:29:59 UTC-03:30");
        assert_eq!(format_time(-1, 0), "1969-12-31 23:59:59 UTC+00:00");
    }

    #[test]
    fn the_panel_lines_say_when_only_the_device_clock_was_known() {
        let mut ctx = context();
        let lines = panel_lines(&ctx);
        assert_eq!(lines[0], "2025-10-09 16:53:20 UTC+08:00");
        assert_eq!(lines[1], "31.230416°N 121.473701°E  ±12 m");
        assert!(lines[4].ends_with("验证码 Code  7KQ2-MX4P"), "{}", lines[4]);
        ctx.time = CaptureTime::DeviceClockOnly(1_760_000_000_000);
        ctx.fix = ctx.fix.map(|f| fieldkit_domain::model::LocationFix { is_mock: true, ..f });
        let lines = panel_lines(&ctx);
        assert!(lines[0].ends_with("*仅设备时钟 device clock only"), "{}", lines[0]);
        assert!(lines[1].ends_with("*模拟定位 mock location"), "{}", lines[1]);
        ctx.fix = None;
        assert_eq!(panel_lines(&ctx)[1], "无定位 no location fix");
    }

    #[test]
    fn the_panel_scales_with_the_picture_and_stays_in_the_bottom_quarter() {
        let big = panel_layout(1920, 1440);
        assert!((big.font_px - 36.0).abs() < 0.01);
        assert!(big.panel_height <= 1440 / 4);
        let portrait = panel_layout(1440, 1920);
        assert_eq!(portrait.font_px, big.font_px);
        for (w, h) in [(480, 320), (320, 240), (4000, 240), (240, 4000), (1, 1)] {
            let layout = panel_layout(w, h);
            assert!(layout.panel_height <= h / 4, "{w}x{h}: {layout:?}");
            assert!(h - layout.panel_height >= scene_rows(h));
        }
    }

    #[test]
    fn the_test_font_has_the_chinese_glyphs_the_panel_uses() {
        let fonts = test_fonts();
        for c in "客户地址业务员验证码仅设备时钟模拟定位无°±…".chars() {
            assert!(fonts.covers(c), "{c:?} missing from the test font");
        }
    }

    #[test]
    fn a_font_that_is_not_a_font_is_refused() {
        let err = WatermarkFonts::load(b"not a font".to_vec(), 0).expect_err("garbage");
        assert_eq!(err.to_string(), "font data of 10 bytes (collection index 0) is not a readable font");
        let fonts = test_fonts();
        assert!(fonts.with_fallback(Vec::new(), 0).is_err());
    }

    #[test]
    fn burning_darkens_the_panel_and_writes_white_text_only_there() {
        let fonts = test_fonts();
        let (w, h) = (960, 720);
        let mut image = RgbImage::from_pixel(w, h, Rgb([128, 128, 128]));
        burn(&mut image, &fonts, &panel_lines(&context()));
        let layout = panel_layout(w, h);
        let top = h - layout.panel_height;
        assert!((0..top).all(|y| (0..w).all(|x| *image.get_pixel(x, y) == Rgb([128, 128, 128]))));
        let dark = Rgb([((128 * PANEL_KEEP) >> 8) as u8; 3]);
        let accent = (layout.font_px / 8.0).round() as u32;
        let mut ink_per_line = vec![0u32; PANEL_LINES as usize];
        for y in top + accent..h {
            for x in 0..w {
                let p = *image.get_pixel(x, y);
                assert!(p.0[0] == p.0[1] && p.0[1] == p.0[2], "text is grey on grey at {x},{y}");
                assert!(p.0[0] >= dark.0[0], "nothing darker than the panel at {x},{y}");
                if p.0[0] > 200 {
                    let line = (y - top - layout.padding) / layout.line_height;
                    ink_per_line[line.min(PANEL_LINES - 1) as usize] += 1;
                }
            }
        }
        for (i, ink) in ink_per_line.iter().enumerate() {
            assert!(*ink > 300, "line {i} has only {ink} bright pixels: {ink_per_line:?}");
        }
        // The panel is mostly dark: text is thin strokes on it.
        let panel_pixels = (h - top - accent) * w;
        let dark_pixels = (top + accent..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .filter(|&(x, y)| *image.get_pixel(x, y) == dark)
            .count();
        assert!(dark_pixels as u32 > panel_pixels * 3 / 4, "{dark_pixels} of {panel_pixels}");
    }

    #[test]
    fn a_line_too_long_for_the_picture_ends_in_an_ellipsis() {
        let fonts = test_fonts();
        let long = "上海市黄浦区南京东路".repeat(10);
        let cut = fit(&fonts, &long, 20.0, 300.0);
        assert!(cut.ends_with('…'), "{cut}");
        assert!(measure(&fonts, &cut, 20.0) <= 300.0);
        assert!(cut.chars().count() > 5);
        assert_eq!(fit(&fonts, "short", 20.0, 300.0), "short");
    }
}
