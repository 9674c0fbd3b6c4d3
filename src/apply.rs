//! `skiff apply -f PATH...`: reads manifests ([`crate::manifests`]), uploads the local
//! wasm modules their images name to the API server's module store (skipping those it
//! has), and server-side applies each object (`fieldManager=skiff`, forced), printing one
//! line per object as kubectl does (`deployment.apps/web serverside-applied`).
//! [`upload`] and [`apply`] are shared with `skiff up`.

use crate::manifests::{self, Manifests, Module, Object};
use anyhow::{Context, bail};
use clap::Args;
use http::StatusCode;
use http::header::CONTENT_TYPE;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use kube::client::Body;
use std::path::PathBuf;
use std::process::ExitCode;

/// The field manager of Skiff's applies.
pub const FIELD_MANAGER: &str = "skiff";

/// Apply manifests to a cluster, uploading the local wasm modules they name.
#[derive(Args, Debug)]
pub struct ApplyCommand {
    /// A manifest file, or a directory of them (.yaml, .yml, .json); repeatable. Images
    /// that start with ./ or ../ are local wasm files, relative to the manifest.
    #[arg(short = 'f', long = "filename", value_name = "PATH", required = true, num_args = 1..)]
    paths: Vec<PathBuf>,

    /// Kubeconfig of the cluster [default: $KUBECONFIG, else skiff-data/kubeconfig].
    #[arg(long, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
}

impl ApplyCommand {
    /// Applies the manifests; exits 1 with a one-line message on the first error.
    pub fn execute(self) -> ExitCode {
        crate::block_on(self.run())
    }

    async fn run(self) -> anyhow::Result<()> {
        let mut manifests = manifests::load(&self.paths)?;
        let kubeconfig = self
            .kubeconfig
            .unwrap_or_else(crate::client::default_kubeconfig);
        let client = crate::client::from_kubeconfig(&kubeconfig).await?;
        manifests.order();
        upload(&client, &manifests.modules).await?;
        apply(&client, &manifests, |line| println!("{line}")).await
    }
}

/// Uploads each module the API server does not have yet.
pub async fn upload(client: &kube::Client, modules: &[Module]) -> anyhow::Result<()> {
    for module in modules {
        upload_one(client, module)
            .await
            .with_context(|| format!("cannot upload {}", module.path.display()))?;
    }
    Ok(())
}

async fn upload_one(client: &kube::Client, module: &Module) -> anyhow::Result<()> {
    let path = format!("/skiff/v1/modules/{}", module.digest);
    let head = http::Request::head(&path).body(Body::empty())?;
    let (status, body) = send(client, head).await?;
    match status {
        StatusCode::OK => return Ok(()),
        StatusCode::NOT_FOUND => {}
        _ => bail!("{}", failure(status, &body)),
    }
    let put = http::Request::put(&path)
        .header(CONTENT_TYPE, "application/wasm")
        .body(Body::from(module.bytes.clone()))?;
    let (status, body) = send(client, put).await?;
    if !status.is_success() {
        bail!("{}", failure(status, &body));
    }
    Ok(())
}

/// Sends a request; returns the status and the whole body.
async fn send(
    client: &kube::Client,
    request: http::Request<Body>,
) -> anyhow::Result<(StatusCode, Vec<u8>)> {
    let response = client
        .send(request)
        .await
        .context("cannot reach the API server")?;
    let status = response.status();
    let body = response
        .into_body()
        .collect_bytes()
        .await
        .context("the response broke off")?;
    Ok((status, body.to_vec()))
}

/// What a failed response says: its `Status` message, or the HTTP status.
fn failure(status: StatusCode, body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message")?.as_str().map(str::to_owned))
        .map_or_else(
            || format!("the API server answered HTTP {status}"),
            |m| format!("the API server answered HTTP {status}: {m}"),
        )
}

/// Server-side applies each object in order, calling `report` with kubectl's line for
/// each; stops at the first failure, naming the object and where it was read.
pub async fn apply(
    client: &kube::Client,
    manifests: &Manifests,
    mut report: impl FnMut(String),
) -> anyhow::Result<()> {
    let params = PatchParams::apply(FIELD_MANAGER).force();
    for object in &manifests.objects {
        let api = api_for(client, object);
        match api
            .patch(&object.name, &params, &Patch::Apply(&object.value))
            .await
        {
            Ok(_) => report(format!("{} serverside-applied", object.display_name())),
            Err(kube::Error::Api(status)) => bail!(
                "{}: {}: {}",
                object.origin,
                object.display_name(),
                status.message
            ),
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "{}: cannot apply {}",
                    object.origin,
                    object.display_name()
                )));
            }
        }
    }
    Ok(())
}

/// The dynamic API of an object's kind, in its namespace (the kubeconfig's, by default)
/// when the kind is namespaced.
fn api_for(client: &kube::Client, object: &Object) -> Api<DynamicObject> {
    let kind = object.kind;
    let resource = ApiResource {
        group: kind.group.to_owned(),
        version: kind.version.to_owned(),
        api_version: kind.api_version(),
        kind: kind.kind.to_owned(),
        plural: kind.plural.to_owned(),
    };
    if !kind.namespaced {
        return Api::all_with(client.clone(), &resource);
    }
    let namespace = object
        .value
        .pointer("/metadata/namespace")
        .and_then(serde_json::Value::as_str)
        .filter(|ns| !ns.is_empty())
        .unwrap_or_else(|| client.default_namespace());
    Api::namespaced_with(client.clone(), namespace, &resource)
}
