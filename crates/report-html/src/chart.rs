//! Horizontal bar charts as inline SVG: per row the reference (laddr's total) in grey, the
//! measured value in green or red, and a mark where the reference ends (the tolerance mark).

use crate::html::escape;
use crate::page::Bar;

const WIDTH: u64 = 640;
const LABEL: u64 = 170;
const ROW: u64 = 36;
const PLOT: u64 = WIDTH - LABEL - 70;

/// The chart for `bars`, scaled to the largest number among them.
pub fn bar_chart(bars: &[Bar]) -> String {
    let max = bars
        .iter()
        .map(|b| b.value.max(b.reference.unwrap_or(0)))
        .max()
        .unwrap_or(0)
        .max(1);
    let scale = |n: u64| n * PLOT / max;
    let height = ROW * bars.len() as u64 + 8;
    let mut s = format!(
        "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 {WIDTH} {height}\" \
         xmlns=\"http://www.w3.org/2000/svg\">"
    );
    for (i, b) in bars.iter().enumerate() {
        let y = ROW * i as u64 + 4;
        let label = escape(&b.label);
        s.push_str(&format!(
            "<g data-bar=\"{label}\"><text x=\"0\" y=\"{}\" class=\"lbl\">{label}</text>",
            y + 20
        ));
        if let Some(r) = b.reference {
            s.push_str(&format!(
                "<rect class=\"ref\" x=\"{LABEL}\" y=\"{y}\" width=\"{}\" height=\"12\"/>",
                scale(r)
            ));
        }
        let colour = if b.ok { "ok" } else { "bad" };
        s.push_str(&format!(
            "<rect class=\"{colour}\" x=\"{LABEL}\" y=\"{}\" width=\"{}\" height=\"12\"/>",
            y + 14,
            scale(b.value)
        ));
        if let Some(r) = b.reference {
            let x = LABEL + scale(r);
            s.push_str(&format!(
                "<line class=\"mark\" x1=\"{x}\" x2=\"{x}\" y1=\"{}\" y2=\"{}\"/>",
                y.saturating_sub(2),
                y + 28
            ));
        }
        let numbers = match b.reference {
            Some(r) => format!("{} / {r}", b.value),
            None => format!("{} / ?", b.value),
        };
        s.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" class=\"num\">{numbers}</text></g>",
            LABEL + PLOT + 6,
            y + 20
        ));
    }
    s.push_str("</svg>");
    s
}
