//! The charts of `picket eval`, as standalone SVG documents written by hand: a precision–recall
//! curve over the thresholds, alerts and incidents per hour of event time, and the time-to-triage
//! histogram. Each has a title, axes with ticks, axis labels and a legend where it has series.

use std::fmt::Write;

use crate::{Report, ThresholdQuality};

/// The three charts, with the file names `picket eval --charts DIR` writes them under.
pub fn all(report: &Report, title: &str) -> Vec<(&'static str, String)> {
    vec![
        ("precision-recall.svg", precision_recall(report, title)),
        ("volume.svg", volume(report, title)),
        ("time-to-triage.svg", time_to_triage(report, title)),
    ]
}

const W: f64 = 760.0;
const H: f64 = 440.0;
/// The plot area.
const X0: f64 = 70.0;
const X1: f64 = 530.0;
const Y0: f64 = 60.0;
const Y1: f64 = 370.0;
const ALERTS: &str = "#1f77b4";
const INCIDENTS: &str = "#ff7f0e";
const ESCALATED: &str = "#d62728";
const GRID: &str = "#e5e5e5";

/// Escapes text for XML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn open(out: &mut String, title: &str, subtitle: &str) {
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">
<title>{t}</title>
<rect width="{W}" height="{H}" fill="#ffffff"/>
<text x="{cx}" y="24" text-anchor="middle" font-size="16" font-weight="bold">{t}</text>
<text x="{cx}" y="42" text-anchor="middle" fill="#555555">{s}</text>
"##,
        t = escape(title),
        s = escape(subtitle),
        cx = W / 2.0,
    );
}

/// Axes (with their labels) around the plot area.
fn axes(out: &mut String, x1: f64, x_label: &str, y_label: &str) {
    let _ = write!(
        out,
        r##"<path d="M{X0} {Y0} V{Y1} H{x1}" fill="none" stroke="#333333"/>
<text x="{xm}" y="{xl}" text-anchor="middle">{x}</text>
<text x="18" y="{ym}" text-anchor="middle" transform="rotate(-90 18 {ym})">{y}</text>
"##,
        xm = (X0 + x1) / 2.0,
        xl = Y1 + 40.0,
        ym = (Y0 + Y1) / 2.0,
        x = escape(x_label),
        y = escape(y_label),
    );
}

fn x_tick(out: &mut String, x: f64, label: &str) {
    let _ = writeln!(
        out,
        r##"<path d="M{x:.1} {Y0} V{Y1}" stroke="{GRID}"/><path d="M{x:.1} {Y1} v5" stroke="#333333"/><text x="{x:.1}" y="{ty}" text-anchor="middle">{l}</text>"##,
        ty = Y1 + 18.0,
        l = escape(label),
    );
}

fn y_tick(out: &mut String, x1: f64, y: f64, label: &str) {
    let _ = writeln!(
        out,
        r##"<path d="M{X0} {y:.1} H{x1}" stroke="{GRID}"/><path d="M{X0} {y:.1} h-5" stroke="#333333"/><text x="{tx}" y="{ty:.1}" text-anchor="end">{l}</text>"##,
        tx = X0 - 8.0,
        ty = y + 4.0,
        l = escape(label),
    );
}

/// A legend entry at row `i` of the legend column right of the plot: a line (for a series) with the
/// marker, or the marker alone (for a point kind).
fn legend(out: &mut String, i: usize, color: &str, marker: &str, label: &str) {
    let y = Y0 + 10.0 + 22.0 * i as f64;
    let x = X1 + 30.0;
    if !matches!(marker, "diamond" | "triangle") {
        let _ = write!(
            out,
            r#"<path d="M{x} {y} h24" stroke="{color}" stroke-width="2"/>"#
        );
    }
    let _ = writeln!(
        out,
        r#"{m}<text x="{tx}" y="{ty}">{l}</text>"#,
        m = marker_at(marker, x + 12.0, y, color),
        tx = x + 32.0,
        ty = y + 4.0,
        l = escape(label),
    );
}

fn marker_at(kind: &str, x: f64, y: f64, color: &str) -> String {
    match kind {
        "circle" => format!(r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{color}"/>"#),
        "square" => format!(
            r#"<rect x="{:.1}" y="{:.1}" width="6" height="6" fill="{color}"/>"#,
            x - 3.0,
            y - 3.0
        ),
        "diamond" => format!(
            r##"<path d="M{x:.1} {:.1} l6 6 l-6 6 l-6 -6 z" fill="{color}" stroke="#000000"/>"##,
            y - 6.0
        ),
        "triangle" => format!(
            r#"<path d="M{x:.1} {:.1} l5 9 h-10 z" fill="none" stroke="{color}" stroke-width="1.5"/>"#,
            y - 5.0
        ),
        _ => String::new(),
    }
}

/// A step of 1, 2 or 5 times a power of ten giving at most `ticks` ticks up to `max`.
fn nice_step(max: f64, ticks: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let raw = max / ticks;
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

fn fmt_count(v: f64) -> String {
    if v >= 1e6 {
        format!("{}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{}k", v / 1e3)
    } else {
        format!("{v}")
    }
}

/// Precision (y) against recall (x) at every threshold: the malice-score sweep as a curve for alerts
/// and for incidents, Picket's own decision (escalation ≠ auto_close) as a diamond, and priority ≤
/// P1, P2, P3 as triangles. Points whose precision or recall is undefined are left out.
pub fn precision_recall(report: &Report, title: &str) -> String {
    let mut out = String::new();
    open(
        &mut out,
        &format!("{title}: precision and recall by escalation threshold"),
        "positive = attack-labelled; malice-score sweep 1.00 → 0.00, Picket's decision and priority thresholds",
    );
    let px = |r: f64| X0 + r.clamp(0.0, 1.0) * (X1 - X0);
    let py = |p: f64| Y1 - p.clamp(0.0, 1.0) * (Y1 - Y0);
    for k in 0..=5 {
        let v = f64::from(k) / 5.0;
        x_tick(&mut out, px(v), &format!("{v:.1}"));
        y_tick(&mut out, X1, py(v), &format!("{v:.1}"));
    }
    axes(&mut out, X1, "recall", "precision");
    let point = |q: &ThresholdQuality, incidents: bool| {
        let s = if incidents { q.incidents } else { q.alerts };
        Some((px(s.recall?), py(s.precision?)))
    };
    for (incidents, color, marker) in [(false, ALERTS, "circle"), (true, INCIDENTS, "square")] {
        let pts: Vec<(f64, f64)> = report
            .quality
            .iter()
            .filter(|q| q.family == "malice")
            .filter_map(|q| point(q, incidents))
            .collect();
        if !pts.is_empty() {
            let mut d = String::new();
            for (i, (x, y)) in pts.iter().enumerate() {
                let _ = write!(d, "{}{x:.1} {y:.1} ", if i == 0 { "M" } else { "L" });
            }
            let _ = writeln!(
                out,
                r#"<path d="{}" fill="none" stroke="{color}" stroke-width="2"/>"#,
                d.trim_end()
            );
            for (x, y) in &pts {
                out.push_str(&marker_at(marker, *x, *y, color));
            }
            out.push('\n');
        }
        for q in report.quality.iter().filter(|q| q.family != "malice") {
            let Some((x, y)) = point(q, incidents) else {
                continue;
            };
            if q.threshold == "escalation != auto_close" {
                out.push_str(&marker_at("diamond", x, y, color));
            } else if let Some(p) = q.threshold.strip_prefix("priority <= ") {
                out.push_str(&marker_at("triangle", x, y, color));
                let _ = write!(
                    out,
                    r#"<text x="{:.1}" y="{:.1}" font-size="10" fill="{color}">{}</text>"#,
                    x + 6.0,
                    y - 4.0,
                    escape(p)
                );
            }
            out.push('\n');
        }
    }
    legend(&mut out, 0, ALERTS, "circle", "alerts (malice sweep)");
    legend(&mut out, 1, INCIDENTS, "square", "incidents (malice sweep)");
    legend(&mut out, 2, "#888888", "diamond", "Picket: not auto_close");
    legend(&mut out, 3, "#888888", "triangle", "priority ≤ P1, P2, P3");
    out.push_str("</svg>\n");
    out
}

/// One series of [`volume`]: its count in a bucket.
type Count = fn(&crate::Bucket) -> u64;

/// Alerts, incidents (by their first alert) and escalated incidents (by when they became
/// escalated) per hour of event time, on a log scale (y = log10(1 + count)).
pub fn volume(report: &Report, title: &str) -> String {
    let et = &report.event_time;
    let mut out = String::new();
    let per = (et.bucket_secs / 3_600).max(1);
    open(
        &mut out,
        &format!("{title}: alerts and incidents per hour of event time"),
        &match &et.start_utc {
            Some(s) if per == 1 => format!("replayed in event time from {s}; log scale"),
            Some(s) => format!("replayed in event time from {s}; counts per {per} h; log scale"),
            None => "no alert with an event time".to_owned(),
        },
    );
    let n = et.buckets.len().max(1) as f64;
    let max = et
        .buckets
        .iter()
        .map(|b| b.alerts.max(b.incidents).max(b.escalated))
        .max()
        .unwrap_or(0) as f64;
    let decades = (1.0 + max).log10().ceil().max(1.0);
    let px = |k: f64| X0 + k / n * (X1 - X0);
    let py = |v: f64| Y1 - (1.0 + v).log10() / decades * (Y1 - Y0);
    // x ticks: hours from the start, a round step, at most ~10.
    let hours = n * per as f64;
    let step = [1.0, 2.0, 3.0, 6.0, 12.0, 24.0, 48.0, 72.0, 168.0]
        .into_iter()
        .find(|s| hours / s <= 10.0)
        .unwrap_or_else(|| nice_step(hours, 10.0));
    let mut h = 0.0;
    while h <= hours + 1e-9 {
        x_tick(&mut out, px(h / per as f64), &format!("{h}"));
        h += step;
    }
    let mut v = 0.0f64;
    loop {
        y_tick(&mut out, X1, py(v), &fmt_count(v));
        if v >= max {
            break;
        }
        v = if v == 0.0 { 1.0 } else { v * 10.0 };
    }
    axes(
        &mut out,
        X1,
        "event time, hours from the first alert's hour",
        "per hour (log scale)",
    );
    let series: [(&str, &str, Count); 3] = [
        (ALERTS, "alerts", |b| b.alerts),
        (INCIDENTS, "incidents (first alert)", |b| b.incidents),
        (ESCALATED, "escalated incidents", |b| b.escalated),
    ];
    for (i, (color, label, f)) in series.into_iter().enumerate() {
        if !et.buckets.is_empty() {
            // A step line: each bucket a flat segment over its width.
            let mut d = String::new();
            for (k, b) in et.buckets.iter().enumerate() {
                let y = py(f(b) as f64 / per as f64);
                let (xa, xb) = (px(k as f64), px(k as f64 + 1.0));
                let _ = write!(
                    d,
                    "{}{xa:.1} {y:.1} H{xb:.1} ",
                    if k == 0 { "M" } else { "L" }
                );
            }
            let _ = writeln!(
                out,
                r#"<path d="{}" fill="none" stroke="{color}" stroke-width="1.5"/>"#,
                d.trim_end()
            );
        }
        legend(&mut out, i, color, "", label);
    }
    let _ = writeln!(
        out,
        r##"<text x="{x}" y="{y}" fill="#555555">mean/h: {:.0} alerts,</text><text x="{x}" y="{y2}" fill="#555555">{:.1} incidents, {:.2} escalated</text>"##,
        et.alerts_per_hour.mean,
        et.incidents_per_hour.mean,
        et.escalated_per_hour.mean,
        x = X1 + 30.0,
        y = Y0 + 90.0,
        y2 = Y0 + 106.0,
    );
    out.push_str("</svg>\n");
    out
}

/// How many escalated incidents became escalated how long (in event time) after their first alert.
pub fn time_to_triage(report: &Report, title: &str) -> String {
    let t = &report.time_to_triage;
    let mut out = String::new();
    let median = t
        .median_secs
        .map_or_else(|| "-".to_owned(), crate::text::duration);
    open(
        &mut out,
        &format!("{title}: time to triage in event time"),
        &format!(
            "{} escalated incidents, {} measured; median {median}: first alert → escalated",
            t.escalated_incidents, t.measured
        ),
    );
    let max = t.histogram.iter().map(|b| b.count).max().unwrap_or(0) as f64;
    let step = nice_step(max.max(1.0), 6.0).max(1.0);
    let top = (max / step).ceil().max(1.0) * step;
    // No legend: the plot takes the whole width.
    let x1 = W - 30.0;
    let py = |v: f64| Y1 - v / top * (Y1 - Y0);
    let mut v = 0.0;
    while v <= top + 1e-9 {
        y_tick(&mut out, x1, py(v), &fmt_count(v));
        v += step;
    }
    axes(
        &mut out,
        x1,
        "delay from the incident's first alert to its escalation (event time)",
        "escalated incidents",
    );
    let n = t.histogram.len().max(1) as f64;
    let slot = (x1 - X0) / n;
    for (k, b) in t.histogram.iter().enumerate() {
        let x = X0 + slot * k as f64;
        let y = py(b.count as f64);
        let _ = writeln!(
            out,
            r##"<rect x="{:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{ESCALATED}"/><text x="{cx:.1}" y="{:.1}" text-anchor="middle">{}</text><text x="{cx:.1}" y="{ly}" text-anchor="middle">{}</text>"##,
            x + slot * 0.1,
            slot * 0.8,
            Y1 - y,
            y - 4.0,
            b.count,
            escape(b.label),
            cx = x + slot / 2.0,
            ly = Y1 + 18.0,
        );
    }
    out.push_str("</svg>\n");
    out
}
