//! Message handlers: they only translate. A message becomes a use case's input
//! ([`crate::messages`] reads it), the use case runs in the consumer loop's unit of work
//! ([`crate::application`]), and its error becomes a [`messaging::HandlingError`]
//! (retry, fail or dead-letter: see `impl From<Error> for HandlingError`).

pub mod replica;
pub mod replies;
