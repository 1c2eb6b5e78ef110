//! Recognising the database's refusals that are the client's doing.

use diesel::result::{DatabaseErrorKind, Error};

/// The name of the unique constraint (or unique index) a statement violated.
pub fn unique_violation(err: &Error) -> Option<&str> {
    match err {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => info.constraint_name(),
        _ => None,
    }
}
