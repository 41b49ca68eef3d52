//! `cargo dev up`'s supervision of the stack's processes (see [`crate::supervise`]).

use std::time::Duration;

use super::Stack;
use crate::process::ManagedProcess;
use crate::supervise::{Backoff, Event, Supervisor};

/// How often the supervisor looks for exited processes: an exit is reported within it.
const LOOK_EVERY: Duration = Duration::from_millis(100);

impl Stack {
    /// Watches every process the stack started, as the kubelet watches a pod's
    /// containers: one that exits is reported through `report` at once and started again
    /// as it was (same ports, settings and data) after `backoff`'s delay; one that keeps
    /// crashing is reported as crash-looping.
    ///
    /// Runs until dropped: `cargo dev up` drops it when asked to stop. It holds the
    /// stack meanwhile, so a test that kills and restarts processes through the stack's
    /// handles (the fault suite) simply does not call it.
    pub async fn supervise(&mut self, backoff: Backoff, mut report: impl FnMut(Event)) {
        let mut supervisor = Supervisor::new(backoff);
        let mut look = tokio::time::interval(LOOK_EVERY);
        loop {
            look.tick().await;
            supervisor.check(&mut self.processes(), &mut report);
        }
    }

    /// Every process of the stack with the name reports give it, always in one order.
    fn processes(&mut self) -> Vec<(String, &mut ManagedProcess)> {
        let mut all = vec![("PostgreSQL".to_owned(), self.postgres.process_mut())];
        if let Some(broker) = self.broker.process_mut() {
            all.push(("Apache Kafka broker".to_owned(), broker));
        }
        for relay in &mut self.relays {
            let name = format!("cdc-relay ({})", relay.service());
            all.push((name, relay.process_mut()));
        }
        let mut seen: Vec<String> = Vec::new();
        for service in &mut self.services {
            let binary = service.binary().to_owned();
            let earlier = seen.iter().filter(|b| **b == binary).count();
            let name = match earlier {
                0 => binary.clone(),
                n => format!("{binary} #{}", n + 1),
            };
            seen.push(binary);
            all.push((name, service.process_mut()));
        }
        if let Some(prometheus) = &mut self.prometheus {
            all.push(("Prometheus".to_owned(), prometheus.process_mut()));
        }
        all
    }
}
