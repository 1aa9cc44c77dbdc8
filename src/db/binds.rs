//! What the stores' shared SQL needs of a backend: a query builder, and the
//! value types of our columns (`BIGINT`, `INTEGER`, text) bound as parameters.
//!
//! Both backends have it. Generic SQL names `DB: Binds` instead of one
//! `Encode + Type` bound per value type: Rust does not carry bounds on other
//! types through a trait alias, so the bounds are written once, on the blanket
//! `impl`, and the binding goes through these functions.

use sqlx::{Database, Encode, QueryBuilder, Type};

pub trait Binds: Database + Sized {
    /// A builder starting with `sql`.
    fn query(sql: impl Into<String>) -> QueryBuilder<Self>;
    fn bind_i64(qb: &mut QueryBuilder<Self>, value: i64);
    fn bind_i32(qb: &mut QueryBuilder<Self>, value: i32);
    fn bind_text(qb: &mut QueryBuilder<Self>, value: String);
    fn bind_bytes(qb: &mut QueryBuilder<Self>, value: Vec<u8>);
}

impl<DB> Binds for DB
where
    DB: Database,
    DB::Arguments: Default,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
    for<'t> i32: Encode<'t, DB> + Type<DB>,
    for<'t> String: Encode<'t, DB> + Type<DB>,
    for<'t> Vec<u8>: Encode<'t, DB> + Type<DB>,
{
    fn query(sql: impl Into<String>) -> QueryBuilder<DB> {
        QueryBuilder::new(sql)
    }
    fn bind_i64(qb: &mut QueryBuilder<DB>, value: i64) {
        qb.push_bind(value);
    }
    fn bind_i32(qb: &mut QueryBuilder<DB>, value: i32) {
        qb.push_bind(value);
    }
    fn bind_text(qb: &mut QueryBuilder<DB>, value: String) {
        qb.push_bind(value);
    }
    fn bind_bytes(qb: &mut QueryBuilder<DB>, value: Vec<u8>) {
        qb.push_bind(value);
    }
}
