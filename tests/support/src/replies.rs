//! What the validating services' tests check on order-service's reply channel and on
//! their own metrics, written once for both.

use contracts::order;
use ftgo_harness::Stack;
use ftgo_harness::kafka::ReceivedRecord;
use outbox::headers::{CORRELATION_ID, MESSAGE_TYPE};
use uuid::Uuid;

use crate::{WITHIN, eventually, metric_with_label, read_until, with_header};

/// Reads order-service's reply channel until every order in `orders` has a reply;
/// returns each order's replies.
pub fn replies(stack: &Stack, orders: &[Uuid]) -> Vec<Vec<ReceivedRecord>> {
    let ids: Vec<String> = orders.iter().map(Uuid::to_string).collect();
    let records = read_until(stack, order::REPLIES, |records| {
        ids.iter()
            .all(|id| records.iter().any(|r| r.header(CORRELATION_ID) == Some(id)))
    });
    ids.iter()
        .map(|id| {
            with_header(&records, CORRELATION_ID, id)
                .into_iter()
                .cloned()
                .collect()
        })
        .collect()
}

/// Reads order-service's reply channel until `order_id` has a reply; asserts it has
/// exactly one, of `message_type`.
pub fn assert_one_reply(stack: &Stack, order_id: Uuid, message_type: &str) {
    let replies = replies(stack, &[order_id]);
    assert_eq!(replies[0].len(), 1, "{:?}", replies[0]);
    assert_eq!(replies[0][0].header(MESSAGE_TYPE), Some(message_type));
}

/// Waits until the service at `url` has consumed a message as a duplicate.
pub async fn await_duplicate(url: &str) {
    eventually(
        WITHIN,
        "the second copy is consumed as a duplicate",
        || async {
            metric_with_label(url, "ftgo_consumer_messages_total", "outcome=\"duplicate\"").await
                >= 1.0
        },
    )
    .await;
}

/// After a command about `order_id` was produced twice (same message id), then a
/// sentinel command about the same order: the replies about the order are exactly
/// `types` (the command's, then the sentinel's), and the service at `url` handled two
/// messages, the command and the sentinel, not the duplicate.
pub async fn assert_answered_once(stack: &Stack, url: &str, order_id: Uuid, types: [&str; 2]) {
    let order = order_id.to_string();
    let records = read_until(stack, order::REPLIES, |records| {
        with_header(records, CORRELATION_ID, &order)
            .iter()
            .any(|r| r.header(MESSAGE_TYPE) == Some(types[1]))
    });
    let about_order = with_header(&records, CORRELATION_ID, &order);
    let seen: Vec<_> = about_order
        .iter()
        .map(|r| r.header(MESSAGE_TYPE).unwrap_or_default())
        .collect();
    assert_eq!(seen, types, "{about_order:?}");
    let handled =
        metric_with_label(url, "ftgo_consumer_messages_total", "outcome=\"handled\"").await;
    assert_eq!(
        handled, 2.0,
        "the command and the sentinel, not the duplicate"
    );
}

/// Asserts that the service at `url` answered no request with a 5xx.
pub async fn assert_no_server_errors(url: &str) {
    let server_errors = metric_with_label(url, "ftgo_http_requests_total", "status=\"5").await;
    assert_eq!(server_errors, 0.0, "no request may produce a 5xx");
}
