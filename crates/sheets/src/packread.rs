//! Whole (non-delta) objects read straight from the repo's packs into a reused buffer with
//! room to spare. zlib's fast decoding loop runs only while 260 bytes of output space remain,
//! so inflating a 200-byte record into a buffer of exactly its size (what a gix object read
//! does) decodes every byte in the slow loop and allocates a buffer per object. Anything this
//! cannot read as it expects (a delta, a loose object, a pack it could not open, a stream that
//! does not end where the header says) is left to gix.

use std::path::Path;

use flate2::{Decompress, FlushDecompress, Status};
use gix::ObjectId;
use gix::odb::pack;

/// Output room beyond an object's size: zlib's fast loop needs 260 bytes left.
const SLACK: usize = 320;

/// The packs of a repo, each opened with its index.
pub(crate) struct Packs {
    packs: Vec<(pack::index::File, pack::data::File)>,
    inflate: Decompress,
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
            inflate: Decompress::new(true),
        }
    }

    /// The object `id` into `out`, and its kind, when it is a whole object in one of the
    /// packs; `None` (and `out` unspecified) otherwise.
    pub(crate) fn read(&mut self, id: &ObjectId, out: &mut Vec<u8>) -> Option<gix::object::Kind> {
        let (index, data, at) = self
            .packs
            .iter()
            .find_map(|(index, data)| Some((index, data, index.lookup(id)?)))?;
        let entry = data.entry(index.pack_offset_at_index(at)).ok()?;
        let kind = entry.header.as_kind()?;
        let size = usize::try_from(entry.decompressed_size).ok()?;
        let input = data.entry_slice(entry.data_offset..data.pack_end() as u64)?;
        out.clear();
        out.reserve(size + SLACK);
        self.inflate.reset(true);
        let status = self
            .inflate
            .decompress_vec(input, out, FlushDecompress::Finish);
        (matches!(status, Ok(Status::StreamEnd)) && out.len() == size).then_some(kind)
    }
}
