//! The savings chart of the status page: one bar per day, stacked by workspace, drawn as SVG on the server
//! (no script). Pure: values in, markup out; every name is XML-escaped.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use jiff::civil::Date;

/// Colours for the stacks, each at least 4.5:1 against white (WCAG AA for text; bars are read with their legend).
const PALETTE: [&str; 8] = ["#1f5fa8", "#a14a00", "#2d7a2d", "#8a2b8a", "#b0182a", "#00707a", "#6b5300", "#4a4a9c"];

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 64.0;
const BOTTOM: f64 = 36.0;
const TOP: f64 = 16.0;

/// The SVG of `days` (each day's value per workspace, in `unit`), with the days in order and every workspace of
/// any day in the legend. An empty chart says so in words.
pub fn stacked_bars(days: &[(Date, BTreeMap<String, f64>)], unit: &str) -> String {
    let workspaces: Vec<&String> = {
        let mut all: Vec<&String> = days.iter().flat_map(|(_, values)| values.keys()).collect();
        all.sort();
        all.dedup();
        all
    };
    let colour = |workspace: &str| {
        let at = workspaces.iter().position(|name| name.as_str() == workspace).unwrap_or(0);
        PALETTE[at % PALETTE.len()]
    };
    let max = days.iter().map(|(_, values)| values.values().sum::<f64>()).fold(0.0_f64, f64::max);
    let legend_height = 20.0 * workspaces.len() as f64;
    let total_height = HEIGHT + legend_height;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" id="savings-chart" role="img" aria-labelledby="savings-chart-title savings-chart-desc" viewBox="0 0 {WIDTH} {total_height}" width="{WIDTH}" height="{total_height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(
        svg,
        r#"<title id="savings-chart-title">Saved per day, stacked by workspace ({})</title>"#,
        escape(unit)
    );
    let description = if max > 0.0 {
        format!("{} days, largest day {:.2} {}", days.len(), max, escape(unit))
    } else {
        "Nothing saved in these days".to_owned()
    };
    let _ = write!(svg, r#"<desc id="savings-chart-desc">{description}</desc>"#);
    let plot_height = HEIGHT - TOP - BOTTOM;
    let plot_width = WIDTH - LEFT - 8.0;
    // Axis and its top value.
    let _ = write!(
        svg,
        r##"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{}" stroke="#333"/><line x1="{LEFT}" y1="{y}" x2="{}" y2="{y}" stroke="#333"/>"##,
        HEIGHT - BOTTOM,
        WIDTH - 8.0,
        y = HEIGHT - BOTTOM
    );
    let _ = write!(
        svg,
        r##"<text x="{}" y="{}" text-anchor="end" fill="#1a1a1a">{:.2}</text><text x="{}" y="{}" text-anchor="end" fill="#1a1a1a">0</text>"##,
        LEFT - 4.0,
        TOP + 4.0,
        max,
        LEFT - 4.0,
        HEIGHT - BOTTOM
    );
    if max <= 0.0 {
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" text-anchor="middle" fill="#1a1a1a">Nothing saved in these days</text>"##,
            LEFT + plot_width / 2.0,
            TOP + plot_height / 2.0
        );
    }
    let slot = plot_width / days.len().max(1) as f64;
    for (index, (date, values)) in days.iter().enumerate() {
        let x = LEFT + slot * index as f64 + slot * 0.15;
        let bar_width = slot * 0.7;
        let mut y = HEIGHT - BOTTOM;
        for (workspace, value) in values {
            if *value <= 0.0 || max <= 0.0 {
                continue;
            }
            let height = value / max * plot_height;
            y -= height;
            let _ = write!(
                svg,
                r#"<rect class="bar" x="{x:.1}" y="{y:.1}" width="{bar_width:.1}" height="{height:.1}" fill="{}" data-workspace="{}" data-day="{date}"><title>{date} {}: {value:.2} {}</title></rect>"#,
                colour(workspace),
                escape(workspace),
                escape(workspace),
                escape(unit)
            );
        }
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{}" text-anchor="middle" fill="#1a1a1a">{}</text>"##,
            x + bar_width / 2.0,
            HEIGHT - BOTTOM + 16.0,
            date.strftime("%m-%d")
        );
    }
    for (index, workspace) in workspaces.iter().enumerate() {
        let y = HEIGHT + 20.0 * index as f64;
        let _ = write!(
            svg,
            r##"<rect x="{LEFT}" y="{y}" width="12" height="12" fill="{}"/><text x="{}" y="{}" fill="#1a1a1a">{}</text>"##,
            colour(workspace),
            LEFT + 18.0,
            y + 11.0,
            escape(workspace)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Text as XML character data or attribute value.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        text.parse().expect("date")
    }

    #[test]
    fn bars_stack_per_day_with_heights_in_proportion_and_names_escaped() {
        let days = vec![
            (date("2026-03-01"), BTreeMap::from([("ws-a".to_owned(), 2.0), ("<ws&b>".to_owned(), 2.0)])),
            (date("2026-03-02"), BTreeMap::from([("ws-a".to_owned(), 1.0)])),
            (date("2026-03-03"), BTreeMap::new()),
        ];
        let svg = stacked_bars(&days, "USD");
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"), "{svg}");
        assert_eq!(svg.matches(r#"class="bar""#).count(), 3, "{svg}");
        // The largest day (4.0) fills the plot (240 - 16 - 36 = 188 px); 2.0 is half of it, 1.0 a quarter.
        assert!(svg.contains(r##"height="94.0" fill="#1f5fa8" data-workspace="&lt;ws&amp;b&gt;""##), "{svg}");
        assert!(svg.contains(r#"height="47.0""#), "{svg}");
        assert!(!svg.contains("<ws&b>"), "names are escaped: {svg}");
        assert!(svg.contains("03-03"), "a day without savings still has its label");
    }

    /// WCAG 2 contrast ratio of a `#rrggbb` colour against white.
    fn contrast_with_white(colour: &str) -> f64 {
        let channel = |at: usize| {
            let value = f64::from(u8::from_str_radix(&colour[at..at + 2], 16).expect("hex")) / 255.0;
            if value <= 0.03928 { value / 12.92 } else { ((value + 0.055) / 1.055).powf(2.4) }
        };
        let luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
        1.05 / (luminance + 0.05)
    }

    #[test]
    fn every_stack_colour_reads_at_least_4_5_to_1_on_white() {
        for colour in PALETTE {
            assert!(contrast_with_white(colour) >= 4.5, "{colour}: {:.2}", contrast_with_white(colour));
        }
        assert!(contrast_with_white("#767676") >= 4.5, "the check itself: #767676 is the lightest AA grey");
        assert!(contrast_with_white("#777777") < 4.5, "the check itself: #777777 is not AA");
    }

    #[test]
    fn an_empty_chart_says_so() {
        let svg = stacked_bars(&[(date("2026-03-01"), BTreeMap::new())], "USD");
        assert!(svg.contains("Nothing saved in these days"), "{svg}");
        assert!(!svg.contains(r#"class="bar""#));
    }
}
