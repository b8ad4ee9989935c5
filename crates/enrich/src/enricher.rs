//! The enrichment step: every indicator × every source that can answer it, concurrently, under one
//! deadline. Answers still running at the deadline are reported as `deadline` failures (the artifact
//! is `partial`) and keep running in the background, bounded by their own timeouts, to fill the
//! cache for the next time.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use picket_core::enrichment::combine;
use picket_core::{
    AlertEnrichment, IndicatorEnrichment, IntelResult, Observable, ObservableType, SourceFailure,
};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::Source;
use crate::cache::{Cache, is_stale};
use crate::config::EnrichmentConfig;
use crate::connector::ConnectorError;
use crate::guard::Guarded;
use crate::telemetry::{LookupEvent, Telemetry};

pub struct Enricher {
    sources: Vec<Arc<Guarded>>,
    cfg: EnrichmentConfig,
    cache: Arc<Cache>,
    telemetry: Arc<Telemetry>,
    audit: Option<Arc<dyn LookupObserver>>,
}

/// Receives every lookup event (the audit trail).
pub trait LookupObserver: Send + Sync {
    fn lookup(&self, event: &LookupEvent);
}

/// Address classes that are not public: the extractor labels IPs with them.
fn non_public(o: &Observable) -> bool {
    matches!(o.kind, ObservableType::Ipv4 | ObservableType::Ipv6) && !o.labels.is_empty()
}

struct Job {
    indicator: usize,
    outcome: Result<IntelResult, (String, ConnectorError)>,
}

impl Enricher {
    pub fn new(sources: Vec<Source>, cfg: EnrichmentConfig, cache: Arc<Cache>) -> Self {
        Self {
            sources: sources
                .into_iter()
                .filter(|s| s.config.enabled)
                .map(|s| Arc::new(Guarded::new(s)))
                .collect(),
            cfg,
            cache,
            telemetry: Arc::new(Telemetry::default()),
            audit: None,
        }
    }

    /// Sends every lookup event to `audit` as well as to telemetry.
    pub fn with_audit(mut self, audit: Arc<dyn LookupObserver>) -> Self {
        self.audit = Some(audit);
        self
    }

    pub fn telemetry(&self) -> &Arc<Telemetry> {
        &self.telemetry
    }

    pub fn cache(&self) -> &Arc<Cache> {
        &self.cache
    }

    pub fn sources(&self) -> &[Arc<Guarded>] {
        &self.sources
    }

    pub fn config(&self) -> &EnrichmentConfig {
        &self.cfg
    }

    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    fn applies(&self, g: &Guarded, o: &Observable) -> bool {
        g.source.kinds().contains(&o.kind)
            && (!g.source.provider.http || self.cfg.send_private || !non_public(o))
    }

    fn emit(&self, e: LookupEvent) {
        self.telemetry.record(&e);
        if let Some(a) = &self.audit {
            a.lookup(&e);
        }
    }

    /// Looks up one indicator (the CLI's `picket enrich`).
    pub async fn lookup_one(&self, kind: ObservableType, value: &str) -> IndicatorEnrichment {
        let o = Observable::new(kind, value, "cli");
        let mut e = self.enrich(&format!("{kind}:{value}"), &[o]).await;
        e.indicators.pop().unwrap_or(IndicatorEnrichment {
            kind,
            value: value.to_owned(),
            verdict: picket_core::IntelVerdict::Unknown,
            results: Vec::new(),
            failures: vec![SourceFailure {
                source: "enrichment".into(),
                code: "unsupported".into(),
                message: format!("no enabled connector looks up {kind} indicators"),
            }],
        })
    }

    /// Enriches the indicators of an alert or incident (`subject`: `alert:<id>`, `incident:<id>`).
    pub async fn enrich(&self, subject: &str, observables: &[Observable]) -> AlertEnrichment {
        let started_at = Timestamp::now();
        let t0 = Instant::now();
        let deadline = t0 + Duration::from_millis(self.cfg.deadline_ms);

        let mut seen = HashSet::new();
        let mut wanted: Vec<&Observable> = Vec::new();
        let mut skipped: Vec<&Observable> = Vec::new();
        for o in observables {
            if !seen.insert((o.kind, o.value.as_str())) {
                continue;
            }
            if !self.sources.iter().any(|g| self.applies(g, o)) {
                continue;
            }
            if wanted.len() < self.cfg.max_indicators {
                wanted.push(o);
            } else {
                skipped.push(o);
            }
        }
        // Warm the memory cache from the store for everything asked (one query).
        let keys: Vec<(String, ObservableType, String)> = wanted
            .iter()
            .flat_map(|o| {
                self.sources
                    .iter()
                    .filter(|g| self.applies(g, o))
                    .map(|g| (g.name().to_owned(), o.kind, o.value.clone()))
            })
            .collect();
        self.cache.warm(&keys).await;

        let mut out: Vec<IndicatorEnrichment> = wanted
            .iter()
            .map(|o| IndicatorEnrichment {
                kind: o.kind,
                value: o.value.clone(),
                verdict: picket_core::IntelVerdict::Unknown,
                results: Vec::new(),
                failures: Vec::new(),
            })
            .collect();
        let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
        let mut pending: Vec<(usize, String)> = Vec::new();
        let now = Timestamp::now();
        for (i, o) in wanted.iter().enumerate() {
            for g in self.sources.iter().filter(|g| self.applies(g, o)) {
                let c = &g.source.config;
                if let Some(hit) = self
                    .cache
                    .get(g.name(), o.kind, &o.value, c.max_age_hours, now)
                {
                    self.emit(LookupEvent {
                        source: g.name().to_owned(),
                        provider: g.source.provider.name.to_owned(),
                        kind: o.kind.to_string(),
                        value: o.value.clone(),
                        outcome: "ok".into(),
                        verdict: Some(hit.verdict.to_string()),
                        cached: true,
                        duration_ms: 0.0,
                    });
                    out[i].results.push(hit);
                    continue;
                }
                pending.push((i, g.name().to_owned()));
                let (g, tx, cache) = (g.clone(), tx.clone(), self.cache.clone());
                let (kind, value, indicator) = (o.kind, o.value.clone(), i);
                let telemetry = self.telemetry.clone();
                let audit = self.audit.clone();
                tokio::spawn(async move {
                    let t = Instant::now();
                    let r = g.lookup(kind, &value, deadline).await;
                    let ms = t.elapsed().as_secs_f64() * 1e3;
                    let c = &g.source.config;
                    let outcome = match r {
                        Ok(f) => {
                            let fetched_at = Timestamp::now();
                            let result = IntelResult {
                                source: c.name.clone(),
                                provider: g.source.provider.name.to_owned(),
                                kind,
                                value: value.clone(),
                                verdict: f.verdict(),
                                score: f.score,
                                highlights: f.highlights,
                                first_seen: f.first_seen,
                                last_seen: f.last_seen,
                                reference: f.reference,
                                fetched_at,
                                stale: is_stale(fetched_at, c.max_age_hours, fetched_at),
                                cached: false,
                                reliability: c.reliability,
                            };
                            cache
                                .put(&result, c.cache_ttl.for_verdict(result.verdict))
                                .await;
                            Ok(result)
                        }
                        Err(e) => Err((c.name.clone(), e)),
                    };
                    let event = LookupEvent {
                        source: c.name.clone(),
                        provider: g.source.provider.name.to_owned(),
                        kind: kind.to_string(),
                        value,
                        outcome: match &outcome {
                            Ok(_) => "ok".into(),
                            Err((_, e)) => e.code().into(),
                        },
                        verdict: outcome.as_ref().ok().map(|r| r.verdict.to_string()),
                        cached: false,
                        duration_ms: ms,
                    };
                    telemetry.record(&event);
                    if let Some(a) = audit {
                        a.lookup(&event);
                    }
                    // The receiver is gone when the deadline passed: the answer is cached anyway.
                    let _ = tx.send(Job { indicator, outcome });
                });
            }
        }
        drop(tx);

        // Collect until every lookup answered or the deadline passed.
        let mut answered: HashSet<(usize, String)> = HashSet::new();
        while answered.len() < pending.len() {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(job)) => match job.outcome {
                    Ok(r) => {
                        answered.insert((job.indicator, r.source.clone()));
                        out[job.indicator].results.push(r);
                    }
                    Err((source, e)) => {
                        answered.insert((job.indicator, source.clone()));
                        out[job.indicator].failures.push(SourceFailure {
                            source,
                            code: e.code().to_owned(),
                            message: e.to_string(),
                        });
                    }
                },
                Ok(None) | Err(_) => break,
            }
        }
        for (i, source) in pending {
            if !answered.contains(&(i, source.clone())) {
                out[i].failures.push(SourceFailure {
                    source,
                    code: ConnectorError::Deadline.code().to_owned(),
                    message: format!(
                        "no answer within the {} ms deadline; it will be cached when it comes",
                        self.cfg.deadline_ms
                    ),
                });
            }
        }
        for o in skipped {
            out.push(IndicatorEnrichment {
                kind: o.kind,
                value: o.value.clone(),
                verdict: picket_core::IntelVerdict::Unknown,
                results: Vec::new(),
                failures: vec![SourceFailure {
                    source: "enrichment".into(),
                    code: "skipped".into(),
                    message: format!(
                        "over max_indicators ({}): not looked up",
                        self.cfg.max_indicators
                    ),
                }],
            });
        }
        for ind in &mut out {
            // Stable order whatever the answering order: by source name.
            ind.results.sort_by(|a, b| a.source.cmp(&b.source));
            ind.failures.sort_by(|a, b| a.source.cmp(&b.source));
            ind.verdict = combine(&ind.results, self.cfg.min_reliability);
        }
        let mut a = AlertEnrichment {
            subject: subject.to_owned(),
            partial: false,
            started_at,
            elapsed_ms: t0.elapsed().as_millis() as u64,
            summary: Default::default(),
            indicators: out,
        };
        a.summarize();
        a
    }
}
