//! Database URLs: the backend comes from the scheme, and `Debug`/`Display` never show
//! the password.

use std::fmt;

/// The database family a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    Mysql,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
            Backend::Mysql => "MySQL/MariaDB",
        })
    }
}

/// A validated database URL. The raw string is only reachable through
/// [`DatabaseUrl::expose`], which the store calls when it connects.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    raw: String,
    backend: Backend,
}

impl DatabaseUrl {
    /// Parse and check the scheme.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let (scheme, rest) =
            raw.split_once(':').ok_or_else(|| "expected a URL such as sqlite://data/tenmon-ark.db".to_string())?;
        let backend = match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => Backend::Sqlite,
            "postgres" | "postgresql" => Backend::Postgres,
            "mysql" | "mariadb" => Backend::Mysql,
            other => return Err(format!("unknown scheme {other:?}: use sqlite://, postgres:// or mysql://")),
        };
        if backend == Backend::Sqlite {
            let path = rest.trim_start_matches("//");
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err("sqlite URL has no file path (sqlite://path/to/file.db)".into());
            }
        } else if !rest.starts_with("//") || rest.len() <= 2 {
            return Err(format!("{backend} URL must look like {scheme}://user:password@host/db"));
        }
        Ok(Self { raw: raw.to_string(), backend })
    }

    /// The backend named by the scheme.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL with its password, for connecting only.
    pub fn expose(&self) -> &str {
        &self.raw
    }

    /// For SQLite, the database file path (`None` for `:memory:`).
    pub fn sqlite_path(&self) -> Option<&str> {
        if self.backend != Backend::Sqlite {
            return None;
        }
        let rest = self.raw.split_once(':').map(|(_, r)| r).unwrap_or_default();
        let path = rest.trim_start_matches("//").split('?').next().unwrap_or_default();
        (path != ":memory:").then_some(path)
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        let Some((scheme, rest)) = self.raw.split_once("://") else {
            return self.raw.clone();
        };
        let (authority, tail) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        match authority.rsplit_once('@') {
            Some((userinfo, host)) => {
                let user = userinfo.split(':').next().unwrap_or_default();
                let masked = if userinfo.contains(':') { format!("{user}:***") } else { user.into() };
                let tail = redact_query_password(tail);
                format!("{scheme}://{masked}@{host}{tail}")
            }
            None => format!("{scheme}://{authority}{}", redact_query_password(tail)),
        }
    }
}

fn redact_query_password(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else {
        return tail.to_string();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_from_scheme() {
        assert_eq!(DatabaseUrl::parse("sqlite://data/x.db").unwrap().backend(), Backend::Sqlite);
        assert_eq!(DatabaseUrl::parse("postgres://u:p@h/db").unwrap().backend(), Backend::Postgres);
        assert_eq!(DatabaseUrl::parse("postgresql://h/db").unwrap().backend(), Backend::Postgres);
        assert_eq!(DatabaseUrl::parse("mysql://u@h:3306/db").unwrap().backend(), Backend::Mysql);
        assert!(DatabaseUrl::parse("redis://h").is_err());
        assert!(DatabaseUrl::parse("sqlite://").is_err());
        assert!(DatabaseUrl::parse("nonsense").is_err());
    }

    #[test]
    fn password_never_shown() {
        let url = DatabaseUrl::parse("postgres://app:s3cr3t@db:5432/mnp?password=s3cr3t&ssl=1").unwrap();
        let shown = format!("{url} {url:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("app:***@db:5432/mnp"), "{shown}");
        assert!(url.expose().contains("s3cr3t"));
    }

    #[test]
    fn sqlite_path() {
        let url = DatabaseUrl::parse("sqlite://data/tenmon-ark.db?mode=rwc").unwrap();
        assert_eq!(url.sqlite_path(), Some("data/tenmon-ark.db"));
        assert_eq!(DatabaseUrl::parse("sqlite::memory:").unwrap().sqlite_path(), None);
        assert_eq!(DatabaseUrl::parse("sqlite:///abs/x.db").unwrap().sqlite_path(), Some("/abs/x.db"));
    }
}
