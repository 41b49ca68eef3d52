//! A decoder for the parts of PostgreSQL's logical replication protocol (pgoutput,
//! `proto_version` 1, text values) that the relay uses: Relation and Insert.
//!
//! The replication crate decodes Begin/Commit itself and hands every other message over
//! as bytes; the relay ignores Update, Delete, Truncate, Type and Origin (the
//! publication only publishes inserts). Malformed input yields an error, never a panic.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::{Buf, Bytes};

/// A table's shape as announced by a Relation message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// Schema (namespace) name.
    pub schema: String,
    /// Table name.
    pub table: String,
    /// Column names in tuple order.
    pub columns: Vec<String>,
    /// Column type OIDs in tuple order (a `bytea` payload is decoded from its hex text).
    pub column_types: Vec<u32>,
}

/// One column value of a tuple.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// An unchanged TOASTed value (never sent for inserts).
    Unchanged,
    /// The value in PostgreSQL's text output format.
    Text(Bytes),
}

/// A decoded message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgOutputMessage {
    /// The shape of relation `id`; sent before its first change in a session.
    Relation {
        /// Relation OID.
        id: u32,
        /// Its shape.
        relation: Relation,
    },
    /// A new row of relation `id`.
    Insert {
        /// Relation OID.
        id: u32,
        /// Column values in the relation's column order.
        values: Vec<Value>,
    },
    /// Anything the relay does not act on.
    Other(u8),
}

/// Decoding failed: the bytes do not follow the protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed pgoutput message: {0}")]
pub struct DecodeError(pub String);

type Result<T> = std::result::Result<T, DecodeError>;

/// Decodes one pgoutput message.
pub fn decode(mut buf: Bytes) -> Result<PgOutputMessage> {
    let tag = take_u8(&mut buf)?;
    match tag {
        b'R' => {
            let id = take_u32(&mut buf)?;
            let schema = take_cstr(&mut buf)?;
            let table = take_cstr(&mut buf)?;
            let _replica_identity = take_u8(&mut buf)?;
            let count = take_i16(&mut buf)?;
            let mut columns = Vec::with_capacity(count.max(0) as usize);
            let mut column_types = Vec::with_capacity(count.max(0) as usize);
            for _ in 0..count {
                let _flags = take_u8(&mut buf)?;
                columns.push(take_cstr(&mut buf)?);
                column_types.push(take_u32(&mut buf)?);
                let _type_modifier = take_u32(&mut buf)?;
            }
            Ok(PgOutputMessage::Relation {
                id,
                relation: Relation {
                    schema,
                    table,
                    columns,
                    column_types,
                },
            })
        }
        b'I' => {
            let id = take_u32(&mut buf)?;
            match take_u8(&mut buf)? {
                b'N' => {}
                other => return Err(DecodeError(format!("insert tuple marker {other:#x}"))),
            }
            let values = take_tuple(&mut buf)?;
            Ok(PgOutputMessage::Insert { id, values })
        }
        other => Ok(PgOutputMessage::Other(other)),
    }
}

fn take_tuple(buf: &mut Bytes) -> Result<Vec<Value>> {
    let count = take_i16(buf)?;
    let mut values = Vec::with_capacity(count.max(0) as usize);
    for _ in 0..count {
        values.push(match take_u8(buf)? {
            b'n' => Value::Null,
            b'u' => Value::Unchanged,
            b't' => {
                let len = take_u32(buf)? as usize;
                need(buf, len)?;
                Value::Text(buf.split_to(len))
            }
            other => return Err(DecodeError(format!("tuple value kind {other:#x}"))),
        });
    }
    Ok(values)
}

fn need(buf: &Bytes, n: usize) -> Result<()> {
    if buf.remaining() < n {
        Err(DecodeError(format!(
            "truncated: needed {n} bytes, {} left",
            buf.remaining()
        )))
    } else {
        Ok(())
    }
}

fn take_u8(buf: &mut Bytes) -> Result<u8> {
    need(buf, 1)?;
    Ok(buf.get_u8())
}

fn take_i16(buf: &mut Bytes) -> Result<i16> {
    need(buf, 2)?;
    Ok(buf.get_i16())
}

fn take_u32(buf: &mut Bytes) -> Result<u32> {
    need(buf, 4)?;
    Ok(buf.get_u32())
}

fn take_cstr(buf: &mut Bytes) -> Result<String> {
    let end = buf
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| DecodeError("unterminated string".into()))?;
    let text = buf.split_to(end);
    buf.advance(1);
    String::from_utf8(text.to_vec()).map_err(|_| DecodeError("string is not UTF-8".into()))
}

/// Relations announced in the current session, by OID.
#[derive(Debug, Default)]
pub struct Relations(HashMap<u32, Arc<Relation>>);

impl Relations {
    /// Records (or replaces, after an ALTER TABLE) a relation.
    pub fn insert(&mut self, id: u32, relation: Relation) {
        self.0.insert(id, Arc::new(relation));
    }

    /// The relation with OID `id`, if announced.
    pub fn get(&self, id: u32) -> Option<&Arc<Relation>> {
        self.0.get(&id)
    }
}

#[cfg(test)]
mod tests {
    use bytes::BufMut;

    use super::*;

    fn relation_message() -> Bytes {
        let mut b = bytes::BytesMut::new();
        b.put_u8(b'R');
        b.put_u32(16384);
        b.put_slice(b"public\0outbox\0");
        b.put_u8(b'd');
        b.put_i16(2);
        for name in ["id", "payload"] {
            b.put_u8(0);
            b.put_slice(name.as_bytes());
            b.put_u8(0);
            b.put_u32(25);
            b.put_u32(u32::MAX);
        }
        b.freeze()
    }

    fn insert_message() -> Bytes {
        let mut b = bytes::BytesMut::new();
        b.put_u8(b'I');
        b.put_u32(16384);
        b.put_u8(b'N');
        b.put_i16(2);
        b.put_u8(b't');
        b.put_u32(3);
        b.put_slice(b"abc");
        b.put_u8(b'n');
        b.freeze()
    }

    #[test]
    fn decodes_relation_and_insert() {
        let PgOutputMessage::Relation { id, relation } = decode(relation_message()).unwrap() else {
            panic!("not a relation");
        };
        assert_eq!(id, 16384);
        assert_eq!(relation.table, "outbox");
        assert_eq!(relation.columns, vec!["id", "payload"]);
        assert_eq!(relation.column_types, vec![25, 25]);
        assert_eq!(
            decode(insert_message()).unwrap(),
            PgOutputMessage::Insert {
                id: 16384,
                values: vec![Value::Text(Bytes::from_static(b"abc")), Value::Null],
            }
        );
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        for message in [relation_message(), insert_message()] {
            for len in 0..message.len() {
                let truncated = message.slice(..len);
                assert!(decode(truncated).is_err(), "prefix of {len} bytes accepted");
            }
        }
    }

    proptest::proptest! {
        /// No byte string makes the decoder panic: it decodes or returns an error.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = decode(Bytes::from(bytes));
        }

        /// Valid messages with random bytes flipped or cut never panic either (the decoder
        /// reaches deep paths only from mostly-valid input).
        #[test]
        fn mutated_valid_messages_never_panic(
            which in 0usize..2,
            flips in proptest::collection::vec((0usize..64, proptest::num::u8::ANY), 0..4),
            cut in 0usize..80,
        ) {
            let mut bytes = if which == 0 { relation_message() } else { insert_message() }.to_vec();
            for (at, value) in flips {
                if let Some(b) = bytes.get_mut(at) {
                    *b = value;
                }
            }
            bytes.truncate(cut.max(1));
            let _ = decode(Bytes::from(bytes));
        }
    }

    #[test]
    fn other_messages_are_passed_over() {
        assert_eq!(
            decode(Bytes::from_static(b"Yxyz")).unwrap(),
            PgOutputMessage::Other(b'Y')
        );
    }
}
