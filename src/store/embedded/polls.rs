//! Pending poll ends in the embedded store: `message id → PollExpiry`, one small table read
//! whole at start (polls end within 32 days, so it stays as small as the polls still open).

use redb::ReadableTable;

use super::tables::POLL_EXPIRIES;
use super::{EmbeddedStore, be, dec, enc};
use crate::id::MessageId;
use crate::model::PollExpiry;
use crate::store::StoreResult;

impl EmbeddedStore {
    pub(super) async fn put_poll_expiry_impl(&self, e: &PollExpiry) -> StoreResult<()> {
        let (id, bytes) = (e.message_id.get(), enc(e)?);
        self.writer
            .write(move |txn| {
                txn.open_table(POLL_EXPIRIES)
                    .map_err(be)?
                    .insert(id, bytes.as_slice())
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    pub(super) async fn delete_poll_expiry_impl(&self, message: MessageId) -> StoreResult<()> {
        let id = message.get();
        self.writer
            .write(move |txn| {
                txn.open_table(POLL_EXPIRIES)
                    .map_err(be)?
                    .remove(id)
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    pub(super) fn poll_expiries_impl(&self) -> StoreResult<Vec<PollExpiry>> {
        let txn = self.read()?;
        let table = txn.open_table(POLL_EXPIRIES).map_err(be)?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(be)? {
            out.push(dec(entry.map_err(be)?.1.value())?);
        }
        Ok(out)
    }
}
