//! Table tests of the job domain: the rollout decision over the JSON sequences each
//! kind of PaaS sends, and the machine's decisions over a job's life.

mod machine;
mod reconcile;
mod rollout;
