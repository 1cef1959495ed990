//! The key of an encrypted phone database ([`DatabaseKey`]) and keying a SQLCipher
//! connection with it.
//!
//! The app keeps 32 random bytes in the platform keystore (Android Keystore, iOS Keychain)
//! and hands them over at every open. They are given to SQLCipher in its raw-key form
//! (`x'…'`, 64 hex digits), so no key derivation runs at open. The key never appears in a
//! log line, an error or a `Debug` output, and its bytes (and the statement text that carries
//! them) are wiped from memory when dropped.

use std::path::Path;

use rusqlite::Connection;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The first 16 bytes of every unencrypted SQLite database. An encrypted database starts
/// with a random salt instead.
pub(crate) const PLAIN_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// A phone database key: exactly [`DatabaseKey::LEN`] raw bytes from the platform keystore.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseKey(Zeroizing<[u8; DatabaseKey::LEN]>);

impl DatabaseKey {
    /// The length of a key in bytes (AES-256).
    pub const LEN: usize = 32;

    /// A key from the bytes the app keeps in its keystore; refused with
    /// [`Error::InvalidDatabaseKey`] unless there are exactly [`DatabaseKey::LEN`] of them.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut key = Zeroizing::new([0_u8; Self::LEN]);
        if bytes.len() != Self::LEN {
            return Err(Error::InvalidDatabaseKey { len: bytes.len() });
        }
        key.copy_from_slice(bytes);
        Ok(Self(key))
    }

    /// [`DatabaseKey::from_bytes`] taking the bytes over: the vector is wiped either way (for
    /// a key that crossed the FFI as a byte array).
    pub fn take(bytes: Vec<u8>) -> Result<Self> {
        let bytes = Zeroizing::new(bytes);
        Self::from_bytes(&bytes)
    }

    /// SQLCipher's raw-key literal, `x'<64 hex digits>'`, in memory wiped on drop.
    pub(crate) fn raw_literal(&self) -> Zeroizing<String> {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        // Sized up front, so that no reallocation leaves a copy behind.
        let mut text = Zeroizing::new(String::with_capacity(3 + 2 * Self::LEN));
        text.push_str("x'");
        for byte in self.0.iter() {
            text.push(char::from(HEX[usize::from(byte >> 4)]));
            text.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        text.push('\'');
        text
    }
}

impl std::fmt::Debug for DatabaseKey {
    /// Never the bytes: `DatabaseKey(32 bytes)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseKey({} bytes)", Self::LEN)
    }
}

/// Keys `conn` (first thing on a fresh connection) and checks that the key opens the file:
/// [`Error::WrongDatabaseKey`] if it does not, and nothing has been written.
pub(crate) fn apply(conn: &Connection, key: &DatabaseKey, path: &Path) -> Result<()> {
    let literal = key.raw_literal();
    let mut statement = Zeroizing::new(String::with_capacity(literal.len() + 16));
    statement.push_str("PRAGMA key = \"");
    statement.push_str(&literal);
    statement.push('"');
    // Only SQLite's code is kept: nothing of the statement may reach a message.
    conn.execute_batch(&statement).map_err(|e| match e {
        rusqlite::Error::SqliteFailure(code, _) => {
            Error::Database(rusqlite::Error::SqliteFailure(code, None))
        }
        _ => Error::Database(rusqlite::Error::InvalidQuery),
    })?;
    verify(conn, path)
}

/// Reads the schema, the first thing that needs the key: "not a database" here means the
/// key does not decrypt the file (or the file is not a database at all; with a key the two
/// cannot be told apart), and is reported as [`Error::WrongDatabaseKey`].
pub(crate) fn verify(conn: &Connection, path: &Path) -> Result<()> {
    match conn.query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get::<_, i64>(0)) {
        Ok(_) => Ok(()),
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) => {
            Err(Error::WrongDatabaseKey { file: file_name(path) })
        }
        Err(e) => Err(e.into()),
    }
}

/// Whether the file at `path` is an unencrypted SQLite database (by its header).
pub(crate) fn is_plain_database(path: &Path) -> Result<bool> {
    use std::io::Read;
    let mut header = [0_u8; PLAIN_HEADER.len()];
    match std::fs::File::open(path) {
        Ok(mut file) => match file.read_exact(&mut header) {
            Ok(()) => Ok(&header == PLAIN_HEADER),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
            Err(e) => Err(e.into()),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The file's name, for messages (never the whole path: it may name the user's account).
pub(crate) fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| "the database".to_owned(), |n| n.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_of_the_wrong_length_is_refused_naming_the_length() {
        match DatabaseKey::from_bytes(&[7; 16]) {
            Err(Error::InvalidDatabaseKey { len: 16 }) => {}
            other => panic!("a 16-byte key must be refused, got {other:?}"),
        }
        assert!(DatabaseKey::from_bytes(&[]).is_err());
        assert!(DatabaseKey::from_bytes(&[7; 33]).is_err());
    }

    #[test]
    fn debug_output_shows_no_key_bytes() {
        let key = DatabaseKey::from_bytes(&[0xAB; 32]).expect("32 bytes");
        let shown = format!("{key:?}");
        assert_eq!(shown, "DatabaseKey(32 bytes)");
        assert!(!shown.contains("AB") && !shown.contains("171"), "{shown}");
    }

    #[test]
    fn the_raw_literal_is_sqlciphers_hex_form() {
        let mut bytes = [0_u8; 32];
        bytes[0] = 0x0f;
        bytes[31] = 0xa0;
        let literal = DatabaseKey::from_bytes(&bytes).expect("32 bytes").raw_literal();
        assert_eq!(literal.len(), 67);
        assert!(literal.starts_with("x'0F00") && literal.ends_with("00A0'"), "{}", literal.as_str());
    }

    #[test]
    fn the_bundled_sqlite_is_sqlcipher() {
        let conn = Connection::open_in_memory().expect("open");
        let version: Option<String> =
            conn.query_row("PRAGMA cipher_version", [], |r| r.get(0)).map(Some).unwrap_or(None);
        assert!(version.is_some_and(|v| v.starts_with('4')), "a build without SQLCipher ignores keys");
    }
}
