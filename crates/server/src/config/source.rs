//! Where settings come from, in order of precedence: the process environment, then
//! `.env`, then the TOML file given by `--config`, then defaults. This is the only
//! place that reads environment variables.

use secrecy::SecretString;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use super::ConfigError;

/// Which layer a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Env,
    DotEnv,
    File,
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Env => "environment",
            Origin::DotEnv => ".env",
            Origin::File => "config file",
            Origin::Default => "default",
        })
    }
}

/// One setting as resolved, for `check-config` (secrets already blanked).
#[derive(Debug, Clone)]
pub struct Resolved {
    pub key: &'static str,
    pub shown: String,
    pub origin: Origin,
}

/// The layered settings plus a record of every key read.
pub struct Source {
    layers: Vec<(Origin, HashMap<String, String>)>,
    /// Tables of the TOML file (e.g. `[[upstreams]]`) for later settings that are lists.
    pub tables: toml::Table,
    read: RefCell<BTreeMap<&'static str, Resolved>>,
}

impl Source {
    /// Gather the layers: the process environment, `dotenv_path` if it exists, and the
    /// TOML file if given.
    pub fn load(dotenv_path: Option<&Path>, config_file: Option<&Path>) -> Result<Self, ConfigError> {
        #[expect(clippy::disallowed_methods, reason = "the one place that reads the environment")]
        let env: HashMap<String, String> = std::env::vars().collect();
        let mut dotenv = HashMap::new();
        if let Some(path) = dotenv_path.filter(|p| p.exists()) {
            let iter = dotenvy::from_path_iter(path)
                .map_err(|e| ConfigError::new(".env", format!("cannot read {}: {e}", path.display())))?;
            for item in iter {
                let (k, v) = item.map_err(|e| ConfigError::new(".env", format!("{}: {e}", path.display())))?;
                dotenv.insert(k, v);
            }
        }
        let (file, tables) = match config_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError::new("--config", format!("cannot read {}: {e}", path.display())))?;
                parse_toml(&text).map_err(|e| ConfigError::new("--config", format!("{}: {e}", path.display())))?
            }
            None => (HashMap::new(), toml::Table::new()),
        };
        Ok(Self::from_layers(env, dotenv, file, tables))
    }

    /// Build from explicit layers (tests, and `load`).
    pub fn from_layers(
        env: HashMap<String, String>,
        dotenv: HashMap<String, String>,
        file: HashMap<String, String>,
        tables: toml::Table,
    ) -> Self {
        Self {
            layers: vec![(Origin::Env, env), (Origin::DotEnv, dotenv), (Origin::File, file)],
            tables,
            read: RefCell::default(),
        }
    }

    fn lookup(&self, key: &str) -> Option<(Origin, &str)> {
        self.layers
            .iter()
            .find_map(|(origin, map)| map.get(key).map(|v| (*origin, v.as_str())).filter(|(_, v)| !v.trim().is_empty()))
    }

    fn record(&self, key: &'static str, shown: String, origin: Origin) {
        self.read.borrow_mut().insert(key, Resolved { key, shown, origin });
    }

    /// A raw optional string.
    pub fn opt_string(&self, key: &'static str) -> Option<String> {
        match self.lookup(key) {
            Some((origin, v)) => {
                self.record(key, v.to_string(), origin);
                Some(v.trim().to_string())
            }
            None => {
                self.record(key, "(unset)".into(), Origin::Default);
                None
            }
        }
    }

    /// A string with a default.
    pub fn string(&self, key: &'static str, default: &str) -> String {
        match self.lookup(key) {
            Some((origin, v)) => {
                self.record(key, v.to_string(), origin);
                v.trim().to_string()
            }
            None => {
                self.record(key, default.to_string(), Origin::Default);
                default.to_string()
            }
        }
    }

    /// A secret: never shown, never in `Debug`.
    pub fn secret(&self, key: &'static str) -> Option<SecretString> {
        match self.lookup(key) {
            Some((origin, v)) => {
                self.record(key, "[redacted]".into(), origin);
                Some(SecretString::from(v.to_string()))
            }
            None => {
                self.record(key, "(unset)".into(), Origin::Default);
                None
            }
        }
    }

    /// A value parsed with `FromStr`; `expected` describes a valid value for the error.
    pub fn parse<T>(&self, key: &'static str, default: T, expected: &str) -> Result<T, ConfigError>
    where
        T: FromStr + fmt::Display,
    {
        match self.lookup(key) {
            Some((origin, v)) => {
                self.record(key, v.to_string(), origin);
                v.trim().parse().map_err(|_| ConfigError::invalid(key, v, expected))
            }
            None => {
                self.record(key, default.to_string(), Origin::Default);
                Ok(default)
            }
        }
    }

    /// A boolean: true/false, 1/0, yes/no, on/off.
    pub fn bool(&self, key: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.lookup(key) {
            Some((origin, v)) => {
                self.record(key, v.to_string(), origin);
                match v.trim().to_ascii_lowercase().as_str() {
                    "1" | "true" | "yes" | "on" => Ok(true),
                    "0" | "false" | "no" | "off" => Ok(false),
                    _ => Err(ConfigError::invalid(key, v, "true or false")),
                }
            }
            None => {
                self.record(key, default.to_string(), Origin::Default);
                Ok(default)
            }
        }
    }

    /// Every key read so far, sorted.
    pub fn resolved(&self) -> Vec<Resolved> {
        self.read.borrow().values().cloned().collect()
    }

    /// Keys set in the TOML file that nothing read: most likely typos.
    pub fn unknown_file_keys(&self) -> Vec<String> {
        let read = self.read.borrow();
        let mut keys: Vec<String> =
            self.layers[2].1.keys().filter(|k| !read.contains_key(k.as_str())).cloned().collect();
        keys.sort();
        keys
    }
}

/// Split a TOML document into top-level scalars (keyed like environment variables,
/// upper-cased) and tables.
fn parse_toml(text: &str) -> Result<(HashMap<String, String>, toml::Table), String> {
    let doc: toml::Table = text.parse().map_err(|e: toml::de::Error| e.message().to_string())?;
    let mut scalars = HashMap::new();
    let mut tables = toml::Table::new();
    for (key, value) in doc {
        let key_upper = key.to_ascii_uppercase();
        match value {
            toml::Value::String(s) => {
                scalars.insert(key_upper, s);
            }
            toml::Value::Integer(i) => {
                scalars.insert(key_upper, i.to_string());
            }
            toml::Value::Float(f) => {
                scalars.insert(key_upper, f.to_string());
            }
            toml::Value::Boolean(b) => {
                scalars.insert(key_upper, b.to_string());
            }
            toml::Value::Array(items) if items.iter().all(|v| v.is_str()) => {
                let joined: Vec<&str> = items.iter().filter_map(|v| v.as_str()).collect();
                scalars.insert(key_upper, joined.join(","));
            }
            other => {
                tables.insert(key, other);
            }
        }
    }
    Ok((scalars, tables))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn precedence_env_then_dotenv_then_file_then_default() {
        let src = Source::from_layers(
            map(&[("PORT", "1")]),
            map(&[("PORT", "2"), ("HOST", "10.0.0.2")]),
            map(&[("PORT", "3"), ("HOST", "10.0.0.3"), ("LOG_LEVEL", "debug")]),
            toml::Table::new(),
        );
        assert_eq!(src.string("PORT", "0"), "1");
        assert_eq!(src.string("HOST", "x"), "10.0.0.2");
        assert_eq!(src.string("LOG_LEVEL", "info"), "debug");
        assert_eq!(src.string("LOG_FORMAT", "pretty"), "pretty");
        let origins: Vec<_> = src.resolved().iter().map(|r| (r.key, r.origin)).collect();
        assert!(origins.contains(&("PORT", Origin::Env)));
        assert!(origins.contains(&("HOST", Origin::DotEnv)));
        assert!(origins.contains(&("LOG_LEVEL", Origin::File)));
        assert!(origins.contains(&("LOG_FORMAT", Origin::Default)));
    }

    #[test]
    fn toml_scalars_become_keys_and_tables_stay() {
        let (scalars, tables) =
            parse_toml("port = 8080\ncors_origin = [\"https://a\", \"https://b\"]\n[[upstreams]]\nname = \"x\"\n")
                .unwrap();
        assert_eq!(scalars["PORT"], "8080");
        assert_eq!(scalars["CORS_ORIGIN"], "https://a,https://b");
        assert!(tables.contains_key("upstreams"));
    }

    #[test]
    fn secrets_are_never_shown() {
        let src = Source::from_layers(map(&[("JWT_SECRET", "hunter2")]), map(&[]), map(&[]), toml::Table::new());
        let s = src.secret("JWT_SECRET").unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(src.resolved().iter().all(|r| !r.shown.contains("hunter2")));
    }
}
