//! Bar charts as inline SVG rendered on the server (no script): one bar per bucket of a counter's
//! series, the largest value and the first and last bucket's time as labels, and a `<title>` and
//! `aria-label` naming what is shown. Every text goes through maud's escaping.

use maud::{Markup, html};

/// Drawing size in SVG units (scaled to the page's width by CSS).
const WIDTH: u64 = 600;
const HEIGHT: u64 = 150;
/// Room for the labels under and left of the bars.
const BOTTOM: u64 = 16;
const LEFT: u64 = 40;

/// How a bucket's start is labelled.
pub(crate) fn label(at: u64, step: u64) -> String {
    let t = crate::units::time::format(at);
    if step >= 86_400 {
        t[..10].to_string()
    } else {
        format!("{} {}", &t[5..10], &t[11..16])
    }
}

/// A bar chart of `points` (`(bucket start, count)`), `bad` drawing the bars in the alert colour.
pub(crate) fn bars(title: &str, points: &[(u64, u64)], step: u64, bad: bool) -> Markup {
    let max = points.iter().map(|p| p.1).max().unwrap_or(0);
    let total: u64 = points.iter().map(|p| p.1).sum();
    let n = points.len().max(1) as u64;
    let span = WIDTH - LEFT;
    let bar_w = (span / n).max(1);
    let plot_h = HEIGHT - BOTTOM;
    let summary = format!("{title}: {total} in all, at most {max} per bucket");
    let class = if bad { "bar bad" } else { "bar" };
    html! {
        figure class="card" {
            figcaption { (title) " (" (total) ")" }
            svg class="chart" viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img"
                aria-label=(summary) xmlns="http://www.w3.org/2000/svg" {
                title { (summary) }
                line class="axis" x1=(LEFT) y1=(plot_h) x2=(WIDTH) y2=(plot_h) {}
                text x="0" y="10" { (max) }
                text x="0" y=(plot_h) { "0" }
                @for (i, (at, count)) in points.iter().enumerate() {
                    @let h = (count * (plot_h - 4)).checked_div(max).unwrap_or(0);
                    @let x = LEFT + i as u64 * bar_w;
                    rect class=(class) x=(x) y=(plot_h - h) width=(bar_w.saturating_sub(1).max(1)) height=(h) {
                        title { (label(*at, step)) ": " (count) }
                    }
                }
                @if let (Some(first), Some(last)) = (points.first(), points.last()) {
                    text x=(LEFT) y=(HEIGHT - 2) { (label(first.0, step)) }
                    text x=(WIDTH) y=(HEIGHT - 2) text-anchor="end" { (label(last.0, step)) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_and_escape_the_title() {
        let svg = bars("<b>Mail</b>", &[(0, 2), (3600, 4), (7200, 0)], 3600, false).into_string();
        assert!(svg.contains("&lt;b&gt;Mail&lt;/b&gt;") && !svg.contains("<b>"));
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(svg.contains(r#"height="130""#), "{svg}");
        assert!(svg.contains(r#"height="65""#), "{svg}");
        assert!(svg.contains("01-01 01:00: 4"));
        assert!(!svg.contains("<script"));
        let empty = bars("None", &[], 86_400, true).into_string();
        assert!(empty.contains("None (0)"));
    }
}
