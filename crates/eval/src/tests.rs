use proptest::prelude::*;

use super::*;

fn inc(id: &str, verdict: Verdict, confidence: f64, escalation: Escalation) -> IncidentFacts {
    let priority = match verdict {
        Verdict::Malicious => Priority::P1,
        Verdict::Suspicious => Priority::P2,
        Verdict::NeedsReview => Priority::P3,
        Verdict::Benign => Priority::P4,
    };
    IncidentFacts {
        id: id.to_owned(),
        verdict,
        priority,
        confidence,
        escalation,
        first_seen: 0,
        last_seen: 0,
        escalated_at: escalation.needs_human().then_some(0),
    }
}

fn row(label: Option<&str>, incident: Option<usize>, time: i64, rule: &str) -> Row {
    Row {
        label: label.and_then(|l| Label::parse(l, "fp")),
        incident,
        time: Some(time),
        rule: Some(rule.to_owned()),
    }
}

/// Two incidents: 0 escalated (malicious), 1 auto-closed (benign).
fn small() -> (Vec<Row>, Vec<IncidentFacts>) {
    let incidents = vec![
        inc("inc_a", Verdict::Malicious, 0.9, Escalation::OnCall),
        inc("inc_b", Verdict::Benign, 0.95, Escalation::AutoClose),
    ];
    let rows = vec![
        row(Some("fp"), Some(1), 10, "cron"),
        row(Some("fp"), Some(1), 20, "cron"),
        row(Some("scan"), Some(0), 30, "nmap"),
        row(Some("scan"), Some(1), 40, "cron"),
        row(Some("fp"), Some(0), 50, "nmap"),
        row(None, Some(1), 60, "cron"),
        row(Some("exfil"), Some(1), 70, "cron"),
    ];
    (rows, incidents)
}

#[test]
fn labels_parse_with_the_benign_value() {
    assert_eq!(
        Label::parse(" false_positive ", "false_positive"),
        Some(Label::Benign)
    );
    assert_eq!(
        Label::parse("dirb", "false_positive"),
        Some(Label::Attack("dirb".into()))
    );
    assert_eq!(Label::parse("  ", "false_positive"), None);
}

#[test]
fn malice_score_orders_the_verdicts_and_stays_in_range() {
    let s = |v, c| malice_score(v, c);
    assert_eq!(s(Verdict::Malicious, 1.0), 1.0);
    assert_eq!(s(Verdict::Malicious, 0.0), 0.75);
    assert_eq!(s(Verdict::Suspicious, 0.4), 0.6);
    assert_eq!(s(Verdict::NeedsReview, 0.4), 0.4);
    assert_eq!(s(Verdict::Benign, 1.0), 0.0);
    assert!(s(Verdict::Benign, 0.0) <= s(Verdict::NeedsReview, 1.0));
    assert!(s(Verdict::NeedsReview, 0.0) <= s(Verdict::Suspicious, 0.0));
    assert_eq!(s(Verdict::Malicious, f64::NAN), 0.75);
    assert_eq!(s(Verdict::Malicious, 7.0), 1.0);
}

#[test]
fn confusion_over_alerts_and_incidents() {
    let (rows, incidents) = small();
    let q = quality(&rows, &incidents, Threshold::NotAutoClose);
    // Alerts: scan in inc_a → tp; fp in inc_a → fp; scan and exfil in inc_b → fn; two fp in inc_b → tn.
    assert_eq!(
        q.alerts.confusion,
        Confusion {
            tp: 1,
            fp: 1,
            fn_: 2,
            tn: 2
        }
    );
    assert_eq!(q.alerts.precision, Some(0.5));
    assert_eq!(q.alerts.recall, Some(1.0 / 3.0));
    // Incidents: both hold an attack alert; inc_a escalated (tp), inc_b not (fn).
    assert_eq!(
        q.incidents.confusion,
        Confusion {
            tp: 1,
            fp: 0,
            fn_: 1,
            tn: 0
        }
    );
    // Nothing escalated at malice ≥ 1: precision undefined, recall 0.
    let q = quality(&rows, &incidents, Threshold::MaliceAtLeast(1.0));
    assert_eq!(q.alerts.precision, None);
    assert_eq!(q.alerts.recall, Some(0.0));
}

#[test]
fn rejected_rows_count_as_left_to_humans() {
    let incidents = vec![inc("i", Verdict::Benign, 0.95, Escalation::AutoClose)];
    let rows = vec![
        Row {
            label: Some(Label::Attack("x".into())),
            ..Row::default()
        },
        Row {
            label: Some(Label::Benign),
            incident: Some(99), // out of range: no incident
            ..Row::default()
        },
    ];
    let q = quality(&rows, &incidents, Threshold::OnCall);
    assert_eq!((q.alerts.confusion.tp, q.alerts.confusion.fp), (1, 1));
    let r = evaluate(&rows, &incidents, &Options::default());
    assert_eq!(r.alerts.without_incident, 2);
    assert_eq!(r.automation.fp_alerts_to_humans, 1);
    assert!(r.phases[0].reached);
}

#[test]
fn evaluate_small_case() {
    let (rows, incidents) = small();
    let r = evaluate(
        &rows,
        &incidents,
        &Options {
            minutes_per_alert: "10-20".parse().unwrap(),
            minutes_per_incident: Some("30".parse().unwrap()),
            wall_secs: 2.0,
            overhead_secs: 0.0,
        },
    );
    assert_eq!(r.alerts.total, 7);
    assert_eq!(
        (r.alerts.benign, r.alerts.attack, r.alerts.unlabelled),
        (3, 3, 1)
    );
    assert_eq!((r.incidents.escalated, r.incidents.auto_close), (1, 1));
    assert_eq!(r.incidents.alerts_per_incident, Some(3.5));
    assert_eq!(r.automation.alerts_auto_closed, 5);
    assert_eq!(
        (r.automation.fp_auto_closed, r.automation.fp_alerts),
        (2, 3)
    );
    assert_eq!(r.automation.fp_alerts_to_humans, 1);
    // inc_a holds an attack alert: not a false-positive incident.
    assert_eq!(r.automation.fp_incidents_to_humans, 0);
    // Phases by start: scan (t=30; nmap new → distinctive; cron not), exfil (t=70, cron seen).
    assert_eq!(
        r.phases,
        vec![
            Phase {
                name: "scan".into(),
                start: Some(30),
                alerts: 2,
                escalated_alerts: 1,
                reached: true,
                distinctive_alerts: 1,
            },
            Phase {
                name: "exfil".into(),
                start: Some(70),
                alerts: 1,
                escalated_alerts: 0,
                reached: false,
                distinctive_alerts: 0,
            },
        ]
    );
    assert_eq!(r.coverage.missed, vec!["exfil".to_owned()]);
    assert_eq!(
        (r.coverage.distinctive, r.coverage.distinctive_reached),
        (1, 1)
    );
    assert_eq!(r.throughput.alerts_per_sec, Some(3.5));
    // 7 alerts × 10–20 min by hand; 1 escalated incident × 30 min.
    let b = &r.baseline;
    assert!((b.manual_hours.low - 70.0 / 60.0).abs() < 1e-9);
    assert!((b.manual_hours.high - 140.0 / 60.0).abs() < 1e-9);
    assert!((b.picket_hours.low - 0.5).abs() < 1e-9);
    assert!((b.saved_hours.high - (140.0 - 30.0) / 60.0).abs() < 1e-9);
    // One hour bucket holds everything.
    assert_eq!(r.event_time.buckets.len(), 1);
    assert_eq!(r.event_time.buckets[0].alerts, 7);
    assert_eq!(r.event_time.buckets[0].incidents, 2);
    assert_eq!(r.event_time.buckets[0].escalated, 1);
    assert_eq!(r.time_to_triage.measured, 1);
    assert_eq!(r.time_to_triage.histogram[0].count, 1);
}

#[test]
fn time_to_triage_uses_escalated_at() {
    let mut incidents = Vec::new();
    for (k, delay) in [0i64, 30, 600, 7_200, 200_000].into_iter().enumerate() {
        let mut i = inc(
            &format!("i{k}"),
            Verdict::Suspicious,
            0.5,
            Escalation::AnalystQueue,
        );
        i.first_seen = 1_000;
        i.escalated_at = Some(1_000 + delay);
        incidents.push(i);
    }
    let mut unknown = inc("u", Verdict::Suspicious, 0.5, Escalation::AnalystQueue);
    unknown.escalated_at = None;
    incidents.push(unknown);
    let t = time_to_triage(&incidents);
    assert_eq!((t.escalated_incidents, t.measured), (6, 5));
    assert_eq!(t.median_secs, Some(600));
    assert_eq!(t.p90_secs, Some(200_000));
    assert_eq!(t.max_secs, Some(200_000));
    let counts: Vec<u64> = t.histogram.iter().map(|b| b.count).collect();
    assert_eq!(counts, vec![1, 1, 0, 1, 0, 1, 0, 1]);
}

#[test]
fn event_time_buckets_by_hour_and_widens_for_long_spans() {
    let rows = vec![
        row(Some("fp"), None, 3_599, "a"),
        row(Some("fp"), None, 3_600 * 5 + 1, "a"),
    ];
    let e = event_time(&rows, &[]);
    assert_eq!(e.bucket_secs, 3_600);
    assert_eq!(e.buckets.len(), 6);
    assert_eq!(e.buckets[0].start, 0);
    assert_eq!(e.alerts_per_hour.peak, 1.0);
    assert!((e.alerts_per_hour.mean - 2.0 / 6.0).abs() < 1e-9);
    let rows = vec![
        row(None, None, i64::MIN, "a"),
        row(None, None, i64::MAX, "a"),
    ];
    let e = event_time(&rows, &[]);
    assert!(e.buckets.len() as i64 <= MAX_BUCKETS + 1);
    assert_eq!(e.buckets.iter().map(|b| b.alerts).sum::<u64>(), 2);
}

#[test]
fn minutes_parse() {
    assert_eq!(
        "15-30".parse::<Minutes>(),
        Ok(Minutes {
            low: 15.0,
            high: 30.0
        })
    );
    assert_eq!(
        "7.5".parse::<Minutes>(),
        Ok(Minutes {
            low: 7.5,
            high: 7.5
        })
    );
    assert!("30-15".parse::<Minutes>().is_err());
    assert!("x".parse::<Minutes>().is_err());
    assert!("-5".parse::<Minutes>().is_err());
    assert!("inf".parse::<Minutes>().is_err());
}

/// Enough of XML to tell a well-formed document: tags nest and close, attributes are quoted, text
/// has no raw `<` or unknown entity.
fn well_formed(doc: &str) -> Result<(), String> {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = doc;
    let mut roots = 0;
    while let Some(p) = rest.find('<') {
        check_text(&rest[..p])?;
        rest = &rest[p + 1..];
        let end = rest.find('>').ok_or("unclosed tag")?;
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack.pop().ok_or(format!("stray </{name}>"))?;
            if open != name.trim() {
                return Err(format!("<{open}> closed by </{name}>"));
            }
            continue;
        }
        let self_closing = tag.ends_with('/');
        let body = tag.trim_end_matches('/');
        let name: String = body.chars().take_while(|c| !c.is_whitespace()).collect();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(format!("bad tag name in <{tag}>"));
        }
        if !body.matches('"').count().is_multiple_of(2) {
            return Err(format!("unbalanced quotes in <{tag}>"));
        }
        for value in body.split('"').skip(1).step_by(2) {
            check_text(value)?;
        }
        if stack.is_empty() {
            roots += 1;
        }
        if !self_closing {
            stack.push(name);
        }
    }
    check_text(rest)?;
    if !stack.is_empty() {
        return Err(format!("unclosed {stack:?}"));
    }
    if roots != 1 {
        return Err(format!("{roots} root elements"));
    }
    Ok(())
}

fn check_text(t: &str) -> Result<(), String> {
    let mut rest = t;
    while let Some(p) = rest.find('&') {
        let end = rest[p..].find(';').ok_or("bare &")?;
        let ent = &rest[p + 1..p + end];
        if !["amp", "lt", "gt", "quot", "apos"].contains(&ent) {
            return Err(format!("unknown entity &{ent};"));
        }
        rest = &rest[p + end..];
    }
    if t.contains('>') && t.trim().starts_with('<') {
        return Err("markup in text".into());
    }
    Ok(())
}

#[test]
fn the_checker_rejects_bad_xml() {
    assert!(well_formed("<svg><g></svg>").is_err());
    assert!(well_formed("<svg>a & b</svg>").is_err());
    assert!(well_formed("<svg><text x=\"1>a</text></svg>").is_err());
    assert!(well_formed("<svg><rect/></svg>").is_ok());
}

#[test]
fn charts_are_well_formed_svg_with_titles_and_axes() {
    let (mut rows, incidents) = small();
    // A phase name that needs escaping must not break the document.
    rows.push(row(Some("<&\"phase'>"), Some(0), 80, "x<y"));
    let r = evaluate(&rows, &incidents, &Options::default());
    for (name, svg) in svg::all(&r, "test & <scenario>") {
        well_formed(&svg).unwrap_or_else(|e| panic!("{name}: {e}\n{svg}"));
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("test &amp; &lt;scenario&gt;"), "{name}");
        assert!(svg.matches("<text").count() >= 5, "{name}: axes labelled");
    }
    let pr = svg::precision_recall(&r, "t");
    assert!(pr.contains(">recall<") && pr.contains(">precision<"));
    // Empty report: still valid documents.
    let empty = evaluate(&[], &[], &Options::default());
    for (name, svg) in svg::all(&empty, "empty") {
        well_formed(&svg).unwrap_or_else(|e| panic!("{name}: {e}\n{svg}"));
    }
}

#[test]
fn text_report_names_every_section() {
    let (rows, incidents) = small();
    let r = evaluate(&rows, &incidents, &Options::default());
    let t = render_text(&r, "small");
    for s in [
        "Automation",
        "Attack phases",
        "exfil*",
        "Quality by escalation threshold",
        "escalation != auto_close",
        "malice >= 0.50",
        "Manual baseline",
        "Event time",
        "time to triage",
    ] {
        assert!(t.contains(s), "missing {s}:\n{t}");
    }
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["quality"][1]["alerts"]["fn"], 2);
}

fn arb_incident() -> impl Strategy<Value = IncidentFacts> {
    (
        prop_oneof![
            Just(Verdict::Malicious),
            Just(Verdict::Suspicious),
            Just(Verdict::NeedsReview),
            Just(Verdict::Benign)
        ],
        prop_oneof![
            Just(Priority::P1),
            Just(Priority::P2),
            Just(Priority::P3),
            Just(Priority::P4)
        ],
        prop_oneof![
            Just(Escalation::OnCall),
            Just(Escalation::AnalystQueue),
            Just(Escalation::AutoClose)
        ],
        prop_oneof![0.0..=1.0f64, Just(f64::NAN), -1.0..2.0f64],
        0i64..100_000,
        proptest::option::of(0i64..200_000),
    )
        .prop_map(
            |(verdict, priority, escalation, confidence, first, at)| IncidentFacts {
                id: String::new(),
                verdict,
                priority,
                confidence,
                escalation,
                first_seen: first,
                last_seen: first,
                escalated_at: at,
            },
        )
}

fn arb_case() -> impl Strategy<Value = (Vec<Row>, Vec<IncidentFacts>)> {
    proptest::collection::vec(arb_incident(), 0..12).prop_flat_map(|incs| {
        let n = incs.len();
        let rows = proptest::collection::vec(
            (
                proptest::option::of(prop_oneof![
                    Just(Label::Benign),
                    Just(Label::Attack("a".into())),
                    Just(Label::Attack("b".into()))
                ]),
                proptest::option::of(0..n + 2),
                proptest::option::of(0i64..100_000),
                proptest::option::of(prop_oneof![Just("r1"), Just("r2"), Just("r3")]),
            )
                .prop_map(|(label, incident, time, rule)| Row {
                    label,
                    incident,
                    time,
                    rule: rule.map(str::to_owned),
                }),
            0..60,
        );
        (rows, Just(incs))
    })
}

proptest! {
    #[test]
    fn precision_recall_in_range_and_confusion_sums((rows, incidents) in arb_case()) {
        let labelled = rows.iter().filter(|r| r.label.is_some()).count() as u64;
        let mut per_incident = vec![false; incidents.len()];
        for r in &rows {
            if let (Some(_), Some(i)) = (&r.label, r.incident)
                && i < incidents.len()
            {
                per_incident[i] = true;
            }
        }
        let labelled_incidents = per_incident.iter().filter(|x| **x).count() as u64;
        let r = evaluate(&rows, &incidents, &Options::default());
        prop_assert_eq!(r.quality.len(), standard_thresholds().len());
        for q in &r.quality {
            prop_assert_eq!(q.alerts.confusion.total(), labelled);
            prop_assert_eq!(q.incidents.confusion.total(), labelled_incidents);
            for v in [q.alerts.precision, q.alerts.recall, q.incidents.precision, q.incidents.recall]
                .into_iter()
                .flatten()
            {
                prop_assert!((0.0..=1.0).contains(&v), "{} out of range at {}", v, q.threshold);
            }
        }
        for i in &incidents {
            prop_assert!((0.0..=1.0).contains(&i.malice()));
        }
        for s in [r.automation.alert_share, r.automation.fp_share].into_iter().flatten() {
            prop_assert!((0.0..=1.0).contains(&s));
        }
        let ttt: u64 = r.time_to_triage.histogram.iter().map(|b| b.count).sum();
        prop_assert_eq!(ttt, r.time_to_triage.measured);
        let timed = rows.iter().filter(|r| r.time.is_some()).count() as u64;
        prop_assert_eq!(r.event_time.buckets.iter().map(|b| b.alerts).sum::<u64>(), timed);
        prop_assert_eq!(
            r.event_time.buckets.iter().map(|b| b.incidents).sum::<u64>(),
            incidents.len() as u64
        );
    }

    #[test]
    fn recall_never_drops_as_the_threshold_loosens((rows, incidents) in arb_case()) {
        let r = evaluate(&rows, &incidents, &Options::default());
        for family in ["escalation", "priority", "malice"] {
            let qs: Vec<&ThresholdQuality> = r.quality.iter().filter(|q| q.family == family).collect();
            for w in qs.windows(2) {
                for (a, b) in [(w[0].alerts, w[1].alerts), (w[0].incidents, w[1].incidents)] {
                    // Predicted positives only grow: tp and fp never drop.
                    prop_assert!(b.confusion.tp >= a.confusion.tp);
                    prop_assert!(b.confusion.fp >= a.confusion.fp);
                    if let (Some(x), Some(y)) = (a.recall, b.recall) {
                        prop_assert!(y >= x, "{}: recall {} then {}", family, x, y);
                    }
                }
            }
        }
    }
}
