//! The one shape of a validating service's command handler: decode the command, reach a
//! verdict in the unit of work, reply "validated" or "rejected" with the reason — the
//! reply published iff the command is recorded as processed, and only once.
//!
//! consumer-service (`ValidateConsumerInfo`) and restaurant-service
//! (`ValidateOrderDetails`) differ only in how they reach the verdict and what their
//! messages are called: they implement [`Validation`], and [`ValidationHandler`] is the
//! [`MessageHandler`] both run.

use std::future::Future;

use contracts::Contract;
use uuid::Uuid;

use crate::{HandlingError, IncomingMessage, MessageHandler, UnitOfWork};

/// A validating service's answer to one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The command's subject passes the check.
    Validated,
    /// It does not; the reason goes back to the sender.
    Rejected(String),
}

/// How one service validates one kind of command.
pub trait Validation: Send + Sync + 'static {
    /// The command's payload.
    type Command: Contract + Send + Sync;
    /// The reply's payload (one type for both verdicts).
    type Reply: Contract + Send + Sync;

    /// The command's message type.
    const COMMAND: &'static str;
    /// The reply's message type when validated.
    const VALIDATED: &'static str;
    /// The reply's message type when rejected.
    const REJECTED: &'static str;

    /// The id that correlates the reply with the command (the order's).
    fn correlation_id(command: &Self::Command) -> Uuid;

    /// Reaches the verdict, reading what it needs in `work`.
    fn validate<'a, 'c>(
        &'a self,
        work: &'a mut UnitOfWork<'c>,
        command: &'a Self::Command,
    ) -> impl Future<Output = Result<Verdict, HandlingError>> + Send + 'a;

    /// The reply to `command`: `reason` is the rejection's, absent when validated.
    fn reply(command: &Self::Command, reason: Option<String>) -> Self::Reply;
}

/// The [`MessageHandler`] of a [`Validation`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidationHandler<V>(pub V);

impl<V: Validation> MessageHandler for ValidationHandler<V> {
    fn accepts(&self, message_type: &str, schema_version: i32) -> bool {
        message_type == V::COMMAND && schema_version == contracts::VERSION
    }

    async fn handle<'a, 'c>(
        &'a self,
        work: &'a mut UnitOfWork<'c>,
        message: &'a IncomingMessage,
    ) -> Result<(), HandlingError> {
        let command: V::Command = message.decode()?;
        let verdict = self.0.validate(work, &command).await?;
        let (reply_type, reason) = match verdict {
            Verdict::Validated => (V::VALIDATED, None),
            Verdict::Rejected(reason) => (V::REJECTED, Some(reason)),
        };
        let correlation_id = V::correlation_id(&command);
        tracing::info!(
            %correlation_id,
            command = V::COMMAND,
            reply = reply_type,
            reason = reason.as_deref().unwrap_or(""),
            "validated"
        );
        work.reply(
            message,
            correlation_id,
            reply_type,
            &V::reply(&command, reason),
        )
    }
}
