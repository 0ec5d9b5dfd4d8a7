//! Actions (Terraform 1.14+): the imperative parts of the API.
pub mod logout;
pub mod password_forgot;
pub mod password_reset;
