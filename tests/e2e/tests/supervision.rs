//! `cargo dev up`'s supervision on the real stack: processes killed with -9 from
//! outside (as a person, or the kernel's OOM killer, would) are reported and started
//! again, and the orders placed while they were down reach their outcomes.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ftgo_harness::load::{self, Mix, Pacing, Plan, Target, Until};
use ftgo_harness::supervise::{Backoff, Event};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::sync::mpsc;

use crate::support::{System, metric};

/// Longest wait for the load to flow, and for the killed processes to be back.
const WITHIN: Duration = Duration::from_secs(60);

/// Orders order-service has created so far.
async fn created(order_service: SocketAddr) -> f64 {
    metric(
        order_service,
        "ftgo_orders_total",
        &[("outcome", "created")],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_processes_are_restarted_and_orders_placed_meanwhile_reach_their_outcomes() {
    let mut system = System::start().await;
    let stack = &mut system.stack;
    let target = Target::from_addresses(&stack.addresses()).unwrap();
    let order_service = stack.service("order-service", 0).http_address();
    // Killed: the relay that publishes the orders' commands, and the service that
    // validates their consumers. Until both are back, no order can end.
    let victims = [
        (
            "cdc-relay (order_service)",
            stack.relay("order_service").pid(),
        ),
        (
            "consumer-service",
            stack.service("consumer-service", 0).pid(),
        ),
    ];
    let plan = Plan {
        mix: Mix::standard(),
        pacing: Pacing {
            rate: 10.0,
            until: Until::Count(150),
            in_flight: 64,
        },
        deadline: WITHIN,
    };
    let (sender, mut events) = mpsc::unbounded_channel();
    let supervision = stack.supervise(Backoff::default(), move |event| {
        eprintln!("[supervise] {event}");
        let _ = sender.send(event);
    });
    let outage = async {
        let deadline = Instant::now() + WITHIN;
        while created(order_service).await < 20.0 {
            assert!(Instant::now() < deadline, "no orders within {WITHIN:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let before = created(order_service).await;
        for (_, pid) in victims {
            kill(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
        }
        let mut seen = Vec::new();
        let mut restarted = BTreeSet::new();
        while restarted.len() < victims.len() {
            let event = tokio::time::timeout_at(deadline.into(), events.recv())
                .await
                .unwrap_or_else(|_| panic!("not both restarted within {WITHIN:?}: {seen:#?}"))
                .expect("supervision goes on");
            if let Event::Restarted { name, .. } = &event {
                restarted.insert(name.clone());
            }
            seen.push(event);
        }
        (seen, created(order_service).await - before)
    };
    let run = async {
        tokio::join!(
            load::run(&target, plan, |now| eprintln!("[load] {now}")),
            outage
        )
    };
    let (report, (events, created_while_down)) = tokio::select! {
        () = supervision => unreachable!("supervision runs until dropped"),
        done = run => done,
    };
    let report = report.unwrap();
    eprintln!("{report}");

    for (name, pid) in victims {
        let exited = events.iter().find_map(|e| match e {
            Event::Exited { name: n, how, .. } if n == name => Some(how.as_str()),
            _ => None,
        });
        assert_eq!(
            exited,
            Some("killed by signal 9 (SIGKILL)"),
            "{name}: {events:#?}"
        );
        let restarted = events.iter().find_map(|e| match e {
            Event::Restarted { name: n, pid, .. } if n == name => Some(*pid),
            _ => None,
        });
        assert!(
            restarted.is_some_and(|new| new != pid),
            "{name}: {events:#?}"
        );
    }
    assert!(
        created_while_down > 0.0,
        "orders were placed while the processes were down"
    );
    // Every order, those placed while the relay and consumer-service were down among
    // them, ended as its inputs dictate, within the deadline.
    assert!(report.passed(), "{report}");
    assert_eq!(report.accepted.len(), 150, "{report}");
    assert!(report.validated > 0, "{report}");
    eprintln!(
        "[supervision] {created_while_down} orders created while the processes were down; \
         all 150 ended as they had to"
    );
}
