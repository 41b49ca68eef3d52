//! The outbox as a value: how this deployment's relay reads it (mode) and how each
//! channel's messages are encoded (formats). The service scaffolding builds it once from
//! settings and hands it to whoever writes messages, inside a [`UnitOfWork`].

use std::sync::Arc;

use contracts::{Contract, Format};
use outbox::{OutboxMessage, OutboxMode};

use crate::Result;
use crate::format::MessagingSettings;
use crate::unit_of_work::UnitOfWork;

/// The outbox of one service's database, as its writers see it. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Outbox {
    settings: Arc<(OutboxMode, MessagingSettings)>,
}

impl Outbox {
    /// The outbox read in `mode`, with `formats` choosing each channel's encoding.
    pub fn new(mode: OutboxMode, formats: MessagingSettings) -> Self {
        Self {
            settings: Arc::new((mode, formats)),
        }
    }

    /// How the relay reads this outbox.
    pub fn mode(&self) -> OutboxMode {
        self.settings.0
    }

    /// The format messages to `channel` are written in.
    pub fn format_for(&self, channel: &str) -> Format {
        self.settings.1.format_for(channel)
    }

    /// A message of the published language to `destination`, keyed by `key`, encoded in
    /// the channel's format (schema version [`contracts::VERSION`]).
    pub fn message(
        &self,
        destination: &str,
        key: impl Into<String>,
        message_type: &str,
        payload: &impl Contract,
    ) -> Result<OutboxMessage> {
        let format = self.format_for(destination);
        Ok(OutboxMessage::new(
            destination,
            key,
            message_type,
            contracts::VERSION,
            format.content_type(),
            payload.encode(format)?,
        ))
    }

    /// Begins a unit of work on `client`: a transaction whose messages are appended to
    /// this outbox when it commits.
    pub async fn begin<'c>(
        &self,
        client: &'c mut deadpool_postgres::Object,
    ) -> Result<UnitOfWork<'c>> {
        Ok(UnitOfWork::new(client.transaction().await?, self.clone()))
    }
}

#[cfg(test)]
mod tests {
    use contracts::order::OrderStateChanged;
    use outbox::headers::CONTENT_TYPE;
    use uuid::Uuid;

    use super::*;

    #[test]
    fn a_message_is_encoded_in_its_channels_format_and_says_so() {
        let outbox = Outbox::new(
            OutboxMode::LogTailing,
            MessagingSettings {
                default_format: Format::Json,
                formats: [("order.events".to_owned(), Format::Protobuf)].into(),
            },
        );
        let payload = OrderStateChanged {
            order_id: Uuid::now_v7(),
            reason: Some("late".into()),
        };
        for (channel, format) in [
            ("order.events", Format::Protobuf),
            ("order-service.replies", Format::Json),
        ] {
            let message = outbox.message(channel, "k", "T", &payload).unwrap();
            assert_eq!(message.headers[CONTENT_TYPE], format.content_type());
            assert_eq!(
                OrderStateChanged::decode(format, &message.payload),
                Ok(payload.clone())
            );
            assert_eq!(message.schema_version, contracts::VERSION);
        }
    }
}
