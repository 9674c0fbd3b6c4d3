//! `--token-auth-file`: static bearer tokens in Kubernetes' CSV format, one per line:
//! `token,user,uid,"group1,group2"` (the groups column may be left out). Read once at
//! start, as kube-apiserver reads it. Tokens are kept only as SHA-256 digests, so the
//! lookup compares digests and the tokens themselves stay in the file.

use crate::authn::user::UserInfo;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Why a token file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// It cannot be read.
    #[error("cannot read the token file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A line is not `token,user,uid[,groups]`.
    #[error("token file {}, line {line}: {detail}", path.display())]
    Line {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: u64,
        /// What is wrong with it.
        detail: String,
    },
}

/// The users of a token file, by token digest.
#[derive(Debug, Default)]
pub struct TokenFile {
    users: HashMap<[u8; 32], UserInfo>,
}

impl TokenFile {
    /// Reads `path`.
    pub fn read(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text).map_err(|(line, detail)| Error::Line {
            path: path.to_path_buf(),
            line,
            detail,
        })
    }

    /// Parses the file's text; an error names the line and what is wrong.
    pub fn parse(text: &str) -> Result<Self, (u64, String)> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .comment(Some(b'#'))
            .from_reader(text.as_bytes());
        let mut users = HashMap::new();
        for record in reader.records() {
            let record = record.map_err(|e| {
                let line = e.position().map_or(0, csv::Position::line);
                (line, e.to_string())
            })?;
            let line = record.position().map_or(0, csv::Position::line);
            if record.len() < 3 {
                return Err((
                    line,
                    format!(
                        "needs at least 3 columns (token, user name, user uid), found {}",
                        record.len()
                    ),
                ));
            }
            let token = record[0].trim();
            let name = record[1].trim();
            if token.is_empty() || name.is_empty() {
                return Err((line, "the token and the user name may not be empty".into()));
            }
            let groups = record
                .get(3)
                .map(|groups| {
                    groups
                        .split(',')
                        .map(str::trim)
                        .filter(|g| !g.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            let user = UserInfo::authenticated(name, record[2].trim(), groups);
            if users.insert(digest(token), user).is_some() {
                tracing::warn!(
                    line,
                    "duplicate token in the token file; the later line wins"
                );
            }
        }
        Ok(Self { users })
    }

    /// The user of `token`, if it is in the file.
    pub fn user(&self, token: &str) -> Option<&UserInfo> {
        self.users.get(&digest(token))
    }

    /// How many tokens the file holds.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_name_users_uids_and_groups() {
        let file = TokenFile::parse("# comment\nt1,alice,1001,\"team-a,devs\"\nt2,bob,1002\n")
            .expect("parse");
        assert_eq!(file.len(), 2);
        let alice = file.user("t1").expect("alice");
        assert_eq!(alice.name, "alice");
        assert_eq!(alice.uid, "1001");
        assert_eq!(alice.groups, ["team-a", "devs", "system:authenticated"]);
        assert_eq!(
            file.user("t2").expect("bob").groups,
            ["system:authenticated"]
        );
        assert!(file.user("t3").is_none());
        assert!(file.user("").is_none());
    }

    #[test]
    fn a_short_line_is_an_error_naming_it() {
        let (line, detail) = TokenFile::parse("t1,alice,1\nt2,bob\n").expect_err("short");
        assert_eq!(line, 2);
        assert!(detail.contains("at least 3 columns"), "{detail}");
        let (_, detail) = TokenFile::parse(",alice,1\n").expect_err("empty token");
        assert!(detail.contains("may not be empty"), "{detail}");
    }
}
