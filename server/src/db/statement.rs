//! Raw SQL statements for either backend. Fillbook's hand-written SQL uses PostgreSQL's
//! numbered `$N` placeholders. On SQLite they become anonymous `?` with the values laid
//! out in the order they appear (a `$N` used twice gets its value twice): SQLite keeps a
//! name for every `$N` or `?N` parameter and sqlx asks for each parameter's name, a linear
//! scan of that list, so a multi-row insert with thousands of numbered parameters is
//! quadratic (measured: 60% of a SQLite sync's time, 165 ms per 500-row insert).
//! Anonymous parameters have no names and bind in order. A placeholder without a value
//! panics on both databases: it is a bug in the statement, not an input error.

use sea_orm::{DatabaseBackend, Statement, Value};

/// A statement of `sql` (with `$N` placeholders, the only style Fillbook's SQL uses) and its
/// values, for `backend`.
pub fn statement<I, T>(backend: DatabaseBackend, sql: T, values: I) -> Statement
where
    I: IntoIterator<Item = Value>,
    T: Into<String>,
{
    let sql = sql.into();
    let values: Vec<Value> = values.into_iter().collect();
    let (anonymous_sql, order) = anonymous(&sql);
    // A placeholder without a value is a bug in the caller: fail loudly on both databases
    // (SQLite would bind NULL where PostgreSQL refuses the statement).
    if let Some(n) = order.iter().find(|n| **n == 0 || **n > values.len()) {
        panic!("${n} has no value ({} given) in: {sql}", values.len());
    }
    match backend {
        DatabaseBackend::Sqlite => {
            let laid_out = order
                .iter()
                .map(|n| values[n - 1].clone())
                .collect::<Vec<_>>();
            Statement::from_sql_and_values(backend, anonymous_sql, laid_out)
        }
        _ => Statement::from_sql_and_values(backend, sql, values),
    }
}

/// `$N` → `?` outside quoted strings and identifiers, and the `N`s in order of appearance.
fn anonymous(sql: &str) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(sql.len());
    let mut order = Vec::new();
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '$' && chars.peek().is_some_and(|n| n.is_ascii_digit()) => {
                let mut n = 0usize;
                while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                    n = n * 10 + d as usize;
                    chars.next();
                }
                order.push(n);
                out.push('?');
                continue;
            }
            None => {}
        }
        out.push(c);
    }
    (out, order)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_placeholders_become_anonymous_in_order_of_appearance() {
        let (sql, order) =
            anonymous("UPDATE t SET a = $2, b = '$2', \"c$3\" = $10, d = $2 WHERE id IN ($1)");
        assert_eq!(
            sql,
            "UPDATE t SET a = ?, b = '$2', \"c$3\" = ?, d = ? WHERE id IN (?)"
        );
        assert_eq!(order, vec![2, 10, 2, 1]);
        assert_eq!(anonymous("SELECT '$' || $1").0, "SELECT '$' || ?");
    }

    #[test]
    fn values_follow_the_placeholders_on_sqlite_only() {
        let values = || -> Vec<Value> { vec![1.into(), "x".into()] };
        let s = statement(DatabaseBackend::Postgres, "SELECT $2, $1, $2", values());
        assert_eq!(s.sql, "SELECT $2, $1, $2");
        assert_eq!(s.values.unwrap().0, values());
        let s = statement(DatabaseBackend::Sqlite, "SELECT $2, $1, $2", values());
        assert_eq!(s.sql, "SELECT ?, ?, ?");
        assert_eq!(s.values.unwrap().0, vec!["x".into(), 1.into(), "x".into()]);
    }

    /// A placeholder without a value is a bug in the statement: it fails loudly on both
    /// databases (SQLite would otherwise bind NULL where PostgreSQL refuses).
    #[test]
    #[should_panic(expected = "$2 has no value")]
    fn a_placeholder_without_a_value_fails_on_sqlite() {
        statement(DatabaseBackend::Sqlite, "SELECT $1, $2", [Value::from(1)]);
    }

    #[test]
    #[should_panic(expected = "$2 has no value")]
    fn a_placeholder_without_a_value_fails_on_postgres() {
        statement(DatabaseBackend::Postgres, "SELECT $1, $2", [Value::from(1)]);
    }
}
