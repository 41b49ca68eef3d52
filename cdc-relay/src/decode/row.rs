//! Column access on a decoded row, shared by the outbox layouts' mappings.

use super::pgoutput::{Relation, Value};

/// PostgreSQL's type OID of `bytea`.
const BYTEA_OID: u32 = 17;

/// The value of each hex digit, `INVALID` for any other byte.
const HEX_DIGITS: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};
const INVALID: u8 = 0xff;

/// The bytes of `bytea`'s hex output (`\x` and two hex digits a byte), `None` when it is
/// not that. The payload of every outbox row passes through here, so it decodes by table
/// straight from the wire bytes: the `hex` crate's iterator-based decoding (after a UTF-8
/// check of the whole text) was a fifth of the relay's main thread in a drain
/// (docs/benchmarks.md, 2026-12-08).
fn bytea_hex(text: &[u8]) -> Option<Vec<u8>> {
    let digits = text.strip_prefix(b"\\x")?;
    if digits.len() % 2 != 0 {
        return None;
    }
    let mut bytes = Vec::with_capacity(digits.len() / 2);
    for pair in digits.chunks_exact(2) {
        let (high, low) = (HEX_DIGITS[pair[0] as usize], HEX_DIGITS[pair[1] as usize]);
        if high == INVALID || low == INVALID {
            return None;
        }
        bytes.push(high << 4 | low);
    }
    Some(bytes)
}

/// One inserted row with its relation, read by column name.
pub(crate) struct Row<'a> {
    pub relation: &'a Relation,
    pub values: &'a [Value],
}

impl Row<'_> {
    fn index(&self, column: &str) -> Result<usize, String> {
        self.relation
            .columns
            .iter()
            .position(|c| c == column)
            .ok_or_else(|| format!("table has no column {column}"))
    }

    /// Whether the table has `column`.
    pub fn has(&self, column: &str) -> bool {
        self.index(column).is_ok()
    }

    /// The text of `column`; NULL is an error.
    pub fn text(&self, column: &str) -> Result<&str, String> {
        self.optional_text(column)?
            .ok_or_else(|| format!("column {column} is NULL"))
    }

    /// The text of `column`, `None` for NULL; a missing column is an error.
    pub fn optional_text(&self, column: &str) -> Result<Option<&str>, String> {
        self.optional_raw(column)?
            .map(|bytes| {
                std::str::from_utf8(bytes).map_err(|_| format!("column {column} is not UTF-8 text"))
            })
            .transpose()
    }

    /// The text output bytes of `column`, `None` for NULL.
    fn optional_raw(&self, column: &str) -> Result<Option<&[u8]>, String> {
        match self.values.get(self.index(column)?) {
            Some(Value::Text(bytes)) => Ok(Some(bytes)),
            Some(Value::Null) => Ok(None),
            Some(Value::Unchanged) | None => Err(format!("column {column} has no value")),
        }
    }

    /// The type OID of `column`, if the table has it.
    pub fn type_oid(&self, column: &str) -> Option<u32> {
        self.index(column)
            .ok()
            .and_then(|i| self.relation.column_types.get(i))
            .copied()
    }

    /// Whether `column` is of type `bytea` (its text is `\x` and hex digits).
    pub fn is_bytea(&self, column: &str) -> bool {
        self.type_oid(column) == Some(BYTEA_OID)
    }

    /// The bytes of a `bytea` column from its hex output (`\x...`).
    pub fn bytea(&self, column: &str) -> Result<Vec<u8>, String> {
        self.optional_bytea(column)?
            .ok_or_else(|| format!("column {column} is NULL"))
    }

    /// The bytes of a `bytea` column, `None` for NULL.
    pub fn optional_bytea(&self, column: &str) -> Result<Option<Vec<u8>>, String> {
        self.optional_raw(column)?
            .map(|text| {
                bytea_hex(text).ok_or_else(|| format!("column {column} is not bytea hex output"))
            })
            .transpose()
    }

    /// The row as a JSON object of text values, for the dead-letter topic.
    pub fn to_json(&self) -> Vec<u8> {
        let object: serde_json::Map<String, serde_json::Value> = self
            .relation
            .columns
            .iter()
            .zip(self.values)
            .map(|(name, value)| {
                let value = match value {
                    Value::Text(bytes) => {
                        serde_json::Value::String(String::from_utf8_lossy(bytes).into_owned())
                    }
                    Value::Null | Value::Unchanged => serde_json::Value::Null,
                };
                (name.clone(), value)
            })
            .collect();
        // Strings and nulls: a JSON object's text form cannot fail to render.
        serde_json::Value::Object(object).to_string().into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::bytea_hex;

    #[test]
    fn bytea_hex_output_decodes_in_either_case() {
        assert_eq!(bytea_hex(b"\\x"), Some(vec![]));
        assert_eq!(
            bytea_hex(b"\\x00ff7fA0bC"),
            Some(vec![0x00, 0xff, 0x7f, 0xa0, 0xbc])
        );
        let all: Vec<u8> = (0..=255).collect();
        let text: String = all.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(bytea_hex(format!("\\x{text}").as_bytes()), Some(all));
    }

    #[test]
    fn anything_else_is_not_bytea_output() {
        for bad in [
            &b"00ff"[..],
            b"\\x0",
            b"\\x0g",
            b"\\xg0",
            b"\\x 0",
            b"x00",
            b"\\x\xc3\xa9",
        ] {
            assert_eq!(bytea_hex(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
