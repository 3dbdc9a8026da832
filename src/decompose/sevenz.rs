//! 7z archives (sevenz-rust2): entries are decoded block by block and decomposed as files, under
//! the same [`super::Limits`] as zip entries. Only LZMA, LZMA2, deflate, bzip2, zstd, copy and the
//! BCJ/delta filters are built in; AES is not, so an encrypted 7z is reported, never opened.
//!
//! Security: the archive is untrusted. The reader's header buffers and each decoder's dictionary
//! are capped by [`MEMORY_LIMIT_KB`]; decoding runs on the caller's thread ([`THREADS`]); output
//! goes through [`Walker::read_entry`], which stops at the extracted-bytes, ratio and time limits
//! while decoding, so a declared size is never allocated up front. A block is abandoned (not
//! drained) as soon as one of its entries stops early, and a block whose declared output is past
//! the ratio limit is not decoded at all.

use std::borrow::Cow;
use std::io::Cursor;

use sevenz_rust2::{Archive, ArchiveEntry, BlockDecoder, Error, Password};

use super::archive::{is_encrypted_opaque, unread_meta};
use super::walk::{ReadEnd, Walker, join};
use super::{Anomaly, FileType, LimitKind, Location, Malformation};

/// Memory the 7z reader may take for its header buffers and for one decoder's dictionary or model
/// (64 MiB, in KiB): the dictionary of 7-Zip's strongest preset (`-mx9`) fits; an archive asking
/// for more is reported as unsupported rather than allocated.
pub(crate) const MEMORY_LIMIT_KB: usize = 64 << 10;
/// Decoder threads: one, on the caller's thread (the core spawns nothing).
const THREADS: u32 = 1;

/// What stopped a block early.
enum BlockEnd {
    /// Every entry was read (or the block was empty).
    Done,
    /// An entry stopped early (limit, bomb, read failure; already recorded): the rest of the
    /// block is skipped.
    Abandoned,
}

impl Walker<'_> {
    /// Opens a 7z archive whose own part is at `index`.
    pub(super) fn sevenz(&mut self, data: &[u8], index: usize, path: &str, depth: u32) {
        let mut source = Cursor::new(data);
        let password = Password::empty();
        let archive = match Archive::read_with_memory_limit(&mut source, &password, MEMORY_LIMIT_KB)
        {
            Ok(a) => a,
            Err(e) => {
                // Encrypted headers (7z -mhe) cannot be read without the password.
                if is_encrypted_opaque(FileType::SevenZip, data) || is_password_error(&e) {
                    self.mark_encrypted(index, path);
                } else if is_unsupported(&e) {
                    self.unsupported(path);
                } else {
                    self.malformed_archive(path);
                }
                return;
            }
        };
        let mut opened = 0u32;
        let map = &archive.stream_map;
        for (b, block) in archive.blocks.iter().enumerate() {
            if !self.in_time(path) || self.extraction_full() {
                return;
            }
            let Some(first) = map.block_first_file_index.get(b).copied() else {
                self.malformed_archive(path);
                return;
            };
            let files: Vec<usize> = (first..archive.files.len())
                .take_while(|&i| map.file_block_index.get(i) == Some(&Some(b)))
                .filter(|&i| archive.files[i].has_stream)
                .collect();
            let Some(&head) = files.first() else {
                continue;
            };
            if depth >= self.limits.max_depth {
                self.limit(LimitKind::Depth, path);
                return;
            }
            let packed = block_packed_size(&archive, b);
            let encrypted = archive.is_file_encrypted(head);
            let bomb = self.is_bomb(block.get_unpack_size(), packed);
            if encrypted || bomb {
                // Listed, not decoded.
                for &i in &files {
                    if !self.count_entry(&mut opened, path) {
                        return;
                    }
                    let entry = &archive.files[i];
                    let child = join(path, &entry.name);
                    let meta = unread_meta(entry.name.clone(), entry.size, encrypted);
                    self.push(
                        Location::Attachment(child.clone()),
                        String::new(),
                        Some(meta),
                    );
                    if encrypted {
                        self.anomaly(Anomaly::Encrypted { path: child });
                    } else if i == head {
                        self.limit(LimitKind::Ratio, &child);
                    }
                }
                if encrypted && let Some(m) = self.file_meta_mut(index) {
                    m.encrypted = true;
                }
                continue;
            }
            let mut out_of_entries = false;
            let mut block_out = 0u64;
            let decoder = BlockDecoder::new_with_memory_limit(
                THREADS,
                MEMORY_LIMIT_KB,
                b,
                &archive,
                &password,
                &mut source,
            );
            let result = decoder.for_each_entries(&mut |entry: &ArchiveEntry, reader| {
                if entry.is_directory || entry.is_anti_item {
                    return Ok(true);
                }
                if !self.count_entry(&mut opened, path) {
                    out_of_entries = true;
                    return Ok(false);
                }
                let end = self.sevenz_entry(entry, reader, packed, &mut block_out, path, depth);
                Ok(matches!(end, BlockEnd::Done) && !self.stopped)
            });
            if out_of_entries || self.stopped {
                return;
            }
            if let Err(e) = result {
                if is_password_error(&e) {
                    self.mark_encrypted(index, path);
                } else if is_unsupported(&e) {
                    self.unsupported(path);
                } else {
                    self.malformed_archive(path);
                }
            }
        }
        // Empty files (no stream) belong to no block.
        for (i, entry) in archive.files.iter().enumerate() {
            if entry.has_stream
                || entry.is_directory
                || entry.is_anti_item
                || map.file_block_index.get(i).is_some_and(Option::is_some)
            {
                continue;
            }
            if !self.in_time(path) || depth >= self.limits.max_depth {
                return;
            }
            if !self.count_entry(&mut opened, path) {
                return;
            }
            let child = join(path, &entry.name);
            let name = Some(entry.name.clone());
            self.file(Cow::Borrowed(&[]), name, None, &child, depth + 1);
        }
    }

    /// Reads one entry of a block and decomposes it. `packed` is the block's packed size and
    /// `block_out` what the block has produced so far (for the ratio of a solid block).
    fn sevenz_entry(
        &mut self,
        entry: &ArchiveEntry,
        reader: &mut dyn std::io::Read,
        packed: u64,
        block_out: &mut u64,
        path: &str,
        depth: u32,
    ) -> BlockEnd {
        let child = join(path, &entry.name);
        let (bytes, end) = self.read_entry(reader, packed, Some(entry.size), &child);
        *block_out = block_out.saturating_add(bytes.len() as u64);
        if end == ReadEnd::Unusable {
            let meta = unread_meta(entry.name.clone(), entry.size, false);
            self.push(Location::Attachment(child), String::new(), Some(meta));
            return BlockEnd::Abandoned;
        }
        let solid_bomb = end == ReadEnd::Complete && self.is_bomb(*block_out, packed);
        let name = Some(entry.name.clone());
        self.file(Cow::Owned(bytes), name, None, &child, depth + 1);
        if solid_bomb {
            // Entries of a solid block together past the ratio: stop decoding it.
            self.limit(LimitKind::Ratio, &child);
            return BlockEnd::Abandoned;
        }
        match end {
            ReadEnd::Complete => BlockEnd::Done,
            ReadEnd::Truncated | ReadEnd::Failed | ReadEnd::Unusable => BlockEnd::Abandoned,
        }
    }

    fn mark_encrypted(&mut self, index: usize, path: &str) {
        if let Some(m) = self.file_meta_mut(index) {
            m.encrypted = true;
        }
        self.anomaly(Anomaly::Encrypted {
            path: path.to_string(),
        });
    }

    fn unsupported(&mut self, path: &str) {
        self.anomaly(Anomaly::Unsupported {
            path: path.to_string(),
            true_type: FileType::SevenZip,
        });
    }

    fn malformed_archive(&mut self, path: &str) {
        self.anomaly(Anomaly::Malformed {
            path: path.to_string(),
            what: Malformation::Archive,
        });
    }
}

/// The packed bytes of block `b`: its pack streams are contiguous, from its first one to the
/// next block's first one.
fn block_packed_size(archive: &Archive, b: usize) -> u64 {
    let starts = archive.stream_map.block_first_pack_stream_index();
    let sizes = archive.pack_sizes();
    let start = starts.get(b).copied().unwrap_or(sizes.len());
    let end = starts.get(b + 1).copied().unwrap_or(sizes.len());
    sizes
        .get(start..end.max(start).min(sizes.len()))
        .unwrap_or(&[])
        .iter()
        .fold(0u64, |a, &s| a.saturating_add(s))
}

fn is_password_error(e: &Error) -> bool {
    matches!(e, Error::PasswordRequired | Error::MaybeBadPassword(_))
}

/// A method or feature this build does not decode (PPMd, AES, Brotli, ...) or a dictionary past
/// [`MEMORY_LIMIT_KB`].
fn is_unsupported(e: &Error) -> bool {
    matches!(
        e,
        Error::UnsupportedCompressionMethod(_)
            | Error::Unsupported(_)
            | Error::MaxMemLimited { .. }
            | Error::ExternalUnsupported
    )
}
