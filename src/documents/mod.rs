//! Invoice and credit note documents: an HTML page and a PDF, rendered from
//! one [`model::Document`].

pub mod model;
