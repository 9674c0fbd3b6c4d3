//! Object semantics shared by every kind: [`meta`], the metadata lifecycle — what the
//! server sets on create and keeps on update (uid, names, timestamps, generation) and the
//! `resourceVersion` set on read.

pub mod meta;
