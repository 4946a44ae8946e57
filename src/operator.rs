//! Building blocks of the `rocket-maintenance` operator CLI.
