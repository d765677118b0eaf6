//! `defrag`: a plan from the members' sizes and health, then one member at a time. The plan
//! is pure (`plan`); carrying it out talks to the members (`run`). Nothing here prints.

pub mod plan;
pub mod run;
