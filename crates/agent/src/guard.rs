//! Guards around any provider: a circuit breaker, a token budget per incident, and usage and cost
//! accounting per incident.
//!
//! Time comes from `tokio::time::Instant`, so tests run on tokio's paused clock.
//!
//! The budget is checked before each call: once an incident's tokens (input + output, the tokens of
//! calls still in flight counted at their `max_tokens`) reach the limit, further calls for it fail
//! with `budget_exceeded` without a request. The call that crosses the limit is not cut short, so an
//! incident can overshoot by at most one call. Calls without an incident key are accounted in the
//! total only and have no budget.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use tokio::time::Instant;

use crate::provider::{Completion, CompletionRequest, Provider, ProviderError, Usage};

/// Prices per thousand tokens, in whatever currency the operator configures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Pricing {
    pub per_1k_input: f64,
    pub per_1k_output: f64,
}

impl Pricing {
    pub fn cost(&self, u: Usage) -> f64 {
        u.input_tokens as f64 / 1000.0 * self.per_1k_input
            + u.output_tokens as f64 / 1000.0 * self.per_1k_output
    }
}

/// The token budget of one incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Budget {
    /// Input + output tokens; `None`: unlimited.
    pub max_tokens: Option<u64>,
}

/// Guard settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GuardSettings {
    /// Consecutive failures that open the breaker (at least 1).
    pub breaker_failures: u32,
    /// How long it stays open before one trial call.
    pub breaker_cooldown: Duration,
    pub budget: Budget,
    pub pricing: Pricing,
}

impl Default for GuardSettings {
    fn default() -> Self {
        Self {
            breaker_failures: 5,
            breaker_cooldown: Duration::from_secs(60),
            budget: Budget { max_tokens: None },
            pricing: Pricing::default(),
        }
    }
}

/// What an incident (or everything) has cost so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Spend {
    /// Calls the model answered (including answers rejected as `invalid_output`).
    pub calls: u64,
    pub usage: Usage,
    pub cost: f64,
}

impl Spend {
    fn add(&mut self, usage: Usage, cost: f64) {
        self.calls += 1;
        self.usage.add(usage);
        self.cost += cost;
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Breaker {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// The one trial call after the cooldown is in flight.
    HalfOpen,
}

/// The state an operator can see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

#[derive(Default)]
struct Ledger {
    incidents: HashMap<String, Entry>,
    total: Spend,
}

#[derive(Default)]
struct Entry {
    spend: Spend,
    /// `max_tokens` of calls in flight.
    reserved: u64,
}

/// A provider behind its guards; implements [`Provider`] itself.
pub struct GuardedProvider {
    inner: Arc<dyn Provider>,
    settings: GuardSettings,
    breaker: Mutex<Breaker>,
    ledger: Mutex<Ledger>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Puts a trial call's breaker back to "open, trial due" if the call is dropped before it settles,
/// so a cancelled trial cannot leave the breaker half-open for ever.
struct TrialGuard<'a> {
    breaker: &'a Mutex<Breaker>,
    armed: bool,
}

impl Drop for TrialGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            let mut b = lock(self.breaker);
            if *b == Breaker::HalfOpen {
                *b = Breaker::Open {
                    until: Instant::now(),
                };
            }
        }
    }
}

/// Releases an incident's reservation when the call ends, however it ends.
struct Reservation<'a> {
    ledger: &'a Mutex<Ledger>,
    incident: Option<&'a str>,
    tokens: u64,
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        let Some(i) = self.incident else { return };
        if let Some(e) = lock(self.ledger).incidents.get_mut(i) {
            e.reserved = e.reserved.saturating_sub(self.tokens);
        }
    }
}

impl GuardedProvider {
    pub fn new(inner: Arc<dyn Provider>, settings: GuardSettings) -> Self {
        Self {
            inner,
            settings: GuardSettings {
                breaker_failures: settings.breaker_failures.max(1),
                ..settings
            },
            breaker: Mutex::new(Breaker::Closed { failures: 0 }),
            ledger: Mutex::new(Ledger::default()),
        }
    }

    pub fn settings(&self) -> &GuardSettings {
        &self.settings
    }

    pub fn breaker_state(&self) -> BreakerState {
        match *lock(&self.breaker) {
            Breaker::Closed { .. } => BreakerState::Closed,
            Breaker::Open { until } if Instant::now() >= until => BreakerState::HalfOpen,
            Breaker::Open { .. } => BreakerState::Open,
            Breaker::HalfOpen => BreakerState::HalfOpen,
        }
    }

    /// What an incident has used so far (zero when unknown).
    pub fn spend(&self, incident: &str) -> Spend {
        lock(&self.ledger)
            .incidents
            .get(incident)
            .map(|e| e.spend)
            .unwrap_or_default()
    }

    /// What every call through this provider has used.
    pub fn total(&self) -> Spend {
        lock(&self.ledger).total
    }

    /// Forgets a closed incident's ledger entry (and so resets its budget), returning its spend.
    pub fn forget(&self, incident: &str) -> Option<Spend> {
        lock(&self.ledger)
            .incidents
            .remove(incident)
            .map(|e| e.spend)
    }

    /// Reserves the call's `max_tokens` against the incident's budget, or refuses the call.
    fn reserve<'a>(&'a self, req: &'a CompletionRequest) -> Result<Reservation<'a>, ProviderError> {
        let incident = req.incident.as_deref();
        let tokens = u64::from(req.max_tokens);
        if let (Some(i), Some(limit)) = (incident, self.settings.budget.max_tokens) {
            let mut l = lock(&self.ledger);
            let e = l.incidents.entry(i.to_owned()).or_default();
            let used = e.spend.usage.total();
            if used + e.reserved >= limit {
                return Err(ProviderError::BudgetExceeded {
                    incident: i.to_owned(),
                    used,
                    limit,
                });
            }
            e.reserved += tokens;
            return Ok(Reservation {
                ledger: &self.ledger,
                incident,
                tokens,
            });
        }
        Ok(Reservation {
            ledger: &self.ledger,
            incident: None,
            tokens: 0,
        })
    }

    fn record(&self, incident: Option<&str>, usage: Usage) {
        let cost = self.settings.pricing.cost(usage);
        let mut l = lock(&self.ledger);
        l.total.add(usage, cost);
        if let Some(i) = incident {
            l.incidents
                .entry(i.to_owned())
                .or_default()
                .spend
                .add(usage, cost);
        }
    }

    /// `Ok(true)`: this call is the trial after the cooldown.
    fn admit(&self) -> Result<bool, ProviderError> {
        let mut b = lock(&self.breaker);
        match *b {
            Breaker::Closed { .. } => Ok(false),
            Breaker::Open { until } => {
                let now = Instant::now();
                if now >= until {
                    *b = Breaker::HalfOpen;
                    Ok(true)
                } else {
                    Err(ProviderError::CircuitOpen(until - now))
                }
            }
            Breaker::HalfOpen => Err(ProviderError::CircuitOpen(Duration::ZERO)),
        }
    }

    fn settle(&self, failed: bool, trial: bool) {
        let mut b = lock(&self.breaker);
        if !failed {
            *b = Breaker::Closed { failures: 0 };
            return;
        }
        let failures = match *b {
            Breaker::Closed { failures } => failures + 1,
            _ => self.settings.breaker_failures,
        };
        *b = if trial || failures >= self.settings.breaker_failures {
            tracing::warn!(
                provider = %self.inner.name(),
                cooldown_secs = self.settings.breaker_cooldown.as_secs(),
                "LLM provider circuit opened"
            );
            Breaker::Open {
                until: Instant::now() + self.settings.breaker_cooldown,
            }
        } else {
            Breaker::Closed { failures }
        };
    }
}

#[async_trait]
impl Provider for GuardedProvider {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn complete(&self, req: &CompletionRequest) -> Result<Completion, ProviderError> {
        let _reservation = self.reserve(req)?;
        let trial = self.admit()?;
        let mut guard = TrialGuard {
            breaker: &self.breaker,
            armed: trial,
        };
        let result = self.inner.complete(req).await;
        guard.armed = false;
        let usage = match &result {
            Ok(c) => Some(c.usage),
            Err(e) => e.usage(),
        };
        if let Some(u) = usage {
            self.record(req.incident.as_deref(), u);
        }
        // A rejected request or an unusable answer says nothing about the provider's health: it
        // closes a trial like a success does.
        let failed = matches!(&result, Err(e) if e.counts_against_breaker());
        self.settle(failed, trial);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::StopReason;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// Fails while `failing` is set; answers with 100 in / 50 out tokens otherwise.
    struct Scripted {
        calls: AtomicU32,
        failing: std::sync::atomic::AtomicBool,
    }

    #[async_trait]
    impl Provider for Scripted {
        fn name(&self) -> &str {
            "scripted"
        }
        async fn complete(&self, _req: &CompletionRequest) -> Result<Completion, ProviderError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.failing.load(Ordering::SeqCst) {
                return Err(ProviderError::Overloaded("busy".into()));
            }
            Ok(Completion {
                text: "ok".into(),
                tool_calls: vec![],
                structured: None,
                stop_reason: StopReason::EndTurn,
                usage: Usage {
                    input_tokens: 100,
                    output_tokens: 50,
                },
                model: "m".into(),
            })
        }
    }

    fn scripted(failing: bool) -> Arc<Scripted> {
        Arc::new(Scripted {
            calls: AtomicU32::new(0),
            failing: std::sync::atomic::AtomicBool::new(failing),
        })
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_trial_reopens_for_a_full_cooldown() {
        let inner = scripted(true);
        let g = GuardedProvider::new(
            inner.clone(),
            GuardSettings {
                breaker_failures: 2,
                breaker_cooldown: Duration::from_secs(30),
                ..GuardSettings::default()
            },
        );
        let req = CompletionRequest::new(10).user("x");
        for _ in 0..2 {
            assert_eq!(g.complete(&req).await.unwrap_err().code(), "overloaded");
        }
        assert_eq!(g.breaker_state(), BreakerState::Open);
        assert_eq!(g.complete(&req).await.unwrap_err().code(), "circuit_open");
        assert_eq!(inner.calls.load(Ordering::SeqCst), 2);
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(g.breaker_state(), BreakerState::HalfOpen);
        // The trial fails: open again at once, for another full cooldown.
        assert_eq!(g.complete(&req).await.unwrap_err().code(), "overloaded");
        assert_eq!(inner.calls.load(Ordering::SeqCst), 3);
        assert_eq!(g.breaker_state(), BreakerState::Open);
        tokio::time::advance(Duration::from_secs(29)).await;
        match g.complete(&req).await.unwrap_err() {
            ProviderError::CircuitOpen(left) => assert_eq!(left, Duration::from_secs(1)),
            e => panic!("{e:?}"),
        }
        tokio::time::advance(Duration::from_secs(1)).await;
        inner.failing.store(false, Ordering::SeqCst);
        assert_eq!(g.complete(&req).await.unwrap().text, "ok");
        assert_eq!(g.breaker_state(), BreakerState::Closed);
    }

    #[tokio::test]
    async fn a_cancelled_trial_does_not_wedge_the_breaker() {
        struct Hangs;
        #[async_trait]
        impl Provider for Hangs {
            fn name(&self) -> &str {
                "hangs"
            }
            async fn complete(&self, _: &CompletionRequest) -> Result<Completion, ProviderError> {
                std::future::pending().await
            }
        }
        let g = GuardedProvider::new(Arc::new(Hangs), GuardSettings::default());
        *lock(&g.breaker) = Breaker::Open {
            until: Instant::now(),
        };
        let req = CompletionRequest::new(10).user("x");
        let r = tokio::time::timeout(Duration::from_millis(10), g.complete(&req)).await;
        assert!(r.is_err());
        // The trial was dropped: the next call may try again instead of failing fast for ever.
        assert_eq!(g.breaker_state(), BreakerState::HalfOpen);
        assert!(matches!(*lock(&g.breaker), Breaker::Open { .. }));
    }

    #[tokio::test]
    async fn in_flight_calls_hold_their_max_tokens() {
        let g = GuardedProvider::new(
            scripted(false),
            GuardSettings {
                budget: Budget {
                    max_tokens: Some(1000),
                },
                ..GuardSettings::default()
            },
        );
        let req = CompletionRequest::new(800).user("x").incident("INC-1");
        let held = g.reserve(&req).unwrap();
        // 0 used + 800 held < 1000: a second call is admitted; 1600 held: a third is refused.
        let second = g.reserve(&req).unwrap();
        assert_eq!(g.reserve(&req).err().unwrap().code(), "budget_exceeded");
        drop(held);
        drop(second);
        assert_eq!(lock(&g.ledger).incidents["INC-1"].reserved, 0);
        assert!(g.reserve(&req).is_ok());
    }
}
