//! New objects of a write, kept in memory and written to the repo as **one pack** (plus its
//! v2 index) just before the ref moves. One pack file instead of tens of thousands of loose
//! objects is what keeps a 59,000-record snapshot close to the cost of hashing and
//! compressing its blobs. The pack is written to a temp file and renamed, `.pack` before
//! `.idx`, so a killed writer leaves no half pack that git would read.

use gix::ObjectId;
use gix::object::Kind;
use sha1::{Digest, Sha1};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The git object id of `data` as an object of `kind`.
pub fn object_id(kind: Kind, data: &[u8]) -> ObjectId {
    let mut h = Sha1::new();
    h.update(kind.as_bytes());
    h.update(b" ");
    h.update(data.len().to_string().as_bytes());
    h.update([0u8]);
    h.update(data);
    ObjectId::from_bytes_or_panic(&h.finalize())
}

/// Objects created by a write that are not yet in the repo.
#[derive(Default)]
pub struct ObjectSink {
    objects: Vec<(ObjectId, Kind, Vec<u8>)>,
    index: HashMap<ObjectId, usize>,
}

/// A pack written into `objects/pack/`.
pub struct WrittenPack {
    pub pack: PathBuf,
    pub idx: PathBuf,
    /// False when an identical pack was already there (then it must not be removed on abort).
    pub created: bool,
    pub objects: usize,
}

impl ObjectSink {
    pub fn add(&mut self, kind: Kind, data: Vec<u8>) -> ObjectId {
        let id = object_id(kind, &data);
        if !self.index.contains_key(&id) {
            self.index.insert(id, self.objects.len());
            self.objects.push((id, kind, data));
        }
        id
    }

    /// Add many objects of one kind, hashed on every core; their ids in the same order.
    pub fn add_all(&mut self, kind: Kind, data: Vec<Vec<u8>>) -> Vec<ObjectId> {
        let ids = crate::par::map(&data, |d| object_id(kind, d));
        for (id, data) in ids.iter().zip(data) {
            if !self.index.contains_key(id) {
                self.index.insert(*id, self.objects.len());
                self.objects.push((*id, kind, data));
            }
        }
        ids
    }

    pub fn get(&self, id: &ObjectId) -> Option<(Kind, &[u8])> {
        self.index.get(id).map(|&i| {
            let (_, kind, data) = &self.objects[i];
            (*kind, data.as_slice())
        })
    }

    /// Write the objects `keep` selects as one pack in `objects_dir/pack`. Returns `None` when
    /// there is nothing to write.
    pub fn write_pack(
        &self,
        objects_dir: &Path,
        keep: impl Fn(&ObjectId) -> bool,
    ) -> std::io::Result<Option<WrittenPack>> {
        let chosen: Vec<&(ObjectId, Kind, Vec<u8>)> =
            self.objects.iter().filter(|(id, _, _)| keep(id)).collect();
        if chosen.is_empty() {
            return Ok(None);
        }
        let pack_dir = objects_dir.join("pack");
        std::fs::create_dir_all(&pack_dir)?;
        let mut tmp = tempfile::Builder::new()
            .prefix("tmp_pack_")
            .tempfile_in(&pack_dir)?;
        let (entries, checksum) = {
            let file = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
            let mut pack = HashingWriter::new(file);
            pack.write_all(b"PACK")?;
            pack.write_all(&2u32.to_be_bytes())?;
            pack.write_all(&(chosen.len() as u32).to_be_bytes())?;
            let mut entries: Vec<(ObjectId, u32, u64)> = Vec::with_capacity(chosen.len());
            // Compressed a batch at a time on every core, written in order: the pack is the
            // same bytes as a one-thread write, and only one batch waits in memory.
            for batch in chosen.chunks(BATCH) {
                let encoded = crate::par::map_chunks(batch, encode_entries);
                for (obj, entry) in batch.iter().zip(encoded) {
                    let (bytes, crc) = entry?;
                    entries.push((obj.0, crc, pack.written));
                    pack.write_all(&bytes)?;
                }
            }
            let checksum = pack.hasher.clone().finalize();
            pack.inner.write_all(&checksum)?;
            pack.inner.flush()?;
            (entries, checksum)
        };
        tmp.as_file().sync_all()?;

        let name = format!("pack-{}", hex(&checksum));
        let pack_path = pack_dir.join(format!("{name}.pack"));
        let idx_path = pack_dir.join(format!("{name}.idx"));
        let created = !idx_path.exists();
        let objects = entries.len();
        if created {
            let mut entries = entries;
            let idx_bytes = index_bytes(&mut entries, &checksum);
            let mut idx_tmp = tempfile::Builder::new()
                .prefix("tmp_idx_")
                .tempfile_in(&pack_dir)?;
            idx_tmp.write_all(&idx_bytes)?;
            idx_tmp.as_file().sync_all()?;
            // The pack first: git only looks at packs that have an index.
            tmp.persist(&pack_path).map_err(|e| e.error)?;
            idx_tmp.persist(&idx_path).map_err(|e| e.error)?;
            if let Ok(dir) = std::fs::File::open(&pack_dir) {
                let _ = dir.sync_all();
            }
        }
        Ok(Some(WrittenPack {
            pack: pack_path,
            idx: idx_path,
            created,
            objects,
        }))
    }
}

/// Objects compressed per batch: enough to keep every core busy, few enough that the
/// compressed bytes waiting to be written stay small.
const BATCH: usize = 8192;

/// Pack entries (header and zlib stream) of `objects`, each with the CRC-32 the index
/// stores. One compressor per level serves the whole chunk, each object compressed in one
/// call of libdeflate (several times fewer instructions than resetting and running a
/// streaming zlib per small object): blobs and commits at its default level 6 (zlib's
/// default too), trees at the fastest: they are mostly SHA-1s, which do not compress, and a
/// sheet's tree can be 1.5 MB, written again by every tool that changes the sheet.
fn encode_entries(objects: &[&(ObjectId, Kind, Vec<u8>)]) -> Vec<std::io::Result<(Vec<u8>, u32)>> {
    let mut z = libdeflater::Compressor::new(libdeflater::CompressionLvl::default());
    let mut z_tree = libdeflater::Compressor::new(libdeflater::CompressionLvl::fastest());
    objects
        .iter()
        .map(|(_, kind, data)| {
            let mut out = entry_header(*kind, data.len());
            let z = if *kind == Kind::Tree {
                &mut z_tree
            } else {
                &mut z
            };
            deflate_into(z, data, &mut out)?;
            let crc = crc32fast::hash(&out);
            Ok((out, crc))
        })
        .collect()
}

/// Append the zlib stream of `data` to `out`.
fn deflate_into(
    z: &mut libdeflater::Compressor,
    data: &[u8],
    out: &mut Vec<u8>,
) -> std::io::Result<()> {
    let start = out.len();
    out.resize(start + z.zlib_compress_bound(data.len()), 0);
    // The bound is libdeflate's own worst case, so running out of room cannot happen.
    let written = z
        .zlib_compress(data, &mut out[start..])
        .map_err(std::io::Error::other)?;
    out.truncate(start + written);
    Ok(())
}

/// A pack entry header: type and size, 4 bits then 7 bits at a time.
fn entry_header(kind: Kind, size: usize) -> Vec<u8> {
    let type_bits: u8 = match kind {
        Kind::Commit => 1,
        Kind::Tree => 2,
        Kind::Blob => 3,
        Kind::Tag => 4,
    };
    let mut out = Vec::with_capacity(10);
    let mut size = size as u64;
    let mut byte = (type_bits << 4) | (size as u8 & 0x0f);
    size >>= 4;
    while size > 0 {
        out.push(byte | 0x80);
        byte = size as u8 & 0x7f;
        size >>= 7;
    }
    out.push(byte);
    out
}

/// A pack index, version 2.
fn index_bytes(entries: &mut [(ObjectId, u32, u64)], pack_checksum: &[u8]) -> Vec<u8> {
    entries.sort_unstable_by_key(|e| e.0);
    let mut out = Vec::with_capacity(8 + 1024 + entries.len() * 28 + 40);
    out.extend_from_slice(b"\xfftOc");
    out.extend_from_slice(&2u32.to_be_bytes());
    let mut fanout = [0u32; 256];
    for (id, _, _) in entries.iter() {
        fanout[id.as_bytes()[0] as usize] += 1;
    }
    let mut running = 0u32;
    for count in fanout {
        running += count;
        out.extend_from_slice(&running.to_be_bytes());
    }
    for (id, _, _) in entries.iter() {
        out.extend_from_slice(id.as_bytes());
    }
    for (_, crc, _) in entries.iter() {
        out.extend_from_slice(&crc.to_be_bytes());
    }
    let mut large = Vec::new();
    for (_, _, offset) in entries.iter() {
        if *offset < 0x8000_0000 {
            out.extend_from_slice(&(*offset as u32).to_be_bytes());
        } else {
            out.extend_from_slice(&(0x8000_0000u32 | large.len() as u32).to_be_bytes());
            large.push(*offset);
        }
    }
    for offset in large {
        out.extend_from_slice(&offset.to_be_bytes());
    }
    out.extend_from_slice(pack_checksum);
    let idx_checksum = Sha1::digest(&out);
    out.extend_from_slice(&idx_checksum);
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Counts and hashes everything written through it (the pack trailer is a SHA-1 of it all).
struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha1,
    written: u64,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha1::new(),
            written: 0,
        }
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_ids_match_git() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(
            object_id(Kind::Blob, b"hello\n").to_string(),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
        // The empty tree.
        assert_eq!(
            object_id(Kind::Tree, b"").to_string(),
            "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
        );
    }

    #[test]
    fn entry_headers() {
        assert_eq!(entry_header(Kind::Blob, 5), vec![0x35]);
        assert_eq!(entry_header(Kind::Blob, 16), vec![0xb0, 0x01]);
        assert_eq!(entry_header(Kind::Commit, 300), vec![0x9c, 0x12]);
    }
}
