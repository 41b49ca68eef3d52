//! Orders at a fixed rate: order `n` is due at `start + n / rate`, whatever happened to
//! the ones before (an open workload: a slow answer does not slow the arrivals, so a
//! stall shows up in the figures instead of being hidden by fewer requests).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;
use uuid::Uuid;

use super::client::{Answer, Client, Exchange};
use super::fixtures::Fixtures;
use super::mix::{Kind, Mix};

/// An order that starts later than this after it was due counts as sent late.
const LATE: Duration = Duration::from_millis(20);

/// When a run stops placing orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// After this many orders.
    Count(usize),
    /// Once this long has passed since the first.
    Elapsed(Duration),
    /// When [`Pacer::stop`] is called.
    Stopped,
}

/// How orders are placed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pacing {
    /// Orders per second.
    pub rate: f64,
    /// When to stop.
    pub until: Until,
    /// Requests in flight at most; an order due while that many are waiting for their
    /// answer goes out when one comes back (and counts as late). `usize::MAX`: no limit.
    pub in_flight: usize,
}

/// One order of a run, placed.
#[derive(Debug, Clone)]
pub struct Placement {
    /// Its position in the run (from 0).
    pub n: usize,
    /// What it asks for.
    pub kind: Kind,
    /// The Idempotency-Key it was sent with.
    pub key: String,
    /// What happened to the request.
    pub exchange: Exchange,
}

impl Placement {
    /// The order's id, if order-service accepted it.
    pub fn accepted(&self) -> Option<Uuid> {
        match self.exchange.answer {
            Answer::Accepted(id) => Some(id),
            Answer::Refused(_) => None,
        }
    }
}

/// How the pacing went.
#[derive(Debug, Clone, Copy, Default)]
pub struct Paced {
    /// Orders sent.
    pub sent: usize,
    /// From the first order's due time to the last one's sending.
    pub sent_in: Duration,
    /// Orders sent more than 20 ms after they were due.
    pub late: usize,
}

impl Paced {
    /// Orders sent per second.
    pub fn achieved_rate(&self) -> f64 {
        self.sent as f64 / self.sent_in.as_secs_f64().max(1e-3)
    }
}

/// Places orders at a fixed rate on a task of its own; each request runs on its own
/// task too. Every order's [`Placement`] comes out of [`Self::next`] as it is answered.
#[derive(Debug)]
pub struct Pacer {
    stop: watch::Sender<bool>,
    task: JoinHandle<Paced>,
    accepted: Arc<AtomicUsize>,
    placements: mpsc::UnboundedReceiver<Placement>,
}

impl Pacer {
    /// Starts placing orders of `mix`, from `fixtures`, through `client`; order `n`
    /// goes to order-service instance `n` (modulo their number).
    pub fn start(client: Client, fixtures: Fixtures, mix: Mix, pacing: Pacing) -> Self {
        let (stop, stopped) = watch::channel(false);
        let (sender, placements) = mpsc::unbounded_channel();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        let task = tokio::spawn(async move {
            let run = Uuid::now_v7().simple().to_string();
            let place = move |n: usize| {
                let kind = mix.kind(n);
                let (client, sender, counter) = (client.clone(), sender.clone(), counter.clone());
                let key = format!("load-{run}-{n}");
                async move {
                    let body = fixtures.body(kind);
                    let exchange = client.place(n, &body, &key).await;
                    let placement = Placement {
                        n,
                        kind,
                        key,
                        exchange,
                    };
                    if placement.accepted().is_some() {
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                    // The receiver may be gone: a caller that only wanted the orders placed.
                    let _ = sender.send(placement);
                }
            };
            pace(pacing, stopped, place).await
        });
        Self {
            stop,
            task,
            accepted,
            placements,
        }
    }

    /// Orders accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }

    /// The next order answered; `None` once every order was placed and answered.
    pub async fn next(&mut self) -> Option<Placement> {
        self.placements.recv().await
    }

    /// Asks it to place no more orders (those on their way still get their answers).
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    /// Waits until the pacing ended (by [`Until`] or [`Self::stop`]) and every answer
    /// came; returns how it went and the placements not taken with [`Self::next`].
    pub async fn finish(mut self) -> (Paced, Vec<Placement>) {
        let paced = (&mut self.task).await.expect("pacing task");
        let mut rest = Vec::new();
        while let Some(placement) = self.placements.recv().await {
            rest.push(placement);
        }
        (paced, rest)
    }
}

/// Calls `place(n)` for n = 0, 1, ... at `pacing`'s rate, each on its own task, until
/// `pacing.until`; waits for them all.
async fn pace<F, Fut>(pacing: Pacing, mut stopped: watch::Receiver<bool>, place: F) -> Paced
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let interval = Duration::from_secs_f64(1.0 / pacing.rate);
    let permits = Arc::new(Semaphore::new(
        pacing.in_flight.clamp(1, Semaphore::MAX_PERMITS),
    ));
    let mut requests = JoinSet::new();
    let start = Instant::now();
    let mut paced = Paced::default();
    for n in 0.. {
        let due = start + interval.mul_f64(n as f64);
        let more = match pacing.until {
            Until::Count(count) => n < count,
            Until::Elapsed(limit) => due < start + limit,
            Until::Stopped => true,
        };
        if !more {
            break;
        }
        let permit = tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => break,
            permit = async {
                tokio::time::sleep_until(due).await;
                Arc::clone(&permits).acquire_owned().await
            } => permit.expect("the semaphore is never closed"),
        };
        if Instant::now() > due + LATE {
            paced.late += 1;
        }
        let request = place(n);
        requests.spawn(async move {
            request.await;
            drop(permit);
        });
        paced.sent += 1;
        paced.sent_in = start.elapsed();
        // Reap finished requests as we go, so a long run holds no finished tasks.
        while requests.try_join_next().is_some() {}
    }
    while requests.join_next().await.is_some() {}
    paced
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn orders_leave_on_schedule_until_the_count_and_late_ones_are_counted() {
        let sent: Arc<Mutex<Vec<(usize, Duration)>>> = Arc::default();
        let start = Instant::now();
        let record = Arc::clone(&sent);
        let pacing = Pacing {
            rate: 10.0,
            until: Until::Count(5),
            in_flight: 2,
        };
        let (_stop, stopped) = watch::channel(false);
        let paced = pace(pacing, stopped, move |n| {
            let record = Arc::clone(&record);
            async move {
                record.lock().unwrap().push((n, start.elapsed()));
                // Each answer takes 250 ms: with 2 in flight, orders 2.. wait for one.
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
        .await;
        let sent = sent.lock().unwrap().clone();
        let at: Vec<u128> = sent.iter().map(|(_, t)| t.as_millis()).collect();
        assert_eq!(at, [0, 100, 250, 350, 500]);
        assert_eq!((paced.sent, paced.late), (5, 3));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_ends_an_open_ended_run() {
        let pacing = Pacing {
            rate: 100.0,
            until: Until::Stopped,
            in_flight: 10,
        };
        let (stop, stopped) = watch::channel(false);
        let run = tokio::spawn(pace(pacing, stopped, |_| async {}));
        tokio::time::sleep(Duration::from_millis(995)).await;
        stop.send(true).unwrap();
        let paced = run.await.unwrap();
        assert_eq!((paced.sent, paced.late), (100, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_for_a_duration_sends_what_falls_within_it() {
        let pacing = Pacing {
            rate: 20.0,
            until: Until::Elapsed(Duration::from_secs(2)),
            in_flight: 10,
        };
        let (_stop, stopped) = watch::channel(false);
        let paced = pace(pacing, stopped, |_| async {}).await;
        assert_eq!(paced.sent, 40);
    }
}
