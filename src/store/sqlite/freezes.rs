//! Freezes in their own table: put on, lifted, and read back (those holding now, and an
//! app's past ones for its history).

use rusqlite::{Row, params};

use super::Sqlite;
use crate::freeze::{Freeze, Scope};
use crate::job::Person;
use crate::store::StoreError;

const COLUMNS: &str =
    "id, scope, by_id, by_name, reason, at_ms, until_ms, lifted_by_id, lifted_by_name, lifted_ms";

fn freeze(r: &Row<'_>) -> rusqlite::Result<(Freeze, String)> {
    let scope: String = r.get(1)?;
    let lifted = match (
        r.get::<_, Option<String>>(7)?,
        r.get::<_, Option<String>>(8)?,
        r.get::<_, Option<i64>>(9)?,
    ) {
        (Some(id), Some(name), Some(at)) => Some((Person { id, name }, at)),
        _ => None,
    };
    Ok((
        Freeze {
            id: r.get(0)?,
            scope: Scope::All,
            by: Person {
                id: r.get(2)?,
                name: r.get(3)?,
            },
            reason: r.get(4)?,
            at_ms: r.get(5)?,
            until_ms: r.get(6)?,
            lifted,
        },
        scope,
    ))
}

impl Sqlite {
    fn freezes_where(
        &self,
        condition: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<Freeze>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare(&format!("SELECT {COLUMNS} FROM freezes WHERE {condition}"))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(args, freeze)
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        rows.into_iter()
            .map(|(mut f, scope)| {
                f.scope = Scope::parse(&scope).ok_or_else(|| StoreError::Failed {
                    path: self.path.clone(),
                    detail: format!("freeze {} names no app: {scope:?}", f.id),
                })?;
                Ok(f)
            })
            .collect()
    }

    pub(super) fn insert_freeze(&self, f: &Freeze) -> Result<i64, StoreError> {
        let conn = self.conn()?;
        conn.execute(
            "INSERT INTO freezes (scope, by_id, by_name, reason, at_ms, until_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![f.scope.as_str(), f.by.id, f.by.name, f.reason, f.at_ms, f.until_ms],
        )
        .map_err(|e| self.err(e))?;
        Ok(conn.last_insert_rowid())
    }

    pub(super) fn lift(
        &self,
        scope: &Scope,
        by: &Person,
        at_ms: i64,
    ) -> Result<Vec<Freeze>, StoreError> {
        // `all` lifts every freeze; an app's name lifts that app's own.
        let (condition, name) = match scope {
            Scope::All => ("lifted_ms IS NULL AND until_ms > ?1 AND ?2 = ?2", "all"),
            Scope::App(app) => (
                "lifted_ms IS NULL AND until_ms > ?1 AND scope = ?2",
                app.as_str(),
            ),
        };
        let lifted =
            self.freezes_where(&format!("{condition} ORDER BY id"), params![at_ms, name])?;
        let conn = self.conn()?;
        for f in &lifted {
            conn.execute(
                "UPDATE freezes SET lifted_by_id = ?1, lifted_by_name = ?2, lifted_ms = ?3 WHERE id = ?4",
                params![by.id, by.name, at_ms, f.id],
            )
            .map_err(|e| self.err(e))?;
        }
        Ok(lifted
            .into_iter()
            .map(|mut f| {
                f.lifted = Some((by.clone(), at_ms));
                f
            })
            .collect())
    }

    pub(super) fn holding(&self, now_ms: i64) -> Result<Vec<Freeze>, StoreError> {
        self.freezes_where(
            "lifted_ms IS NULL AND until_ms > ?1 ORDER BY id",
            params![now_ms],
        )
    }

    pub(super) fn freeze_log(&self, app: &str, n: usize) -> Result<Vec<Freeze>, StoreError> {
        self.freezes_where(
            "scope IN (?1, 'all') ORDER BY id DESC LIMIT ?2",
            params![app, n as i64],
        )
    }
}
