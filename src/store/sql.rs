//! One way to run SQL on either backend: values, rows, and the few words in which
//! SQLite's and PostgreSQL's SQL differ.
//!
//! Store methods write SQLite's SQL with numbered parameters (`?1`); for PostgreSQL it is
//! rewritten once per statement ([`postgres_sql`]): `$1` for `?1`, and `INSERT OR
//! IGNORE` as `ON CONFLICT DO NOTHING`. What cannot be said alike (large blobs, JSON,
//! pragmas) the store methods say per backend.

use std::error::Error;

use super::{Status, StoreError};

/// A value bound to a statement or read from a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// NULL, of whatever type the column has.
    Null,
    /// An integer (BIGINT; booleans are 0 and 1, as SQLite keeps them).
    Int(i64),
    /// Text.
    Text(String),
    /// Bytes.
    Bytes(Vec<u8>),
}

/// What can be bound as a [`Value`]; references bind as what they point to.
pub trait ToValue {
    /// The value.
    fn to_value(&self) -> Value;
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToValue::to_value)
    }
}

impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_string())
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}

impl ToValue for [u8] {
    fn to_value(&self) -> Value {
        Value::Bytes(self.to_vec())
    }
}

impl ToValue for Vec<u8> {
    fn to_value(&self) -> Value {
        Value::Bytes(self.clone())
    }
}

impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Int(i64::from(*self))
    }
}

impl ToValue for Status {
    fn to_value(&self) -> Value {
        Value::Text(self.as_str().to_string())
    }
}

macro_rules! int_values {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value {
                // Every integer the store keeps fits: ids, counts, UIDs.
                Value::Int(i64::try_from(*self).unwrap_or(i64::MAX))
            }
        }
    )*};
}
int_values!(i64, i32, u32, usize);

/// Binds values as a slice: `args![id, name, None::<&str>]`.
macro_rules! args {
    ($($v:expr),* $(,)?) => {
        &[$($crate::store::sql::ToValue::to_value(&$v)),*][..]
    };
}
pub(crate) use args;

/// A row read, each column's value owned.
#[derive(Debug, Clone)]
pub struct Row(pub(crate) Vec<Value>);

impl Row {
    /// Column `i` as `T`.
    pub fn get<T: FromValue>(&self, i: usize) -> Result<T, StoreError> {
        let value = self
            .0
            .get(i)
            .ok_or_else(|| StoreError::Type(format!("no column {i}")))?;
        T::from_value(value).map_err(|why| StoreError::Type(format!("column {i}: {why}")))
    }
}

/// What a column's value can be read as.
pub trait FromValue: Sized {
    /// The value as `Self`, or why it is not one.
    fn from_value(value: &Value) -> Result<Self, String>;
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

impl FromValue for i64 {
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Int(n) => Ok(*n),
            other => Err(format!("{other:?} is not a number")),
        }
    }
}

impl FromValue for u32 {
    fn from_value(value: &Value) -> Result<Self, String> {
        u32::try_from(i64::from_value(value)?).map_err(|e| e.to_string())
    }
}

impl FromValue for bool {
    fn from_value(value: &Value) -> Result<Self, String> {
        Ok(i64::from_value(value)? != 0)
    }
}

impl FromValue for String {
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Text(s) => Ok(s.clone()),
            // SQLite keeps what it was given: a number in a text column reads as text.
            Value::Int(n) => Ok(n.to_string()),
            other => Err(format!("{other:?} is not text")),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Bytes(b) => Ok(b.clone()),
            Value::Text(s) => Ok(s.clone().into_bytes()),
            other => Err(format!("{other:?} is not bytes")),
        }
    }
}

impl FromValue for Status {
    fn from_value(value: &Value) -> Result<Self, String> {
        let name = String::from_value(value)?;
        Status::parse(&name).ok_or_else(|| format!("unknown claim status {name:?}"))
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Int(n) => ValueRef::Integer(*n),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Bytes(b) => ValueRef::Blob(b),
        }))
    }
}

/// A SQLite column's value. REAL never occurs in the schema; it is kept as text.
pub(crate) fn from_sqlite(value: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(n) => Value::Int(n),
        ValueRef::Real(x) => Value::Text(x.to_string()),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
    }
}

/// A PostgreSQL column's value, by the column's type.
pub(crate) fn from_postgres(row: &tokio_postgres::Row, i: usize) -> Result<Value, String> {
    use tokio_postgres::types::Type;
    let ty = row.columns().get(i).map(|c| c.type_().clone());
    let e = |e: tokio_postgres::Error| e.to_string();
    let int = |v: Option<i64>| v.map_or(Value::Null, Value::Int);
    Ok(match ty {
        Some(Type::INT8) => int(row.try_get::<_, Option<i64>>(i).map_err(e)?),
        Some(Type::INT4) => int(row.try_get::<_, Option<i32>>(i).map_err(e)?.map(i64::from)),
        Some(Type::INT2) => int(row.try_get::<_, Option<i16>>(i).map_err(e)?.map(i64::from)),
        Some(Type::BOOL) => int(row.try_get::<_, Option<bool>>(i).map_err(e)?.map(i64::from)),
        Some(Type::BYTEA) => row
            .try_get::<_, Option<Vec<u8>>>(i)
            .map_err(e)?
            .map_or(Value::Null, Value::Bytes),
        _ => row
            .try_get::<_, Option<String>>(i)
            .map_err(e)?
            .map_or(Value::Null, Value::Text),
    })
}

impl tokio_postgres::types::ToSql for Value {
    /// Written as the type PostgreSQL asks for: the same statement binds an integer to
    /// a BIGINT column, an INTEGER expression or a boolean test, as SQLite takes it.
    fn to_sql(
        &self,
        ty: &tokio_postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> Result<tokio_postgres::types::IsNull, Box<dyn Error + Sync + Send>> {
        use tokio_postgres::types::{IsNull, Type};
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(n) => match *ty {
                Type::INT8 => n.to_sql(ty, out),
                Type::INT4 => i32::try_from(*n)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*n)?.to_sql(ty, out),
                Type::BOOL => (*n != 0).to_sql(ty, out),
                _ => n.to_string().to_sql(ty, out),
            },
            Value::Text(s) => match *ty {
                Type::BYTEA => s.as_bytes().to_sql(ty, out),
                _ => s.as_str().to_sql(ty, out),
            },
            Value::Bytes(b) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &tokio_postgres::types::Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

/// SQLite's SQL as PostgreSQL's: `?N` becomes `$N` (outside quotes), and `INSERT OR
/// IGNORE INTO` becomes `INSERT INTO … ON CONFLICT DO NOTHING` (before any RETURNING).
pub fn postgres_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 24);
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted && chars.peek().is_some_and(char::is_ascii_digit) => out.push('$'),
            _ => out.push(c),
        }
    }
    const IGNORE: &str = "INSERT OR IGNORE INTO";
    if let Some(at) = out.find(IGNORE) {
        out.replace_range(at..at + IGNORE.len(), "INSERT INTO");
        match out.find(" RETURNING ") {
            Some(r) => out.insert_str(r, " ON CONFLICT DO NOTHING"),
            None => out.push_str(" ON CONFLICT DO NOTHING"),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_sql_is_rewritten_for_postgresql_outside_quotes_only() {
        assert_eq!(
            postgres_sql("SELECT a FROM t WHERE b = ?1 AND c = '?2' AND d = ?12"),
            "SELECT a FROM t WHERE b = $1 AND c = '?2' AND d = $12"
        );
        assert_eq!(
            postgres_sql("INSERT OR IGNORE INTO r (a, b) VALUES (?1, ?2)"),
            "INSERT INTO r (a, b) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        );
        assert_eq!(
            postgres_sql("INSERT OR IGNORE INTO r (a) VALUES (?1) RETURNING id"),
            "INSERT INTO r (a) VALUES ($1) ON CONFLICT DO NOTHING RETURNING id"
        );
    }

    #[test]
    fn values_bind_and_read_back_by_type() {
        let bound = args![1_i64, "x", None::<&str>, true, &b"ab"[..], Status::Ready];
        assert_eq!(
            bound,
            [
                Value::Int(1),
                Value::Text("x".into()),
                Value::Null,
                Value::Int(1),
                Value::Bytes(b"ab".to_vec()),
                Value::Text("ready".into())
            ]
        );
        let row = Row(bound.to_vec());
        assert_eq!(row.get::<i64>(0).unwrap(), 1);
        assert_eq!(row.get::<Option<String>>(2).unwrap(), None);
        assert!(row.get::<bool>(3).unwrap());
        assert_eq!(row.get::<Status>(5).unwrap(), Status::Ready);
        assert!(row.get::<i64>(1).is_err());
        assert!(row.get::<i64>(9).is_err());
    }
}
