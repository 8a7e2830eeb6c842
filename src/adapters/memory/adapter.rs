//! The in-memory chat as an [`Adapter`](crate::adapters::Adapter).

use std::sync::Arc;

use async_trait::async_trait;

use super::MemoryChat;
use crate::chat::Chat;
use crate::commands::EventSink;

/// The in-memory chat as an adapter, for tests and benchmarks that assemble the whole
/// application: events come from the test (`say`, `react_as`, `press`).
pub struct MemoryAdapter(pub Arc<MemoryChat>, Option<Arc<dyn EventSink>>);

impl MemoryAdapter {
    pub fn new(chat: Arc<MemoryChat>) -> Self {
        MemoryAdapter(chat, None)
    }
}

#[async_trait]
impl crate::adapters::Adapter for MemoryAdapter {
    fn describe(&self) -> String {
        "in-memory chat".into()
    }

    fn chat(&self) -> Arc<dyn Chat> {
        self.0.clone()
    }

    async fn connect(
        &mut self,
        sink: Arc<dyn EventSink>,
    ) -> Result<(), crate::adapters::AdapterError> {
        self.0.connect(Arc::downgrade(&sink));
        self.1 = Some(sink);
        Ok(())
    }

    async fn run(
        self: Box<Self>,
        engine: crate::engine::Engine,
        shutdown: crate::shutdown::Shutdown,
    ) -> Result<crate::adapters::Ended, crate::adapters::AdapterError> {
        engine.set_chat_connected(true);
        shutdown.wait().await;
        Ok(crate::adapters::Ended::Stopped)
    }

    async fn check(&self, _config: &crate::config::Config) -> Vec<crate::adapters::Row> {
        vec![crate::adapters::Row::ok("chat", "in-memory")]
    }
}
