//! A unit of work: one database transaction and the messages it publishes.
//!
//! Use cases receive one and never open a transaction or touch the outbox table
//! themselves: they read and write through [`UnitOfWork::transaction`] and publish with
//! [`UnitOfWork::publish`]; [`UnitOfWork::commit`] appends the messages to the outbox in
//! the same transaction and commits. The message is published if and only if the
//! business data it describes was committed.

use contracts::Contract;
use outbox::OutboxMessage;
use uuid::Uuid;

use crate::incoming::{HandlingError, IncomingMessage};
use crate::outbox::Outbox;
use crate::{Result, commands};

/// An open transaction and the messages to append when it commits.
#[derive(Debug)]
pub struct UnitOfWork<'c> {
    transaction: deadpool_postgres::Transaction<'c>,
    outbox: Outbox,
    messages: Vec<OutboxMessage>,
}

impl<'c> UnitOfWork<'c> {
    pub(crate) fn new(transaction: deadpool_postgres::Transaction<'c>, outbox: Outbox) -> Self {
        Self {
            transaction,
            outbox,
            messages: Vec::new(),
        }
    }

    /// The transaction, for the use case's reads and writes. deadpool's, so that
    /// statements can be prepared once per connection (`prepare_cached`) rather than on
    /// every call; it dereferences to `tokio_postgres::Transaction`.
    pub fn transaction(&self) -> &deadpool_postgres::Transaction<'c> {
        &self.transaction
    }

    /// Publishes a message of the published language when the unit commits (encoded
    /// now, in the channel's format); returns it, to add headers.
    pub fn publish(
        &mut self,
        destination: &str,
        key: impl Into<String>,
        message_type: &str,
        payload: &impl Contract,
    ) -> Result<&mut OutboxMessage> {
        let message = self
            .outbox
            .message(destination, key, message_type, payload)?;
        let index = self.messages.len();
        self.messages.push(message);
        Ok(&mut self.messages[index])
    }

    /// Publishes the reply to `command` when the unit commits: on the channel its
    /// `reply-to` header names, keyed and correlated by `correlation_id`, carrying its
    /// trace (see [`commands::reply_channel`]).
    pub fn reply(
        &mut self,
        command: &IncomingMessage,
        correlation_id: Uuid,
        message_type: &str,
        payload: &impl Contract,
    ) -> Result<(), HandlingError> {
        let destination = commands::reply_channel(command)?;
        let message = self
            .outbox
            .message(
                destination,
                correlation_id.to_string(),
                message_type,
                payload,
            )
            .map_err(|e| HandlingError::Failed(e.to_string()))?;
        self.messages
            .push(commands::correlate(message, command, correlation_id));
        Ok(())
    }

    /// The messages published so far (tests, metrics).
    pub fn published(&self) -> &[OutboxMessage] {
        &self.messages
    }

    /// Appends the published messages to the outbox and commits, atomically.
    pub async fn commit(self) -> Result<()> {
        outbox::append(&self.transaction, &self.messages, self.outbox.mode()).await?;
        self.transaction.commit().await?;
        Ok(())
    }

    /// Rolls back: nothing written, nothing published.
    pub async fn rollback(self) -> Result<()> {
        self.transaction.rollback().await?;
        Ok(())
    }
}
