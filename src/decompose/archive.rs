//! Containers: zip (and the office packages built on it), gzip and tar are opened and their entries
//! decomposed as files (7z in `sevenz`); rar and OLE2 compound files are only checked for
//! encryption. Zip entries are read in the methods common archivers write (stored, deflate, bzip2,
//! LZMA, zstd); another method is an `Unsupported` anomaly. A zip with data before it (a
//! self-extractor) is found from its end, as `unzip` finds it (`filetype::has_zip_trailer`).
//!
//! Every entry counts against the entry limits, every inflated byte against the extracted-bytes
//! limit, and each entry's ratio is checked from its declared sizes before inflating and from the
//! actual bytes while inflating (see [`Walker::read_entry`]), so a bomb stops early.

use std::borrow::Cow;
use std::io::Cursor;

use super::walk::{ReadEnd, Walker, join};
use super::{Anomaly, FileMeta, FileType, LimitKind, Location, Malformation, office};

/// The zip compression methods this build reads (those `unzip` and common archivers write).
fn readable_method(m: zip::CompressionMethod) -> bool {
    use zip::CompressionMethod as M;
    matches!(m, M::Stored | M::Deflated | M::Bzip2 | M::Lzma | M::Zstd)
}

/// Bytes of a 7z header or rar file searched for encryption markers.
const OPAQUE_SCAN_BYTES: usize = 1 << 20;

impl Walker<'_> {
    /// Opens a zip (or office package) whose own part is at `index`.
    pub(super) fn zip(&mut self, data: &[u8], index: usize, path: &str, depth: u32) {
        let mut archive = match zip::ZipArchive::new(Cursor::new(data)) {
            Ok(a) => a,
            Err(_) => {
                self.malformed(path, Malformation::Archive);
                return;
            }
        };
        let mimetype = self.small_entry(&mut archive, "mimetype", path);
        let names: Vec<String> = archive
            .file_names()
            .flatten()
            .map(std::borrow::Cow::into_owned)
            .collect();
        let kind = office::classify(names.iter().map(String::as_str), mimetype.as_deref());
        drop(names);
        if let Some(kind) = kind
            && let Some(meta) = self.file_meta_mut(index)
        {
            meta.true_type = kind;
        }
        let kind = kind.unwrap_or(FileType::Zip);
        let mut opened = 0u32;
        for i in 0..archive.len() {
            if !self.in_time(path) {
                return;
            }
            let Ok(entry) = archive.by_index_data(i) else {
                self.malformed(path, Malformation::Archive);
                continue;
            };
            if entry.is_dir() {
                continue;
            }
            let name = match entry.name() {
                Ok(n) => n.into_owned(),
                Err(_) => String::from_utf8_lossy(entry.name_raw()).into_owned(),
            };
            let wanted = match kind {
                FileType::Zip => Wanted::File,
                k if office::is_text_entry(k, &name) => Wanted::Text,
                k if office::is_embedding(k, &name) => Wanted::File,
                _ => Wanted::Skip,
            };
            if wanted == Wanted::Skip {
                continue;
            }
            let child = join(path, &name);
            if wanted == Wanted::File && depth >= self.limits.max_depth {
                self.limit(LimitKind::Depth, path);
                break;
            }
            if !self.count_entry(&mut opened, path) {
                break;
            }
            let (size, compressed, encrypted) =
                (entry.size(), entry.compressed_size(), entry.encrypted());
            let readable = readable_method(entry.compression());
            let meta = unread_meta(name.clone(), size, encrypted);
            if encrypted {
                if let Some(m) = self.file_meta_mut(index) {
                    m.encrypted = true;
                }
                self.push(
                    Location::Attachment(child.clone()),
                    String::new(),
                    Some(meta),
                );
                self.anomaly(Anomaly::Encrypted { path: child });
                continue;
            }
            if self.is_bomb(size, compressed) {
                self.push(
                    Location::Attachment(child.clone()),
                    String::new(),
                    Some(meta),
                );
                self.limit(LimitKind::Ratio, &child);
                continue;
            }
            let opened = if readable {
                archive.by_index(i)
            } else {
                Err(zip::result::ZipError::UnsupportedArchive("method"))
            };
            let mut reader = match opened {
                Ok(r) => r,
                Err(zip::result::ZipError::UnsupportedArchive(_)) => {
                    self.push(
                        Location::Attachment(child.clone()),
                        String::new(),
                        Some(meta),
                    );
                    self.anomaly(Anomaly::Unsupported {
                        path: child,
                        true_type: FileType::Zip,
                    });
                    continue;
                }
                Err(_) => {
                    self.push(
                        Location::Attachment(child.clone()),
                        String::new(),
                        Some(meta),
                    );
                    self.malformed(&child, Malformation::Archive);
                    continue;
                }
            };
            let (bytes, end) = self.read_entry(&mut reader, compressed, Some(size), &child);
            drop(reader);
            if end == ReadEnd::Unusable {
                self.push(Location::Attachment(child), String::new(), Some(meta));
                continue;
            }
            match wanted {
                Wanted::Text => {
                    let (text, ok) = office::xml_to_text(&bytes);
                    if !ok {
                        self.malformed(&child, Malformation::Document);
                    }
                    self.append(index, &text);
                }
                _ => self.file(Cow::Owned(bytes), Some(name), None, &child, depth + 1),
            }
            if self.stopped {
                return;
            }
        }
        if kind == FileType::Odt || kind == FileType::Ods || kind == FileType::Odp {
            self.odf_encryption(&mut archive, index, path);
        }
    }

    /// An OpenDocument package is encrypted when its manifest carries `encryption-data`.
    fn odf_encryption(
        &mut self,
        archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
        index: usize,
        path: &str,
    ) {
        let manifest = self.small_entry(archive, "META-INF/manifest.xml", path);
        if manifest.is_some_and(|m| memchr::memmem::find(&m, b"encryption-data").is_some()) {
            if let Some(meta) = self.file_meta_mut(index) {
                meta.encrypted = true;
            }
            self.anomaly(Anomaly::Encrypted {
                path: path.to_string(),
            });
        }
    }

    /// Reads a small named entry (package metadata), within the limits.
    fn small_entry(
        &mut self,
        archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
        name: &str,
        path: &str,
    ) -> Option<Vec<u8>> {
        let i = archive.index_for_name(name)?;
        let entry = archive.by_index_data(i).ok()?;
        let (size, compressed) = (entry.size(), entry.compressed_size());
        if entry.encrypted() || size > 1 << 20 {
            return None;
        }
        let mut r = archive.by_index(i).ok()?;
        let (bytes, end) = self.read_entry(&mut r, compressed, Some(size), &join(path, name));
        (end == ReadEnd::Complete).then_some(bytes)
    }

    /// Opens a gzip file whose own part is at `index`: one member stream, decomposed as a file
    /// named after the gzip header's name (or the outer name without `.gz`).
    pub(super) fn gzip(&mut self, data: &[u8], index: usize, path: &str, depth: u32) {
        let mut opened = 0u32;
        if !self.count_entry(&mut opened, path) {
            return;
        }
        let mut decoder = flate2::read::MultiGzDecoder::new(data);
        let (bytes, end) = self.read_entry(&mut decoder, data.len() as u64, None, path);
        if end == ReadEnd::Unusable {
            return;
        }
        let inner_name = decoder
            .header()
            .and_then(|h| h.filename())
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .or_else(|| {
                let outer = self.part_name(index)?;
                let stem = outer
                    .strip_suffix(".gz")
                    .or_else(|| outer.strip_suffix(".tgz"))?;
                Some(if outer.ends_with(".tgz") {
                    format!("{stem}.tar")
                } else {
                    stem.to_string()
                })
            })
            .unwrap_or_else(|| "content".to_string());
        let child = join(path, &inner_name);
        self.file(Cow::Owned(bytes), Some(inner_name), None, &child, depth + 1);
    }

    /// Opens a tar archive: every regular file is decomposed; links and devices are ignored.
    pub(super) fn tar(&mut self, data: &[u8], path: &str, depth: u32) {
        let mut archive = tar::Archive::new(data);
        let entries = match archive.entries() {
            Ok(e) => e,
            Err(_) => {
                self.malformed(path, Malformation::Archive);
                return;
            }
        };
        let mut opened = 0u32;
        for entry in entries {
            if !self.in_time(path) {
                return;
            }
            let mut entry = match entry {
                Ok(e) => e,
                Err(_) => {
                    self.malformed(path, Malformation::Archive);
                    return;
                }
            };
            if !entry.header().entry_type().is_file() {
                continue;
            }
            if !self.count_entry(&mut opened, path) {
                return;
            }
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let child = join(path, &name);
            let size = entry.size();
            // Tar stores files uncompressed: the size is the compressed size too.
            let (bytes, end) = self.read_entry(&mut entry, size, Some(size), &child);
            if end == ReadEnd::Unusable {
                let meta = unread_meta(name, size, false);
                self.push(Location::Attachment(child), String::new(), Some(meta));
                continue;
            }
            self.file(Cow::Owned(bytes), Some(name), None, &child, depth + 1);
            if self.stopped {
                return;
            }
        }
    }

    /// Counts one more entry of a container against both entry limits.
    pub(super) fn count_entry(&mut self, opened: &mut u32, path: &str) -> bool {
        if *opened >= self.limits.max_entries_per_container {
            self.limit(LimitKind::Entries, path);
            return false;
        }
        if self.entries >= self.limits.max_entries_total {
            self.limit(LimitKind::TotalEntries, path);
            return false;
        }
        *opened += 1;
        self.entries += 1;
        true
    }

    fn malformed(&mut self, path: &str, what: Malformation) {
        self.anomaly(Anomaly::Malformed {
            path: path.to_string(),
            what,
        });
    }

    fn part_name(&mut self, index: usize) -> Option<String> {
        self.file_meta_mut(index).and_then(|m| m.name.clone())
    }
}

/// File facts of an entry that was not read: its declared size, type unknown.
pub(super) fn unread_meta(name: String, size: u64, encrypted: bool) -> FileMeta {
    FileMeta {
        name: Some(name),
        declared_type: None,
        true_type: FileType::Unknown,
        size,
        encrypted,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wanted {
    /// Decompose as a file.
    File,
    /// Office XML: add its text to the package's part.
    Text,
    Skip,
}

/// Encryption of files whose content is not opened: 7z whose header cannot be read (AES coder in
/// the header), rar (encrypted
/// headers), OLE2 (an encrypted OOXML package has `EncryptionInfo` and `EncryptedPackage` streams).
pub(crate) fn is_encrypted_opaque(kind: FileType, data: &[u8]) -> bool {
    match kind {
        FileType::SevenZip => sevenz_encrypted(data),
        FileType::Rar => rar_encrypted(data),
        FileType::Cfb => {
            let name: Vec<u8> = "EncryptedPackage"
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect();
            memchr::memmem::find(data, &name).is_some()
        }
        _ => false,
    }
}

/// A 7z archive's next header holds the coder ids; the AES-256 + SHA-256 coder is `06 F1 07 01`.
/// With encrypted headers (7z -mhe) it appears in the encoded header's folder; with encrypted
/// content and plain headers, in the header itself.
fn sevenz_encrypted(data: &[u8]) -> bool {
    let Some(offset) = data
        .get(12..20)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    else {
        return false;
    };
    let Some(start) = usize::try_from(offset).ok().and_then(|o| o.checked_add(32)) else {
        return false;
    };
    let Some(header) = data.get(start..) else {
        return false;
    };
    let header = &header[..header.len().min(OPAQUE_SCAN_BYTES)];
    memchr::memmem::find(header, &[0x06, 0xf1, 0x07, 0x01]).is_some()
}

/// RAR 5: an archive encryption header (type 4) right after the signature. RAR 4: the main
/// header's "encrypted headers" flag (0x0080), or any file header with the "encrypted" flag
/// (0x0004) in the first megabyte.
fn rar_encrypted(data: &[u8]) -> bool {
    if let Some(rest) = data.strip_prefix(b"Rar!\x1a\x07\x01\x00") {
        // CRC32, then vint header size, then vint header type.
        let mut i = 4;
        let Some(after_size) = skip_vint(rest, i) else {
            return false;
        };
        i = after_size;
        return rest.get(i) == Some(&4);
    }
    if let Some(rest) = data.strip_prefix(b"Rar!\x1a\x07\x00") {
        // Main header: CRC16, type 0x73, flags u16.
        if rest.get(2) == Some(&0x73)
            && let Some(flags) = rest.get(3..5)
            && u16::from_le_bytes([flags[0], flags[1]]) & 0x0080 != 0
        {
            return true;
        }
        let scan = &rest[..rest.len().min(OPAQUE_SCAN_BYTES)];
        let mut i = 0;
        // Walk the blocks: CRC16, type, flags u16, size u16 (+ u32 ADD_SIZE when flags & 0x8000).
        while let Some(block) = scan.get(i..i + 7) {
            let kind = block[2];
            let flags = u16::from_le_bytes([block[3], block[4]]);
            let mut size = u64::from(u16::from_le_bytes([block[5], block[6]]));
            if kind == 0x74 && flags & 0x0004 != 0 {
                return true;
            }
            if flags & 0x8000 != 0 {
                let Some(add) = scan.get(i + 7..i + 11) else {
                    return false;
                };
                size += u64::from(u32::from_le_bytes([add[0], add[1], add[2], add[3]]));
            }
            if size < 7 {
                return false;
            }
            i = match usize::try_from(size).ok().and_then(|s| i.checked_add(s)) {
                Some(n) => n,
                None => return false,
            };
        }
    }
    false
}

fn skip_vint(data: &[u8], mut i: usize) -> Option<usize> {
    for _ in 0..10 {
        let b = *data.get(i)?;
        i += 1;
        if b & 0x80 == 0 {
            return Some(i);
        }
    }
    None
}
