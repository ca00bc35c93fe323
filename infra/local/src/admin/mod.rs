//! The operator commands of the local-stack binary (`cargo run -- …`): they work on the
//! configured backend, so the same commands manage a deployment with
//! `PASSERELLE_BACKEND=aws`.

pub mod agency;
pub mod pem_key;
