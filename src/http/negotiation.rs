//! Which media type a /graphql client gets, read from its Accept header as
//! the GraphQL over HTTP specification asks: `application/json` unless the
//! client names `application/graphql-response+json`, and on GET the
//! GraphiQL page for a browser that prefers HTML.

pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
pub const JSON: &str = "application/json";
const HTML: &str = "text/html";

/// The media type of a GraphQL answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseType {
    /// Legacy clients and `*/*`: request errors are 200 with `errors`.
    Json,
    /// Request errors (unparsable, invalid, bad variables) are 400.
    GraphqlResponseJson,
}

impl ResponseType {
    /// `application/graphql-response+json` only when the client names it
    /// and ranks it no lower than `application/json`: a wildcard or a
    /// missing header gets `application/json`, which every client reads.
    pub fn from_accept(accept: Option<&str>) -> Self {
        let ranges = parse(accept.unwrap_or(""));
        let named = ranges
            .iter()
            .find(|r| r.media == GRAPHQL_RESPONSE_JSON)
            .map(|r| r.q)
            .unwrap_or(0.0);
        if named > 0.0 && named >= quality(&ranges, JSON) {
            ResponseType::GraphqlResponseJson
        } else {
            ResponseType::Json
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ResponseType::Json => "application/json",
            ResponseType::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
        }
    }
}

/// A GET from a browser (HTML named and ranked at least as high as any
/// JSON type) is answered with GraphiQL; any other GET runs its query.
pub fn wants_page(accept: Option<&str>) -> bool {
    let ranges = parse(accept.unwrap_or(""));
    let html = ranges.iter().find(|r| r.media == HTML).map(|r| r.q).unwrap_or(0.0);
    html > 0.0 && html >= quality(&ranges, JSON) && html >= quality(&ranges, GRAPHQL_RESPONSE_JSON)
}

/// The request body is JSON (`application/json`, any parameters).
pub fn is_json_body(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|c| c.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case(JSON))
}

struct Range {
    media: String,
    q: f32,
}

fn parse(header: &str) -> Vec<Range> {
    header
        .split(',')
        .filter_map(|part| {
            let mut pieces = part.split(';');
            let media = pieces.next()?.trim().to_ascii_lowercase();
            if media.is_empty() {
                return None;
            }
            let q = pieces
                .filter_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            Some(Range { media, q })
        })
        .collect()
}

/// The quality of `media` under the most specific range that covers it.
fn quality(ranges: &[Range], media: &str) -> f32 {
    let family = media.split('/').next().unwrap_or("");
    let exact = ranges.iter().find(|r| r.media == media);
    let by_family = ranges.iter().find(|r| r.media.strip_suffix("/*") == Some(family));
    let any = ranges.iter().find(|r| r.media == "*/*");
    exact.or(by_family).or(any).map(|r| r.q).unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8";

    #[test]
    fn json_unless_the_graphql_response_type_is_named_and_ranked_first() {
        use ResponseType::*;
        assert_eq!(ResponseType::from_accept(None), Json);
        assert_eq!(ResponseType::from_accept(Some("*/*")), Json);
        assert_eq!(ResponseType::from_accept(Some("application/*")), Json);
        assert_eq!(ResponseType::from_accept(Some("application/json")), Json);
        assert_eq!(ResponseType::from_accept(Some(BROWSER)), Json);
        assert_eq!(
            ResponseType::from_accept(Some("application/graphql-response+json")),
            GraphqlResponseJson
        );
        assert_eq!(
            ResponseType::from_accept(Some("application/graphql-response+json, application/json;q=0.9")),
            GraphqlResponseJson
        );
        assert_eq!(
            ResponseType::from_accept(Some("application/graphql-response+json;q=0.5, application/json")),
            Json
        );
        assert_eq!(
            ResponseType::from_accept(Some("application/graphql-response+json;q=0")),
            Json
        );
    }

    #[test]
    fn browsers_get_the_page_and_json_clients_the_result() {
        assert!(wants_page(Some(BROWSER)));
        assert!(wants_page(Some("text/html")));
        assert!(!wants_page(None));
        assert!(!wants_page(Some("*/*")));
        assert!(!wants_page(Some("application/json")));
        assert!(!wants_page(Some("application/graphql-response+json")));
        assert!(!wants_page(Some("application/json, text/html;q=0.5")));
    }

    #[test]
    fn a_json_body_is_recognised_with_parameters_and_any_case() {
        assert!(is_json_body(Some("application/json")));
        assert!(is_json_body(Some("Application/JSON; charset=utf-8")));
        assert!(!is_json_body(None));
        assert!(!is_json_body(Some("text/plain")));
        assert!(!is_json_body(Some("application/x-www-form-urlencoded")));
    }
}
