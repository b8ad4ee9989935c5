//! Per-source guards: quota (per minute and per day), circuit breaker, concurrency cap.
//!
//! Time comes from `tokio::time::Instant`, so tests run on tokio's paused clock. The quota is a token
//! bucket per window (capacity = the quota, refilled continuously over the window): a burst up to the
//! quota passes, then calls are spaced. A call that would have to wait past its deadline fails at
//! once (`rate_limited` for the minute window, `quota_exhausted` for the day) instead of queueing
//! forever. See docs/decisions.md for why this is not the `governor` crate.

use std::sync::Mutex;
use std::time::Duration;

use picket_core::{Finding, ObservableType};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::Source;
use crate::connector::ConnectorError;

struct Bucket {
    capacity: f64,
    tokens: f64,
    per_sec: f64,
    at: Instant,
}

impl Bucket {
    fn new(quota: u32, window: Duration, now: Instant) -> Self {
        Self {
            capacity: f64::from(quota),
            tokens: f64::from(quota),
            per_sec: f64::from(quota) / window.as_secs_f64(),
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + dt * self.per_sec).min(self.capacity);
        self.at = now;
    }

    /// How long until a token is available (zero: take it now).
    fn wait(&mut self, now: Instant) -> Duration {
        self.refill(now);
        if self.tokens >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - self.tokens) / self.per_sec)
        }
    }

    fn take(&mut self) {
        self.tokens -= 1.0;
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
    /// One trial call is in flight after the cooldown.
    HalfOpen,
}

/// The state `picket connectors` and `/metrics` can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

/// A source behind its guards.
pub struct Guarded {
    pub source: Source,
    minute: Option<Mutex<Bucket>>,
    day: Option<Mutex<Bucket>>,
    breaker: Mutex<Breaker>,
    slots: Semaphore,
    threshold: u32,
    cooldown: Duration,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Failures that count against the breaker: the transient ones, and rejected credentials (a revoked
/// key fails every call; hammering the provider with it helps nobody and can get the key banned).
fn counts(e: &ConnectorError) -> bool {
    e.is_transient()
        || matches!(
            e,
            ConnectorError::Unauthorized(_) | ConnectorError::Forbidden(_)
        )
}

impl Guarded {
    pub fn new(source: Source) -> Self {
        let now = Instant::now();
        let q = source.quota();
        let c = &source.config;
        Self {
            minute: q
                .per_minute
                .map(|n| Mutex::new(Bucket::new(n, Duration::from_secs(60), now))),
            day: q
                .per_day
                .map(|n| Mutex::new(Bucket::new(n, Duration::from_secs(86_400), now))),
            breaker: Mutex::new(Breaker::Closed { failures: 0 }),
            slots: Semaphore::new(c.concurrency.max(1) as usize),
            threshold: c.breaker_failures.max(1),
            cooldown: Duration::from_secs(c.breaker_cooldown_secs),
            source,
        }
    }

    pub fn name(&self) -> &str {
        self.source.name()
    }

    pub fn breaker_state(&self) -> BreakerState {
        match *lock(&self.breaker) {
            Breaker::Closed { .. } => BreakerState::Closed,
            Breaker::Open { until } if Instant::now() >= until => BreakerState::HalfOpen,
            Breaker::Open { .. } => BreakerState::Open,
            Breaker::HalfOpen => BreakerState::HalfOpen,
        }
    }

    fn admit(&self) -> Result<bool, ConnectorError> {
        let mut b = lock(&self.breaker);
        match *b {
            Breaker::Closed { .. } => Ok(false),
            Breaker::Open { until } => {
                let now = Instant::now();
                if now >= until {
                    *b = Breaker::HalfOpen;
                    Ok(true)
                } else {
                    Err(ConnectorError::CircuitOpen(until - now))
                }
            }
            Breaker::HalfOpen => Err(ConnectorError::CircuitOpen(Duration::ZERO)),
        }
    }

    fn settle(&self, ok: bool, trial: bool) {
        let mut b = lock(&self.breaker);
        if ok {
            *b = Breaker::Closed { failures: 0 };
            return;
        }
        let failures = match *b {
            Breaker::Closed { failures } => failures + 1,
            _ => self.threshold,
        };
        *b = if trial || failures >= self.threshold {
            tracing::warn!(connector = %self.name(), cooldown_secs = self.cooldown.as_secs(), "circuit opened");
            Breaker::Open {
                until: Instant::now() + self.cooldown,
            }
        } else {
            Breaker::Closed { failures }
        };
    }

    fn release_trial(&self) {
        let mut b = lock(&self.breaker);
        if *b == Breaker::HalfOpen {
            *b = Breaker::Open {
                until: Instant::now(),
            };
        }
    }

    /// Waits for both quota windows (within the deadline) and takes a token from each.
    async fn quota(&self, deadline: Instant) -> Result<(), ConnectorError> {
        loop {
            let now = Instant::now();
            let mut wait = Duration::ZERO;
            let mut over_day = false;
            if let Some(d) = &self.day {
                let w = lock(d).wait(now);
                if w > Duration::ZERO {
                    wait = w;
                    over_day = true;
                }
            }
            if let Some(m) = &self.minute {
                wait = wait.max(lock(m).wait(now));
            }
            if wait.is_zero() {
                if let Some(d) = &self.day {
                    lock(d).take();
                }
                if let Some(m) = &self.minute {
                    lock(m).take();
                }
                return Ok(());
            }
            if now + wait > deadline {
                return Err(if over_day {
                    ConnectorError::QuotaExhausted(format!(
                        "daily quota of {} used; next request in {}s",
                        self.source.quota().per_day.unwrap_or(0),
                        wait.as_secs()
                    ))
                } else {
                    ConnectorError::RateLimited(Some(wait))
                });
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// One guarded lookup; fails fast with `circuit_open`, `rate_limited`, `quota_exhausted` or
    /// `deadline` rather than waiting past `deadline`.
    pub async fn lookup(
        &self,
        kind: ObservableType,
        value: &str,
        deadline: Instant,
    ) -> Result<Finding, ConnectorError> {
        let trial = self.admit()?;
        let guarded = async {
            self.quota(deadline).await?;
            let _slot = tokio::time::timeout_at(deadline, self.slots.acquire())
                .await
                .map_err(|_| ConnectorError::Deadline)?
                .map_err(|_| ConnectorError::Deadline)?;
            self.source.connector.lookup(kind, value).await
        };
        let result = guarded.await;
        match &result {
            Ok(_) => self.settle(true, trial),
            Err(e) if counts(e) => self.settle(false, trial),
            Err(_) if trial => self.release_trial(),
            Err(_) => {}
        }
        result
    }
}
