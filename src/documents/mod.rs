//! Invoice and credit note documents: an HTML page and a PDF, rendered from
//! one [`model::Document`] so the two always show the same figures.

pub mod format;
pub mod model;
