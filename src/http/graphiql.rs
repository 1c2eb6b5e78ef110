//! GraphiQL with everything it loads served from the binary, so it works
//! with no internet access. Asset URLs carry a fingerprint of the content,
//! so browsers may keep them for a year; the page itself is never cached.

use std::sync::LazyLock;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::state::AppState;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: [Asset; 5] = [
    Asset {
        name: "react-18.3.1.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/graphiql/react-18.3.1.production.min.js"),
    },
    Asset {
        name: "react-dom-18.3.1.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/graphiql/react-dom-18.3.1.production.min.js"),
    },
    Asset {
        name: "graphiql-3.8.3.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/graphiql/graphiql-3.8.3.min.js"),
    },
    Asset {
        name: "graphiql-3.8.3.min.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../assets/graphiql/graphiql-3.8.3.min.css"),
    },
    Asset {
        name: "billgraph-graphiql.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/graphiql/billgraph-graphiql.js"),
    },
];

/// One fingerprint over all assets: a build that changes any of them
/// changes every URL, which is simple and costs one extra download of
/// unchanged files at an upgrade.
static FINGERPRINT: LazyLock<String> = LazyLock::new(|| {
    let mut hash = Sha256::new();
    for asset in &ASSETS {
        hash.update(asset.name.as_bytes());
        hash.update(asset.body);
    }
    hex::encode(&hash.finalize()[..8])
});

const ENDPOINT: &str = "/graphql";

fn asset_url(name: &str) -> String {
    format!("/graphiql/{}/{name}", *FINGERPRINT)
}

/// The page: a key prompt, then GraphiQL. The dev tenant's key is written
/// into the page only when the server runs its private cluster (see
/// `AppState::dev_api_key`).
pub fn page(state: &AppState) -> Response {
    let dev_key = state.dev_api_key.as_deref().map(escape).unwrap_or_default();
    let html = format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>billgraph GraphiQL</title>
<link rel="stylesheet" href="{css}">
<style>
  html, body {{ height: 100%; margin: 0; }}
  #graphiql {{ height: 100vh; }}
  #key-prompt {{ font-family: system-ui, sans-serif; max-width: 32rem; margin: 15vh auto; padding: 0 1rem; }}
  #key-prompt input {{ width: 100%; box-sizing: border-box; padding: .5rem; font: inherit; margin: .5rem 0; }}
  #key-prompt button {{ padding: .5rem 1rem; font: inherit; }}
  #key-problem {{ color: #b00020; }}
  .billgraph-forget-key {{ font-size: .6em; margin-left: .5em; cursor: pointer; }}
</style>
</head>
<body data-endpoint="{endpoint}" data-dev-key="{dev_key}">
<div id="key-prompt">
  <h1>billgraph</h1>
  <form id="key-form">
    <label for="api-key">API key (sent as X-API-Key, kept for this browser session)</label>
    <input id="api-key" name="api-key" type="password" autocomplete="off" placeholder="bgk_...">
    <button id="open-graphiql" type="submit">Open GraphiQL</button>
  </form>
  <p id="key-problem" role="alert"><noscript>GraphiQL needs JavaScript; the /graphql endpoint answers POST requests without it.</noscript></p>
</div>
<div id="graphiql" hidden></div>
<script src="{react}"></script>
<script src="{react_dom}"></script>
<script src="{graphiql}"></script>
<script src="{app}"></script>
</body>
</html>
"#,
        css = asset_url("graphiql-3.8.3.min.css"),
        react = asset_url("react-18.3.1.production.min.js"),
        react_dom = asset_url("react-dom-18.3.1.production.min.js"),
        graphiql = asset_url("graphiql-3.8.3.min.js"),
        app = asset_url("billgraph-graphiql.js"),
        endpoint = ENDPOINT,
    );
    let mut response = Html(html).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// GET /graphiql/{fingerprint}/{name}. An old fingerprint (a page from
/// before an upgrade) is answered 404 rather than with other content
/// under a URL browsers keep for a year.
pub async fn asset(State(_): State<AppState>, Path((fingerprint, name)): Path<(String, String)>) -> Response {
    let found = ASSETS.iter().find(|a| a.name == name);
    match found {
        Some(asset) if fingerprint == *FINGERPRINT => (
            [
                (header::CONTENT_TYPE, asset.content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            asset.body,
        )
            .into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Escapes text for an HTML attribute value.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_text_cannot_close_its_quotes() {
        assert_eq!(escape(r#"a"><script>&'"#), "a&quot;&gt;&lt;script&gt;&amp;&#39;");
    }
}
