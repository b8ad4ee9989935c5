//! Scoring Picket against labelled alerts (`picket eval`). Pure: the caller replays the alerts through
//! the pipeline and hands over, for every alert row, its label, its incident, its event time and its
//! rule name, plus the incidents; this crate computes every figure and draws the charts as SVG text.
//!
//! The figures (docs/evaluation.md has the same definitions, with examples):
//!
//! - **Quality per threshold.** An incident is *escalated at a threshold* when the threshold says a
//!   human should look at it ([`Threshold`]). Over alerts: positive = attack-labelled alert, predicted
//!   positive = its incident is escalated (an alert that ended in no incident, i.e. a rejected record,
//!   is always left to a human, so always predicted positive). Over incidents: an incident is
//!   labelled when it holds a labelled alert, positive when it holds an attack-labelled one.
//!   Unlabelled alerts are left out of both. Precision or recall with a zero denominator is `None`.
//! - **Malice score** of an incident ([`malice_score`]), in [0, 1], from its verdict and confidence.
//! - **Automation**: alerts (and false-positive alerts) whose incident is `auto_close`.
//! - **Attack phases**: exactly as `scripts/ait-eval.py` computes them (see [`evaluate`]).
//! - **Manual baseline**: analyst hours to look at every alert by hand against the hours for what
//!   Picket leaves to humans ([`Baseline`]).
//! - **Event time**: alerts, incidents and escalated incidents per hour of event time, and the
//!   time-to-triage of escalated incidents in simulated (event) time ([`TimeToTriage`]).

use std::collections::{BTreeMap, HashMap, HashSet};

use picket_core::{Escalation, Incident, Priority, Verdict};
use serde::Serialize;

pub mod svg;
mod text;

pub use text::render_text;

/// What a label says about an alert.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    /// A false positive: nothing an analyst needs to see.
    Benign,
    /// Part of an attack; the phase (or any attack label) it carries.
    Attack(String),
}

impl Label {
    /// Reads a label value: empty (after trimming) is no label, `benign` is [`Label::Benign`],
    /// anything else names an attack phase.
    pub fn parse(text: &str, benign: &str) -> Option<Self> {
        let t = text.trim();
        if t.is_empty() {
            None
        } else if t == benign.trim() {
            Some(Self::Benign)
        } else {
            Some(Self::Attack(t.to_owned()))
        }
    }

    pub fn is_attack(&self) -> bool {
        matches!(self, Self::Attack(_))
    }
}

/// One input row (one record read), as the replay saw it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Row {
    /// Its label; `None` when unlabelled (left out of every quality figure).
    pub label: Option<Label>,
    /// Index into the incidents of the incident it ended in; `None` for a rejected record (or an
    /// index out of range), which counts as left to a human.
    pub incident: Option<usize>,
    /// Event time, unix seconds; `None` for a rejected record.
    pub time: Option<i64>,
    /// Rule name, for telling distinctive alerts of an attack phase; `None` for a rejected record.
    pub rule: Option<String>,
}

/// What the evaluation needs of an incident.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentFacts {
    pub id: String,
    pub verdict: Verdict,
    pub priority: Priority,
    pub confidence: f64,
    pub escalation: Escalation,
    /// Event time of its first alert, unix seconds.
    pub first_seen: i64,
    pub last_seen: i64,
    /// Event time at which the replay first saw it escalated (see [`TimeToTriage`]); `None` when not
    /// derivable.
    pub escalated_at: Option<i64>,
}

impl IncidentFacts {
    pub fn of(i: &Incident, escalated_at: Option<i64>) -> Self {
        Self {
            id: i.id.clone(),
            verdict: i.verdict,
            priority: i.priority,
            confidence: i.confidence,
            escalation: i.escalation,
            first_seen: i.first_seen.as_second(),
            last_seen: i.last_seen.as_second(),
            escalated_at,
        }
    }

    /// Whether Picket left it to a human (`escalation` is not `auto_close`).
    pub fn escalated(&self) -> bool {
        self.escalation.needs_human()
    }

    pub fn malice(&self) -> f64 {
        malice_score(self.verdict, self.confidence)
    }
}

/// How malicious the engine thinks an incident is, in [0, 1], from its verdict and its confidence
/// `c` in that verdict: the verdicts take four bands, ordered, and the confidence places the
/// incident inside its band, towards the band's outer edge as it grows:
///
/// | verdict | score |
/// |---|---|
/// | malicious | 0.75 + 0.25·c (0.75–1) |
/// | suspicious | 0.50 + 0.25·c (0.50–0.75) |
/// | needs_review | 0.50 − 0.25·c (0.25–0.50) |
/// | benign | 0.25 − 0.25·c (0–0.25) |
///
/// A confidence outside [0, 1] is clamped; a non-finite one counts as 0.
pub fn malice_score(verdict: Verdict, confidence: f64) -> f64 {
    let c = if confidence.is_finite() {
        confidence.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let s = match verdict {
        Verdict::Malicious => 0.75 + 0.25 * c,
        Verdict::Suspicious => 0.5 + 0.25 * c,
        Verdict::NeedsReview => 0.5 - 0.25 * c,
        Verdict::Benign => 0.25 - 0.25 * c,
    };
    s.clamp(0.0, 1.0)
}

/// When an incident counts as escalated to a human.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// Only incidents that page the on-call responder.
    OnCall,
    /// Picket's own decision: every incident whose escalation is not `auto_close`.
    NotAutoClose,
    /// Incidents of this priority or more urgent (P1 is the most urgent).
    PriorityAtMost(Priority),
    /// Incidents whose [`malice_score`] is at least this.
    MaliceAtLeast(f64),
}

impl Threshold {
    pub fn name(&self) -> String {
        match self {
            Self::OnCall => "escalation = on_call".to_owned(),
            Self::NotAutoClose => "escalation != auto_close".to_owned(),
            Self::PriorityAtMost(p) => format!("priority <= {}", p.as_str()),
            Self::MaliceAtLeast(s) => format!("malice >= {s:.2}"),
        }
    }

    /// `escalation`, `priority` or `malice`: within a family, thresholds are ordered from strict to
    /// loose in [`standard_thresholds`].
    pub fn family(&self) -> &'static str {
        match self {
            Self::OnCall | Self::NotAutoClose => "escalation",
            Self::PriorityAtMost(_) => "priority",
            Self::MaliceAtLeast(_) => "malice",
        }
    }

    pub fn escalates(&self, i: &IncidentFacts) -> bool {
        match *self {
            Self::OnCall => i.escalation == Escalation::OnCall,
            Self::NotAutoClose => i.escalation != Escalation::AutoClose,
            Self::PriorityAtMost(p) => i.priority <= p,
            Self::MaliceAtLeast(s) => i.malice() >= s,
        }
    }
}

/// Malice thresholds swept: 1.00, 0.95, …, 0.00.
pub const MALICE_STEPS: u32 = 20;

/// Every threshold reported, each family from strict to loose: on-call only, then Picket's decision;
/// priority ≤ P1, ≤ P2, ≤ P3; malice ≥ 1.00 down to ≥ 0.00 in steps of 0.05.
pub fn standard_thresholds() -> Vec<Threshold> {
    let mut out = vec![
        Threshold::OnCall,
        Threshold::NotAutoClose,
        Threshold::PriorityAtMost(Priority::P1),
        Threshold::PriorityAtMost(Priority::P2),
        Threshold::PriorityAtMost(Priority::P3),
    ];
    out.extend(
        (0..=MALICE_STEPS)
            .rev()
            .map(|i| Threshold::MaliceAtLeast(f64::from(i) / f64::from(MALICE_STEPS))),
    );
    out
}

/// A confusion matrix.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Confusion {
    pub tp: u64,
    pub fp: u64,
    #[serde(rename = "fn")]
    pub fn_: u64,
    pub tn: u64,
}

impl Confusion {
    pub fn add(&mut self, actual: bool, predicted: bool, n: u64) {
        match (actual, predicted) {
            (true, true) => self.tp += n,
            (false, true) => self.fp += n,
            (true, false) => self.fn_ += n,
            (false, false) => self.tn += n,
        }
    }

    pub fn total(&self) -> u64 {
        self.tp + self.fp + self.fn_ + self.tn
    }

    /// tp / (tp + fp); `None` when nothing is predicted positive.
    pub fn precision(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fp)
    }

    /// tp / (tp + fn); `None` when there is no positive.
    pub fn recall(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fn_)
    }
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// A confusion matrix with its precision and recall.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scores {
    #[serde(flatten)]
    pub confusion: Confusion,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
}

impl From<Confusion> for Scores {
    fn from(c: Confusion) -> Self {
        Self {
            confusion: c,
            precision: c.precision(),
            recall: c.recall(),
        }
    }
}

/// Quality at one threshold, over alerts and over incidents.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThresholdQuality {
    pub threshold: String,
    pub family: &'static str,
    /// The malice score of a `malice` threshold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub malice: Option<f64>,
    pub alerts: Scores,
    pub incidents: Scores,
}

/// Labelled alerts per incident: (attack, benign); and those in no incident.
struct Tally {
    per_incident: Vec<(u64, u64)>,
    unplaced: (u64, u64),
}

impl Tally {
    fn new(rows: &[Row], incidents: &[IncidentFacts]) -> Self {
        let mut per_incident = vec![(0u64, 0u64); incidents.len()];
        let mut unplaced = (0, 0);
        for r in rows {
            let Some(label) = &r.label else { continue };
            let slot = match r.incident.and_then(|i| per_incident.get_mut(i)) {
                Some(s) => s,
                None => &mut unplaced,
            };
            if label.is_attack() {
                slot.0 += 1;
            } else {
                slot.1 += 1;
            }
        }
        Self {
            per_incident,
            unplaced,
        }
    }

    fn quality(&self, incidents: &[IncidentFacts], t: Threshold) -> ThresholdQuality {
        let mut alerts = Confusion::default();
        let mut incs = Confusion::default();
        // In no incident: always left to a human.
        alerts.add(true, true, self.unplaced.0);
        alerts.add(false, true, self.unplaced.1);
        for (inc, &(attack, benign)) in incidents.iter().zip(&self.per_incident) {
            let predicted = t.escalates(inc);
            alerts.add(true, predicted, attack);
            alerts.add(false, predicted, benign);
            if attack + benign > 0 {
                incs.add(attack > 0, predicted, 1);
            }
        }
        ThresholdQuality {
            threshold: t.name(),
            family: t.family(),
            malice: match t {
                Threshold::MaliceAtLeast(s) => Some(s),
                _ => None,
            },
            alerts: alerts.into(),
            incidents: incs.into(),
        }
    }
}

/// Quality of one threshold (see the crate docs for the definitions).
pub fn quality(rows: &[Row], incidents: &[IncidentFacts], t: Threshold) -> ThresholdQuality {
    Tally::new(rows, incidents).quality(incidents, t)
}

/// Alert rows read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertCounts {
    /// Every row (record) read, rejected ones included.
    pub total: u64,
    pub labelled: u64,
    pub benign: u64,
    pub attack: u64,
    pub unlabelled: u64,
    /// Rows that ended in no incident (rejected records).
    pub without_incident: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentCounts {
    pub total: u64,
    /// Escalation not `auto_close`.
    pub escalated: u64,
    pub on_call: u64,
    pub analyst_queue: u64,
    pub auto_close: u64,
    /// Rows per incident.
    pub alerts_per_incident: Option<f64>,
    /// Incidents per verdict.
    pub by_verdict: BTreeMap<&'static str, u64>,
}

/// What Picket handled without a human.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Automation {
    /// Rows whose incident is `auto_close`.
    pub alerts_auto_closed: u64,
    /// `alerts_auto_closed` over all rows.
    pub alert_share: Option<f64>,
    /// Rows labelled benign (false positives).
    pub fp_alerts: u64,
    pub fp_auto_closed: u64,
    /// `fp_auto_closed` over `fp_alerts`.
    pub fp_share: Option<f64>,
    /// False-positive rows left for humans: in an escalated incident, or in none.
    pub fp_alerts_to_humans: u64,
    /// Escalated incidents whose labelled alerts are all false positives (at least one).
    pub fp_incidents_to_humans: u64,
}

/// One attack phase (one attack label), as `scripts/ait-eval.py` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Phase {
    pub name: String,
    /// Event time of its first alert.
    pub start: Option<i64>,
    pub alerts: u64,
    /// Its alerts in an escalated incident (or in none).
    pub escalated_alerts: u64,
    /// At least one escalated alert.
    pub reached: bool,
    /// Its alerts whose rule name had not been seen in any earlier alert (in event time): each new
    /// rule name counts once, at its first alert.
    pub distinctive_alerts: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Coverage {
    pub phases: u64,
    pub reached: u64,
    /// Phases with at least one distinctive alert.
    pub distinctive: u64,
    pub distinctive_reached: u64,
    /// Phases not reached, in phase order.
    pub missed: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Throughput {
    /// Wall time of the replay (read, normalize, correlate, assess), seconds.
    pub wall_secs: f64,
    /// Rows over `wall_secs`.
    pub alerts_per_sec: Option<f64>,
    /// Time the evaluation's own bookkeeping took beside the replay (not in `wall_secs`), seconds.
    pub eval_overhead_secs: f64,
}

/// Analyst minutes, a range (`15-30`) or one figure (`20`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Minutes {
    pub low: f64,
    pub high: f64,
}

impl std::str::FromStr for Minutes {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let num = |t: &str| -> Result<f64, String> {
            let v: f64 = t
                .trim()
                .parse()
                .map_err(|_| format!("`{}` is not a number of minutes", t.trim()))?;
            if v.is_finite() && v >= 0.0 {
                Ok(v)
            } else {
                Err(format!(
                    "minutes must be a finite number ≥ 0, not `{}`",
                    t.trim()
                ))
            }
        };
        let (low, high) = match s.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => {
                let v = num(s)?;
                (v, v)
            }
        };
        if low > high {
            return Err(format!("the range `{s}` goes down: write LOW-HIGH"));
        }
        Ok(Self { low, high })
    }
}

impl std::fmt::Display for Minutes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.low == self.high {
            write!(f, "{}", self.low)
        } else {
            write!(f, "{}-{}", self.low, self.high)
        }
    }
}

/// A low–high pair of figures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Range {
    pub low: f64,
    pub high: f64,
}

/// Analyst time without Picket against with it. Without: every row (alert) looked at, at
/// `minutes_per_alert`. With: every incident Picket escalates at `minutes_per_incident`, plus every
/// row that ended in no incident at `minutes_per_alert`. Low figures pair with low ones.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Baseline {
    pub minutes_per_alert: Minutes,
    pub minutes_per_incident: Minutes,
    pub alerts: u64,
    pub escalated_incidents: u64,
    pub alerts_without_incident: u64,
    pub manual_hours: Range,
    pub picket_hours: Range,
    /// `manual_hours − picket_hours`.
    pub saved_hours: Range,
    /// `saved_hours / manual_hours`.
    pub saved_share: Option<Range>,
}

/// A rate per hour of event time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate {
    /// Count over the span (hours from the first bucket's start to the last bucket's end).
    pub mean: f64,
    /// The busiest bucket, per hour.
    pub peak: f64,
}

/// One bucket of event time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bucket {
    /// Start, unix seconds.
    pub start: i64,
    /// Rows whose event time falls in it.
    pub alerts: u64,
    /// Incidents whose first alert falls in it.
    pub incidents: u64,
    /// Escalated incidents whose escalation (`escalated_at`, else `first_seen`) falls in it.
    pub escalated: u64,
}

/// Volumes over event time: the replay sorts alerts by event time, so these are what a SOC would
/// have seen hour by hour.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventTime {
    pub start: Option<i64>,
    pub end: Option<i64>,
    /// Same, RFC 3339 UTC.
    pub start_utc: Option<String>,
    pub end_utc: Option<String>,
    /// Hours covered by the buckets.
    pub hours: f64,
    /// Bucket width, seconds: one hour unless the span is very long (more than
    /// [`MAX_BUCKETS`] hours), then a whole number of hours.
    pub bucket_secs: i64,
    pub alerts_per_hour: Rate,
    pub incidents_per_hour: Rate,
    pub escalated_per_hour: Rate,
    pub buckets: Vec<Bucket>,
}

/// At most this many buckets in [`EventTime`].
pub const MAX_BUCKETS: i64 = 5_000;

/// One bar of the time-to-triage histogram.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bin {
    pub label: &'static str,
    /// Inclusive upper bound, seconds; `None` for the last, open bin.
    pub upper_secs: Option<i64>,
    pub count: u64,
}

/// Time to triage in simulated (event) time, over the incidents Picket escalates: the delay from
/// the event time of the incident's first alert (`first_seen`) to the event time at which the
/// replay first saw it escalated (`escalated_at`: after each second of event time, the incidents
/// that changed are assessed again; the first time the incident with this id was assessed as not
/// `auto_close`). Zero when its first alert alone made it escalated. Percentiles are nearest-rank.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeToTriage {
    pub escalated_incidents: u64,
    /// Escalated incidents with an `escalated_at`.
    pub measured: u64,
    pub min_secs: Option<i64>,
    pub median_secs: Option<i64>,
    pub p90_secs: Option<i64>,
    pub max_secs: Option<i64>,
    pub mean_secs: Option<f64>,
    pub histogram: Vec<Bin>,
}

/// Histogram bins of [`TimeToTriage`]: (label, inclusive upper bound in seconds).
pub const TTT_BINS: [(&str, Option<i64>); 8] = [
    ("0 s", Some(0)),
    ("≤ 1 min", Some(60)),
    ("≤ 5 min", Some(300)),
    ("≤ 15 min", Some(900)),
    ("≤ 1 h", Some(3_600)),
    ("≤ 4 h", Some(14_400)),
    ("≤ 1 d", Some(86_400)),
    ("> 1 d", None),
];

/// Every figure of `picket eval`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub alerts: AlertCounts,
    pub incidents: IncidentCounts,
    pub automation: Automation,
    pub phases: Vec<Phase>,
    pub coverage: Coverage,
    pub quality: Vec<ThresholdQuality>,
    pub throughput: Throughput,
    pub baseline: Baseline,
    pub event_time: EventTime,
    pub time_to_triage: TimeToTriage,
}

/// Settings of [`evaluate`].
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub minutes_per_alert: Minutes,
    /// Default: `minutes_per_alert`.
    pub minutes_per_incident: Option<Minutes>,
    /// Measured wall time of the replay, seconds.
    pub wall_secs: f64,
    /// Time the caller spent on the evaluation's bookkeeping, apart from `wall_secs`.
    pub overhead_secs: f64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            minutes_per_alert: Minutes {
                low: 15.0,
                high: 30.0,
            },
            minutes_per_incident: None,
            wall_secs: 0.0,
            overhead_secs: 0.0,
        }
    }
}

/// Computes every figure from the rows (in input order), the incidents they point into, and the
/// options.
///
/// Attack phases, as `scripts/ait-eval.py`: rows with an event time are taken in (time, input order);
/// a phase starts at its first attack-labelled row; an attack-labelled row is *distinctive* when its
/// rule name was not seen in any row before it (whatever that row's label), and each rule name is
/// seen from its first row on. A phase is *reached* when at least one of its rows is in an
/// escalated incident (or in none). Phases are listed by start.
pub fn evaluate(rows: &[Row], incidents: &[IncidentFacts], opts: &Options) -> Report {
    let tally = Tally::new(rows, incidents);
    let inc_of = |r: &Row| r.incident.and_then(|i| incidents.get(i));
    let human = |r: &Row| inc_of(r).is_none_or(IncidentFacts::escalated);

    // Rows.
    let mut counts = AlertCounts {
        total: rows.len() as u64,
        labelled: 0,
        benign: 0,
        attack: 0,
        unlabelled: 0,
        without_incident: 0,
    };
    for r in rows {
        match &r.label {
            Some(Label::Benign) => counts.benign += 1,
            Some(Label::Attack(_)) => counts.attack += 1,
            None => counts.unlabelled += 1,
        }
        if inc_of(r).is_none() {
            counts.without_incident += 1;
        }
    }
    counts.labelled = counts.benign + counts.attack;

    // Incidents.
    let mut by_verdict = BTreeMap::new();
    let (mut on_call, mut queue, mut auto) = (0, 0, 0);
    for i in incidents {
        *by_verdict.entry(i.verdict.as_str()).or_insert(0) += 1;
        match i.escalation {
            Escalation::OnCall => on_call += 1,
            Escalation::AnalystQueue => queue += 1,
            Escalation::AutoClose => auto += 1,
        }
    }
    let inc_counts = IncidentCounts {
        total: incidents.len() as u64,
        escalated: on_call + queue,
        on_call,
        analyst_queue: queue,
        auto_close: auto,
        alerts_per_incident: ratio(rows.len() as u64, incidents.len() as u64),
        by_verdict,
    };

    // Automation.
    let alerts_auto_closed = rows.iter().filter(|r| !human(r)).count() as u64;
    let fp_auto_closed = rows
        .iter()
        .filter(|r| r.label == Some(Label::Benign) && !human(r))
        .count() as u64;
    let fp_incidents_to_humans = incidents
        .iter()
        .zip(&tally.per_incident)
        .filter(|(i, (attack, benign))| i.escalated() && *attack == 0 && *benign > 0)
        .count() as u64;
    let automation = Automation {
        alerts_auto_closed,
        alert_share: ratio(alerts_auto_closed, counts.total),
        fp_alerts: counts.benign,
        fp_auto_closed,
        fp_share: ratio(fp_auto_closed, counts.benign),
        fp_alerts_to_humans: counts.benign - fp_auto_closed,
        fp_incidents_to_humans,
    };

    let phases = phases(rows, &human);
    let coverage = Coverage {
        phases: phases.len() as u64,
        reached: phases.iter().filter(|p| p.reached).count() as u64,
        distinctive: phases.iter().filter(|p| p.distinctive_alerts > 0).count() as u64,
        distinctive_reached: phases
            .iter()
            .filter(|p| p.distinctive_alerts > 0 && p.reached)
            .count() as u64,
        missed: phases
            .iter()
            .filter(|p| !p.reached)
            .map(|p| p.name.clone())
            .collect(),
    };

    let quality = standard_thresholds()
        .into_iter()
        .map(|t| tally.quality(incidents, t))
        .collect();

    let throughput = Throughput {
        wall_secs: opts.wall_secs,
        alerts_per_sec: (opts.wall_secs > 0.0 && opts.wall_secs.is_finite())
            .then(|| rows.len() as f64 / opts.wall_secs),
        eval_overhead_secs: opts.overhead_secs,
    };

    let baseline = baseline(
        opts,
        counts.total,
        inc_counts.escalated,
        counts.without_incident,
    );

    Report {
        alerts: counts,
        incidents: inc_counts,
        automation,
        phases,
        coverage,
        quality,
        throughput,
        baseline,
        event_time: event_time(rows, incidents),
        time_to_triage: time_to_triage(incidents),
    }
}

fn phases(rows: &[Row], human: &dyn Fn(&Row) -> bool) -> Vec<Phase> {
    let mut order: Vec<usize> = (0..rows.len())
        .filter(|&i| rows[i].time.is_some())
        .collect();
    order.sort_by_key(|&i| (rows[i].time, i));
    let mut seen: HashSet<&str> = HashSet::new();
    let mut start: HashMap<&str, i64> = HashMap::new();
    let mut distinctive: HashMap<&str, u64> = HashMap::new();
    for &i in &order {
        let r = &rows[i];
        let rule = r.rule.as_deref();
        if let Some(Label::Attack(p)) = &r.label {
            start.entry(p).or_insert(r.time.unwrap_or_default());
            if rule.is_some_and(|n| !seen.contains(n)) {
                *distinctive.entry(p).or_default() += 1;
            }
        }
        if let Some(n) = rule {
            seen.insert(n);
        }
    }
    let mut by: HashMap<&str, (u64, u64)> = HashMap::new();
    for r in rows {
        if let Some(Label::Attack(p)) = &r.label {
            let e = by.entry(p).or_default();
            e.0 += 1;
            if human(r) {
                e.1 += 1;
            }
        }
    }
    let mut out: Vec<Phase> = by
        .into_iter()
        .map(|(name, (alerts, escalated))| Phase {
            name: name.to_owned(),
            start: start.get(name).copied(),
            alerts,
            escalated_alerts: escalated,
            reached: escalated > 0,
            distinctive_alerts: distinctive.get(name).copied().unwrap_or(0),
        })
        .collect();
    // By start (phases without a timed row last), then by name for a stable order.
    out.sort_by(|a, b| {
        (a.start.is_none(), a.start, &a.name).cmp(&(b.start.is_none(), b.start, &b.name))
    });
    out
}

fn baseline(opts: &Options, alerts: u64, escalated: u64, unplaced: u64) -> Baseline {
    let per_alert = opts.minutes_per_alert;
    let per_incident = opts.minutes_per_incident.unwrap_or(per_alert);
    let manual = Range {
        low: alerts as f64 * per_alert.low / 60.0,
        high: alerts as f64 * per_alert.high / 60.0,
    };
    let picket = Range {
        low: (escalated as f64 * per_incident.low + unplaced as f64 * per_alert.low) / 60.0,
        high: (escalated as f64 * per_incident.high + unplaced as f64 * per_alert.high) / 60.0,
    };
    let saved = Range {
        low: manual.low - picket.low,
        high: manual.high - picket.high,
    };
    let share = (manual.low > 0.0 && manual.high > 0.0).then(|| Range {
        low: saved.low / manual.low,
        high: saved.high / manual.high,
    });
    Baseline {
        minutes_per_alert: per_alert,
        minutes_per_incident: per_incident,
        alerts,
        escalated_incidents: escalated,
        alerts_without_incident: unplaced,
        manual_hours: manual,
        picket_hours: picket,
        saved_hours: saved,
        saved_share: share,
    }
}

fn utc(t: i64) -> Option<String> {
    jiff::Timestamp::from_second(t).ok().map(|t| t.to_string())
}

fn event_time(rows: &[Row], incidents: &[IncidentFacts]) -> EventTime {
    let escalated_time = |i: &IncidentFacts| i.escalated_at.unwrap_or(i.first_seen);
    let times = rows
        .iter()
        .filter_map(|r| r.time)
        .chain(incidents.iter().map(|i| i.first_seen))
        .chain(
            incidents
                .iter()
                .filter(|i| i.escalated())
                .map(escalated_time),
        );
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for t in times {
        lo = lo.min(t);
        hi = hi.max(t);
    }
    let zero = Rate {
        mean: 0.0,
        peak: 0.0,
    };
    if lo > hi {
        return EventTime {
            start: None,
            end: None,
            start_utc: None,
            end_utc: None,
            hours: 0.0,
            bucket_secs: 3_600,
            alerts_per_hour: zero,
            incidents_per_hour: zero,
            escalated_per_hour: zero,
            buckets: Vec::new(),
        };
    }
    // In i128: the times are any i64 a caller passes.
    let origin = i128::from(lo).div_euclid(3_600) * 3_600;
    let hours = i128::from(hi).div_euclid(3_600) - i128::from(lo).div_euclid(3_600) + 1;
    let per = ((hours + i128::from(MAX_BUCKETS) - 1) / i128::from(MAX_BUCKETS)).max(1);
    let bucket_secs = 3_600 * per;
    let slot = |t: i64| ((i128::from(t) - origin) / bucket_secs) as usize;
    let n = slot(hi) + 1;
    let mut buckets: Vec<Bucket> = (0..n)
        .map(|k| Bucket {
            start: i64::try_from(origin + k as i128 * bucket_secs).unwrap_or(i64::MIN),
            alerts: 0,
            incidents: 0,
            escalated: 0,
        })
        .collect();
    for t in rows.iter().filter_map(|r| r.time) {
        buckets[slot(t)].alerts += 1;
    }
    for i in incidents {
        buckets[slot(i.first_seen)].incidents += 1;
        if i.escalated() {
            buckets[slot(escalated_time(i))].escalated += 1;
        }
    }
    let per = per as f64;
    let span_hours = n as f64 * per;
    let rate = |f: &dyn Fn(&Bucket) -> u64| Rate {
        mean: buckets.iter().map(f).sum::<u64>() as f64 / span_hours,
        peak: buckets.iter().map(f).max().unwrap_or(0) as f64 / per,
    };
    EventTime {
        start: Some(lo),
        end: Some(hi),
        start_utc: utc(lo),
        end_utc: utc(hi),
        hours: span_hours,
        bucket_secs: i64::try_from(bucket_secs).unwrap_or(i64::MAX),
        alerts_per_hour: rate(&|b| b.alerts),
        incidents_per_hour: rate(&|b| b.incidents),
        escalated_per_hour: rate(&|b| b.escalated),
        buckets,
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

fn time_to_triage(incidents: &[IncidentFacts]) -> TimeToTriage {
    let escalated: Vec<&IncidentFacts> = incidents.iter().filter(|i| i.escalated()).collect();
    let mut delays: Vec<i64> = escalated
        .iter()
        .filter_map(|i| {
            i.escalated_at
                .map(|t| t.saturating_sub(i.first_seen).max(0))
        })
        .collect();
    delays.sort_unstable();
    let histogram = TTT_BINS
        .iter()
        .enumerate()
        .map(|(k, &(label, upper))| {
            let lower = if k == 0 { None } else { TTT_BINS[k - 1].1 };
            let count = delays
                .iter()
                .filter(|&&d| lower.is_none_or(|l| d > l) && upper.is_none_or(|u| d <= u))
                .count() as u64;
            Bin {
                label,
                upper_secs: upper,
                count,
            }
        })
        .collect();
    TimeToTriage {
        escalated_incidents: escalated.len() as u64,
        measured: delays.len() as u64,
        min_secs: delays.first().copied(),
        median_secs: percentile(&delays, 0.5),
        p90_secs: percentile(&delays, 0.9),
        max_secs: delays.last().copied(),
        mean_secs: (!delays.is_empty())
            .then(|| delays.iter().map(|&d| d as f64).sum::<f64>() / delays.len() as f64),
        histogram,
    }
}

#[cfg(test)]
mod tests;
