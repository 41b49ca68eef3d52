//! The one rule for names and ids in request bodies, stated identically in the code and in
//! the OpenAPI documents: no control character, at least one character that is not
//! whitespace, at most a given number of characters (Unicode scalar values, as JSON
//! Schema counts them).
//!
//! The document has to say exactly what the server accepts: a fuzzer (schemathesis)
//! sends what the schema allows and expects it accepted, and what it forbids and expects
//! it refused. The pattern spells the blank characters out instead of using `\s`, whose
//! meaning differs between regex dialects (ECMA counts U+FEFF, Python counts U+001C to
//! U+001F); a unit test checks the list against Rust's `char::is_whitespace`.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// The whitespace characters that are not control characters (`char::is_whitespace`
/// minus `char::is_control`).
const BLANKS: &str = " \u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}";

/// Longest name (consumers, restaurants, dishes), in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// Longest menu item id, in characters.
pub const MAX_ID_CHARS: usize = 100;

/// The JSON Schema `pattern` of [`check`]: no control character anywhere, and one
/// character that is neither control nor blank.
pub fn pattern() -> String {
    let controls = r"\x00-\x1f\x7f-\x9f";
    format!("^[^{controls}]*[^{controls}{BLANKS}][^{controls}]*$")
}

/// Checks `value` against the rule; `Err` holds the reason, for a problem's `detail`.
pub fn check(value: &str, max_chars: usize) -> Result<(), String> {
    if value.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    if value.chars().all(char::is_whitespace) {
        return Err("must not be blank".into());
    }
    if value.chars().count() > max_chars {
        return Err(format!("must be at most {max_chars} characters"));
    }
    Ok(())
}

fn schema(max_chars: usize) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(max_chars))
        .pattern(Some(pattern()))
        .into()
}

/// The schema of a name: `#[schema(schema_with = service::http::text::name_schema)]`.
pub fn name_schema() -> impl Into<RefOr<Schema>> {
    schema(MAX_NAME_CHARS)
}

/// The schema of a menu item id: `#[schema(schema_with = service::http::text::id_schema)]`.
pub fn id_schema() -> impl Into<RefOr<Schema>> {
    schema(MAX_ID_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every character `BLANKS` covers, ranges expanded.
    fn blanks() -> Vec<char> {
        let chars: Vec<char> = BLANKS.chars().collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            if chars.get(i + 1) == Some(&'-') {
                out.extend(chars[i]..=chars[i + 2]);
                i += 3;
            } else {
                out.push(chars[i]);
                i += 1;
            }
        }
        out
    }

    #[test]
    fn the_pattern_lists_exactly_rusts_blanks_that_are_not_controls() {
        let expected: Vec<char> = (0..=u32::from(char::MAX))
            .filter_map(char::from_u32)
            .filter(|c| c.is_whitespace() && !c.is_control())
            .collect();
        assert_eq!(blanks(), expected);
    }

    #[test]
    fn names_need_a_visible_character_and_no_controls() {
        assert!(check("Ajanta", 200).is_ok());
        assert!(check(" a ", 200).is_ok());
        assert_eq!(check("", 200).unwrap_err(), "must not be blank");
        assert_eq!(check(" \u{3000}", 200).unwrap_err(), "must not be blank");
        assert!(check("a\u{0}", 200).is_err(), "NUL cannot be stored");
        assert!(check("a\u{1c}", 200).is_err());
        assert!(check("a\u{85}", 200).is_err());
        assert!(check(&"é".repeat(3), 3).is_ok(), "characters, not bytes");
        assert!(check(&"é".repeat(4), 3).is_err());
    }
}
