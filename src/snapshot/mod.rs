//! Snapshots: reading a bbolt file as `etcdutl snapshot status` does, and saving a member's
//! snapshot stream safely. Plain values in and out; nothing here prints or talks to etcd.

pub mod bbolt;
#[cfg(test)]
mod fuzz;
pub mod keys;
pub mod pick;
pub mod save;
pub mod status;
pub mod truncated;
