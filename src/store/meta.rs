//! Values kept in the store (`meta`): made once, and swapped only from what they are,
//! so replicas making or changing one at once agree on one.

use sqlx::Connection;

use super::db::{Dialect, on_db};
use super::{Store, StoreError};

const VALUE: &str = "SELECT value FROM meta WHERE key = $1";

impl Store {
    /// A value kept in the store (created by `make` the first time). Replicas creating
    /// the same value at once agree on the first one written.
    pub async fn meta(
        &self,
        key: &str,
        make: impl FnOnce() -> String,
    ) -> Result<String, StoreError> {
        let found: Option<String> = self
            .call(async {
                on_db!(&self.db, |c| {
                    Ok(sqlx::query_scalar(VALUE)
                        .bind(key)
                        .fetch_optional(&mut *c)
                        .await?)
                })
            })
            .await?;
        if let Some(v) = found {
            return Ok(v);
        }
        let (value, fence) = (make(), self.fence_term());
        self.call(async {
            on_db!(&self.db, |c| {
                let mut tx = c.begin().await?;
                tx.check_fence(fence).await?;
                sqlx::query(
                    "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                )
                .bind(key)
                .bind(value.as_str())
                .execute(&mut *tx)
                .await?;
                let kept: String = sqlx::query_scalar(VALUE)
                    .bind(key)
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(kept)
            })
        })
        .await
    }

    /// Replaces a kept value (made by [`Store::meta`]) with `to` if it still is `from`;
    /// the value kept afterwards (another replica's, if it changed it first).
    pub async fn swap_meta(&self, key: &str, from: &str, to: &str) -> Result<String, StoreError> {
        let fence = self.fence_term();
        self.call(async {
            on_db!(&self.db, |c| {
                let mut tx = c.begin().await?;
                tx.check_fence(fence).await?;
                sqlx::query("UPDATE meta SET value = $3 WHERE key = $1 AND value = $2")
                    .bind(key)
                    .bind(from)
                    .bind(to)
                    .execute(&mut *tx)
                    .await?;
                let kept: String = sqlx::query_scalar(VALUE)
                    .bind(key)
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(kept)
            })
        })
        .await
    }
}
