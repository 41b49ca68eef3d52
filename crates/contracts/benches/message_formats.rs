//! JSON against Protobuf on the real messages: encoded size, encode and decode time.
//!
//! Run with `cargo bench -p ftgo-contracts --bench message_formats`. Every contract
//! message is built as the services build it (an order of three lines, a twelve-dish
//! menu, rejection reasons as the services word them) and encoded and decoded through
//! [`Contract`], the path the outbox and the consumers take (for JSON that includes
//! `serde_path_to_error`, for Protobuf the conversion to and from the generated types).
//! Each timing is the median of 9 rounds of a loop of `ITERATIONS` calls; sizes are
//! exact. The report (a markdown table for `docs/benchmarks.md`) goes to stdout.

#![allow(
    clippy::print_stdout,
    reason = "the report goes to stdout, to be pasted into docs/benchmarks.md"
)]

use std::hint::black_box;
use std::time::Instant;

use contracts::{Contract, Format, LineItem, MenuItem, consumer, order, restaurant};
use uuid::Uuid;

const ITERATIONS: u32 = 20_000;
const ROUNDS: usize = 9;

/// Median nanoseconds per call of `f`.
fn time(mut f: impl FnMut()) -> f64 {
    let mut rounds: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..ITERATIONS {
                f();
            }
            started.elapsed().as_nanos() as f64 / f64::from(ITERATIONS)
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    rounds[ROUNDS / 2]
}

/// One table row: size, encode and decode time in each format.
fn measure<T: Contract>(name: &str, value: &T, rows: &mut Vec<String>) {
    let [json, protobuf] = Format::ALL.map(|format| {
        let bytes = value.encode(format).expect("our messages encode");
        let encode = time(|| {
            black_box(
                black_box(value)
                    .encode(format)
                    .expect("our messages encode"),
            );
        });
        let decode = time(|| {
            black_box(T::decode(format, black_box(&bytes)).ok());
        });
        (bytes.len(), encode, decode)
    });
    rows.push(format!(
        "| {name} | {} | {} | {:.0} % | {:.0} | {:.0} | {:.0} | {:.0} |",
        json.0,
        protobuf.0,
        100.0 * protobuf.0 as f64 / json.0 as f64,
        json.1,
        protobuf.1,
        json.2,
        protobuf.2,
    ));
}

fn main() {
    let order_id = Uuid::now_v7();
    let consumer_id = Uuid::now_v7();
    let restaurant_id = Uuid::now_v7();
    let line_items = vec![
        LineItem {
            menu_item_id: "samosa".into(),
            quantity: 2,
        },
        LineItem {
            menu_item_id: "chicken-tikka-masala".into(),
            quantity: 1,
        },
        LineItem {
            menu_item_id: "garlic-naan".into(),
            quantity: 3,
        },
    ];
    let menu: Vec<MenuItem> = [
        ("samosa", "Vegetable samosa", 450),
        ("pakora", "Onion pakora", 495),
        ("chicken-tikka-masala", "Chicken tikka masala", 1_395),
        ("lamb-rogan-josh", "Lamb rogan josh", 1_595),
        ("palak-paneer", "Palak paneer", 1_195),
        ("chana-masala", "Chana masala", 1_050),
        ("dal-makhani", "Dal makhani", 995),
        ("biryani", "Chicken biryani", 1_495),
        ("garlic-naan", "Garlic naan", 395),
        ("basmati-rice", "Basmati rice", 350),
        ("mango-lassi", "Mango lassi", 450),
        ("gulab-jamun", "Gulab jamun", 550),
    ]
    .into_iter()
    .map(|(id, name, price_cents)| MenuItem {
        id: id.into(),
        name: name.into(),
        price_cents,
    })
    .collect();

    let mut rows = Vec::new();
    measure(
        "OrderCreated (3 lines)",
        &order::OrderCreated {
            order_id,
            consumer_id,
            restaurant_id,
            line_items: line_items.clone(),
            total_cents: 3_030,
        },
        &mut rows,
    );
    measure(
        "ValidateConsumerInfo",
        &consumer::ValidateConsumerInfo {
            order_id,
            consumer_id,
            order_total_cents: 3_030,
        },
        &mut rows,
    );
    measure(
        "ValidateOrderDetails (3 lines)",
        &restaurant::ValidateOrderDetails {
            order_id,
            restaurant_id,
            line_items,
        },
        &mut rows,
    );
    measure(
        "ConsumerValidated",
        &consumer::ConsumerValidation {
            order_id,
            consumer_id,
            reason: None,
        },
        &mut rows,
    );
    measure(
        "ConsumerRejected",
        &consumer::ConsumerValidation {
            order_id,
            consumer_id,
            reason: Some(format!("consumer {consumer_id} not found")),
        },
        &mut rows,
    );
    measure(
        "OrderDetailsValidated",
        &restaurant::OrderDetailsValidation {
            order_id,
            restaurant_id,
            reason: None,
        },
        &mut rows,
    );
    measure(
        "RestaurantCreated (12 dishes)",
        &restaurant::RestaurantCreated {
            restaurant_id,
            name: "Ajanta".into(),
            delivers: true,
            menu: menu.clone(),
        },
        &mut rows,
    );
    measure(
        "MenuRevised (12 dishes)",
        &restaurant::MenuRevised {
            restaurant_id,
            menu,
        },
        &mut rows,
    );
    measure(
        "OrderValidated",
        &order::OrderStateChanged {
            order_id,
            reason: None,
        },
        &mut rows,
    );
    measure(
        "OrderRejected",
        &order::OrderStateChanged {
            order_id,
            reason: Some(format!("consumer {consumer_id} not found")),
        },
        &mut rows,
    );

    println!(
        "| message | JSON bytes | Protobuf bytes | Protobuf/JSON | JSON encode ns | \
         Protobuf encode ns | JSON decode ns | Protobuf decode ns |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        println!("{row}");
    }
}
