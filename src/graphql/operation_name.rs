//! The name of a request's operation, for its log line, read from the
//! start of the document without parsing it all (the executor parses it
//! anyway; this runs on every request).

/// `operationName` when the client sent one, else the name of the
/// document's first operation; None for an anonymous `{ ... }` query or a
/// document that starts with a fragment.
pub fn operation_name<'a>(given: Option<&'a str>, query: &'a str) -> Option<&'a str> {
    if let Some(name) = given.filter(|n| !n.is_empty()) {
        return Some(name);
    }
    let rest = skip_ignored(query);
    let keyword_len = ["query", "mutation", "subscription"]
        .iter()
        .find(|k| rest.starts_with(**k) && !rest[k.len()..].starts_with(is_name_char))?
        .len();
    let rest = skip_ignored(&rest[keyword_len..]);
    let name_len = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
    let name = &rest[..name_len];
    (!name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit())).then_some(name)
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Skips what GraphQL ignores between tokens: white space, commas, the
/// byte order mark and comments.
fn skip_ignored(mut text: &str) -> &str {
    loop {
        text = text.trim_start_matches(|c: char| c.is_whitespace() || c == ',' || c == '\u{feff}');
        match text.strip_prefix('#') {
            Some(comment) => text = comment.find('\n').map_or("", |end| &comment[end..]),
            None => return text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::operation_name;

    #[test]
    fn names_come_from_the_request_or_the_first_operation() {
        let cases = [
            (
                None,
                "query CustomersPage { customers { totalCount } }",
                Some("CustomersPage"),
            ),
            (None, "  # a comment\n mutation\tCreate($x: Int) { a }", Some("Create")),
            (None, "subscription S{a}", Some("S")),
            (None, "query($first: Int) { a }", None),
            (None, "{ customers { totalCount } }", None),
            (None, "queryX { a }", None),
            (None, "fragment F on Customer { id } query Q { a }", None),
            (None, "", None),
            (Some("Given"), "query Other { a }", Some("Given")),
            (Some(""), "query Other { a }", Some("Other")),
        ];
        for (given, query, expected) in cases {
            assert_eq!(operation_name(given, query), expected, "{query:?}");
        }
    }
}
