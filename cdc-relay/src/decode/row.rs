//! Column access on a decoded row, shared by the outbox layouts' mappings.

use super::pgoutput::{Relation, Value};

/// PostgreSQL's type OID of `bytea`.
const BYTEA_OID: u32 = 17;

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
        match self.values.get(self.index(column)?) {
            Some(Value::Text(bytes)) => std::str::from_utf8(bytes)
                .map(Some)
                .map_err(|_| format!("column {column} is not UTF-8 text")),
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
        self.optional_text(column)?
            .map(|text| {
                text.strip_prefix("\\x")
                    .and_then(|hex_digits| hex::decode(hex_digits).ok())
                    .ok_or_else(|| format!("column {column} is not bytea hex output"))
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
