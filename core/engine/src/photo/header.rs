//! Reads what the pipeline needs from a JPEG's headers without decoding anything: the
//! frame's size and coding, and the EXIF orientation. It walks the marker segments up to the
//! first scan, bounds-checking every length, and allocates nothing, so a file that claims
//! 20000×20000 pixels costs a few comparisons before it is refused.

use super::PhotoError;
use super::orient::Orientation;

/// What the headers say about a JPEG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JpegHeader {
    /// Width of the stored frame in pixels (before orientation).
    pub width: u32,
    /// Height of the stored frame in pixels (before orientation).
    pub height: u32,
    /// Colour components in the frame (1 grey, 3 YCbCr, 4 CMYK/YCCK).
    pub components: u8,
    /// The frame is progressive (the decoder keeps every coefficient in memory).
    pub progressive: bool,
    /// The EXIF orientation (`TopLeft` when there is none or it is invalid).
    pub orientation: Orientation,
}

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;
const APP1: u8 = 0xE1;
const TEM: u8 = 0x01;

/// Parses the headers of `bytes` up to the first scan.
pub fn read_header(bytes: &[u8]) -> Result<JpegHeader, PhotoError> {
    if bytes.is_empty() {
        return Err(PhotoError::Empty);
    }
    if bytes.len() < 3 || bytes[0] != 0xFF || bytes[1] != SOI || bytes[2] != 0xFF {
        let mut start = [0u8; 4];
        let n = bytes.len().min(4);
        start[..n].copy_from_slice(&bytes[..n]);
        return Err(PhotoError::NotJpeg { start, len: bytes.len() });
    }
    let mut pos = 2;
    let mut frame: Option<(u32, u32, u8, bool)> = None;
    let mut orientation = Orientation::TopLeft;
    loop {
        // Markers may be preceded by any number of 0xFF fill bytes.
        if bytes.get(pos) != Some(&0xFF) {
            return Err(damaged(format!("expected a marker at byte {pos}")));
        }
        while bytes.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let Some(&marker) = bytes.get(pos) else {
            return Err(damaged(format!("file ends at byte {pos} inside a marker")));
        };
        pos += 1;
        match marker {
            // Markers without a length.
            TEM | 0xD0..=0xD7 => continue,
            SOI => return Err(damaged(format!("second start-of-image marker at byte {}", pos - 2))),
            EOI => return Err(damaged("end of image before any scan".to_owned())),
            0x00 => return Err(damaged(format!("stuffed zero where a marker belongs at byte {}", pos - 1))),
            _ => {}
        }
        let len = match bytes.get(pos..pos + 2) {
            Some(&[hi, lo]) => usize::from(u16::from_be_bytes([hi, lo])),
            _ => return Err(damaged(format!("file ends at byte {pos} inside a segment length"))),
        };
        if len < 2 {
            return Err(damaged(format!("segment 0x{marker:02x} has length {len}")));
        }
        let Some(payload) = bytes.get(pos + 2..pos + len) else {
            return Err(damaged(format!(
                "segment 0x{marker:02x} of {len} bytes runs past the end of the file"
            )));
        };
        match marker {
            // SOF0..SOF15, less DHT (C4), JPG (C8) and DAC (CC).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                if frame.is_some() {
                    return Err(damaged("more than one frame header".to_owned()));
                }
                let &[precision, h_hi, h_lo, w_hi, w_lo, components, ..] = payload else {
                    return Err(damaged(format!("frame header of {len} bytes is too short")));
                };
                if !matches!(marker, 0xC0..=0xC2) {
                    return Err(PhotoError::Unsupported(format!("jpeg coding process 0x{marker:02x}")));
                }
                if precision != 8 {
                    return Err(PhotoError::Unsupported(format!("{precision}-bit jpeg samples")));
                }
                let height = u32::from(u16::from_be_bytes([h_hi, h_lo]));
                let width = u32::from(u16::from_be_bytes([w_hi, w_lo]));
                frame = Some((width, height, components, marker == 0xC2));
            }
            APP1 => {
                if let Some(tiff) = payload.strip_prefix(b"Exif\0\0") {
                    orientation = exif_orientation(tiff).unwrap_or(Orientation::TopLeft);
                }
            }
            SOS => break,
            _ => {}
        }
        pos += len;
    }
    let Some((width, height, components, progressive)) = frame else {
        return Err(damaged("scan before any frame header".to_owned()));
    };
    if width == 0 || height == 0 {
        return Err(damaged(format!("frame of {width}x{height} pixels")));
    }
    Ok(JpegHeader { width, height, components, progressive, orientation })
}

fn damaged(reason: String) -> PhotoError {
    PhotoError::Damaged(reason)
}

/// The orientation tag (0x0112) of IFD0 in an EXIF TIFF block, if present and valid.
fn exif_orientation(tiff: &[u8]) -> Option<Orientation> {
    let big_endian = match tiff.get(0..4)? {
        [b'I', b'I', 42, 0] => false,
        [b'M', b'M', 0, 42] => true,
        _ => return None,
    };
    let u16_at = |at: usize| -> Option<u16> {
        let b: [u8; 2] = tiff.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if big_endian { u16::from_be_bytes(b) } else { u16::from_le_bytes(b) })
    };
    let u32_at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = tiff.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if big_endian { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) })
    };
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let count = usize::from(u16_at(ifd)?);
    for i in 0..count {
        let entry = ifd.checked_add(2)?.checked_add(i.checked_mul(12)?)?;
        if u16_at(entry)? == 0x0112 {
            // Type SHORT (3), count 1: the value sits in the first two bytes of the field.
            if u16_at(entry + 2)? != 3 {
                return None;
            }
            return Orientation::from_exif(u8::try_from(u16_at(entry + 8)?).ok()?);
        }
    }
    None
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A syntactically complete JPEG header (SOI, optional EXIF orientation, SOF0, SOS) with
    /// no image data: enough for the header reader, useless to a decoder.
    pub(crate) fn header_only_jpeg(width: u16, height: u16, orientation: Option<u16>) -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8];
        if let Some(value) = orientation {
            let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
            tiff.extend_from_slice(&1u16.to_be_bytes());
            tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1]);
            tiff.extend_from_slice(&value.to_be_bytes());
            tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
            let mut payload = b"Exif\0\0".to_vec();
            payload.extend_from_slice(&tiff);
            out.extend_from_slice(&[0xFF, 0xE1]);
            out.extend_from_slice(&u16::try_from(payload.len() + 2).expect("small").to_be_bytes());
            out.extend_from_slice(&payload);
        }
        out.extend_from_slice(&[0xFF, 0xC0, 0, 17, 8]);
        out.extend_from_slice(&height.to_be_bytes());
        out.extend_from_slice(&width.to_be_bytes());
        out.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        out.extend_from_slice(&[0xFF, 0xDA, 0, 12, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0]);
        out
    }

    #[test]
    fn the_header_gives_size_and_orientation_without_decoding() {
        for value in 1..=8u16 {
            let header = read_header(&header_only_jpeg(4000, 3000, Some(value))).expect("parses");
            assert_eq!((header.width, header.height, header.components), (4000, 3000, 3));
            assert_eq!(header.orientation.exif_value(), u8::try_from(value).expect("small"));
            assert!(!header.progressive);
        }
    }

    #[test]
    fn a_missing_or_invalid_orientation_means_upright() {
        assert_eq!(
            read_header(&header_only_jpeg(10, 10, None)).expect("parses").orientation,
            Orientation::TopLeft
        );
        assert_eq!(
            read_header(&header_only_jpeg(10, 10, Some(9))).expect("parses").orientation,
            Orientation::TopLeft
        );
    }

    #[test]
    fn a_little_endian_exif_block_is_read_too() {
        let tiff =
            [b'I', b'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(exif_orientation(&tiff), Some(Orientation::Rotate90));
    }

    #[test]
    fn an_exif_block_with_offsets_past_its_end_is_ignored() {
        let tiff = [b'M', b'M', 0, 42, 0xFF, 0xFF, 0xFF, 0xF0];
        assert_eq!(exif_orientation(&tiff), None);
        let tiff = [b'M', b'M', 0, 42, 0, 0, 0, 8, 0xFF, 0xFF];
        assert_eq!(exif_orientation(&tiff), None);
    }

    #[test]
    fn every_truncation_of_a_header_is_refused_without_panicking() {
        let full = header_only_jpeg(640, 480, Some(6));
        for end in 0..full.len() {
            assert!(read_header(&full[..end]).is_err(), "prefix of {end} bytes");
        }
        assert!(read_header(&full).is_ok());
    }

    #[test]
    fn a_zero_sized_frame_is_damaged() {
        let err = read_header(&header_only_jpeg(0, 480, None)).expect_err("zero width");
        assert_eq!(err.to_string(), "damaged jpeg: frame of 0x480 pixels");
    }

    #[test]
    fn twelve_bit_and_lossless_frames_are_unsupported() {
        let mut bytes = header_only_jpeg(64, 64, None);
        let sof = bytes.windows(2).position(|w| w == [0xFF, 0xC0]).expect("sof");
        bytes[sof + 4] = 12;
        assert!(matches!(read_header(&bytes), Err(PhotoError::Unsupported(_))));
        bytes[sof + 4] = 8;
        bytes[sof + 1] = 0xC3;
        assert!(matches!(read_header(&bytes), Err(PhotoError::Unsupported(_))));
    }
}
