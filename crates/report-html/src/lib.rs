//! Reports people look at: one self-contained HTML page per report (no network, no script, no
//! font), rendered from a small view model the report's owner builds from its report struct.
//!
//! Every text goes through [`Html::text`] or an escaped attribute, so member names (user input)
//! arrive as text. The same model gives the same bytes.

#![deny(missing_docs)]

#[cfg(feature = "browser")]
pub mod browser;
mod chart;
mod html;
mod page;

pub use chart::bar_chart;
pub use html::{Html, escape};
pub use page::{Bar, Block, Cell, Page, Section, Stage};
