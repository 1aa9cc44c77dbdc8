// `sqlx::migrate!` embeds the migration files at compile time but does not
// notice a newly added file; this makes Cargo rebuild when the folder changes.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
