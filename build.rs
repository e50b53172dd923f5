//! Rebuild when a rule or schema changes: they are embedded in the binary.
fn main() {
    println!("cargo:rerun-if-changed=rules");
    println!("cargo:rerun-if-changed=schemas");
}
