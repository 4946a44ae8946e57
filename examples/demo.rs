//! The tutorial's demo: two pages, `/` and `/about`, with `/about` kept open during maintenance.
//!
//! Run from the repository root: `cargo run --example demo`, then set `enabled = true` in
//! `Rocket.toml` and send `SIGHUP` (`kill -HUP <pid>`) or run
//! `cargo run -- on --pid <pid>`.

#[macro_use]
extern crate rocket;

use rocket_dyn_templates::{context, Template};
use rocket_maintenance::{Maintenance, MaintenanceStatus};

#[get("/")]
fn index(maintenance: MaintenanceStatus) -> Template {
    Template::render("index", context! { maintenance })
}

#[get("/about")]
fn about(maintenance: MaintenanceStatus) -> Template {
    Template::render("about", context! { maintenance })
}

#[launch]
fn rocket() -> _ {
    rocket::build()
        .mount("/", routes![index])
        .attach(Template::fairing())
        // Attached last; /about stays open during maintenance.
        .attach(Maintenance::fairing().force_off("/", routes![about]))
}
