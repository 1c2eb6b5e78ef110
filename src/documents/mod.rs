//! Invoice and credit note documents: an HTML page and a PDF, rendered from
//! one [`model::Document`] so the two always show the same figures.

pub mod assemble;
pub mod format;
mod helvetica;
mod html;
pub mod model;
pub mod parties;
mod pdf;

pub use html::render_html;
pub use pdf::render_pdf;

#[cfg(test)]
mod samples;
