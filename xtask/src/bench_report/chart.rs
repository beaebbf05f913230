//! `benches/results/spawn.svg`: the spawn table as grouped bars on a log scale, drawn with
//! plotters.

use anyhow::{anyhow, Result};
use plotters::prelude::*;

use super::markdown::format_us;
use super::summary::Summary;

/// One colour per variant, in table order (the Dark2 palette).
const COLORS: [RGBColor; 6] = [
    RGBColor(0x1b, 0x9e, 0x77),
    RGBColor(0x66, 0xa6, 0x1e),
    RGBColor(0x75, 0x70, 0xb3),
    RGBColor(0xd9, 0x5f, 0x02),
    RGBColor(0xe7, 0x29, 0x8a),
    RGBColor(0xe6, 0xab, 0x02),
];

/// The share of a column's width its bars take.
const BARS_WIDTH: f64 = 0.8;

/// The chart as SVG text.
pub fn render(summary: &Summary) -> Result<String> {
    let mut svg = String::new();
    draw(summary, &mut svg).map_err(|e| anyhow!("cannot draw the chart: {e}"))?;
    Ok(svg)
}

/// Labels of the log axis: `10 µs` to `100 ms`.
fn axis_label(us: &f64) -> String {
    if *us >= 1000.0 {
        format!("{} ms", us / 1000.0)
    } else {
        format!("{us} µs")
    }
}

fn draw(summary: &Summary, svg: &mut String) -> Result<(), Box<dyn std::error::Error>> {
    let columns = summary.columns.len();
    let bars = summary.rows.len().max(1);
    let width = 130 * columns as u32 + 260;
    let root = SVGBackend::with_string(svg, (width, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Spawn + wait, median µs (log scale; lower is better)",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(64)
        .build_cartesian_2d(-0.5..columns as f64 - 0.5, (10.0..100_000.0).log_scale())?;
    let column_label = |x: &f64| {
        let column = x.round();
        if (x - column).abs() < 1e-6 && column >= 0.0 {
            summary
                .columns
                .get(column as usize)
                .map_or_else(String::new, |c| c.label.clone())
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(columns)
        .x_label_formatter(&column_label)
        .y_label_formatter(&axis_label)
        .label_style(("sans-serif", 12))
        .draw()?;
    let bar = BARS_WIDTH / bars as f64;
    for (b, (variant, cells)) in summary.rows.iter().enumerate() {
        let color = COLORS[b % COLORS.len()];
        // Bar `b` of each column, left to right; `None` cells leave a gap.
        let measured: Vec<(f64, f64)> = cells
            .iter()
            .enumerate()
            .filter_map(|(c, cell)| Some((c as f64 - BARS_WIDTH / 2.0 + b as f64 * bar, (*cell)?)))
            .collect();
        chart
            .draw_series(
                measured.iter().map(|&(x, us)| {
                    Rectangle::new([(x, 10.0), (x + bar * 0.85, us)], color.filled())
                }),
            )?
            .label(variant.label.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 12, y + 6)], color.filled()));
        chart.draw_series(measured.iter().map(|&(x, us)| {
            Text::new(
                format_us(us),
                (x + bar * 0.2, us * 1.1),
                ("sans-serif", 9)
                    .into_font()
                    .transform(FontTransform::Rotate270),
            )
        }))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 12))
        .draw()?;
    root.present()?;
    Ok(())
}
