//! Table tests of the job domain: the machine's decisions over a job's life. (The
//! rollout decision over what each kind of PaaS sends is tested with the PaaS client's
//! readings, in `src/paas/readings`.)

mod machine;
mod reconcile;
mod stats;
