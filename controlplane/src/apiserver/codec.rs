//! The encodings the API speaks besides JSON: [`protobuf`] decodes kubectl's protobuf
//! request bodies to JSON, and [`table`] renders objects as the `meta.k8s.io` `Table`s
//! kubectl asks for when it prints them.

pub mod protobuf;
pub mod table;
