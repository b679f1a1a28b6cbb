//! PNG plots of a run: the latency distribution (percentile spectrum, one line per measured
//! operation) and throughput over time (one line per counter, per second).
//!
//! plotters draws text with a TrueType font loaded at run time (`ACCORD_PLOT_FONT`, else a few
//! usual system paths); without one there is no plot (the JSON result still has every number).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use anyhow::Context;
use hdrhistogram::Histogram;
use plotters::prelude::*;

const FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
];

/// Registers a sans-serif font with plotters once; false when none was found.
fn font_ready() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| {
        let env = std::env::var("ACCORD_PLOT_FONT").ok();
        let candidates = env
            .iter()
            .map(String::as_str)
            .chain(FONT_PATHS.iter().copied());
        for path in candidates {
            if let Ok(bytes) = std::fs::read(path) {
                // Leaked once per process: plotters keeps registered fonts for 'static.
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                    return true;
                }
            }
        }
        false
    })
}

const SIZE: (u32, u32) = (1000, 600);

/// x of a quantile on the "nines" axis: 0 → 0, 0.9 → 1, 0.99 → 2, 0.999 → 3 …
fn nines(q: f64) -> f64 {
    -(1.0 - q).max(1e-7).log10()
}

/// The percentile spectrum of each histogram, latency (ms) against percentile.
pub fn latency(path: &Path, title: &str, hists: &[(String, Histogram<u64>)]) -> anyhow::Result<()> {
    anyhow::ensure!(!hists.is_empty(), "no latency samples");
    anyhow::ensure!(
        font_ready(),
        "no TrueType font found (set ACCORD_PLOT_FONT)"
    );
    let series: Vec<(String, Vec<(f64, f64)>)> = hists
        .iter()
        .map(|(name, h)| {
            let mut pts: Vec<(f64, f64)> = h
                .iter_quantiles(2)
                .map(|v| {
                    (
                        nines(v.quantile_iterated_to()),
                        v.value_iterated_to() as f64 / 1000.0,
                    )
                })
                .filter(|(x, _)| x.is_finite())
                .collect();
            pts.push((
                nines(1.0 - 1.0 / (h.len().max(1) as f64)),
                h.max() as f64 / 1000.0,
            ));
            (format!("{name} (n={})", h.len()), pts)
        })
        .collect();
    let max_x = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(x, _)| *x))
        .fold(1.0f64, f64::max)
        .clamp(1.0, 6.0);
    let max_y = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(_, y)| *y))
        .fold(0.001f64, f64::max)
        * 1.05;
    let min_y = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(_, y)| *y))
        .fold(f64::MAX, f64::min)
        .max(0.001)
        / 1.5;
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("{title}: latency"), ("sans-serif", 15))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..max_x, (min_y..max_y).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("latency (ms)")
        .x_labels(7)
        .x_label_formatter(&|x| {
            let p = 100.0 * (1.0 - 10f64.powf(-x));
            if p < 99.0 {
                format!("{p:.0}")
            } else {
                format!("{p:.*}", (*x as usize).saturating_sub(2).min(5))
            }
        })
        .y_label_formatter(&|y| format!("{y}"))
        .draw()?;
    for (i, (name, pts)) in series.into_iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(
                pts.into_iter().map(move |(x, y)| (x, y.max(min_y))),
                color.stroke_width(2),
            ))?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Per-second counts over the measured phase.
pub fn throughput(
    path: &Path,
    title: &str,
    timeline: &[BTreeMap<String, u64>],
) -> anyhow::Result<()> {
    anyhow::ensure!(!timeline.is_empty(), "empty timeline");
    anyhow::ensure!(
        font_ready(),
        "no TrueType font found (set ACCORD_PLOT_FONT)"
    );
    let mut names: Vec<&String> = timeline.iter().flat_map(|m| m.keys()).collect();
    names.sort();
    names.dedup();
    let max_y = timeline
        .iter()
        .flat_map(|m| m.values().copied())
        .max()
        .unwrap_or(1)
        .max(1) as f64
        * 1.1;
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    // Log scale: event counts and request counts differ by orders of magnitude.
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("{title}: throughput"), ("sans-serif", 15))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d(
            0.0..(timeline.len() as f64).max(1.0),
            (0.5f64..max_y.max(10.0)).log_scale(),
        )?;
    chart
        .configure_mesh()
        .x_desc("seconds into the measured phase")
        .y_desc("per second (log)")
        .y_label_formatter(&|y| format!("{y}"))
        .draw()?;
    for (i, name) in names.into_iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let pts = timeline.iter().enumerate().map(|(s, m)| {
            (
                s as f64 + 0.5,
                (m.get(name).copied().unwrap_or(0) as f64).max(0.5),
            )
        });
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(2)))?
            .label(name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// One small chart per series against minutes (the soak's time series), three to a row: the
/// series have different units and scales, and a flat line is what each panel should show.
pub fn panels(
    path: &Path,
    title: &str,
    series: &[(String, Vec<(f64, f64)>)],
) -> anyhow::Result<()> {
    let series: Vec<&(String, Vec<(f64, f64)>)> =
        series.iter().filter(|(_, pts)| !pts.is_empty()).collect();
    anyhow::ensure!(!series.is_empty(), "no series");
    anyhow::ensure!(
        font_ready(),
        "no TrueType font found (set ACCORD_PLOT_FONT)"
    );
    const COLS: usize = 3;
    let rows = series.len().div_ceil(COLS);
    let height = u32::try_from(rows).unwrap_or(1).saturating_mul(220) + 40;
    let root = BitMapBackend::new(path, (1200, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(&format!("{title}: over time"), ("sans-serif", 18))?;
    let areas = root.split_evenly((rows, COLS));
    let max_x = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(x, _)| *x))
        .fold(0.0f64, f64::max)
        .max(0.1);
    for (i, ((name, pts), area)) in series.iter().map(|s| (&s.0, &s.1)).zip(&areas).enumerate() {
        let lo = pts.iter().map(|(_, y)| *y).fold(f64::MAX, f64::min);
        let hi = pts.iter().map(|(_, y)| *y).fold(f64::MIN, f64::max);
        // Zero-based unless that flattens the line into the top (then a 10 % margin around it).
        let (y0, y1) = if lo >= 0.0 && lo < hi * 0.5 {
            (0.0, hi * 1.1)
        } else {
            let pad = ((hi - lo) * 0.1).max(hi.abs() * 0.05).max(1e-3);
            (lo - pad, hi + pad)
        };
        let color = Palette99::pick(i).to_rgba();
        let mut chart = ChartBuilder::on(area)
            .caption(name.as_str(), ("sans-serif", 14))
            .margin(8)
            .x_label_area_size(25)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..max_x, y0..y1)?;
        chart
            .configure_mesh()
            .x_labels(6)
            .y_labels(5)
            .x_desc("minutes")
            .y_label_formatter(&|y| {
                if y.abs() >= 10_000.0 {
                    format!("{:.0}k", y / 1000.0)
                } else {
                    format!("{y:.1}")
                }
            })
            .draw()?;
        chart.draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))?;
    }
    root.present()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
