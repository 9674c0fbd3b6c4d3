//! Finding — or creating — a Deployment's new ReplicaSet, the one whose template is the
//! Deployment's (Kubernetes' `getNewReplicaSet`). An existing one gets its annotations and
//! `minReadySeconds` brought up to date (a rollback raises its revision); a missing one is
//! created as `<deployment>-<pod-template-hash>`, its selector and template labelled with
//! the hash, sized by the strategy. Either way the Deployment's revision follows it.

use super::hash::{POD_TEMPLATE_HASH, equal_ignoring_hash, template_hash};
use super::rollout::{Rollout, spec_replicas};
use super::status::has_progress_deadline;
use super::{Error, conditions, fenceposts, revision};
use crate::controllers::pods::ownership;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use skiff_model::events::Involved;

impl Rollout<'_> {
    /// The Deployment's pod template.
    pub(super) fn template(&self) -> PodTemplateSpec {
        self.d
            .spec
            .as_ref()
            .map(|s| s.template.clone())
            .unwrap_or_default()
    }

    fn min_ready_seconds(&self) -> Option<i32> {
        self.d.spec.as_ref().and_then(|s| s.min_ready_seconds)
    }

    /// Finds the new ReplicaSet (the oldest with the Deployment's template), brings it and
    /// the Deployment's revision up to date, or — if there is none and `create` — creates
    /// it.
    pub(super) async fn sync_new_replica_set(&mut self, create: bool) -> Result<(), Error> {
        let template = self.template();
        self.new = self.rses.iter().position(|rs| {
            rs.spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .is_some_and(|t| equal_ignoring_hash(t, &template))
        });
        let new_revision =
            revision::max_revision(self.old().iter().map(|i| &self.rses[*i].metadata)) + 1;
        match self.new {
            Some(index) => self.sync_existing(index, new_revision).await,
            None if create => self.create_new(template, new_revision).await,
            None => Ok(()),
        }
    }

    async fn sync_existing(&mut self, index: usize, new_revision: i64) -> Result<(), Error> {
        let rs = &self.rses[index];
        let (desired, max) = self.replicas_annotations();
        let min_ready = self.min_ready_seconds();
        let mut meta = rs.metadata.clone();
        let annotated = revision::sync_new_replica_set(
            &self.d.metadata,
            &mut meta,
            new_revision,
            true,
            desired,
            max,
        );
        let min_ready_differs = rs.spec.as_ref().and_then(|s| s.min_ready_seconds) != min_ready;
        if annotated || min_ready_differs {
            let expected = rs.metadata.uid.clone();
            let name = rs.metadata.name.clone().unwrap_or_default();
            let deployment = self.d.metadata.clone();
            let updated = self
                .shared
                .client
                .update::<ReplicaSet>(rs.metadata.namespace.as_deref(), &name, |latest| {
                    if latest.metadata.uid != expected {
                        return false;
                    }
                    let annotated = revision::sync_new_replica_set(
                        &deployment,
                        &mut latest.metadata,
                        new_revision,
                        true,
                        desired,
                        max,
                    );
                    let spec = latest.spec.get_or_insert_with(Default::default);
                    let resized = spec.min_ready_seconds != min_ready;
                    spec.min_ready_seconds = min_ready;
                    annotated || resized
                })
                .await
                .map_err(|e| Error::api("update the new ReplicaSet", self.key, &e))?;
            if updated.metadata.uid != expected {
                return Err(Error::Replaced(name));
            }
            self.settle(&updated).await;
            self.rses[index] = updated;
            // The Deployment's revision follows on the next reconcile, as in Kubernetes.
            return Ok(());
        }
        let rs_revision = rs
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(revision::REVISION))
            .cloned()
            .unwrap_or_default();
        let name = rs.metadata.name.clone().unwrap_or_default();
        self.write_revision(&rs_revision).await?;
        let mut status = self.d.status.clone().unwrap_or_default();
        if has_progress_deadline(&self.d)
            && conditions::get(&status, conditions::PROGRESSING).is_none()
        {
            conditions::set(
                &mut status,
                conditions::condition(
                    conditions::PROGRESSING,
                    "True",
                    conditions::FOUND_NEW_RS,
                    format!("Found new replica set \"{name}\""),
                    skiff_model::time::now_seconds(),
                ),
            );
            self.write_status(status).await?;
        }
        Ok(())
    }

    async fn create_new(
        &mut self,
        template: PodTemplateSpec,
        new_revision: i64,
    ) -> Result<(), Error> {
        let collisions = self.d.status.as_ref().and_then(|s| s.collision_count);
        let hash = template_hash(&template, collisions);
        let mut template = template;
        template
            .metadata
            .get_or_insert_with(Default::default)
            .labels
            .get_or_insert_with(Default::default)
            .insert(POD_TEMPLATE_HASH.into(), hash.clone());
        let mut selector = self
            .d
            .spec
            .as_ref()
            .map(|s| s.selector.clone())
            .unwrap_or_default();
        selector
            .match_labels
            .get_or_insert_with(Default::default)
            .insert(POD_TEMPLATE_HASH.into(), hash.clone());
        let name = format!(
            "{}-{hash}",
            self.d.metadata.name.as_deref().unwrap_or_default()
        );
        let replicas = self.new_replicas(0);
        let mut rs = ReplicaSet {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: self.d.metadata.namespace.clone(),
                owner_references: Some(vec![ownership::controller_ref::<Deployment>(
                    &self.d.metadata,
                )]),
                labels: template.metadata.as_ref().and_then(|m| m.labels.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(ReplicaSetSpec {
                replicas: Some(replicas),
                min_ready_seconds: self.min_ready_seconds(),
                selector,
                template: Some(template),
            }),
            status: None,
        };
        let (desired, max) = self.replicas_annotations();
        revision::sync_new_replica_set(
            &self.d.metadata,
            &mut rs.metadata,
            new_revision,
            false,
            desired,
            max,
        );
        let (created, already_existed) = match self.shared.client.create(&rs).await {
            Ok(created) => (created, false),
            Err(e) if e.reason == "AlreadyExists" => {
                (self.existing_or_collision(&name).await?, true)
            }
            Err(e) => {
                let message = format!("Failed to create new replica set \"{name}\": {}", e.message);
                if has_progress_deadline(&self.d) {
                    let mut status = self.d.status.clone().unwrap_or_default();
                    let c = conditions::condition(
                        conditions::PROGRESSING,
                        "False",
                        conditions::FAILED_RS_CREATE,
                        message.clone(),
                        skiff_model::time::now_seconds(),
                    );
                    conditions::set(&mut status, c);
                    // The create failure is what gets reported.
                    let _ = self.write_status(status).await;
                }
                self.shared.events.warning(
                    Involved::of::<Deployment>(&self.d.metadata),
                    conditions::FAILED_RS_CREATE,
                    message,
                );
                return Err(Error::api("create the new ReplicaSet", self.key, &e));
            }
        };
        self.settle(&created).await;
        let size = spec_replicas(&created);
        if !already_existed && size > 0 {
            self.shared.events.normal(
                Involved::of::<Deployment>(&self.d.metadata),
                "ScalingReplicaSet",
                format!("Scaled up replica set {name} from 0 to {size}"),
            );
        }
        self.rses.push(created);
        self.new = Some(self.rses.len() - 1);
        self.write_revision(&new_revision.to_string()).await?;
        if !already_existed && has_progress_deadline(&self.d) {
            let mut status = self.d.status.clone().unwrap_or_default();
            let c = conditions::condition(
                conditions::PROGRESSING,
                "True",
                conditions::NEW_RS_CREATED,
                format!("Created new replica set \"{name}\""),
                skiff_model::time::now_seconds(),
            );
            conditions::set(&mut status, c);
            self.write_status(status).await?;
        }
        Ok(())
    }

    /// The ReplicaSet `name` that a create found existing: ours if this Deployment
    /// controls it and it has the template; otherwise a hash collision, which bumps
    /// `collisionCount` so that the next attempt uses another name.
    async fn existing_or_collision(&mut self, name: &str) -> Result<ReplicaSet, Error> {
        let existing = self
            .shared
            .client
            .get::<ReplicaSet>(self.d.metadata.namespace.as_deref(), name)
            .await
            .map_err(|e| Error::api("read the new ReplicaSet", self.key, &e))?;
        let uid = self.d.metadata.uid.as_deref().unwrap_or_default();
        let same_template = existing
            .spec
            .as_ref()
            .and_then(|s| s.template.as_ref())
            .is_some_and(|t| equal_ignoring_hash(t, &self.template()));
        if ownership::is_controlled_by(&existing.metadata, uid) && same_template {
            return Ok(existing);
        }
        let mut status = self.d.status.clone().unwrap_or_default();
        status.collision_count = Some(status.collision_count.unwrap_or(0) + 1);
        self.write_status(status).await?;
        Err(Error::HashCollision(self.key.to_string()))
    }

    /// The size the new ReplicaSet (now at `current`) may grow to (Kubernetes'
    /// `NewRSNewReplicas`): all of `replicas` when recreating; when rolling, up to
    /// `replicas + maxSurge` pods in all.
    pub(super) fn new_replicas(&self, current: i32) -> i32 {
        if !fenceposts::is_rolling(&self.d) {
            return self.replicas();
        }
        let others: i32 = self
            .rses
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != self.new)
            .map(|(_, rs)| spec_replicas(rs))
            .sum();
        super::rolling::new_replicas(
            self.replicas(),
            fenceposts::max_surge(&self.d),
            others + current,
            current,
        )
    }
}
