//! Fitting BG/NBD and Gamma-Gamma to a transaction log.
