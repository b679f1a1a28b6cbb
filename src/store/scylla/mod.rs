//! ScyllaDB backend (see `schema.cql`). Built in the storage issue.
