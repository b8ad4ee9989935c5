//! How an alert's raw record and its normalized form are kept: columns `raw`, `normalized` and
//! `raw_len` of `alerts`.
//!
//! A row holds one of three forms, told apart by `raw_len` and the storage class of `raw`:
//!
//! | form | `raw` | `raw_len` | `normalized` | written |
//! |---|---|---|---|---|
//! | packed | one LZ4 frame (BLOB): the record, then the normalized JSON | the record's length in bytes | empty | from migration 0011 on, when packing saves an eighth |
//! | record packed | an LZ4 frame (BLOB) of the record | NULL | the JSON (TEXT) | by the version before |
//! | plain | the record (TEXT) | NULL | the JSON (TEXT) | small or incompressible alerts; every row before packing |
//!
//! The normalized JSON repeats much of the record (names, hosts, messages, paths), so in the same
//! frame it costs a fraction of its size: a vendor alert's row shrinks to about half, fewer rows
//! spill into overflow pages and a batch writes fewer pages (`docs/decisions.md`). Reading gives
//! back the exact bytes received, whose SHA-256 is `raw_sha256`.
//!
//! From the `sqlite3` shell, a packed row is read with the standard `lz4` tool:
//! `SELECT writefile('row.lz4', raw), raw_len FROM alerts WHERE id = '…';` then
//! `lz4 -dc row.lz4 | head -c RAW_LEN` is the record and `lz4 -dc row.lz4 | tail -c +RAW_LEN+1`
//! (one past it) the normalized JSON.

use std::io::{Read, Write};

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, TypeInfo, ValueRef};

use crate::error::{Result, StoreError};

/// Rows whose record and JSON together are shorter than this stay plain: an LZ4 frame's own header
/// and end mark would eat most of the saving.
pub(crate) const MIN_PACKED: usize = 512;

/// The values bound to `raw`, `normalized` and `raw_len`.
pub(crate) enum Cells<'a> {
    Plain { raw: &'a str, normalized: String },
    Packed { frame: Vec<u8>, raw_len: i64 },
}

/// The stored form of an alert whose record is `raw` and normalized JSON `normalized`.
pub(crate) fn pack(raw: &str, normalized: String) -> Cells<'_> {
    let total = raw.len() + normalized.len();
    let Ok(raw_len) = i64::try_from(raw.len()) else {
        return Cells::Plain { raw, normalized };
    };
    if total < MIN_PACKED {
        return Cells::Plain { raw, normalized };
    }
    let mut enc = lz4_flex::frame::FrameEncoder::new(Vec::with_capacity(total / 2));
    // Writing to a Vec cannot fail; if the encoder ever did, the row is kept plain.
    let frame = enc
        .write_all(raw.as_bytes())
        .and_then(|()| enc.write_all(normalized.as_bytes()))
        .ok()
        .and_then(|()| enc.finish().ok());
    match frame {
        Some(frame) if frame.len() <= total - total / 8 => Cells::Packed { frame, raw_len },
        _ => Cells::Plain { raw, normalized },
    }
}

/// The raw record and normalized JSON of `row` (alert `id`, for errors), whatever its form. The
/// row must have the columns `raw`, `normalized` and `raw_len`.
pub(crate) fn unpack(row: &SqliteRow, id: &str) -> Result<(String, String)> {
    let raw_len: Option<i64> = row.try_get("raw_len")?;
    let value = row.try_get_raw("raw")?;
    let blob = !value.is_null() && value.type_info().name() == "BLOB";
    match (raw_len, blob) {
        (None, false) => Ok((row.try_get("raw")?, row.try_get("normalized")?)),
        (None, true) => Ok((
            decompress(&row.try_get_unchecked::<Vec<u8>, _>("raw")?, id)?,
            row.try_get("normalized")?,
        )),
        (Some(n), true) => {
            let mut text = decompress(&row.try_get_unchecked::<Vec<u8>, _>("raw")?, id)?;
            let at = usize::try_from(n)
                .ok()
                .filter(|&at| text.is_char_boundary(at))
                .ok_or_else(|| {
                    StoreError::corrupt(
                        format!("alert {id}: raw_len"),
                        format!("{n} does not split the {}-byte packed row", text.len()),
                    )
                })?;
            let normalized = text.split_off(at);
            Ok((text, normalized))
        }
        (Some(_), false) => Err(StoreError::corrupt(
            format!("alert {id}: raw"),
            "raw_len is set but raw is not an LZ4 frame",
        )),
    }
}

fn decompress(frame: &[u8], id: &str) -> Result<String> {
    let mut text = String::with_capacity(frame.len() * 3);
    lz4_flex::frame::FrameDecoder::new(frame)
        .read_to_string(&mut text)
        .map_err(|e| StoreError::corrupt(format!("alert {id}: raw record"), e))?;
    Ok(text)
}
