//! Where a blob's bytes sit in the object store, and how the chunks stored so far make up
//! the whole: pure functions, no I/O.
//!
//! - `<org>/<sha256>`: the complete, verified blob (the same key, and so the same file,
//!   that the folder-only store before object storage used);
//! - `<org>/<sha256>.parts/<offset>`: one accepted chunk, its offset zero-padded to 20
//!   digits so that names sort as numbers;
//! - `<org>/<sha256>.part`: a blob half-uploaded by the folder-only store, read as the chunk
//!   at offset 0 so that an upload begun before the upgrade continues after it.

use std::ops::Range;

use fieldkit_domain::ids::OrgId;
use object_store::path::Path;

/// The key of the complete blob.
pub(super) fn blob_key(org: OrgId, sha256: &str) -> Path {
    Path::from_iter([org.to_string(), sha256.to_owned()])
}

/// The folder-like prefix of the blob's chunks.
pub(super) fn parts_prefix(org: OrgId, sha256: &str) -> Path {
    Path::from_iter([org.to_string(), format!("{sha256}.parts")])
}

/// The key of the chunk that starts at `offset`.
pub(super) fn part_key(org: OrgId, sha256: &str, offset: u64) -> Path {
    parts_prefix(org, sha256).join(format!("{offset:020}"))
}

/// The key of an upload the folder-only store had begun.
pub(super) fn legacy_part_key(org: OrgId, sha256: &str) -> Path {
    Path::from_iter([org.to_string(), format!("{sha256}.part")])
}

/// The offset a chunk's key names; `None` for a key that is not a chunk's.
pub(super) fn part_offset(location: &Path) -> Option<u64> {
    let name = location.filename()?;
    if name.len() == 20 && name.bytes().all(|b| b.is_ascii_digit()) { name.parse().ok() } else { None }
}

/// One stored chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Part {
    /// Its key.
    pub location: Path,
    /// Where it starts in the blob.
    pub offset: u64,
    /// Its length in bytes.
    pub len: u64,
}

/// A range of one chunk's bytes that goes into the blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Piece {
    /// The chunk's key.
    pub location: Path,
    /// The bytes of the chunk taken, relative to the chunk's start.
    pub range: Range<u64>,
}

/// The pieces that make up bytes `0..size` from `parts`: each byte is taken from the first
/// chunk (by offset) holding it, and a chunk that a later one overlaps is cut where the
/// later one starts. Every chunk at an offset holds the blob's bytes from that offset
/// (anything else fails the hash check after), so where chunks overlap any of them will do.
///
/// # Errors
/// How far the chunks reach without a gap from byte 0, when that is short of `size`.
pub(super) fn plan(parts: &[Part], size: u64) -> Result<Vec<Piece>, u64> {
    let mut sorted: Vec<&Part> = parts.iter().collect();
    sorted.sort_by_key(|p| (p.offset, std::cmp::Reverse(p.len)));
    let mut pieces = Vec::new();
    let mut pos = 0_u64;
    for part in sorted {
        if pos >= size || part.offset > pos {
            break;
        }
        let end = part.offset.saturating_add(part.len).min(size);
        if end <= pos {
            continue;
        }
        pieces.push(Piece { location: part.location.clone(), range: pos - part.offset..end - part.offset });
        pos = end;
    }
    if pos == size { Ok(pieces) } else { Err(pos) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(offset: u64, len: u64) -> Part {
        Part { location: Path::from(format!("p/{offset:020}")), offset, len }
    }

    fn ranges(pieces: &[Piece]) -> Vec<(u64, Range<u64>)> {
        pieces.iter().map(|p| (part_offset(&p.location).unwrap_or(u64::MAX), p.range.clone())).collect()
    }

    #[test]
    fn chunk_keys_sort_as_their_offsets_and_read_back() {
        let org = OrgId::new();
        let (small, big) = (part_key(org, "ab", 9), part_key(org, "ab", 10));
        assert!(small.as_ref() < big.as_ref());
        assert_eq!(part_offset(&big), Some(10));
        assert_eq!(small.as_ref(), format!("{org}/ab.parts/00000000000000000009"));
        assert_eq!(part_offset(&blob_key(org, "ab")), None);
        assert_eq!(legacy_part_key(org, "ab").as_ref(), format!("{org}/ab.part"));
    }

    #[test]
    fn chunks_end_to_end_make_the_whole_blob() {
        let pieces = plan(&[part(400, 600), part(0, 400)], 1000).expect("whole");
        assert_eq!(ranges(&pieces), vec![(0, 0..400), (400, 0..600)]);
    }

    #[test]
    fn an_overlapped_chunk_gives_only_the_bytes_before_the_next_one() {
        // The folder-only store's part file longer than what the database acknowledged,
        // then the chunk resent from the acknowledged offset.
        let pieces = plan(&[part(0, 500), part(400, 600)], 1000).expect("whole");
        assert_eq!(ranges(&pieces), vec![(0, 0..500), (400, 100..600)]);
        let covered = plan(&[part(0, 1000), part(400, 100)], 1000).expect("whole");
        assert_eq!(ranges(&covered), vec![(0, 0..1000)], "a chunk inside another adds nothing");
    }

    #[test]
    fn a_gap_says_how_far_the_chunks_reach() {
        assert_eq!(plan(&[part(0, 400), part(800, 200)], 1000), Err(400));
        assert_eq!(plan(&[part(400, 600)], 1000), Err(0));
        assert_eq!(plan(&[], 1000), Err(0));
        assert_eq!(plan(&[], 0), Ok(Vec::new()), "an empty blob needs no chunk");
    }

    #[test]
    fn bytes_past_the_announced_size_are_left_out() {
        let pieces = plan(&[part(0, 1200)], 1000).expect("whole");
        assert_eq!(ranges(&pieces), vec![(0, 0..1000)]);
    }
}
