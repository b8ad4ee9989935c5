//! The terminal report of `picket eval`.

use std::fmt::Write;

use crate::{Range, Report, Scores};

/// A duration in seconds, in the largest unit that reads well (`0 s`, `45 s`, `12 min`, `3.2 h`,
/// `1.5 d`).
pub(crate) fn duration(secs: i64) -> String {
    let s = secs as f64;
    if secs < 60 {
        format!("{secs} s")
    } else if secs < 3_600 {
        format!("{:.0} min", s / 60.0)
    } else if secs < 86_400 {
        format!("{:.1} h", s / 3_600.0)
    } else {
        format!("{:.1} d", s / 86_400.0)
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{:.1}%", v * 100.0))
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"))
}

fn hours(r: Range) -> String {
    if (r.low - r.high).abs() < 0.05 {
        format!("{:.1} h", r.low)
    } else {
        format!("{:.1}–{:.1} h", r.low, r.high)
    }
}

fn scores(s: &Scores) -> String {
    let c = s.confusion;
    format!(
        "{:>6} {:>6} {:>7} {:>7} {:>7} {:>7}",
        num(s.precision),
        num(s.recall),
        c.tp,
        c.fp,
        c.fn_,
        c.tn
    )
}

/// The report as a terminal table, titled `title` (the inputs, usually).
pub fn render_text(r: &Report, title: &str) -> String {
    let mut o = String::new();
    let a = &r.alerts;
    let i = &r.incidents;
    let _ = writeln!(o, "picket eval: {title}");
    let _ = writeln!(
        o,
        "alerts       {} read: {} false positive, {} attack, {} unlabelled; {} in no incident (rejected)",
        a.total, a.benign, a.attack, a.unlabelled, a.without_incident
    );
    let _ = writeln!(
        o,
        "incidents    {}: {} escalated ({} on_call, {} analyst_queue), {} auto_close; {} alerts/incident",
        i.total,
        i.escalated,
        i.on_call,
        i.analyst_queue,
        i.auto_close,
        i.alerts_per_incident
            .map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"))
    );
    let _ = writeln!(
        o,
        "throughput   {:.2} s wall, {} alerts/s (evaluation bookkeeping apart: {:.2} s)",
        r.throughput.wall_secs,
        r.throughput
            .alerts_per_sec
            .map_or_else(|| "-".to_owned(), |v| format!("{v:.0}")),
        r.throughput.eval_overhead_secs
    );

    let m = &r.automation;
    let _ = writeln!(o, "\nAutomation (auto_close: handled without a human)");
    let _ = writeln!(
        o,
        "  alerts auto-closed                  {:>8} of {:<8} {}",
        m.alerts_auto_closed,
        a.total,
        pct(m.alert_share)
    );
    let _ = writeln!(
        o,
        "  false-positive alerts auto-closed   {:>8} of {:<8} {}",
        m.fp_auto_closed,
        m.fp_alerts,
        pct(m.fp_share)
    );
    let _ = writeln!(
        o,
        "  false positives left for humans     {:>8} alerts; {} escalated incidents with only false-positive alerts",
        m.fp_alerts_to_humans, m.fp_incidents_to_humans
    );

    let _ = writeln!(
        o,
        "\nAttack phases (by start in event time; * = no distinctive alert: only rules already firing before it began)"
    );
    if r.phases.is_empty() {
        let _ = writeln!(o, "  (no attack-labelled alert)");
    } else {
        let _ = writeln!(
            o,
            "  {:<24} {:>8} {:>10} {:>12}  reached",
            "phase", "alerts", "escalated", "distinctive"
        );
        for p in &r.phases {
            let name = if p.distinctive_alerts == 0 {
                format!("{}*", p.name)
            } else {
                p.name.clone()
            };
            let _ = writeln!(
                o,
                "  {:<24} {:>8} {:>10} {:>12}  {}",
                name,
                p.alerts,
                p.escalated_alerts,
                p.distinctive_alerts,
                if p.reached { "yes" } else { "NO" }
            );
        }
        let c = &r.coverage;
        let _ = writeln!(
            o,
            "  reached {}/{} phases; {}/{} of those with a distinctive alert",
            c.reached, c.phases, c.distinctive_reached, c.distinctive
        );
    }

    let _ = writeln!(
        o,
        "\nQuality by escalation threshold (positive = attack-labelled; unlabelled alerts left out)"
    );
    let _ = writeln!(
        o,
        "  {:<26} {:^47}   {:^47}",
        "", "over alerts", "over incidents"
    );
    let head = format!(
        "{:>6} {:>6} {:>7} {:>7} {:>7} {:>7}",
        "prec", "recall", "tp", "fp", "fn", "tn"
    );
    let _ = writeln!(o, "  {:<26} {head}   {head}", "escalated when");
    for q in &r.quality {
        let _ = writeln!(
            o,
            "  {:<26} {}   {}",
            q.threshold,
            scores(&q.alerts),
            scores(&q.incidents)
        );
    }

    let b = &r.baseline;
    let _ = writeln!(
        o,
        "\nManual baseline ({} min per alert by hand; {} min per escalated incident with Picket)",
        b.minutes_per_alert, b.minutes_per_incident
    );
    let _ = writeln!(
        o,
        "  every alert by hand                 {} ({} alerts)",
        hours(b.manual_hours),
        b.alerts
    );
    let _ = writeln!(
        o,
        "  what Picket leaves to humans        {} ({} escalated incidents, {} alerts in no incident)",
        hours(b.picket_hours),
        b.escalated_incidents,
        b.alerts_without_incident
    );
    let _ = writeln!(
        o,
        "  analyst hours saved                 {}{}",
        hours(b.saved_hours),
        b.saved_share
            .map_or_else(String::new, |s| if (s.low - s.high).abs() < 0.0005 {
                format!(" ({:.1}%)", s.low * 100.0)
            } else {
                format!(" ({:.1}–{:.1}%)", s.low * 100.0, s.high * 100.0)
            })
    );

    let e = &r.event_time;
    let _ = writeln!(o, "\nEvent time (the replay runs in event-time order)");
    let _ = writeln!(
        o,
        "  span                {} → {} ({:.0} h)",
        e.start_utc.as_deref().unwrap_or("-"),
        e.end_utc.as_deref().unwrap_or("-"),
        e.hours
    );
    let _ = writeln!(
        o,
        "  per hour            alerts mean {:.1}, peak {:.0}; incidents mean {:.2}, peak {:.0}; escalated mean {:.2}, peak {:.0}",
        e.alerts_per_hour.mean,
        e.alerts_per_hour.peak,
        e.incidents_per_hour.mean,
        e.incidents_per_hour.peak,
        e.escalated_per_hour.mean,
        e.escalated_per_hour.peak
    );
    let t = &r.time_to_triage;
    let d = |v: Option<i64>| v.map_or_else(|| "-".to_owned(), duration);
    let _ = writeln!(
        o,
        "  time to triage      {} escalated incidents ({} measured): median {}, p90 {}, max {}, mean {}",
        t.escalated_incidents,
        t.measured,
        d(t.median_secs),
        d(t.p90_secs),
        d(t.max_secs),
        t.mean_secs
            .map_or_else(|| "-".to_owned(), |m| duration(m.round() as i64))
    );
    let top = t
        .histogram
        .iter()
        .map(|b| b.count)
        .max()
        .unwrap_or(0)
        .max(1);
    for bin in &t.histogram {
        let bar = "#".repeat(((bin.count * 40).div_ceil(top)) as usize);
        let _ = writeln!(o, "    {:>9} {:>6} {bar}", bin.label, bin.count);
    }
    o
}
