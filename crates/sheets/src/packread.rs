//! Whole (non-delta) objects read straight from the repo's packs into a reused buffer. Each
//! object is inflated in one call of libdeflate (its size is known from the entry header), into
//! a buffer with room to spare: the decoder's fast loop runs only while some 300 bytes of output
//! space remain, and a streaming zlib spends most of a small record's time resetting its state
//! and building tables. Anything this cannot read as it expects (a delta, a loose object, a pack
//! it could not open, a stream that is corrupt or does not inflate to the header's size) is
//! left to gix, whose error names the object.

use std::path::Path;

use gix::ObjectId;
use gix::odb::pack;

/// Output room beyond an object's size: libdeflate's fast loop needs about 300 bytes left.
const SLACK: usize = 320;

/// The packs of a repo, each opened with its index.
pub(crate) struct Packs {
    packs: Vec<(pack::index::File, pack::data::File)>,
    inflate: libdeflater::Decompressor,
    /// The pack the last object was found in, asked first: a sheet's blobs sit in one pack.
    last_hit: usize,
}

impl Packs {
    /// Every pack under `objects/pack` whose index and data open (best effort: gix reads the
    /// others).
    pub(crate) fn open(repo: &Path) -> Packs {
        let mut packs = Vec::new();
        let dir = repo.join("objects").join("pack");
        let mut idx_paths: Vec<_> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "idx"))
            .collect();
        idx_paths.sort();
        for idx_path in idx_paths {
            let kind = gix::hash::Kind::Sha1;
            let (Ok(index), Ok(data)) = (
                pack::index::File::at(&idx_path, kind),
                pack::data::File::at(idx_path.with_extension("pack"), kind),
            ) else {
                continue;
            };
            packs.push((index, data));
        }
        Packs {
            packs,
            inflate: libdeflater::Decompressor::new(),
            last_hit: 0,
        }
    }

    /// The object `id` into `out`, and its kind, when it is a whole object in one of the
    /// packs; `None` (and `out` unspecified) otherwise.
    pub(crate) fn read(&mut self, id: &ObjectId, out: &mut Vec<u8>) -> Option<gix::object::Kind> {
        let (which, at) = self.locate(id)?;
        let (index, data) = &self.packs[which];
        let entry = data.entry(index.pack_offset_at_index(at)).ok()?;
        let kind = entry.header.as_kind()?;
        let size = usize::try_from(entry.decompressed_size).ok()?;
        let input = data.entry_slice(entry.data_offset..data.pack_end() as u64)?;
        out.clear();
        out.resize(size + SLACK, 0);
        // The input runs to the pack's end: the zlib stream says where it stops.
        let inflated = self.inflate.zlib_decompress(input, out).ok();
        out.truncate(inflated.unwrap_or(0));
        (inflated == Some(size)).then_some(kind)
    }

    /// The pack holding `id` and its entry there, the last pack that answered asked first (an
    /// object in two packs has the same bytes in both): the pack's position and the entry's.
    fn locate(&mut self, id: &ObjectId) -> Option<(usize, u32)> {
        let n = self.packs.len();
        let hit = (0..n)
            .map(|i| (self.last_hit + i) % n)
            .find_map(|i| Some((i, find(&self.packs[i].0, id)?)))?;
        self.last_hit = hit.0;
        Some(hit)
    }
}

/// The first 8 bytes of an object id as a number: ids are uniformly spread, so an id's key
/// says about where in a sorted index it sits.
fn key_of(id: &gix::hash::oid) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&id.as_bytes()[..8]);
    u64::from_be_bytes(b)
}

/// `id`'s entry in `index` by interpolation search: a few probes where a binary search of
/// the same index (gix's `lookup`) takes seventeen, each a cache miss. Falls back to halving
/// after a few rounds, so an odd spread costs no more than a binary search.
fn find(index: &pack::index::File, id: &ObjectId) -> Option<u32> {
    let key = key_of(id);
    // Entries [lo, hi) may hold `id`; every key before lo is <= klo, every key from hi >= khi.
    let (mut lo, mut hi) = (0u32, index.num_objects());
    let (mut klo, mut khi) = (0u64, u64::MAX);
    let mut round = 0;
    while hi - lo > 8 {
        let span = u128::from(hi - lo);
        let guess = if round < 4 && klo <= key && key <= khi {
            let frac = u128::from(key - klo) * span / (u128::from(khi - klo) + 1);
            lo + u32::try_from(frac).unwrap_or(hi - lo - 1)
        } else {
            lo + (hi - lo) / 2
        };
        round += 1;
        let at = index.oid_at_index(guess);
        let kat = key_of(at);
        // The 8-byte keys decide almost every probe; only equal keys compare whole ids.
        match kat.cmp(&key).then_with(|| at.cmp(id.as_ref())) {
            std::cmp::Ordering::Less => (lo, klo) = (guess + 1, kat),
            std::cmp::Ordering::Greater => (hi, khi) = (guess, kat),
            std::cmp::Ordering::Equal => return Some(guess),
        }
    }
    (lo..hi).find(|&i| {
        let at = index.oid_at_index(i);
        key_of(at) == key && at == id.as_ref()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::{ObjectSink, object_id};

    /// The interpolation search finds every object gix's binary search finds, at the same
    /// entry, and nothing else; whole objects read back as written.
    #[test]
    fn find_agrees_with_gix_lookup() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = ObjectSink::default();
        let blobs: Vec<Vec<u8>> = (0..5000)
            .map(|i| format!("blob {i}\n").into_bytes())
            .collect();
        let ids = sink.add_all(gix::object::Kind::Blob, blobs.clone());
        let written = sink.write_pack(dir.path(), |_| true).unwrap().unwrap();
        let index = pack::index::File::at(&written.idx, gix::hash::Kind::Sha1).unwrap();
        for id in &ids {
            assert_eq!(find(&index, id), index.lookup(id), "{id}");
            assert!(find(&index, id).is_some());
        }
        for i in 0..2000 {
            let absent = object_id(gix::object::Kind::Blob, format!("no {i}").as_bytes());
            assert_eq!(find(&index, &absent), None);
        }
        let mut packs = Packs::open(dir.path().parent().unwrap_or(dir.path()));
        packs.packs = vec![(
            index,
            pack::data::File::at(&written.pack, gix::hash::Kind::Sha1).unwrap(),
        )];
        let mut out = Vec::new();
        for (id, blob) in ids.iter().zip(&blobs).step_by(97) {
            assert_eq!(packs.read(id, &mut out), Some(gix::object::Kind::Blob));
            assert_eq!(&out, blob);
        }
    }

    /// A whole object whose stream is damaged (its zlib header, a byte inside the deflate
    /// data, its Adler-32 check) or inflates to another size than its entry header says is
    /// never read here: `read` answers `None`, and the caller's gix read reports the object.
    #[test]
    fn a_damaged_stream_is_never_read_as_the_object() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = ObjectSink::default();
        let blob = "slug = 'someone'\nbio = 'a few words, a few words'\n".repeat(8);
        let id = sink.add(gix::object::Kind::Blob, blob.clone().into_bytes());
        let written = sink.write_pack(dir.path(), |_| true).unwrap().unwrap();
        let pack_bytes = std::fs::read(&written.pack).unwrap();
        let open = |bytes: &[u8]| {
            std::fs::write(&written.pack, bytes).unwrap();
            let mut packs = Packs::open(dir.path());
            packs.packs = vec![(
                pack::index::File::at(&written.idx, gix::hash::Kind::Sha1).unwrap(),
                pack::data::File::at(&written.pack, gix::hash::Kind::Sha1).unwrap(),
            )];
            packs
        };
        let mut out = Vec::new();
        assert_eq!(
            open(&pack_bytes).read(&id, &mut out),
            Some(gix::object::Kind::Blob)
        );
        assert_eq!(out, blob.as_bytes());
        // One object: a 12-byte pack header, its 2-byte entry header, then its zlib stream
        // (2 header bytes, the deflate data, 4 bytes of Adler-32), then the 20-byte trailer.
        let stream = 12 + 2..pack_bytes.len() - 20;
        let damaged = |at: usize, byte: u8| {
            let mut bytes = pack_bytes.clone();
            bytes[at] ^= byte;
            bytes
        };
        for (what, bytes) in [
            ("zlib header", damaged(stream.start, 0x01)),
            ("deflate data", damaged(stream.start + 8, 0x10)),
            ("adler-32", damaged(stream.end - 1, 0x01)),
            // The entry header's size, 400 -> 401: the stream inflates to one byte less.
            ("entry size", damaged(12, 0x01)),
        ] {
            assert_eq!(open(&bytes).read(&id, &mut out), None, "{what}");
        }
    }
}
