//! Live turns in this process: each has a broadcast channel carrying its appended
//! events, and a cancellation token. The log is the truth; the channel only spares
//! subscribers a re-read.

use std::collections::HashMap;
use std::sync::Mutex;
use tenmon_store::StoredEvent;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// Events a live turn's channel holds for a slow subscriber.
const LIVE_CAPACITY: usize = 32;

#[derive(Debug)]
struct Live {
    tx: broadcast::Sender<StoredEvent>,
    cancel: CancellationToken,
    /// Subscribed at registration, before the first append: the client that started
    /// the turn follows it from here without reading back the log.
    first: Option<broadcast::Receiver<StoredEvent>>,
}

#[derive(Debug, Default)]
pub struct Hub {
    live: Mutex<HashMap<String, Live>>,
}

impl Hub {
    /// Register a turn; returns its sender and cancellation token.
    pub fn register(&self, message_id: &str) -> (broadcast::Sender<StoredEvent>, CancellationToken) {
        // A broadcast ring keeps its last values until overwritten, so its size is
        // memory held by every running turn; a subscriber that falls this far behind
        // reads the rest from the log.
        let (tx, first) = broadcast::channel(LIVE_CAPACITY);
        let cancel = CancellationToken::new();
        if let Ok(mut live) = self.live.lock() {
            live.insert(message_id.to_string(), Live { tx: tx.clone(), cancel: cancel.clone(), first: Some(first) });
        }
        (tx, cancel)
    }

    pub fn remove(&self, message_id: &str) {
        if let Ok(mut live) = self.live.lock() {
            live.remove(message_id);
        }
    }

    /// A receiver for a turn running here, if it is.
    pub fn subscribe(&self, message_id: &str) -> Option<broadcast::Receiver<StoredEvent>> {
        self.live.lock().ok()?.get(message_id).map(|l| l.tx.subscribe())
    }

    /// The receiver made at registration (every event of the turn), once.
    pub fn take_first(&self, message_id: &str) -> Option<broadcast::Receiver<StoredEvent>> {
        self.live.lock().ok()?.get_mut(message_id).and_then(|l| l.first.take())
    }

    /// Cancel a turn running here; false if it is not.
    pub fn cancel(&self, message_id: &str) -> bool {
        match self.live.lock().ok().and_then(|l| l.get(message_id).map(|x| x.cancel.clone())) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    pub fn len(&self) -> usize {
        self.live.lock().map(|l| l.len()).unwrap_or(0)
    }
}
