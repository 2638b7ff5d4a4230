//! CommerceML reader.
