//! Horizontal bar charts as inline SVG: per row its label and numbers on a line of their own
//! (so a phone shows them at a readable size), then the reference (laddr's total) in grey, the
//! measured value in green or red, and a mark where the reference ends (the tolerance mark).

use crate::html::escape;
use crate::page::Bar;

const WIDTH: u64 = 480;
const ROW: u64 = 50;
/// Text above the bars, in viewBox units (the stylesheet caps the chart's width so this stays
/// near the body text's size on a wide screen).
const TEXT: u64 = 16;
const PLOT: u64 = WIDTH - 4;

/// The chart for `bars`, scaled to the largest number among them.
pub fn bar_chart(bars: &[Bar]) -> String {
    let max = bars
        .iter()
        .map(|b| b.value.max(b.reference.unwrap_or(0)))
        .max()
        .unwrap_or(0)
        .max(1);
    let scale = |n: u64| n * PLOT / max;
    let height = ROW * bars.len() as u64 + 4;
    let mut s = format!(
        "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 {WIDTH} {height}\" \
         xmlns=\"http://www.w3.org/2000/svg\">"
    );
    for (i, b) in bars.iter().enumerate() {
        let y = ROW * i as u64 + 2;
        let label = escape(&b.label);
        let numbers = match b.reference {
            Some(r) => format!("{} / {r}", b.value),
            None => format!("{} / ?", b.value),
        };
        s.push_str(&format!(
            "<g data-bar=\"{label}\"><text x=\"0\" y=\"{t}\" class=\"lbl\">{label}</text>\
             <text x=\"{WIDTH}\" y=\"{t}\" text-anchor=\"end\" class=\"num\">{numbers}</text>",
            t = y + TEXT
        ));
        let bars_at = y + TEXT + 6;
        if let Some(r) = b.reference {
            s.push_str(&format!(
                "<rect class=\"ref\" x=\"0\" y=\"{bars_at}\" width=\"{}\" height=\"10\"/>",
                scale(r)
            ));
        }
        let colour = if b.ok { "ok" } else { "bad" };
        s.push_str(&format!(
            "<rect class=\"{colour}\" x=\"0\" y=\"{}\" width=\"{}\" height=\"10\"/>",
            bars_at + 12,
            scale(b.value)
        ));
        if let Some(r) = b.reference {
            let x = scale(r).max(1);
            s.push_str(&format!(
                "<line class=\"mark\" x1=\"{x}\" x2=\"{x}\" y1=\"{}\" y2=\"{}\"/>",
                bars_at - 2,
                bars_at + 24
            ));
        }
        s.push_str("</g>");
    }
    s.push_str("</svg>");
    s
}
