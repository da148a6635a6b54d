//! Classic control tasks ported from Gymnasium, to validate the agents.
