//! What a sync client may read and write: stream prefixes, as a server's token grants them.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The stream prefixes a client may read and write. The empty prefix `""` covers every stream;
/// an empty list covers none. Unknown fields are refused (a misspelled `reads` would otherwise
/// grant nothing without a word).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Access {
    /// Prefixes of the streams the client may pull and read.
    #[serde(default)]
    pub read: Vec<String>,
    /// Prefixes of the streams the client may push to.
    #[serde(default)]
    pub write: Vec<String>,
}

fn covered(prefixes: &[String], stream: &str) -> bool {
    prefixes.iter().any(|p| stream.starts_with(p.as_str()))
}

impl Access {
    /// Full access: read and write every stream (a server run without a token file).
    pub fn all() -> Self {
        Access {
            read: vec![String::new()],
            write: vec![String::new()],
        }
    }

    /// Whether the client may read every stream (its read prefixes include `""`).
    pub fn can_read_everything(&self) -> bool {
        self.read.iter().any(String::is_empty)
    }

    /// Whether the client may read `stream`.
    pub fn can_read(&self, stream: &str) -> bool {
        covered(&self.read, stream)
    }

    /// Whether the client may write `stream`.
    pub fn can_write(&self, stream: &str) -> bool {
        covered(&self.write, stream)
    }

    /// The prefixes a pull of `requested` may actually read: each requested prefix inside a
    /// readable one is kept; a requested prefix wider than readable ones is narrowed to them.
    /// An empty request means everything readable. The answer is empty when everything is
    /// readable (no filter needed), sorted and without duplicates otherwise.
    ///
    /// # Errors
    /// [`Error::Forbidden`] when nothing of the request is readable.
    pub fn read_scope(&self, requested: &[String]) -> Result<Vec<String>> {
        let wanted: Vec<String> = if requested.is_empty() {
            vec![String::new()]
        } else {
            requested.to_vec()
        };
        let mut scope = Vec::new();
        for q in &wanted {
            if covered(&self.read, q) {
                scope.push(q.clone());
            } else {
                scope.extend(
                    self.read
                        .iter()
                        .filter(|r| r.starts_with(q.as_str()))
                        .cloned(),
                );
            }
        }
        if scope.is_empty() {
            return Err(Error::Forbidden {
                message: format!("this token may not read any stream of the scope {wanted:?}"),
            });
        }
        if scope.iter().any(String::is_empty) {
            return Ok(Vec::new());
        }
        scope.sort();
        scope.dedup();
        Ok(scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(read: &[&str], write: &[&str]) -> Access {
        Access {
            read: read.iter().map(|s| s.to_string()).collect(),
            write: write.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn scope(a: &Access, q: &[&str]) -> Result<Vec<String>> {
        a.read_scope(&q.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn prefixes_grant_reads_and_writes() {
        let a = access(&["order-", "cart-"], &["order-"]);
        assert!(a.can_read("order-1") && a.can_read("cart-9") && !a.can_read("user-1"));
        assert!(a.can_write("order-1") && !a.can_write("cart-9"));
        assert!(Access::all().can_write("anything"));
        assert!(!Access::default().can_read("x"));
    }

    #[test]
    fn pull_scopes_are_narrowed_to_what_is_readable() {
        let a = access(&["order-", "cart-"], &[]);
        assert_eq!(scope(&a, &[]).unwrap(), ["cart-", "order-"]);
        assert_eq!(scope(&a, &["order-4"]).unwrap(), ["order-4"]);
        assert_eq!(scope(&a, &["o"]).unwrap(), ["order-"]);
        assert_eq!(scope(&a, &["order-", "user-"]).unwrap(), ["order-"]);
        assert_eq!(scope(&a, &["user-"]).unwrap_err().code(), "FORBIDDEN");
        assert!(scope(&Access::all(), &[]).unwrap().is_empty());
        assert_eq!(scope(&Access::all(), &["a"]).unwrap(), ["a"]);
        assert!(scope(&Access::default(), &[]).is_err());
    }
}
