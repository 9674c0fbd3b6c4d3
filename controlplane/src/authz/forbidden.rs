//! The wording of a refusal, as kube-apiserver's: `pods is forbidden: User "alice" cannot
//! list resource "pods" in API group "" in the namespace "team-b"`, `... at the cluster
//! scope`, or `forbidden: User "system:anonymous" cannot get path "/api"`; the Status's
//! details name the resource, group and object.

use crate::apiserver::error::ApiError;
use crate::authn::UserInfo;
use crate::authz::attributes::Attributes;

/// The 403 for `user` asking `request`.
pub fn forbidden(user: &UserInfo, request: &Attributes) -> ApiError {
    let why = reason(user, request);
    if !request.resource_request {
        return ApiError::forbidden(format!("forbidden: {why}"));
    }
    let qualified = if request.api_group.is_empty() {
        request.resource.clone()
    } else {
        format!("{}.{}", request.resource, request.api_group)
    };
    let message = if request.name.is_empty() {
        format!("{qualified} is forbidden: {why}")
    } else {
        format!("{qualified} \"{}\" is forbidden: {why}", request.name)
    };
    ApiError::forbidden(message).with_details(&request.api_group, &request.resource, &request.name)
}

/// `User "alice" cannot list resource "pods" in API group "" in the namespace "team-b"`.
pub fn reason(user: &UserInfo, request: &Attributes) -> String {
    if !request.resource_request {
        return format!(
            "User {:?} cannot {} path {:?}",
            user.name, request.verb, request.path
        );
    }
    let resource = request.resource_and_subresource();
    if request.namespace.is_empty() {
        format!(
            "User {:?} cannot {} resource {:?} in API group {:?} at the cluster scope",
            user.name, request.verb, resource, request.api_group
        )
    } else {
        format!(
            "User {:?} cannot {} resource {:?} in API group {:?} in the namespace {:?}",
            user.name, request.verb, resource, request.api_group, request.namespace
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> UserInfo {
        UserInfo::authenticated(name, "", vec![])
    }

    #[test]
    fn messages_read_as_kubernetes_writes_them() {
        let list = Attributes::from_request("GET", "/api/v1/namespaces/team-b/pods", None);
        let error = forbidden(&user("alice"), &list);
        assert_eq!(error.code, 403);
        assert_eq!(
            error.message,
            "pods is forbidden: User \"alice\" cannot list resource \"pods\" in API group \"\" in the namespace \"team-b\""
        );
        let get = Attributes::from_request(
            "GET",
            "/apis/apps/v1/namespaces/a/deployments/web/scale",
            None,
        );
        assert_eq!(
            forbidden(&user("bob"), &get).message,
            "deployments.apps \"web\" is forbidden: User \"bob\" cannot get resource \"deployments/scale\" in API group \"apps\" in the namespace \"a\""
        );
        let nodes = Attributes::from_request("GET", "/api/v1/nodes", None);
        assert_eq!(
            forbidden(&user("bob"), &nodes).message,
            "nodes is forbidden: User \"bob\" cannot list resource \"nodes\" in API group \"\" at the cluster scope"
        );
        let path = Attributes::from_request("GET", "/api", None);
        assert_eq!(
            forbidden(&UserInfo::anonymous(), &path).message,
            "forbidden: User \"system:anonymous\" cannot get path \"/api\""
        );
    }
}
