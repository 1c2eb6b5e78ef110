//! Invoice and credit note documents over HTTP: the PDF and the HTML page
//! for API clients (X-API-Key), and the hosted page its recipient opens
//! through `Invoice.hostedUrl` without a key.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use uuid::Uuid;

use crate::db::connection;
use crate::documents::assemble::{credit_note_document, invoice_document};
use crate::documents::model::Document;
use crate::documents::{render_html, render_pdf};
use crate::domain::hosted_link::LinkedDocument;
use crate::error::AppError;
use crate::hosted_links::{CREDIT_NOTE_PATH, INVOICE_PATH};
use crate::http::flexprice::RestTenant;
use crate::http::flexprice::errors::RestResult;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/invoices/{id}/pdf", get(invoice_pdf))
        .route("/v1/invoices/{id}/html", get(invoice_html))
        .route("/v1/credit_notes/{id}/pdf", get(credit_note_pdf))
        .route("/v1/credit_notes/{id}/html", get(credit_note_html))
        .route(&format!("{INVOICE_PATH}/{{token}}"), get(hosted_invoice_html))
        .route(&format!("{INVOICE_PATH}/{{token}}/pdf"), get(hosted_invoice_pdf))
        .route(&format!("{CREDIT_NOTE_PATH}/{{token}}"), get(hosted_credit_note_html))
        .route(
            &format!("{CREDIT_NOTE_PATH}/{{token}}/pdf"),
            get(hosted_credit_note_pdf),
        )
}

/// Which document, and which form of it.
#[derive(Clone, Copy)]
enum Form {
    Pdf,
    Html,
}

/// An id in a path; one that is not a UUID names nothing.
fn document_id(id: &str, what: &'static str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id.trim()).map_err(|_| AppError::not_found(what))
}

async fn load(
    state: &AppState,
    document: LinkedDocument,
    tenant_id: Uuid,
    id: Uuid,
    pdf_link: Option<String>,
) -> Result<Document, AppError> {
    let mut conn = connection(&state.pool).await?;
    match document {
        LinkedDocument::Invoice => invoice_document(&mut conn, tenant_id, id, pdf_link).await,
        LinkedDocument::CreditNote => credit_note_document(&mut conn, tenant_id, id, pdf_link).await,
    }
}

/// The rendered document. A long invoice takes milliseconds to lay out,
/// so it is rendered off the request threads.
async fn render(document: Document, form: Form) -> Result<Response, AppError> {
    let name = document
        .number
        .clone()
        .unwrap_or_else(|| "draft".to_owned())
        .replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_");
    let rendered = tokio::task::spawn_blocking(move || match form {
        Form::Pdf => render_pdf(&document),
        Form::Html => render_html(&document).into_bytes(),
    })
    .await
    .map_err(|e| AppError::internal(anyhow::anyhow!("rendering a document failed: {e}")))?;
    let (content_type, disposition) = match form {
        Form::Pdf => ("application/pdf", format!("inline; filename=\"{name}.pdf\"")),
        Form::Html => ("text/html; charset=utf-8", format!("inline; filename=\"{name}.html\"")),
    };
    let mut response = (StatusCode::OK, rendered).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    protect(headers);
    Ok(response)
}

/// Documents are private: never cached by shared caches, never framed,
/// never sniffed as another type, and the page's address (on a hosted
/// page, its access token) is never sent on as a referrer, e.g. to the
/// logo's host. The page may only load inline styles and https images.
fn protect(headers: &mut axum::http::HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src https:; frame-ancestors 'none'",
        ),
    );
}

async fn keyed(
    state: AppState,
    tenant_id: Uuid,
    document: LinkedDocument,
    id: String,
    form: Form,
) -> RestResult<Response> {
    let what = match document {
        LinkedDocument::Invoice => "invoice",
        LinkedDocument::CreditNote => "credit note",
    };
    let id = document_id(&id, what)?;
    let doc = load(&state, document, tenant_id, id, None).await?;
    Ok(render(doc, form).await?)
}

async fn invoice_pdf(
    State(state): State<AppState>,
    RestTenant(tenant): RestTenant,
    Path(id): Path<String>,
) -> RestResult<Response> {
    keyed(state, tenant.id, LinkedDocument::Invoice, id, Form::Pdf).await
}

async fn invoice_html(
    State(state): State<AppState>,
    RestTenant(tenant): RestTenant,
    Path(id): Path<String>,
) -> RestResult<Response> {
    keyed(state, tenant.id, LinkedDocument::Invoice, id, Form::Html).await
}

async fn credit_note_pdf(
    State(state): State<AppState>,
    RestTenant(tenant): RestTenant,
    Path(id): Path<String>,
) -> RestResult<Response> {
    keyed(state, tenant.id, LinkedDocument::CreditNote, id, Form::Pdf).await
}

async fn credit_note_html(
    State(state): State<AppState>,
    RestTenant(tenant): RestTenant,
    Path(id): Path<String>,
) -> RestResult<Response> {
    keyed(state, tenant.id, LinkedDocument::CreditNote, id, Form::Html).await
}

/// A hosted page: the token names the tenant and the document. Every
/// failure (altered, expired, for another kind of document, or naming a
/// document that no longer exists) gets the same page, so a link tells
/// nothing about why it does not open.
async fn hosted(state: AppState, document: LinkedDocument, token: String, form: Form) -> Response {
    let Ok((tenant_id, id)) = state.links.open(document, &token, Utc::now()) else {
        return link_not_valid();
    };
    let base = match document {
        LinkedDocument::Invoice => INVOICE_PATH,
        LinkedDocument::CreditNote => CREDIT_NOTE_PATH,
    };
    let pdf_link = matches!(form, Form::Html).then(|| format!("{base}/{token}/pdf"));
    let rendered = match load(&state, document, tenant_id, id, pdf_link).await {
        Ok(doc) => render(doc, form).await,
        Err(e) => Err(e),
    };
    match rendered {
        Ok(response) => response,
        Err(e) if e.code() == crate::error::ErrorCode::NotFound => link_not_valid(),
        Err(e) => {
            tracing::error!(error = %e, "a hosted document failed");
            let mut response = (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The document cannot be shown right now.",
            )
                .into_response();
            protect(response.headers_mut());
            response
        }
    }
}

fn link_not_valid() -> Response {
    let page = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Link not valid</title></head>\
                <body><p>This link is not valid or has expired. Ask the sender for a new one.</p></body></html>";
    let mut response = (StatusCode::NOT_FOUND, page).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    protect(response.headers_mut());
    response
}

async fn hosted_invoice_html(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    hosted(state, LinkedDocument::Invoice, token, Form::Html).await
}

async fn hosted_invoice_pdf(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    hosted(state, LinkedDocument::Invoice, token, Form::Pdf).await
}

async fn hosted_credit_note_html(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    hosted(state, LinkedDocument::CreditNote, token, Form::Html).await
}

async fn hosted_credit_note_pdf(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    hosted(state, LinkedDocument::CreditNote, token, Form::Pdf).await
}
