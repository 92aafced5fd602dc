//! Opening input files without trusting them: only regular files are read (a FIFO would block
//! forever, a device such as /dev/zero never ends, a directory is no file), each kind of file has
//! a size limit, and text is decoded by one helper whatever encoding Windows wrote it in.
//!
//! The file type is checked on the path's metadata BEFORE the file is opened, because opening a
//! FIFO for reading blocks until a writer appears. The open itself is non-blocking on Unix and
//! the opened descriptor is checked again, so a path swapped for a FIFO in between cannot hang
//! the read either.

use crate::{sniff, EvidenceError, FileKind};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Largest event XML export read (it is held in memory once, as text).
pub const MAX_XML_BYTES: u64 = 64 << 20;
/// Largest registry export read (the parser needs many times the file's size in memory).
pub const MAX_REG_BYTES: u64 = 16 << 20;
/// Largest saved observations document read.
pub const MAX_OBSERVATIONS_BYTES: u64 = 16 << 20;
/// Largest `.evtx` file read. Records are streamed chunk by chunk (64 KiB each), so memory does
/// not grow with the file; the limit bounds the time a read can take.
pub const MAX_EVTX_BYTES: u64 = 4 << 30;
/// How many bytes are looked at to recognize a file.
const HEAD_BYTES: u64 = 4096;

/// The size limit of a kind of file.
pub fn size_limit(kind: FileKind) -> u64 {
    match kind {
        FileKind::Evtx => MAX_EVTX_BYTES,
        FileKind::EventXml => MAX_XML_BYTES,
        FileKind::Reg => MAX_REG_BYTES,
        FileKind::Json => MAX_OBSERVATIONS_BYTES,
    }
}

/// What a path that is not a regular file is, in words.
fn describe(ft: &std::fs::FileType) -> &'static str {
    if ft.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if ft.is_char_device() {
            return "a character device";
        }
        if ft.is_block_device() {
            return "a block device";
        }
        if ft.is_socket() {
            return "a socket";
        }
    }
    "not a regular file"
}

fn not_regular(path: &Path, ft: &std::fs::FileType) -> EvidenceError {
    EvidenceError::NotRegular {
        file: path.display().to_string(),
        what: describe(ft),
    }
}

fn io_error(path: &Path, source: std::io::Error) -> EvidenceError {
    EvidenceError::Io {
        file: path.display().to_string(),
        source,
    }
}

/// Opens `path` for reading only if it is a regular file (symbolic links to one are fine), and
/// returns it with its size. Never blocks on a FIFO.
pub fn open_regular(path: &Path) -> Result<(File, u64), EvidenceError> {
    let meta = std::fs::metadata(path).map_err(|e| io_error(path, e))?;
    if !meta.is_file() {
        return Err(not_regular(path, &meta.file_type()));
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Has no effect on a regular file; keeps a FIFO swapped in after the check from blocking.
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|e| io_error(path, e))?;
    let meta = file.metadata().map_err(|e| io_error(path, e))?;
    if !meta.is_file() {
        return Err(not_regular(path, &meta.file_type()));
    }
    Ok((file, meta.len()))
}

/// Reads at most `limit` bytes of `reader`; more is an error naming the limit.
fn read_bounded(
    name: &str,
    reader: impl Read,
    limit: u64,
    kind: FileKind,
) -> Result<Vec<u8>, EvidenceError> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| EvidenceError::Io {
            file: name.to_string(),
            source,
        })?;
    if bytes.len() as u64 > limit {
        return Err(too_large(name, None, kind));
    }
    Ok(bytes)
}

fn too_large(name: &str, size: Option<u64>, kind: FileKind) -> EvidenceError {
    let (what, hint) = match kind {
        FileKind::Evtx => (
            "event log",
            "export only the RDP events with a `wevtutil epl ... \"/q:...\"` query (see the README)",
        ),
        FileKind::EventXml => (
            "event XML export",
            "export the log as .evtx with `wevtutil epl` (read as a stream, up to 4 GiB) or narrow the query",
        ),
        FileKind::Reg => (
            "registry export",
            "export only the keys the README lists, one `reg export` per key",
        ),
        FileKind::Json => (
            "observations document",
            "give the file written by `rdpdoctor check HOST --save FILE`",
        ),
    };
    EvidenceError::TooLarge {
        file: name.to_string(),
        size: size.map_or_else(|| "more".to_string(), |s| format!("{s} bytes")),
        what,
        limit: size_limit(kind),
        hint,
    }
}

/// One input file, opened and recognized by its first bytes; read it with
/// [`InputFile::read_evidence`] or [`InputFile::read_text`].
#[derive(Debug)]
pub struct InputFile {
    name: String,
    file: File,
    size: u64,
    kind: Option<FileKind>,
}

impl InputFile {
    /// Opens a regular file and looks at its first bytes. Nothing else is read yet.
    pub fn open(path: &Path) -> Result<Self, EvidenceError> {
        let (mut file, size) = open_regular(path)?;
        let mut head = Vec::new();
        (&mut file)
            .take(HEAD_BYTES)
            .read_to_end(&mut head)
            .map_err(|e| io_error(path, e))?;
        Ok(InputFile {
            name: path.display().to_string(),
            kind: sniff(&head),
            file,
            size,
        })
    }

    /// What the content looks like, if it is anything known.
    pub fn kind(&self) -> Option<FileKind> {
        self.kind
    }

    /// The file's name as given, for messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The whole file as text (UTF-8, or UTF-16 with a BOM, see [`decode_text_owned`]), within
    /// the size limit of its kind.
    pub fn read_text(self) -> Result<String, EvidenceError> {
        let kind = self.kind.unwrap_or(FileKind::Json);
        let bytes = self.read_all(kind)?;
        Ok(decode_text_owned(bytes))
    }

    fn read_all(mut self, kind: FileKind) -> Result<Vec<u8>, EvidenceError> {
        if self.size > size_limit(kind) {
            return Err(too_large(&self.name, Some(self.size), kind));
        }
        self.rewind()?;
        read_bounded(&self.name, self.file, size_limit(kind), kind)
    }

    fn rewind(&mut self) -> Result<(), EvidenceError> {
        self.file
            .seek(SeekFrom::Start(0))
            .map(|_| ())
            .map_err(|source| EvidenceError::Io {
                file: self.name.clone(),
                source,
            })
    }

    /// Reads the evidence in the file: `.evtx` streamed from the file, XML and registry exports
    /// as text.
    pub fn read_evidence(
        mut self,
        options: &crate::ReadOptions,
    ) -> Result<rdpdoctor_observations::Evidence, EvidenceError> {
        match self.kind {
            Some(FileKind::Evtx) => {
                if self.size > MAX_EVTX_BYTES {
                    return Err(too_large(&self.name, Some(self.size), FileKind::Evtx));
                }
                self.rewind()?;
                crate::evtx_file::read(&self.name, self.file, options)
            }
            Some(kind @ (FileKind::EventXml | FileKind::Reg)) => {
                let name = self.name.clone();
                let text = decode_text_owned(self.read_all(kind)?);
                if kind == FileKind::Reg {
                    crate::reg::read(&name, &text)
                } else {
                    crate::xml_file::read(&name, &text, options)
                }
            }
            Some(FileKind::Json) | None => Err(EvidenceError::Unrecognized { file: self.name }),
        }
    }
}

/// Decodes a text file as Windows tools write them: UTF-16LE or UTF-16BE with a byte order mark
/// (PowerShell 5 `Out-File`/`Set-Content -Encoding Unicode`, `reg export`), UTF-8 with or without
/// one, and BOM-less UTF-16 recognized by a leading `<` or `{`. Invalid sequences become U+FFFD
/// rather than failing the whole file. Valid UTF-8 is not copied.
pub fn decode_text_owned(mut bytes: Vec<u8>) -> String {
    let utf16 = |rest: &[u8], le: bool| -> String {
        let units = rest.chunks_exact(2).map(|c| match c {
            [a, b] if le => u16::from_le_bytes([*a, *b]),
            [a, b] => u16::from_be_bytes([*a, *b]),
            _ => 0,
        });
        char::decode_utf16(units)
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect()
    };
    match bytes.as_slice() {
        [0xFF, 0xFE, rest @ ..] => return utf16(rest, true),
        [0xFE, 0xFF, rest @ ..] => return utf16(rest, false),
        [b'<' | b'{', 0, ..] => return utf16(&bytes, true),
        [0, b'<' | b'{', ..] => return utf16(&bytes, false),
        [0xEF, 0xBB, 0xBF, ..] => {
            bytes.drain(..3);
        }
        _ => {}
    }
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}
