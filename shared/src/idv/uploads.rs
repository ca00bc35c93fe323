//! Document images (front and back of the ID, a selfie when the agency asks for a facial
//! match): checked, sealed, stored in chunks, read back by the worker, and deleted when the
//! job ends (or after a day, whatever happens).
//!
//! - [`check_image`] accepts JPEG (from its start marker to its end marker: a truncated
//!   file is refused) and PNG (signature, header, end chunk) up to [`MAX_IMAGE_BYTES`];
//!   PDFs and anything else are refused with an error the page can show.
//! - An image is sealed whole under the job's key ([`JobKey`], derived from the person's
//!   session and never stored: the table holds ciphertext whose key it does not hold;
//!   associated data names the job, the side and the upload's generation), and its
//!   ciphertext cut into chunks of at most
//!   [`CHUNK_BYTES`]: a DynamoDB item holds 400 KB and a transaction 4 MB, so chunks are
//!   written one by one, then the manifest that names them. A reader sees an image only
//!   through its manifest, so a half-written upload is invisible.
//!
//! Items (partition `UPLOAD#<job>`, all expiring after [`UPLOAD_TTL_SECS`]):
//! - `<side>`: the manifest: `account`, `generation`, `chunks`, `kind`, `sealed_bytes`.
//! - `<side>#<generation>#<nnn>`: chunk `nnn` (000, 001 …) of that upload: `data`.
//!
//! Uploading a side again writes a new generation, switches the manifest to it, then
//! deletes the old chunks.

use std::sync::Arc;

use zeroize::Zeroizing;

use super::jobs::job_key::JobKey;
use crate::clock::Clock;
use crate::random::{Random, RandomExt};
use crate::store::{Check, Expect, Item, Key, Store, StoreError};

/// The largest image accepted: 5 MB.
pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;
/// The largest chunk stored in one item.
pub const CHUNK_BYTES: usize = 350 * 1024;
/// Uploads are gone a day after they were made, even if no job ever ended.
pub const UPLOAD_TTL_SECS: i64 = 24 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Jpeg,
    Png,
}

impl ImageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ImageKind::Jpeg => "jpeg",
            ImageKind::Png => "png",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ImageKind::Jpeg => "image/jpeg",
            ImageKind::Png => "image/png",
        }
    }
}

/// Which image of a document check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Front,
    Back,
    Selfie,
}

impl Side {
    pub const ALL: [Side; 3] = [Side::Front, Side::Back, Side::Selfie];

    pub fn as_str(self) -> &'static str {
        match self {
            Side::Front => "front",
            Side::Back => "back",
            Side::Selfie => "selfie",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the image is larger than 5 MB: take the photo again at a lower resolution")]
    TooLarge,
    #[error("the file is empty")]
    Empty,
    #[error("this is a PDF: upload a photo of your ID as a JPEG or PNG image")]
    Pdf,
    #[error("the file is not a photo: upload a JPEG or PNG image")]
    NotAnImage,
    #[error("the image is incomplete (the upload was cut short): upload it again")]
    Truncated,
    #[error("no {0} image was uploaded for this check")]
    Missing(Side),
    /// The job id names another account's check.
    #[error("this check belongs to another account")]
    OtherAccount,
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The chunks do not open with the job's key (another key, or altered).
    #[error("the image does not open with this check's key")]
    Sealing,
}

impl UploadError {
    /// Whether the person can fix it by uploading another file.
    pub fn is_bad_image(&self) -> bool {
        matches!(
            self,
            UploadError::TooLarge
                | UploadError::Empty
                | UploadError::Pdf
                | UploadError::NotAnImage
                | UploadError::Truncated
        )
    }
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
/// An IEND chunk: length 0, type, CRC.
const PNG_END: &[u8] = b"\0\0\0\0IEND\xaeB`\x82";

/// What kind of image `bytes` holds, or why it is refused. Looks at the first and last
/// bytes only: call it on what the page received (after its body limit) before storing.
pub fn check_image(bytes: &[u8]) -> Result<ImageKind, UploadError> {
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(UploadError::TooLarge);
    }
    if bytes.is_empty() {
        return Err(UploadError::Empty);
    }
    if bytes.starts_with(b"%PDF-") {
        return Err(UploadError::Pdf);
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        // Start of image, then a segment; the file must end with the end-of-image marker.
        return if bytes.len() >= 6 && bytes.ends_with(&[0xFF, 0xD9]) {
            Ok(ImageKind::Jpeg)
        } else {
            Err(UploadError::Truncated)
        };
    }
    if bytes.starts_with(PNG_SIGNATURE) {
        // The header chunk first (13 bytes of IHDR), the end chunk last.
        let header_ok = bytes.get(8..16) == Some(b"\0\0\0\x0dIHDR".as_slice());
        return if header_ok && bytes.len() >= 8 + 25 + 12 && bytes.ends_with(PNG_END) {
            Ok(ImageKind::Png)
        } else if header_ok || bytes.len() < 16 {
            Err(UploadError::Truncated)
        } else {
            Err(UploadError::NotAnImage)
        };
    }
    Err(UploadError::NotAnImage)
}

/// The uploads of proofing jobs.
#[derive(Debug, Clone)]
pub struct Uploads {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
}

fn partition(job: &str) -> String {
    format!("UPLOAD#{job}")
}

fn manifest_key(job: &str, side: Side) -> Key {
    Key::new(partition(job), side.as_str())
}

fn chunk_key(job: &str, side: Side, generation: &str, n: i64) -> Key {
    Key::new(partition(job), format!("{side}#{generation}#{n:03}"))
}

/// What an image's sealing is bound to besides the job: its side and generation.
fn purpose(side: Side, generation: &str) -> String {
    format!("image/{side}/{generation}")
}

/// A manifest as stored.
struct Manifest {
    account: String,
    generation: String,
    chunks: i64,
}

impl Manifest {
    fn from_item(item: &Item) -> Option<Self> {
        Some(Self {
            account: item.str("account")?.to_owned(),
            generation: item.str("generation")?.to_owned(),
            chunks: item.num("chunks")?,
        })
    }
}

impl Uploads {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, random: Arc<dyn Random>) -> Self {
        Self {
            store,
            clock,
            random,
        }
    }

    /// Checks and stores one image of `account`'s check `job`, sealed under `key` (the
    /// job's), replacing an earlier upload of the same side. Returns its kind.
    pub async fn put(
        &self,
        job: &str,
        account: &str,
        side: Side,
        bytes: &[u8],
        key: &JobKey,
    ) -> Result<ImageKind, UploadError> {
        let kind = check_image(bytes)?;
        let previous = self.manifest(job, side).await?;
        if previous.as_ref().is_some_and(|m| m.account != account) {
            return Err(UploadError::OtherAccount);
        }
        let generation = self.random.token(6);
        let sealed = key.seal(
            self.random.as_ref(),
            &purpose(side, &generation),
            job,
            bytes,
        );
        let expires = self.clock.now_secs() + UPLOAD_TTL_SECS;
        let mut chunks = 0i64;
        for chunk in sealed.chunks(CHUNK_BYTES) {
            let item = Item::new(chunk_key(job, side, &generation, chunks))
                .with("data", chunk.to_vec())
                .expiring_at(expires);
            self.store.put(item, Expect::Any).await?;
            chunks += 1;
        }
        let manifest = Item::new(manifest_key(job, side))
            .with("account", account)
            .with("generation", generation.as_str())
            .with("chunks", chunks)
            .with("kind", kind.as_str())
            .with(
                "sealed_bytes",
                i64::try_from(sealed.len()).unwrap_or(i64::MAX),
            )
            .expiring_at(expires);
        let expect = Expect::AbsentOr(vec![Check::eq("account", account)]);
        match self.store.put(manifest, expect).await {
            Ok(_) => {}
            Err(e) if e.is_condition_failure() => {
                self.delete_chunks(job, side, &generation, chunks).await;
                return Err(UploadError::OtherAccount);
            }
            Err(e) => return Err(e.into()),
        }
        if let Some(old) = previous.filter(|m| m.generation != generation) {
            self.delete_chunks(job, side, &old.generation, old.chunks)
                .await;
        }
        Ok(kind)
    }

    async fn manifest(&self, job: &str, side: Side) -> Result<Option<Manifest>, UploadError> {
        Ok(self
            .store
            .get(&manifest_key(job, side))
            .await?
            .as_ref()
            .and_then(Manifest::from_item))
    }

    /// Which sides `account` uploaded for `job`.
    pub async fn sides(&self, job: &str, account: &str) -> Result<Vec<Side>, UploadError> {
        let mut sides = Vec::new();
        for side in Side::ALL {
            if self
                .manifest(job, side)
                .await?
                .is_some_and(|m| m.account == account)
            {
                sides.push(side);
            }
        }
        Ok(sides)
    }

    /// The image of `side`, opened with `key` (the job's); `None` when there is none
    /// (never uploaded, deleted, expired, or half-written).
    pub async fn get(
        &self,
        job: &str,
        side: Side,
        key: &JobKey,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, UploadError> {
        let Some(manifest) = self.manifest(job, side).await? else {
            return Ok(None);
        };
        let mut sealed = Vec::new();
        for n in 0..manifest.chunks {
            let key = chunk_key(job, side, &manifest.generation, n);
            let Some(chunk) = self.store.get(&key).await? else {
                return Ok(None);
            };
            let Some(data) = chunk.bytes("data") else {
                return Ok(None);
            };
            sealed.extend_from_slice(data);
        }
        let image = key
            .open(&purpose(side, &manifest.generation), job, &sealed)
            .ok_or(UploadError::Sealing)?;
        Ok(Some(image))
    }

    /// Deletes every image of `job`; returns how many items went.
    pub async fn delete_all(&self, job: &str) -> Result<usize, UploadError> {
        let mut deleted = 0;
        for side in Side::ALL {
            let Some(manifest) = self.manifest(job, side).await? else {
                continue;
            };
            // The manifest first: from then on the image is invisible.
            self.store
                .delete(&manifest_key(job, side), Expect::Any)
                .await?;
            deleted += 1;
            deleted += self
                .delete_chunks(job, side, &manifest.generation, manifest.chunks)
                .await;
        }
        Ok(deleted)
    }

    /// Best effort: a chunk left behind expires with its TTL.
    async fn delete_chunks(&self, job: &str, side: Side, generation: &str, chunks: i64) -> usize {
        let mut deleted = 0;
        for n in 0..chunks {
            match self
                .store
                .delete(&chunk_key(job, side, generation, n), Expect::Any)
                .await
            {
                Ok(_) => deleted += 1,
                Err(e) => tracing::warn!(error = %e, "an upload chunk was not deleted"),
            }
        }
        deleted
    }
}

/// Tiny but complete images for tests and the local stack's samples.
pub mod samples {
    /// A valid 1×1 grey PNG. `text`, when given, rides in a `tEXt` chunk with keyword
    /// `keyword`, as a document's barcode data would ride in a photo of it.
    pub fn png(keyword: &str, text: Option<&str>) -> Vec<u8> {
        let mut out = super::PNG_SIGNATURE.to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&1u32.to_be_bytes());
        ihdr.extend_from_slice(&1u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit greyscale, no interlace
        chunk(&mut out, b"IHDR", &ihdr);
        if let Some(text) = text {
            let mut data = keyword.as_bytes().to_vec();
            data.push(0);
            data.extend_from_slice(text.as_bytes());
            chunk(&mut out, b"tEXt", &data);
        }
        // One scanline: filter 0, one grey pixel; zlib with one stored block.
        let raw = [0u8, 0x80];
        let mut z = vec![0x78, 0x01, 0x01];
        z.extend_from_slice(&(raw.len() as u16).to_le_bytes());
        z.extend_from_slice(&(!(raw.len() as u16)).to_le_bytes());
        z.extend_from_slice(&raw);
        z.extend_from_slice(&adler32(&raw).to_be_bytes());
        chunk(&mut out, b"IDAT", &z);
        chunk(&mut out, b"IEND", &[]);
        out
    }

    /// A valid 8×8 grey baseline JPEG. `comment`, when given, rides in a COM segment.
    pub fn jpeg(comment: Option<&str>) -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8];
        if let Some(c) = comment {
            out.extend_from_slice(&[0xFF, 0xFE]);
            out.extend_from_slice(&((c.len() + 2) as u16).to_be_bytes());
            out.extend_from_slice(c.as_bytes());
        }
        // Quantisation table 0: all ones.
        out.extend_from_slice(&[0xFF, 0xDB, 0x00, 0x43, 0x00]);
        out.extend_from_slice(&[1u8; 64]);
        // Start of frame: 8 bits, 8×8, one component (id 1, 1×1 sampling, table 0).
        out.extend_from_slice(&[
            0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x08, 0x00, 0x08, 0x01, 0x01, 0x11, 0x00,
        ]);
        // Huffman tables: DC 0 and AC 0, each one 1-bit code for symbol 0.
        for class in [0x00, 0x10] {
            out.extend_from_slice(&[0xFF, 0xC4, 0x00, 0x14, class, 1]);
            out.extend_from_slice(&[0u8; 15]);
            out.push(0);
        }
        // Start of scan, then one block: DC difference 0 (code 0), end of block (code
        // 0), padded with ones.
        out.extend_from_slice(&[
            0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, 0x3F,
        ]);
        out.extend_from_slice(&[0xFF, 0xD9]);
        out
    }

    /// The text of the first `tEXt` chunk named `keyword` of a PNG.
    pub fn png_text(png: &[u8], keyword: &str) -> Option<String> {
        let mut rest = png.strip_prefix(super::PNG_SIGNATURE)?;
        while rest.len() >= 12 {
            let len = u32::from_be_bytes(rest[..4].try_into().ok()?) as usize;
            let kind = &rest[4..8];
            let data = rest.get(8..8 + len)?;
            if kind == b"tEXt"
                && let Some((k, v)) = data.split_at_checked(keyword.len())
                && k == keyword.as_bytes()
                && v.first() == Some(&0)
            {
                return String::from_utf8(v[1..].to_vec()).ok();
            }
            rest = rest.get(12 + len..)?;
        }
        None
    }

    /// The first COM segment of a JPEG, as text.
    pub fn jpeg_comment(jpeg: &[u8]) -> Option<String> {
        let mut rest = jpeg.strip_prefix(&[0xFF, 0xD8])?;
        while rest.len() >= 4 && rest[0] == 0xFF {
            let marker = rest[1];
            if marker == 0xDA || marker == 0xD9 {
                return None;
            }
            let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
            let data = rest.get(4..2 + len)?;
            if marker == 0xFE {
                return String::from_utf8(data.to_vec()).ok();
            }
            rest = rest.get(2 + len..)?;
        }
        None
    }

    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    fn adler32(bytes: &[u8]) -> u32 {
        let (mut a, mut b) = (1u32, 0u32);
        for &x in bytes {
            a = (a + u32::from(x)) % 65_521;
            b = (b + a) % 65_521;
        }
        (b << 16) | a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_good_jpeg_or_png_when_checked_then_its_kind_is_known() {
        assert_eq!(check_image(&samples::jpeg(None)).unwrap(), ImageKind::Jpeg);
        assert_eq!(
            check_image(&samples::png("x", Some("hello"))).unwrap(),
            ImageKind::Png
        );
        assert_eq!(
            samples::png_text(&samples::png("barcode", Some("{\"a\":1}")), "barcode").as_deref(),
            Some("{\"a\":1}")
        );
        assert_eq!(
            samples::jpeg_comment(&samples::jpeg(Some("hi"))).as_deref(),
            Some("hi")
        );
    }

    #[test]
    fn given_a_30_mb_upload_when_checked_then_it_is_too_large() {
        let mut big = samples::jpeg(None);
        big.resize(30 * 1024 * 1024, 0);
        assert!(matches!(check_image(&big), Err(UploadError::TooLarge)));
        // A complete JPEG of exactly 5 MB passes; one byte more does not
        let mut at_limit = vec![0xFF, 0xD8, 0xFF, 0xE0];
        at_limit.resize(MAX_IMAGE_BYTES - 2, 0);
        at_limit.extend_from_slice(&[0xFF, 0xD9]);
        assert_eq!(check_image(&at_limit).unwrap(), ImageKind::Jpeg);
        let mut over = at_limit;
        over.insert(4, 0);
        assert!(matches!(check_image(&over), Err(UploadError::TooLarge)));
    }

    #[test]
    fn given_a_pdf_when_checked_then_it_is_refused_as_a_pdf() {
        let pdf = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";
        let err = check_image(pdf).unwrap_err();
        assert!(matches!(err, UploadError::Pdf));
        assert!(err.to_string().contains("PDF"));
    }

    #[test]
    fn given_a_non_image_when_checked_then_it_is_refused() {
        for bytes in [
            b"hello, world".as_slice(),
            b"GIF89a\x01\x00\x01\x00".as_slice(),
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>".as_slice(),
        ] {
            assert!(matches!(check_image(bytes), Err(UploadError::NotAnImage)));
        }
        assert!(matches!(check_image(b""), Err(UploadError::Empty)));
    }

    #[test]
    fn given_a_truncated_jpeg_or_png_when_checked_then_it_is_incomplete() {
        let jpeg = samples::jpeg(None);
        let cut = &jpeg[..jpeg.len() - 7];
        assert!(matches!(check_image(cut), Err(UploadError::Truncated)));
        let png = samples::png("x", None);
        assert!(matches!(
            check_image(&png[..png.len() - 12]),
            Err(UploadError::Truncated)
        ));
    }
}
