//! The page model (what a report's owner builds) and its rendering.

use crate::chart::bar_chart;
use crate::html::Html;

/// One report page: a verdict banner, a few facts, then sections.
pub struct Page {
    /// The page's `<title>` and heading.
    pub title: String,
    /// Whether the banner says PASSED or FAILED.
    pub passed: bool,
    /// Label and value pairs under the banner (run time, hosts, data repo).
    pub facts: Vec<(String, String)>,
    /// The page's body, in order.
    pub sections: Vec<Section>,
}

/// A headed part of the page.
pub struct Section {
    /// The `<h2>` text.
    pub heading: String,
    /// What the section shows, in order.
    pub blocks: Vec<Block>,
}

/// One piece of a section's content.
pub enum Block {
    /// The stage strip: one tile per stage with its status and duration.
    Stages(Vec<Stage>),
    /// Reference against measured value per row (laddr total vs imported).
    Bars(Vec<Bar>),
    /// A table with a header row.
    Table {
        /// Column headings.
        head: Vec<String>,
        /// One row of cells per line.
        rows: Vec<Vec<Cell>>,
    },
    /// A bullet list (notes, failures spelled out).
    Items(Vec<String>),
    /// A paragraph, e.g. where data does not exist yet.
    Note(String),
    /// A command to copy, wrapped (never scrolled) on a narrow screen.
    Code(String),
}

impl Section {
    /// A section of `blocks` under `heading`.
    pub fn new(heading: impl Into<String>, blocks: Vec<Block>) -> Self {
        Section {
            heading: heading.into(),
            blocks,
        }
    }
}

/// One tile of the stage strip.
pub struct Stage {
    /// The stage's name.
    pub name: String,
    /// Whether the stage passed.
    pub ok: bool,
    /// How long the stage ran.
    pub duration_ms: u128,
}

/// One row of the bar chart.
pub struct Bar {
    /// What the row counts (a resource or a sheet).
    pub label: String,
    /// The expected value, if there is one to compare against.
    pub reference: Option<u64>,
    /// The measured value.
    pub value: u64,
    /// Whether the measured value is right.
    pub ok: bool,
}

/// A table cell; `status` colours it and names it in `data-status`.
pub struct Cell {
    /// What the cell shows.
    pub text: String,
    /// Passed, failed, or no verdict.
    pub status: Option<bool>,
}

impl Cell {
    /// A plain cell with no verdict.
    pub fn text(s: impl Into<String>) -> Self {
        Cell {
            text: s.into(),
            status: None,
        }
    }
    /// A cell that passed (`ok`) or failed.
    pub fn status(s: impl Into<String>, ok: bool) -> Self {
        Cell {
            text: s.into(),
            status: Some(ok),
        }
    }
}

const STYLE: &str = "body{font:15px/1.4 system-ui,sans-serif;margin:0 auto;max-width:60rem;\
padding:1rem;color:#222}h1{font-size:1.4rem}h2{font-size:1.1rem;border-bottom:1px solid #ccc}\
.verdict{padding:.8rem 1rem;font-size:1.3rem;font-weight:bold;border-radius:6px;color:#fff}\
.verdict.passed{background:#1b7f3b}.verdict.failed{background:#b42318}\
dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.2rem 1rem}dt{color:#666}dd{margin:0;\
overflow-wrap:anywhere}ol.stages{display:flex;flex-wrap:wrap;gap:.4rem;list-style:none;padding:0}\
.stages li{padding:.4rem .7rem;border-radius:4px;color:#fff;min-width:6rem}\
.stages .passed{background:#1b7f3b}.stages .failed{background:#b42318}\
.stages small{display:block;opacity:.9}table{border-collapse:collapse;width:100%}\
td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}\
td,li,p{overflow-wrap:anywhere}td.passed{background:#e3f4e8}td.failed{background:#fde4e1}\
.chart{display:block;width:100%;max-width:36rem;height:auto}\
.chart .ref{fill:#bbb}.chart .ok{fill:#1b7f3b}.chart .bad{fill:#b42318}\
.chart .mark{stroke:#222;stroke-width:2}.chart text{font-size:16px;fill:#222}\
@media (max-width:600px){body{font-size:14px;padding:.6rem}td,th{padding:.2rem .3rem}}\
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f4f4f4;padding:.5rem;border-radius:4px}\
@media print{body{max-width:none;font-size:10pt}\
.verdict,.stages li,td,.chart{-webkit-print-color-adjust:exact;print-color-adjust:exact}\
h2{break-after:avoid}tr,.stages,.chart g,pre{break-inside:avoid}}";

fn status_word(ok: bool) -> &'static str {
    if ok { "passed" } else { "failed" }
}

impl Page {
    /// The whole document, deterministic for the same page.
    pub fn render(&self) -> String {
        let mut h = Html::new();
        h.raw("<!DOCTYPE html>\n");
        h.open("html", &[("lang", "en")]).open("head", &[]);
        h.open("meta", &[("charset", "utf-8")]);
        h.open(
            "meta",
            &[
                ("name", "viewport"),
                ("content", "width=device-width, initial-scale=1"),
            ],
        );
        h.el("title", &[], &self.title);
        h.open("style", &[]).raw(STYLE).close("style");
        h.close("head").open("body", &[]);
        h.el("h1", &[], &self.title);
        let word = status_word(self.passed);
        let class = format!("verdict {word}");
        h.el(
            "div",
            &[("id", "verdict"), ("class", &class), ("data-status", word)],
            &word.to_uppercase(),
        );
        h.open("dl", &[]);
        for (k, v) in &self.facts {
            h.el("dt", &[], k).el("dd", &[], v);
        }
        h.close("dl");
        for s in &self.sections {
            render_section(&mut h, s);
        }
        h.close("body").close("html");
        h.raw("\n");
        h.finish()
    }
}

fn render_section(h: &mut Html, s: &Section) {
    h.open("section", &[("data-section", &s.heading)]);
    h.el("h2", &[], &s.heading);
    for b in &s.blocks {
        match b {
            Block::Stages(stages) => render_stages(h, stages),
            Block::Bars(bars) => {
                h.raw(&bar_chart(bars));
            }
            Block::Table { head, rows } => render_table(h, head, rows),
            Block::Items(items) => {
                h.open("ul", &[]);
                for i in items {
                    h.el("li", &[], i);
                }
                h.close("ul");
            }
            Block::Note(n) => {
                h.el("p", &[("class", "note")], n);
            }
            Block::Code(c) => {
                h.el("pre", &[], c);
            }
        }
    }
    h.close("section");
}

fn render_stages(h: &mut Html, stages: &[Stage]) {
    h.open("ol", &[("class", "stages")]);
    for st in stages {
        let word = status_word(st.ok);
        h.open(
            "li",
            &[
                ("class", word),
                ("data-stage", &st.name),
                ("data-status", word),
            ],
        );
        h.text(&st.name);
        h.el("small", &[], &format!("{word} · {} ms", st.duration_ms));
        h.close("li");
    }
    h.close("ol");
}

fn render_table(h: &mut Html, head: &[String], rows: &[Vec<Cell>]) {
    h.open("table", &[]).open("thead", &[]).open("tr", &[]);
    for c in head {
        h.el("th", &[], c);
    }
    h.close("tr").close("thead").open("tbody", &[]);
    for row in rows {
        h.open("tr", &[]);
        for c in row {
            match c.status {
                Some(ok) => {
                    let word = status_word(ok);
                    h.el("td", &[("class", word), ("data-status", word)], &c.text)
                }
                None => h.el("td", &[], &c.text),
            };
        }
        h.close("tr");
    }
    h.close("tbody").close("table");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(name: &str) -> Page {
        Page {
            title: "dry-run".into(),
            passed: false,
            facts: vec![("member".into(), name.into())],
            sections: vec![Section {
                heading: "stages".into(),
                blocks: vec![
                    Block::Stages(vec![Stage {
                        name: "import".into(),
                        ok: false,
                        duration_ms: 12,
                    }]),
                    Block::Bars(vec![Bar {
                        label: name.into(),
                        reference: Some(10),
                        value: 9,
                        ok: false,
                    }]),
                ],
            }],
        }
    }

    #[test]
    fn same_page_same_bytes_and_names_escaped_in_svg_too() {
        let a = page("<b>&").render();
        assert_eq!(a, page("<b>&").render());
        assert!(!a.contains("<b>&"));
        assert!(a.contains("data-bar=\"&lt;b&gt;&amp;\""));
        assert!(a.contains("data-stage=\"import\" data-status=\"failed\""));
        assert!(a.contains("id=\"verdict\" class=\"verdict failed\" data-status=\"failed\""));
    }
}
