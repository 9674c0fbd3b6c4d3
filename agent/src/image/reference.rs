//! Parsing a container's `image` into where its bytes come from: [`Source::File`] (a
//! `file:///abs/path` or bare `/abs/path` on the node), [`Source::Http`] (an `http(s)://`
//! URL), [`Source::Cluster`] (`skiff://modules/<file-name>@sha256:<hex>`, the API server's
//! module store, where `skiff apply` uploads a manifest's local modules) or [`Source::Oci`]
//! (anything else, parsed by `oci_client::Reference` with docker.io defaults), plus an
//! `@sha256:<hex>` digest pin ([`ImageRef::pin`]): optional, except for `skiff://`.

use std::path::PathBuf;

use super::PullError;

/// The prefix of a digest pin: only sha256 is supported, as for the blobs on disk.
const PIN_PREFIX: &str = "sha256:";

/// The prefix of references to the API server's module store.
pub(crate) const CLUSTER_PREFIX: &str = "skiff://modules/";

/// The form of a cluster module reference, for error messages.
const CLUSTER_FORM: &str = "skiff://modules/<file-name>@sha256:<hex>";

/// Where an image's bytes come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// A file on the node's filesystem (absolute path).
    File(PathBuf),
    /// An `http://` or `https://` URL, without the pin.
    Http(String),
    /// A module in the API server's module store, fetched by its pin (always present);
    /// the file name it was uploaded from is only for people to read.
    Cluster(String),
    /// An OCI artifact in a registry.
    Oci(oci_client::Reference),
}

/// A parsed image reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ImageRef {
    /// Where the bytes come from.
    pub(crate) source: Source,
    /// `sha256:<64 hex>` the content must hash to (file, HTTP, cluster) or the manifest
    /// digest (OCI).
    pub(crate) pin: Option<String>,
}

/// Parses `image`; the error says what is wrong in terms of the forms accepted.
pub(crate) fn parse(image: &str) -> Result<ImageRef, PullError> {
    let invalid = |reason: &str| PullError::InvalidReference {
        image: image.to_owned(),
        reason: reason.to_owned(),
    };
    if image.is_empty() {
        return Err(invalid("the image is empty"));
    }
    if image.trim() != image {
        return Err(invalid("leading or trailing whitespace"));
    }
    if let Some(rest) = image.strip_prefix("file://") {
        let (path, pin) = split_pin(rest).map_err(|r| invalid(&r))?;
        if !path.starts_with('/') {
            return Err(invalid(
                "a file:// reference needs an absolute path, as in file:///path/to/app.wasm",
            ));
        }
        return Ok(ImageRef {
            source: Source::File(PathBuf::from(path)),
            pin,
        });
    }
    if image.starts_with('/') {
        let (path, pin) = split_pin(image).map_err(|r| invalid(&r))?;
        return Ok(ImageRef {
            source: Source::File(PathBuf::from(path)),
            pin,
        });
    }
    if image.starts_with("http://") || image.starts_with("https://") {
        let (url, pin) = split_pin(image).map_err(|r| invalid(&r))?;
        let parsed = reqwest::Url::parse(url).map_err(|e| invalid(&format!("bad URL: {e}")))?;
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(invalid("the URL has no host"));
        }
        return Ok(ImageRef {
            source: Source::Http(url.to_owned()),
            pin,
        });
    }
    if image.starts_with("skiff://") {
        return cluster(image).map_err(|r| invalid(&r));
    }
    if image.contains("://") {
        return Err(invalid(
            "unsupported scheme; use file://, http://, https://, skiff://modules/ or an OCI \
             reference (registry/repository[:tag][@sha256:digest])",
        ));
    }
    let reference = oci_client::Reference::try_from(image).map_err(|e| invalid(&format!("{e}")))?;
    let pin = match reference.digest() {
        None => None,
        Some(d) if d.starts_with(PIN_PREFIX) => Some(d.to_owned()),
        Some(_) => return Err(invalid("only sha256 digests are supported")),
    };
    Ok(ImageRef {
        source: Source::Oci(reference),
        pin,
    })
}

/// Parses `skiff://modules/<file-name>@sha256:<hex>`: the pin is mandatory, since it is
/// what the module is fetched by.
fn cluster(image: &str) -> Result<ImageRef, String> {
    let Some(rest) = image.strip_prefix(CLUSTER_PREFIX) else {
        return Err(format!("a skiff:// image reads {CLUSTER_FORM}"));
    };
    let (name, pin) = split_pin(rest)?;
    let Some(pin) = pin else {
        return Err(format!(
            "a skiff://modules/ image must be pinned by digest: {CLUSTER_FORM}"
        ));
    };
    if name.is_empty() || name.contains('/') {
        return Err(format!(
            "a skiff://modules/ image names one file: {CLUSTER_FORM}"
        ));
    }
    Ok(ImageRef {
        source: Source::Cluster(name.to_owned()),
        pin: Some(pin),
    })
}

/// Splits a trailing `@sha256:<hex>` pin off a file path or URL. An `@` followed by
/// anything but `sha256:` is part of the name (`/srv/app@v2.wasm`).
fn split_pin(s: &str) -> Result<(&str, Option<String>), String> {
    let Some((name, digest)) = s.rsplit_once('@') else {
        return Ok((s, None));
    };
    let Some(hex) = digest.strip_prefix(PIN_PREFIX) else {
        if digest.starts_with("sha384:") || digest.starts_with("sha512:") {
            return Err("only sha256 digests are supported".to_owned());
        }
        return Ok((s, None));
    };
    if hex.len() != 64
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err("a sha256 digest is 64 lowercase hex digits".to_owned());
    }
    Ok((name, Some(digest.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn oci(image: &str) -> oci_client::Reference {
        match parse(image).expect("valid reference").source {
            Source::Oci(r) => r,
            other => panic!("{image} parsed as {other:?}"),
        }
    }

    #[test]
    fn files_and_paths() {
        let r = parse("file:///srv/app.wasm").expect("valid");
        assert_eq!(r.source, Source::File("/srv/app.wasm".into()));
        assert_eq!(r.pin, None);
        let r = parse("/srv/app.wasm").expect("valid");
        assert_eq!(r.source, Source::File("/srv/app.wasm".into()));
        let r = parse(&format!("file:///srv/app.wasm@sha256:{HEX}")).expect("valid");
        assert_eq!(r.source, Source::File("/srv/app.wasm".into()));
        assert_eq!(r.pin, Some(format!("sha256:{HEX}")));
        // An `@` that is not a pin belongs to the name.
        let r = parse("/srv/app@v2.wasm").expect("valid");
        assert_eq!(r.source, Source::File("/srv/app@v2.wasm".into()));
        assert_eq!(r.pin, None);
    }

    #[test]
    fn urls() {
        let r = parse(&format!("https://example.com/a.wasm@sha256:{HEX}")).expect("valid");
        assert_eq!(r.source, Source::Http("https://example.com/a.wasm".into()));
        assert_eq!(r.pin, Some(format!("sha256:{HEX}")));
        let r = parse("http://127.0.0.1:8080/a.wasm").expect("valid");
        assert_eq!(
            r.source,
            Source::Http("http://127.0.0.1:8080/a.wasm".into())
        );
        assert_eq!(r.pin, None);
    }

    #[test]
    fn cluster_modules_are_pinned_file_names() {
        let r = parse(&format!("skiff://modules/ticker.wasm@sha256:{HEX}")).expect("valid");
        assert_eq!(r.source, Source::Cluster("ticker.wasm".into()));
        assert_eq!(r.pin, Some(format!("sha256:{HEX}")));
        // An `@` in the file name is part of it.
        let r = parse(&format!("skiff://modules/app@v2.wasm@sha256:{HEX}")).expect("valid");
        assert_eq!(r.source, Source::Cluster("app@v2.wasm".into()));
        for (bad, why) in [
            ("skiff://modules/ticker.wasm".to_owned(), "pinned"),
            (format!("skiff://modules/@sha256:{HEX}"), "one file"),
            (format!("skiff://modules/a/b.wasm@sha256:{HEX}"), "one file"),
            (
                format!("skiff://blobs/a.wasm@sha256:{HEX}"),
                "skiff://modules/",
            ),
            (
                "skiff://modules/a.wasm@sha256:abc".to_owned(),
                "64 lowercase hex",
            ),
        ] {
            let e = parse(&bad).expect_err(&bad);
            assert_eq!(e.reason(), "InvalidImageName", "{bad}: {e}");
            assert!(e.to_string().contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn oci_references_follow_docker_rules() {
        let r = oci("hello");
        assert_eq!(r.registry(), "docker.io");
        assert_eq!(r.repository(), "library/hello");
        assert_eq!(r.tag(), Some("latest"));
        let r = oci("localhost:5000/apps/hello:v1");
        assert_eq!(r.registry(), "localhost:5000");
        assert_eq!(r.repository(), "apps/hello");
        assert_eq!(r.tag(), Some("v1"));
        let parsed = parse(&format!("ghcr.io/a/b@sha256:{HEX}")).expect("valid");
        assert_eq!(parsed.pin, Some(format!("sha256:{HEX}")));
    }

    #[test]
    fn invalid_references_say_why() {
        for bad in [
            "",
            " hello",
            "file://relative/app.wasm",
            "Hello/World",
            "ftp://example.com/a.wasm",
            "http://",
            "/srv/app.wasm@sha256:abc",
            &format!("/srv/app.wasm@sha256:{}", HEX.to_uppercase()),
            &format!("/srv/app.wasm@sha512:{HEX}{HEX}"),
        ] {
            let e = parse(bad).expect_err(bad);
            assert_eq!(e.reason(), "InvalidImageName", "{bad}: {e}");
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
        }
    }
}
