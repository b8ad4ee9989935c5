//! Splitting a payload into records, each kept byte for byte.
//!
//! Accepted shapes: one JSON value, a JSON array of values, NDJSON (one value per line), concatenated
//! JSON values (pretty-printed one after another), and CSV with a header line. A record that cannot be
//! read becomes a located [`RecordError`]; the records around it are still returned.

use picket_core::ErrorCode;
use serde_json::value::RawValue;

use crate::error::{Location, RecordError};

/// How to read a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputKind {
    /// JSON in any of its shapes when the payload starts with `{` or `[`, CSV otherwise.
    #[default]
    Auto,
    Json,
    Csv,
}

/// One record: its bytes exactly as received, and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawRecord {
    /// A JSON value (object expected; adapters reject other values).
    Json { text: String, location: Location },
    /// A CSV row: its values under the header's names, and the row's exact text.
    Csv {
        /// The header's names, shared by every row of the payload.
        headers: std::sync::Arc<[String]>,
        /// The row's values, one per header name.
        values: Vec<String>,
        text: String,
        location: Location,
    },
}

impl RawRecord {
    pub fn text(&self) -> &str {
        match self {
            Self::Json { text, .. } | Self::Csv { text, .. } => text,
        }
    }

    pub fn location(&self) -> &Location {
        match self {
            Self::Json { location, .. } | Self::Csv { location, .. } => location,
        }
    }
}

/// Splits `bytes` into records. `source` names the payload in locations (a path, `-`, `request`).
pub fn split(bytes: &[u8], kind: InputKind, source: &str) -> Vec<Result<RawRecord, RecordError>> {
    records(bytes, kind, source).collect()
}

/// The records of `bytes`, one at a time, as [`split`] would return them. NDJSON lines and CSV rows
/// are cut as they are asked for, so a large file's records are never all held in memory at once
/// (and memory is reused from one record to the next); the other JSON shapes are read whole first.
pub fn records<'a>(bytes: &'a [u8], kind: InputKind, source: &'a str) -> Records<'a> {
    let body = bytes
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(bytes);
    let ready = |v: Vec<_>| Records {
        inner: Inner::Ready {
            total: v.len(),
            items: v.into_iter(),
            body_len: body.len(),
        },
    };
    let first = body.iter().position(|b| !b.is_ascii_whitespace());
    let Some(first) = first else {
        return ready(Vec::new());
    };
    let kind = match kind {
        InputKind::Auto if matches!(body[first], b'{' | b'[') => InputKind::Json,
        InputKind::Auto => InputKind::Csv,
        k => k,
    };
    let mut out = match kind {
        InputKind::Csv => {
            return Records {
                inner: Inner::Csv(Box::new(CsvRows::new(body, source))),
            };
        }
        _ => match split_json(body, first, source) {
            JsonShape::Lines(text) => {
                return Records {
                    inner: Inner::Lines(Lines {
                        body,
                        text,
                        source,
                        pos: 0,
                        line_no: 0,
                        index: 0,
                    }),
                };
            }
            JsonShape::Ready(out) => out,
        },
    };
    // Every rejected record keeps its bytes: its line, or the rest of the payload when reading
    // stopped there.
    let n = out.len();
    for (i, r) in out.iter_mut().enumerate() {
        if let Err(e) = r
            && e.raw.is_empty()
        {
            e.raw = line_bytes(
                body,
                e.location.line,
                i + 1 == n && e.message.contains("not read"),
            );
        }
    }
    ready(out)
}

/// Records being read; see [`records`].
pub struct Records<'a> {
    inner: Inner<'a>,
}

enum Inner<'a> {
    Lines(Lines<'a>),
    Csv(Box<CsvRows<'a>>),
    Ready {
        items: std::vec::IntoIter<Result<RawRecord, RecordError>>,
        total: usize,
        body_len: usize,
    },
}

impl Records<'_> {
    /// How far reading has got, in bytes of the payload (for progress bars; an estimate for the
    /// shapes read whole).
    pub fn consumed(&self) -> usize {
        match &self.inner {
            Inner::Lines(l) => l.pos.min(l.body.len()),
            Inner::Csv(c) => (c.rdr.position().byte() as usize).min(c.body.len()),
            Inner::Ready {
                items,
                total,
                body_len,
            } => {
                if *total == 0 {
                    *body_len
                } else {
                    body_len * (total - items.len()) / total
                }
            }
        }
    }
}

impl Iterator for Records<'_> {
    type Item = Result<RawRecord, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            Inner::Lines(l) => l.next(),
            Inner::Csv(c) => c.next(),
            Inner::Ready { items, .. } => items.next(),
        }
    }
}

/// How a JSON payload is read: line by line (with the whole payload's text when it is valid UTF-8),
/// or already split.
enum JsonShape<'a> {
    Lines(Option<&'a str>),
    Ready(Vec<Result<RawRecord, RecordError>>),
}

/// The bytes of 1-based `line` of `body`, or from its start to the end of `body`.
fn line_bytes(body: &[u8], line: u64, to_end: bool) -> Vec<u8> {
    let mut start = 0usize;
    for _ in 1..line {
        match body[start..].iter().position(|&b| b == b'\n') {
            Some(p) => start += p + 1,
            None => return Vec::new(),
        }
    }
    let rest = &body[start..];
    let end = if to_end {
        rest.len()
    } else {
        rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len())
    };
    let raw = &rest[..end];
    let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
    raw.strip_suffix(b"\r").unwrap_or(raw).to_vec()
}

fn loc(source: &str, line: u64, index: u64) -> Location {
    Location {
        source: source.to_owned(),
        line,
        index,
    }
}

/// 1-based line number of byte offset `at`.
fn line_of(body: &[u8], at: usize) -> u64 {
    1 + body[..at.min(body.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
}

fn utf8_error(
    body: &[u8],
    e: std::str::Utf8Error,
    base: usize,
    source: &str,
    index: u64,
) -> RecordError {
    let at = base + e.valid_up_to();
    RecordError::new(
        ErrorCode::InvalidJson,
        format!("invalid UTF-8 at byte {at}"),
        loc(source, line_of(body, at), index),
    )
}

fn json_error(e: &serde_json::Error, line: u64, source: &str, index: u64) -> RecordError {
    let msg = e.to_string();
    let code = if msg.contains("recursion limit") {
        ErrorCode::TooDeep
    } else {
        ErrorCode::InvalidJson
    };
    let reason = if code == ErrorCode::TooDeep {
        "JSON nests deeper than 128 levels".to_owned()
    } else {
        format!("invalid JSON: {msg}")
    };
    // serde_json's line is relative to the slice it parsed.
    RecordError::new(
        code,
        reason,
        loc(source, line + e.line().saturating_sub(1) as u64, index),
    )
}

fn split_json<'a>(body: &'a [u8], first: usize, source: &str) -> JsonShape<'a> {
    let text = match std::str::from_utf8(body) {
        Ok(t) => t,
        // Invalid UTF-8 somewhere: fall back to line mode so that only the bad lines are rejected.
        Err(_) => return JsonShape::Lines(None),
    };
    if body[first] == b'[' {
        return JsonShape::Ready(split_array(text, first, source));
    }
    // One value (pretty-printed or not)?
    if let Ok(raw) = serde_json::from_str::<&RawValue>(text) {
        return JsonShape::Ready(vec![Ok(RawRecord::Json {
            text: raw.get().to_owned(),
            location: loc(source, line_of(body, first), 0),
        })]);
    }
    // NDJSON when the first non-empty line is a value by itself; concatenated values otherwise.
    let first_line_end = memchr::memchr(b'\n', &body[first..]).map_or(body.len(), |p| first + p);
    if serde_json::from_slice::<&RawValue>(&body[first..first_line_end]).is_ok() {
        JsonShape::Lines(Some(text))
    } else {
        JsonShape::Ready(split_stream(text, source))
    }
}

/// NDJSON, one line at a time. Lines are not parsed here: normalizing parses each once and reports
/// its errors, located.
struct Lines<'a> {
    body: &'a [u8],
    /// `body` as text, when all of it is valid UTF-8 (then lines need no check of their own).
    text: Option<&'a str>,
    source: &'a str,
    pos: usize,
    line_no: u64,
    index: u64,
}

impl Iterator for Lines<'_> {
    type Item = Result<RawRecord, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        let body = self.body;
        while self.pos < body.len() {
            self.line_no += 1;
            let start = self.pos;
            let end = memchr::memchr(b'\n', &body[start..]).map_or(body.len(), |p| start + p);
            self.pos = end + 1;
            let line = &body[start..end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            let index = self.index;
            self.index += 1;
            let text = match self.text {
                Some(t) => Ok(&t[start..start + line.len()]),
                None => std::str::from_utf8(line),
            };
            return Some(match text {
                Err(e) => {
                    let mut err = utf8_error(body, e, start, self.source, index);
                    err.raw = line.to_vec();
                    Err(err)
                }
                Ok(s) => Ok(RawRecord::Json {
                    text: s.trim().to_owned(),
                    location: loc(self.source, self.line_no, index),
                }),
            });
        }
        None
    }
}

fn split_stream(text: &str, source: &str) -> Vec<Result<RawRecord, RecordError>> {
    let mut out = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<&RawValue>();
    loop {
        let offset = stream.byte_offset();
        let start = offset + text[offset..].len() - text[offset..].trim_start().len();
        match stream.next() {
            None => break,
            Some(Ok(raw)) => {
                let index = out.len() as u64;
                out.push(Ok(RawRecord::Json {
                    text: raw.get().to_owned(),
                    location: loc(source, line_of(text.as_bytes(), start), index),
                }));
            }
            Some(Err(e)) => {
                // Past a syntax error nothing can be trusted to start a record: report it and stop.
                let index = out.len() as u64;
                let mut err = json_error(&e, 1, source, index);
                err.message
                    .push_str(" (the rest of the payload after this point was not read)");
                out.push(Err(err));
                break;
            }
        }
    }
    out
}

fn split_array(text: &str, first: usize, source: &str) -> Vec<Result<RawRecord, RecordError>> {
    match serde_json::from_str::<Vec<&RawValue>>(text) {
        Ok(items) => {
            // Locate each element by searching forward for its exact text.
            let mut cursor = first + 1;
            items
                .into_iter()
                .enumerate()
                .map(|(i, raw)| {
                    let s = raw.get();
                    let at = text[cursor..].find(s).map_or(cursor, |p| cursor + p);
                    cursor = at + s.len();
                    Ok(RawRecord::Json {
                        text: s.to_owned(),
                        location: loc(source, line_of(text.as_bytes(), at), i as u64),
                    })
                })
                .collect()
        }
        Err(e) => {
            // Keep the elements before the error: re-read the prefix element by element.
            let mut out = Vec::new();
            let mut rest = &text[first + 1..];
            let mut consumed = first + 1;
            loop {
                let trimmed = rest.trim_start();
                consumed += rest.len() - trimmed.len();
                rest = trimmed;
                if rest.starts_with(']') || rest.is_empty() {
                    break;
                }
                let mut it = serde_json::Deserializer::from_str(rest).into_iter::<&RawValue>();
                match it.next() {
                    Some(Ok(raw)) => {
                        let used = it.byte_offset();
                        out.push(Ok(RawRecord::Json {
                            text: raw.get().to_owned(),
                            location: loc(
                                source,
                                line_of(text.as_bytes(), consumed),
                                out.len() as u64,
                            ),
                        }));
                        rest = rest[used..].trim_start();
                        consumed = text.len() - rest.len();
                        match rest.strip_prefix(',') {
                            Some(r) => {
                                rest = r;
                                consumed += 1;
                            }
                            None => break,
                        }
                    }
                    _ => break,
                }
            }
            let index = out.len() as u64;
            let mut err = json_error(&e, 1, source, index);
            err.message
                .push_str(" (array elements after this point were not read)");
            out.push(Err(err));
            out
        }
    }
}

/// CSV with a header line, one row at a time.
struct CsvRows<'a> {
    body: &'a [u8],
    source: &'a str,
    rdr: csv::Reader<&'a [u8]>,
    headers: std::sync::Arc<[String]>,
    rec: csv::ByteRecord,
    index: u64,
    /// Set when reading cannot go on; its error, if any, is returned once.
    stop: Option<Option<RecordError>>,
}

impl<'a> CsvRows<'a> {
    fn new(body: &'a [u8], source: &'a str) -> Self {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(body);
        let (headers, stop) = match rdr.byte_headers() {
            Ok(h) => (
                h.iter()
                    .map(|f| String::from_utf8_lossy(f).trim().to_owned())
                    .collect(),
                None,
            ),
            Err(e) => {
                let mut err = RecordError::new(
                    ErrorCode::InvalidJson,
                    format!("invalid CSV header: {e}"),
                    loc(source, 1, 0),
                );
                err.raw = line_bytes(body, 1, false);
                (Vec::new().into(), Some(Some(err)))
            }
        };
        Self {
            body,
            source,
            rdr,
            headers,
            rec: csv::ByteRecord::new(),
            index: 0,
            stop,
        }
    }
}

impl Iterator for CsvRows<'_> {
    type Item = Result<RawRecord, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(err) = &mut self.stop {
            return err.take().map(Err);
        }
        let (body, source) = (self.body, self.source);
        let index = self.index;
        let pos_before = self.rdr.position().clone();
        match self.rdr.read_byte_record(&mut self.rec) {
            Ok(false) => None,
            Ok(true) => {
                self.index += 1;
                let pos = self.rec.position().cloned().unwrap_or(pos_before);
                let start = pos.byte() as usize;
                let end = self.rdr.position().byte() as usize;
                let raw = &body[start..end.min(body.len())];
                let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
                let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
                let location = loc(source, pos.line(), index);
                let text = match std::str::from_utf8(raw) {
                    Ok(t) => t.to_owned(),
                    Err(e) => {
                        let mut err = utf8_error(body, e, start, source, index);
                        err.raw = line_bytes(body, err.location.line, false);
                        return Some(Err(err));
                    }
                };
                if self.rec.len() != self.headers.len() {
                    let mut err = RecordError::new(
                        ErrorCode::InvalidRecord,
                        format!(
                            "CSV row has {} fields, header has {}",
                            self.rec.len(),
                            self.headers.len()
                        ),
                        location,
                    );
                    err.raw = line_bytes(body, err.location.line, false);
                    return Some(Err(err));
                }
                let values = self
                    .rec
                    .iter()
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .collect();
                Some(Ok(RawRecord::Csv {
                    headers: self.headers.clone(),
                    values,
                    text,
                    location,
                }))
            }
            Err(e) => {
                self.index += 1;
                let line = e.position().map_or(pos_before.line(), |p| p.line());
                let mut err = RecordError::new(
                    ErrorCode::InvalidJson,
                    format!("invalid CSV: {e}"),
                    loc(source, line, index),
                );
                err.raw = line_bytes(body, line, false);
                if !matches!(
                    e.kind(),
                    csv::ErrorKind::UnequalLengths { .. } | csv::ErrorKind::Utf8 { .. }
                ) {
                    self.stop = Some(None);
                }
                Some(Err(err))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(v: &[Result<RawRecord, RecordError>]) -> Vec<String> {
        v.iter()
            .map(|r| match r {
                Ok(r) => format!("{}@{}", r.text(), r.location().line),
                Err(e) => format!("ERR {}@{}", e.code.as_str(), e.location.line),
            })
            .collect()
    }

    #[test]
    fn one_pretty_object_keeps_its_bytes() {
        let body = b"\n{\n  \"a\": 1,\n  \"b\": [1, 2]\n}\n";
        let r = split(body, InputKind::Auto, "f");
        assert_eq!(texts(&r), vec!["{\n  \"a\": 1,\n  \"b\": [1, 2]\n}@2"]);
    }

    #[test]
    fn array_elements_are_located() {
        let body = b"[\n {\"a\":1},\n {\"b\": 2}\n]";
        assert_eq!(
            texts(&split(body, InputKind::Auto, "f")),
            vec!["{\"a\":1}@2", "{\"b\": 2}@3"]
        );
    }

    #[test]
    fn broken_array_keeps_the_elements_before_the_break() {
        let body = b"[{\"a\":1},\n{\"b\":2},\n{\"c\": oops}]";
        let r = split(body, InputKind::Auto, "f");
        assert_eq!(
            texts(&r)[..2],
            ["{\"a\":1}@1".to_owned(), "{\"b\":2}@2".to_owned()]
        );
        assert!(texts(&r)[2].starts_with("ERR invalid_json@3"));
    }

    #[test]
    fn ndjson_bad_lines_do_not_lose_good_ones() {
        let body = b"{\"a\":1}\n{bad\n\n{\"c\":3}\r\n\xff\xfe\n{\"d\":4}";
        let r = split(body, InputKind::Auto, "x.ndjson");
        match &r[3] {
            Err(e) => assert_eq!(e.raw, b"\xff\xfe"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            texts(&r),
            vec![
                "{\"a\":1}@1",
                "{bad@2",
                "{\"c\":3}@4",
                "ERR invalid_json@5",
                "{\"d\":4}@6"
            ]
        );
    }

    #[test]
    fn concatenated_pretty_objects() {
        let body = b"{\n\"a\": 1\n}\n{\n\"b\": 2\n}\n";
        assert_eq!(
            texts(&split(body, InputKind::Auto, "f")),
            vec!["{\n\"a\": 1\n}@1", "{\n\"b\": 2\n}@4"]
        );
    }

    #[test]
    fn deep_nesting_is_split_without_recursing() {
        // Splitting skims values without building them; depth limits apply when a record is parsed.
        let body = format!("{{\"a\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        let r = split(body.as_bytes(), InputKind::Auto, "f");
        assert_eq!(r.len(), 1);
        assert!(r[0].is_ok());
    }

    #[test]
    fn csv_rows_keep_their_text_and_line() {
        let body = b"time,name,host\n1642723347,\"Wazuh: a, b\",mail\nshort\n1642723352,x,web\n";
        let r = split(body, InputKind::Auto, "a.csv");
        assert_eq!(
            texts(&r),
            vec![
                "1642723347,\"Wazuh: a, b\",mail@2",
                "ERR invalid_record@3",
                "1642723352,x,web@4"
            ]
        );
        match &r[0] {
            Ok(RawRecord::Csv {
                headers, values, ..
            }) => {
                assert_eq!(
                    (headers[1].as_str(), values[1].as_str()),
                    ("name", "Wazuh: a, b")
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn empty_payload_has_no_records() {
        assert!(split(b"  \n ", InputKind::Auto, "f").is_empty());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = split(&bytes, InputKind::Auto, "p");
            let _ = split(&bytes, InputKind::Csv, "p");
            let _ = split(&bytes, InputKind::Json, "p");
        }
    }
}
