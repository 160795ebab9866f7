// graphiam graph schema (kuzu DDL). Applied by graphiam.store.schema when a database is opened.
// The version below is stored in the Meta table; a database made by another version is refused.
// schema_version: 7
// Policy.services / allow_services: lower-cased service prefixes the statements (the Allow ones) can name, `*` = any (store/access_store.py).
CREATE NODE TABLE IF NOT EXISTS Meta(key STRING PRIMARY KEY, value STRING);
CREATE NODE TABLE IF NOT EXISTS Account(id STRING PRIMARY KEY, source STRING, loaded_at STRING, warnings STRING[]);
CREATE NODE TABLE IF NOT EXISTS User(arn STRING PRIMARY KEY, export STRING, account STRING, name STRING, user_id STRING, path STRING, create_date STRING, tags STRING, boundary_arn STRING, password_enabled BOOLEAN, password_last_used STRING, mfa_active BOOLEAN, access_keys_active INT64, has_credential_report BOOLEAN);
CREATE NODE TABLE IF NOT EXISTS IAMGroup(arn STRING PRIMARY KEY, export STRING, account STRING, name STRING, group_id STRING, path STRING, create_date STRING);
CREATE NODE TABLE IF NOT EXISTS Role(arn STRING PRIMARY KEY, export STRING, account STRING, name STRING, role_id STRING, path STRING, create_date STRING, tags STRING, boundary_arn STRING, trust_policy STRING, description STRING, max_session_duration INT64, last_used STRING);
CREATE NODE TABLE IF NOT EXISTS Policy(arn STRING PRIMARY KEY, export STRING, account STRING, name STRING, kind STRING, policy_id STRING, path STRING, default_version STRING, document STRING, owner_arn STRING, attachment_count INT64, boundary_usage_count INT64, is_attachable BOOLEAN, description STRING, create_date STRING, update_date STRING, missing BOOLEAN, services STRING[], allow_services STRING[]);
CREATE NODE TABLE IF NOT EXISTS PolicyVersion(key STRING PRIMARY KEY, export STRING, policy_arn STRING, version_id STRING, is_default BOOLEAN, document STRING, create_date STRING);
CREATE NODE TABLE IF NOT EXISTS InstanceProfile(arn STRING PRIMARY KEY, export STRING, account STRING, name STRING, profile_id STRING, path STRING, create_date STRING);
CREATE REL TABLE IF NOT EXISTS MEMBER_OF(FROM User TO IAMGroup);
CREATE REL TABLE IF NOT EXISTS ATTACHED_TO(FROM Policy TO User, FROM Policy TO IAMGroup, FROM Policy TO Role, attached_as STRING);
CREATE REL TABLE IF NOT EXISTS HAS_VERSION(FROM Policy TO PolicyVersion);
CREATE REL TABLE IF NOT EXISTS HAS_ROLE(FROM InstanceProfile TO Role);
// Derived edges (recomputed for what a change touches). Principals that are not users or roles:
CREATE NODE TABLE IF NOT EXISTS ServicePrincipal(name STRING PRIMARY KEY);
CREATE NODE TABLE IF NOT EXISTS ExternalPrincipal(arn STRING PRIMARY KEY, kind STRING, account STRING);
// principal -> role: the trust policy admits it and (where AWS requires) its identity policies allow sts:AssumeRole.
// reason: the id of the AssumeReason holding why (many edges share one: ~7k distinct reasons for ~900k edges at
// 10,000 principals, and kuzu holds every string of a COPY in memory until commit).
// AssumeReason.statements/conditions are JSON: the deciding statements and the condition keys the hop still needs.
CREATE NODE TABLE IF NOT EXISTS AssumeReason(id STRING PRIMARY KEY, statements STRING, conditions STRING);
CREATE REL TABLE IF NOT EXISTS CAN_ASSUME(FROM User TO Role, FROM Role TO Role, FROM ServicePrincipal TO Role, FROM ExternalPrincipal TO Role, action STRING, reason STRING, needs_conditions BOOLEAN);
// principal -> principal: a privilege-escalation technique (technique id, permissions used, details as JSON).
CREATE REL TABLE IF NOT EXISTS ESCALATES_TO(FROM User TO User, FROM User TO Role, FROM Role TO Role, FROM Role TO User, technique STRING, permissions STRING, details STRING);
// principal -> every principal of a set but itself, by one technique ("fan-out": stored once, not once per target).
// permissions name the target (and its policy) as ${graphiam:target} / ${graphiam:policy}; details: {"admin": bool}.
// EscalationTargets.targets: JSON list of target ARNs; parts: JSON list (same order) of what each edge holds apart
// from the actor's permissions (policy, proof, assumptions, via). Both in graphiam/escalation/fanout.py.
CREATE NODE TABLE IF NOT EXISTS EscalationTargets(id STRING PRIMARY KEY, account STRING, technique STRING, targets STRING, parts STRING);
CREATE REL TABLE IF NOT EXISTS ESCALATES_TO_EACH(FROM User TO EscalationTargets, FROM Role TO EscalationTargets, technique STRING, permissions STRING, details STRING);
// AWS Organizations (optional, `graphiam load` of an organization file; one organization per graph): roots, OUs and
// accounts as a tree (CHILD_OF points at the parent), SCPs attached along it. `management` marks the management
// account (SCPs do not apply to it). An account here need not have an IAM export loaded.
CREATE NODE TABLE IF NOT EXISTS OrgUnit(id STRING PRIMARY KEY, org STRING, kind STRING, name STRING, parent STRING, management BOOLEAN, source STRING);
CREATE NODE TABLE IF NOT EXISTS ServiceControlPolicy(id STRING PRIMARY KEY, org STRING, name STRING, description STRING, aws_managed BOOLEAN, document STRING);
CREATE REL TABLE IF NOT EXISTS CHILD_OF(FROM OrgUnit TO OrgUnit);
CREATE REL TABLE IF NOT EXISTS SCP_ATTACHED(FROM ServiceControlPolicy TO OrgUnit);
// Resource control policies: the same shape as SCPs, attached along the same tree.
CREATE NODE TABLE IF NOT EXISTS ResourceControlPolicy(id STRING PRIMARY KEY, org STRING, name STRING, description STRING, aws_managed BOOLEAN, document STRING);
CREATE REL TABLE IF NOT EXISTS RCP_ATTACHED(FROM ResourceControlPolicy TO OrgUnit);
// Resources with their resource-based policies (bucket, key, queue, topic, function, secret, repository policies…),
// replaced with their account's load (`export`). type: `service:kind` (s3:bucket, kms:key…); tags: JSON object;
// policy: canonical JSON or null; source: the file or directory it was read from.
CREATE NODE TABLE IF NOT EXISTS Resource(arn STRING PRIMARY KEY, export STRING, account STRING, type STRING, region STRING, name STRING, tags STRING, policy STRING, source STRING, role STRING);
// What a resource's policy names (derived from the stored policies by graphiam/derive/resources.py): a user or
// role of the graph, else a Named node (key `kind:value`; kind: account | service | federated | canonical-user |
// everyone | principal (an ARN not in the graph) | organization | org-path (aws:PrincipalOrgID/OrgPaths)).
// effect: Allow | Deny; conditional: the statement has a Condition; principal_kind: AWS | Service | Federated |
// CanonicalUser | condition (named by a condition key, not the Principal element); not_principal: NotPrincipal.
CREATE NODE TABLE IF NOT EXISTS Named(key STRING PRIMARY KEY, kind STRING, value STRING);
CREATE REL TABLE IF NOT EXISTS NAMES(FROM Resource TO User, FROM Resource TO Role, FROM Resource TO Named, effect STRING, conditional BOOLEAN, principal_kind STRING, not_principal BOOLEAN);
// Import history (`graphiam history`, `graphiam diff --since`): one row per `graphiam load`, written in the load's
// transaction. files: JSON list of {name, bytes, sha256}; counts: JSON object; summary: the compact security
// summary `graphiam.queries.summary` computes (gzip, then base64), which `diff` compares; not a copy of the data.
CREATE NODE TABLE IF NOT EXISTS Import(id INT64 PRIMARY KEY, at STRING, files STRING, accounts STRING[], counts STRING, warnings STRING[], summary STRING);
