//! Decoding a request before it is handled: [`path`] parses which resource the URL names
//! ([`path::ResourcePath`]), [`query`] the query parameters ([`query::Query`]), and [`body`]
//! reads the body under its size limit and decodes it by media type (JSON, YAML, the patch
//! types, and protobuf through [`codec::protobuf`](super::codec::protobuf)); [`continuation`]
//! decodes (and encodes) the continue tokens of paginated lists.

pub mod body;
pub mod continuation;
pub mod path;
pub mod query;
