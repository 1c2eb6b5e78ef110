//! Keyset pagination: opaque cursors over time-ordered ids, and the page
//! size rules every list shares.

use async_graphql::Object;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::config::Limits;
use crate::error::{AppError, AppResult};

const CURSOR_VERSION: &str = "v1:";

pub fn encode_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_VERSION}{id}"))
}

pub fn decode_cursor(cursor: &str) -> Option<Uuid> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix(CURSOR_VERSION)?.parse().ok()
}

/// Cursor over an arbitrary textual position (for lists not keyed by id).
pub fn encode_text_cursor(position: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_VERSION}{position}"))
}

pub fn decode_text_cursor(cursor: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix(CURSOR_VERSION)
        .map(str::to_string)
}

/// Cursor over a position in a list ordered by an instant, then by id:
/// the instant in microseconds (PostgreSQL's precision) and the id.
pub fn encode_dated_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    encode_text_cursor(&format!("{}@{id}", at.timestamp_micros()))
}

pub fn decode_dated_cursor(cursor: &str) -> Option<(DateTime<Utc>, Uuid)> {
    let position = decode_text_cursor(cursor)?;
    let (micros, id) = position.split_once('@')?;
    let at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
    Some((at, id.parse().ok()?))
}

/// Checks `first` against the page size limits.
pub fn page_limit(first: Option<i32>, limits: &Limits) -> AppResult<usize> {
    match first {
        None => Ok(limits.default_page_size),
        Some(n) if n < 0 => Err(AppError::validation("first", "must not be negative")),
        Some(n) if n as usize > limits.max_page_size => Err(AppError::validation(
            "first",
            format!("must be at most {} (the maximum page size)", limits.max_page_size),
        )),
        Some(n) => Ok(n as usize),
    }
}

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: usize,
    pub after: Option<Uuid>,
}

impl PageRequest {
    pub fn parse(first: Option<i32>, after: Option<&str>, limits: &Limits) -> AppResult<Self> {
        let limit = page_limit(first, limits)?;
        let after = match after {
            None => None,
            Some(c) => Some(decode_cursor(c).ok_or_else(|| AppError::validation("after", "is not a valid cursor"))?),
        };
        Ok(PageRequest { limit, after })
    }

    /// Rows to fetch: one more than the page, to learn whether a next page exists.
    pub fn fetch_limit(&self) -> i64 {
        self.limit as i64 + 1
    }
}

/// Whether the query selected the connection's totalCount: counting costs a
/// statement, so it happens only when asked for.
pub fn wants_total_count(ctx: &async_graphql::Context<'_>) -> bool {
    ctx.look_ahead().field("totalCount").exists()
}

/// Whether the query selects `field` on the connection's nodes, through
/// `edges { node }` or `nodes`.
pub fn nodes_select(ctx: &async_graphql::Context<'_>, field: &str) -> bool {
    let look = ctx.look_ahead();
    look.field("edges").field("node").field(field).exists() || look.field("nodes").field(field).exists()
}

/// The query-complexity cost of a list field: its page size times the cost
/// of one item. Saturates, so absurd page sizes are refused by the
/// complexity limit instead of overflowing.
pub fn page_complexity(first: Option<i32>, child_complexity: usize) -> usize {
    let first = first.unwrap_or(20).clamp(1, 1_000_000) as usize;
    first.saturating_mul(child_complexity)
}

/// A validated page request over a list ordered by an instant, then by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatedPageRequest {
    pub limit: usize,
    pub after: Option<(DateTime<Utc>, Uuid)>,
}

impl DatedPageRequest {
    pub fn parse(first: Option<i32>, after: Option<&str>, limits: &Limits) -> AppResult<Self> {
        let limit = page_limit(first, limits)?;
        let after = match after {
            None => None,
            Some(c) => {
                Some(decode_dated_cursor(c).ok_or_else(|| AppError::validation("after", "is not a valid cursor"))?)
            }
        };
        Ok(DatedPageRequest { limit, after })
    }

    /// Rows to fetch: one more than the page, to learn whether a next page exists.
    pub fn fetch_limit(&self) -> i64 {
        self.limit as i64 + 1
    }
}

/// An item's position in its list, written out as an opaque cursor only
/// when a query selects it: most pages show few of their cursors, and
/// writing one per item cost a tenth of the server's CPU on the bench's
/// page A.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// A list in id order: the cursor encodes the id.
    Id(Uuid),
    /// A list with its own cursors, already written.
    Written(String),
}

impl Cursor {
    pub fn written(&self) -> String {
        match self {
            Cursor::Id(id) => encode_cursor(*id),
            Cursor::Written(cursor) => cursor.clone(),
        }
    }
}

/// A page's place in its list; its cursors are written when selected.
#[derive(Debug, Clone)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    /// The first item's position; None for an empty page.
    pub start: Option<Cursor>,
    /// The last item's position; None for an empty page.
    pub end: Option<Cursor>,
}

/// Where a page is in its list, and the cursors to page on.
#[Object]
impl PageInfo {
    /// True when more items follow this page: ask again with `after: endCursor`.
    async fn has_next_page(&self) -> bool {
        self.has_next_page
    }

    /// True when the page was requested after a cursor.
    async fn has_previous_page(&self) -> bool {
        self.has_previous_page
    }

    /// The first item's cursor; null for an empty page.
    async fn start_cursor(&self) -> Option<String> {
        self.start.as_ref().map(Cursor::written)
    }

    /// The last item's cursor, to pass as `after` for the next page; null for an empty page.
    async fn end_cursor(&self) -> Option<String> {
        self.end.as_ref().map(Cursor::written)
    }
}

/// Cuts the extra row off a fetched page and describes the page.
pub fn cut_page<T>(rows: Vec<T>, request: &PageRequest, id_of: impl Fn(&T) -> Uuid) -> (Vec<T>, PageInfo) {
    cut_page_by(rows, request.limit, request.after.is_some(), |r| Cursor::Id(id_of(r)))
}

/// Cuts the extra row off a page of `limit` fetched after a cursor (or
/// not) and describes it, with the list's own cursors.
pub fn cut_page_by<T>(
    mut rows: Vec<T>,
    limit: usize,
    after_cursor: bool,
    cursor_of: impl Fn(&T) -> Cursor,
) -> (Vec<T>, PageInfo) {
    let has_next_page = rows.len() > limit;
    rows.truncate(limit);
    let info = PageInfo {
        has_next_page,
        has_previous_page: after_cursor,
        start: rows.first().map(&cursor_of),
        end: rows.last().map(&cursor_of),
    };
    (rows, info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor(&encode_cursor(id)), Some(id));
        for bad in ["", "abc", "djE6bm90LWEtdXVpZA", &URL_SAFE_NO_PAD.encode(id.to_string())] {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
    }

    #[test]
    fn dated_cursors_round_trip_to_the_microsecond_and_reject_garbage() {
        let at = DateTime::from_timestamp_micros(1_790_000_000_123_456).unwrap();
        let id = Uuid::now_v7();
        assert_eq!(decode_dated_cursor(&encode_dated_cursor(at, id)), Some((at, id)));
        let before_1970 = DateTime::from_timestamp_micros(-5).unwrap();
        assert_eq!(
            decode_dated_cursor(&encode_dated_cursor(before_1970, id)),
            Some((before_1970, id))
        );
        // An id cursor is not a dated one, nor the reverse.
        assert_eq!(decode_dated_cursor(&encode_cursor(id)), None);
        assert_eq!(decode_cursor(&encode_dated_cursor(at, id)), None);
        for bad in [
            "",
            "abc",
            &encode_text_cursor("x@y"),
            &encode_text_cursor("12@not-a-uuid"),
        ] {
            assert_eq!(decode_dated_cursor(bad), None, "{bad}");
        }
    }

    #[test]
    fn page_sizes_are_bounded() {
        let limits = Limits::default();
        assert_eq!(PageRequest::parse(None, None, &limits).unwrap().limit, 20);
        assert_eq!(PageRequest::parse(Some(100), None, &limits).unwrap().limit, 100);
        assert_eq!(PageRequest::parse(Some(0), None, &limits).unwrap().limit, 0);
        let err = PageRequest::parse(Some(101), None, &limits).unwrap_err();
        assert_eq!(err.field(), Some("first"));
        assert!(err.to_string().contains("at most 100"));
        assert_eq!(
            PageRequest::parse(Some(-1), None, &limits).unwrap_err().field(),
            Some("first")
        );
        assert_eq!(
            PageRequest::parse(None, Some("nope"), &limits).unwrap_err().field(),
            Some("after")
        );
    }

    #[test]
    fn complexity_grows_with_the_page_and_never_overflows() {
        assert_eq!(page_complexity(None, 3), 60);
        assert_eq!(page_complexity(Some(0), 3), 3);
        assert_eq!(page_complexity(Some(i32::MAX), usize::MAX), usize::MAX);
    }

    #[test]
    fn the_extra_row_means_another_page() {
        let request = PageRequest { limit: 2, after: None };
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let (rows, info) = cut_page(ids.clone(), &request, |id| *id);
        assert_eq!(rows, ids[..2]);
        assert!(info.has_next_page);
        assert_eq!(info.end, Some(Cursor::Id(ids[1])));
        assert_eq!(info.end.unwrap().written(), encode_cursor(ids[1]));
        let (rows, info) = cut_page(ids[..2].to_vec(), &request, |id| *id);
        assert_eq!(rows.len(), 2);
        assert!(!info.has_next_page);
    }
}
