//! A record's fields as values to bind, in the order its `Serialize` writes them (also
//! through `#[serde(flatten)]`): scalars become SQL values directly and a nested object or
//! array becomes its JSON text (an embedded raw JSON text as it is). Both databases' chunks
//! are laid out from these values — SQLite binds them per record, PostgreSQL gathers them
//! into one array per column — without building a JSON tree per record first (measured:
//! `serde_json::to_value` per record was half of SQLite's insert time).

use sea_orm::Value as SqlValue;
use serde::ser::{self, Impossible, Serialize, SerializeMap, SerializeStruct, Serializer};
use std::fmt;

/// Why a record could not be laid out as values.
#[derive(Debug)]
pub(super) struct BindError(String);

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BindError {}

impl ser::Error for BindError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        BindError(msg.to_string())
    }
}

/// The fields of `record` as `(name, value)` pairs, in serialisation order.
pub(super) fn fields<T: Serialize>(record: &T) -> Result<Vec<(String, SqlValue)>, BindError> {
    let mut out = Fields {
        pairs: Vec::new(),
        key: None,
    };
    record.serialize(&mut out)?;
    Ok(out.pairs)
}

struct Fields {
    pairs: Vec<(String, SqlValue)>,
    key: Option<String>,
}

impl Fields {
    fn push<T: ?Sized + Serialize>(&mut self, key: String, value: &T) -> Result<(), BindError> {
        let bound = match value.serialize(Scalar) {
            Ok(v) => v,
            // An object or an array: stored as its JSON text.
            Err(_) => SqlValue::from(serde_json::to_string(value).map_err(ser::Error::custom)?),
        };
        self.pairs.push((key, bound));
        Ok(())
    }
}

/// The compound forms neither serializer takes, each refused with `$why`.
macro_rules! refuse_compound {
    ($ok:ty, $why:literal) => {
        fn serialize_newtype_variant<T: ?Sized + Serialize>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Result<$ok, BindError> {
            Err(ser::Error::custom($why))
        }
        fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, BindError> {
            Err(ser::Error::custom($why))
        }
        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, BindError> {
            Err(ser::Error::custom($why))
        }
        fn serialize_tuple_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleStruct, BindError> {
            Err(ser::Error::custom($why))
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, BindError> {
            Err(ser::Error::custom($why))
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, BindError> {
            Err(ser::Error::custom($why))
        }
    };
}

/// Rejects what is not a record (a struct or a map at the top).
macro_rules! not_a_record {
    ($($method:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $method(self, $(_: $arg),*) -> Result<Self::Ok, Self::Error> {
            Err(ser::Error::custom("a record must be a struct or a map"))
        })*
    };
}

impl Serializer for &mut Fields {
    type Ok = ();
    type Error = BindError;
    type SerializeSeq = Impossible<(), BindError>;
    type SerializeTuple = Impossible<(), BindError>;
    type SerializeTupleStruct = Impossible<(), BindError>;
    type SerializeTupleVariant = Impossible<(), BindError>;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), BindError>;

    not_a_record!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), BindError> {
        value.serialize(self)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), BindError> {
        value.serialize(self)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self, BindError> {
        Ok(self)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, BindError> {
        Ok(self)
    }
    refuse_compound!((), "a record must be a struct or a map");
}

impl SerializeStruct for &mut Fields {
    type Ok = ();
    type Error = BindError;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), BindError> {
        self.push(key.to_string(), value)
    }
    fn end(self) -> Result<(), BindError> {
        Ok(())
    }
}

/// `#[serde(flatten)]` turns the outer struct into a map: its keys are strings.
impl SerializeMap for &mut Fields {
    type Ok = ();
    type Error = BindError;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), BindError> {
        match key.serialize(Scalar)? {
            SqlValue::String(Some(k)) => {
                self.key = Some(k);
                Ok(())
            }
            _ => Err(ser::Error::custom("a record's keys must be strings")),
        }
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), BindError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| <BindError as ser::Error>::custom("a value without a key"))?;
        self.push(key, value)
    }
    fn end(self) -> Result<(), BindError> {
        Ok(())
    }
}

/// One scalar as a SQL value; anything compound is refused (the caller writes its JSON).
struct Scalar;

impl Serializer for Scalar {
    type Ok = SqlValue;
    type Error = BindError;
    type SerializeSeq = Impossible<SqlValue, BindError>;
    type SerializeTuple = Impossible<SqlValue, BindError>;
    type SerializeTupleStruct = Impossible<SqlValue, BindError>;
    type SerializeTupleVariant = Impossible<SqlValue, BindError>;
    type SerializeMap = Impossible<SqlValue, BindError>;
    type SerializeStruct = Impossible<SqlValue, BindError>;
    type SerializeStructVariant = Impossible<SqlValue, BindError>;

    fn serialize_bool(self, v: bool) -> Result<SqlValue, BindError> {
        Ok(v.into())
    }
    fn serialize_i8(self, v: i8) -> Result<SqlValue, BindError> {
        Ok(i64::from(v).into())
    }
    fn serialize_i16(self, v: i16) -> Result<SqlValue, BindError> {
        Ok(i64::from(v).into())
    }
    fn serialize_i32(self, v: i32) -> Result<SqlValue, BindError> {
        Ok(i64::from(v).into())
    }
    fn serialize_i64(self, v: i64) -> Result<SqlValue, BindError> {
        Ok(v.into())
    }
    fn serialize_u8(self, v: u8) -> Result<SqlValue, BindError> {
        Ok(i64::from(v).into())
    }
    fn serialize_u16(self, v: u16) -> Result<SqlValue, BindError> {
        Ok(i64::from(v).into())
    }
    fn serialize_u32(self, v: u32) -> Result<SqlValue, BindError> {
        Ok(i64::from(v).into())
    }
    fn serialize_u64(self, v: u64) -> Result<SqlValue, BindError> {
        i64::try_from(v)
            .map(Into::into)
            .map_err(|_| ser::Error::custom("an integer beyond 64-bit signed range"))
    }
    fn serialize_f32(self, v: f32) -> Result<SqlValue, BindError> {
        Ok(f64::from(v).into())
    }
    fn serialize_f64(self, v: f64) -> Result<SqlValue, BindError> {
        Ok(v.into())
    }
    fn serialize_char(self, v: char) -> Result<SqlValue, BindError> {
        Ok(v.to_string().into())
    }
    fn serialize_str(self, v: &str) -> Result<SqlValue, BindError> {
        Ok(v.into())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<SqlValue, BindError> {
        Err(ser::Error::custom("compound"))
    }
    fn serialize_none(self) -> Result<SqlValue, BindError> {
        Ok(SqlValue::String(None))
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<SqlValue, BindError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<SqlValue, BindError> {
        Ok(SqlValue::String(None))
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<SqlValue, BindError> {
        Ok(SqlValue::String(None))
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<SqlValue, BindError> {
        Ok(variant.into())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<SqlValue, BindError> {
        // serde_json's RawValue is one: its text is written by the caller.
        Err(ser::Error::custom("compound"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, BindError> {
        Err(ser::Error::custom("compound"))
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, BindError> {
        Err(ser::Error::custom("compound"))
    }
    refuse_compound!(SqlValue, "compound");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use serde_json::json;

    #[derive(Serialize)]
    struct Inner<'a> {
        note: Option<&'a str>,
        raw: serde_json::Value,
    }

    #[derive(Serialize)]
    struct Outer<'a> {
        id: i32,
        price: f64,
        flag: bool,
        #[serde(flatten)]
        inner: Inner<'a>,
    }

    #[test]
    fn fields_come_in_order_with_objects_as_json_text() {
        let record = Outer {
            id: 7,
            price: 1.5,
            flag: true,
            inner: Inner {
                note: None,
                raw: json!({ "b": 1, "a": [true] }),
            },
        };
        let got = fields(&record).unwrap();
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["id", "price", "flag", "note", "raw"]);
        assert_eq!(got[0].1, SqlValue::from(7i64));
        assert_eq!(got[1].1, SqlValue::from(1.5f64));
        assert_eq!(got[2].1, SqlValue::from(true));
        assert_eq!(got[3].1, SqlValue::String(None));
        assert_eq!(got[4].1, SqlValue::from(r#"{"a":[true],"b":1}"#));
    }

    #[test]
    fn a_raw_json_text_is_bound_as_it_is() {
        #[derive(Serialize)]
        struct WithRaw<'a> {
            row: &'a serde_json::value::RawValue,
        }
        let text = r#"{"z":1,"a":2}"#;
        let row: &serde_json::value::RawValue = serde_json::from_str(text).unwrap();
        let got = fields(&WithRaw { row }).unwrap();
        assert_eq!(got[0].1, SqlValue::from(text));
    }

    #[test]
    fn a_scalar_is_not_a_record() {
        assert!(fields(&5).is_err());
    }
}
