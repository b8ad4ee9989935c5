//! How an alert's raw record is kept in `alerts.raw`.
//!
//! A record of at least [`MIN_PACKED`] bytes is stored as an LZ4 frame (a BLOB) when that saves at
//! least an eighth of it; anything else, and every row written before, is the record as TEXT. The
//! value's storage class says which (`typeof(raw)`), and reading gives back the exact bytes
//! received, whose SHA-256 is `raw_sha256`. Vendor alerts shrink to about 55%, so a batch writes
//! fewer pages and more rows fit one page without an overflow chain (`docs/decisions.md`).
//!
//! From the `sqlite3` shell, a packed record is read with the standard `lz4` tool:
//! `SELECT writefile('raw.lz4', raw) FROM alerts WHERE id = '…';` then `lz4 -dc raw.lz4`.

use std::io::{Read, Write};

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, TypeInfo, ValueRef};

use crate::error::{Result, StoreError};

/// Records shorter than this are kept as text: an LZ4 frame's own header and end mark would eat
/// most of the saving.
pub(crate) const MIN_PACKED: usize = 512;

/// The value bound to `alerts.raw`.
pub(crate) enum RawCell<'a> {
    Text(&'a str),
    Lz4(Vec<u8>),
}

/// The stored form of `raw`.
pub(crate) fn pack(raw: &str) -> RawCell<'_> {
    if raw.len() < MIN_PACKED {
        return RawCell::Text(raw);
    }
    let mut enc = lz4_flex::frame::FrameEncoder::new(Vec::with_capacity(raw.len() / 2));
    // Writing to a Vec cannot fail; if the encoder ever did, the record is kept as text.
    let packed = enc
        .write_all(raw.as_bytes())
        .ok()
        .and_then(|()| enc.finish().ok());
    match packed {
        Some(p) if p.len() <= raw.len() - raw.len() / 8 => RawCell::Lz4(p),
        _ => RawCell::Text(raw),
    }
}

/// The raw record in column `column` of `row` (alert `id`, for errors).
pub(crate) fn unpack(row: &SqliteRow, column: &str, id: &str) -> Result<String> {
    let value = row.try_get_raw(column)?;
    if value.is_null() || value.type_info().name() != "BLOB" {
        return Ok(row.try_get(column)?);
    }
    let packed: Vec<u8> = row.try_get_unchecked(column)?;
    let mut text = String::with_capacity(packed.len() * 2);
    lz4_flex::frame::FrameDecoder::new(packed.as_slice())
        .read_to_string(&mut text)
        .map_err(|e| StoreError::corrupt(format!("alert {id}: raw record"), e))?;
    Ok(text)
}
