//! Kubernetes RBAC, enforced: Roles, ClusterRoles, RoleBindings and ClusterRoleBindings loaded
//! from YAML (the README's, exactly), evaluated as the RBAC authorizer does. A request is allowed
//! when some binding that names the user (kind User) grants a rule matching it:
//! - a RoleBinding in namespace N grants its Role (in N) or ClusterRole, for requests in N only;
//! - a ClusterRoleBinding grants its ClusterRole everywhere, cluster-scoped requests included.
//!
//! A rule matches when its apiGroups hold "" (the core group, all this fake serves) or "*", its
//! resources hold the resource ("pods", or "pods/exec" for a subresource) or "*", its verbs hold
//! the verb or "*", and its resourceNames are empty or hold the object's name.

use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding};
use serde::Deserialize;

#[derive(Clone, Debug, Default)]
pub struct Rbac {
    pub roles: Vec<Role>,
    pub cluster_roles: Vec<ClusterRole>,
    pub role_bindings: Vec<RoleBinding>,
    pub cluster_role_bindings: Vec<ClusterRoleBinding>,
}

/// One document of a multi-document YAML stream, by kind.
#[derive(Deserialize)]
#[serde(tag = "kind")]
enum Object {
    Role(Role),
    ClusterRole(ClusterRole),
    RoleBinding(RoleBinding),
    ClusterRoleBinding(ClusterRoleBinding),
}

impl Rbac {
    /// Adds every object of a (multi-document) YAML text; anything but the four RBAC kinds is
    /// an error, so a typo cannot silently grant nothing.
    pub fn load(&mut self, yaml: &str) -> Result<(), String> {
        let docs: Vec<serde_json::Value> =
            serde_saphyr::from_multiple(yaml).map_err(|e| format!("RBAC YAML: {e}"))?;
        for doc in docs {
            if doc["apiVersion"] != "rbac.authorization.k8s.io/v1" {
                return Err(format!("not an RBAC v1 object: {doc}"));
            }
            match serde_json::from_value::<Object>(doc.clone())
                .map_err(|e| format!("RBAC object {doc}: {e}"))?
            {
                Object::Role(r) => self.roles.push(r),
                Object::ClusterRole(r) => self.cluster_roles.push(r),
                Object::RoleBinding(b) => self.role_bindings.push(b),
                Object::ClusterRoleBinding(b) => self.cluster_role_bindings.push(b),
            }
        }
        Ok(())
    }

    /// Whether `user` may `verb` `resource` (e.g. "pods/exec") in `namespace` ("" for a
    /// cluster-scoped request), on the object `name` when there is one.
    pub fn allows(
        &self,
        user: &str,
        verb: &str,
        resource: &str,
        namespace: &str,
        name: Option<&str>,
    ) -> bool {
        let names_user = |subjects: &Option<Vec<k8s_openapi::api::rbac::v1::Subject>>| {
            subjects
                .iter()
                .flatten()
                .any(|s| s.kind == "User" && s.name == user)
        };
        let grants = |rules: &Option<Vec<PolicyRule>>| {
            rules
                .iter()
                .flatten()
                .any(|r| rule_matches(r, verb, resource, name))
        };
        let cluster_role = |n: &str| {
            self.cluster_roles
                .iter()
                .find(|c| c.metadata.name.as_deref() == Some(n))
        };
        let cluster_wide = self.cluster_role_bindings.iter().any(|b| {
            names_user(&b.subjects)
                && b.role_ref.kind == "ClusterRole"
                && cluster_role(&b.role_ref.name).is_some_and(|c| grants(&c.rules))
        });
        if cluster_wide || namespace.is_empty() {
            return cluster_wide;
        }
        self.role_bindings
            .iter()
            .filter(|b| b.metadata.namespace.as_deref() == Some(namespace))
            .filter(|b| names_user(&b.subjects))
            .any(|b| match b.role_ref.kind.as_str() {
                "Role" => self
                    .roles
                    .iter()
                    .find(|r| {
                        r.metadata.name.as_deref() == Some(&b.role_ref.name)
                            && r.metadata.namespace.as_deref() == Some(namespace)
                    })
                    .is_some_and(|r| grants(&r.rules)),
                "ClusterRole" => cluster_role(&b.role_ref.name).is_some_and(|c| grants(&c.rules)),
                _ => false,
            })
    }
}

fn rule_matches(r: &PolicyRule, verb: &str, resource: &str, name: Option<&str>) -> bool {
    let has = |list: &Option<Vec<String>>, want: &str| {
        list.iter().flatten().any(|x| x == "*" || x == want)
    };
    let names_ok = match (&r.resource_names, name) {
        (None, _) => true,
        (Some(n), _) if n.is_empty() => true,
        (Some(n), Some(name)) => n.iter().any(|x| x == name),
        (Some(_), None) => false,
    };
    has(&r.api_groups, "")
        && has(&r.resources, resource)
        && r.verbs.iter().any(|v| v == "*" || v == verb)
        && names_ok
}
