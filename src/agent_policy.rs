//! Trained agents as simulator policies: the wrappers live in `clv-agents`
//! ([`clv_agents::CatalogueAgent`], [`clv_agents::ContinuousAgent`],
//! [`clv_agents::load_agent_policy`]) so that Rust users can reuse them; re-exported here for
//! the commands.

pub use clv_agents::CatalogueAgent;
