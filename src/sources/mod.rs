//! Data sources lakefed attaches to a DataFusion session.

pub mod delta;
