//! Window edges that cannot be built do not spin: the state is kept, the error is logged once,
//! and retries back off.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use rocket::routes;
use rocket_maintenance::handlebars::{
    Context, Handlebars, Helper, HelperResult, Output, RenderContext, RenderError,
};
use rocket_maintenance::Maintenance;

static RENDERS: AtomicUsize = AtomicUsize::new(0);
static FAIL_FROM: AtomicUsize = AtomicUsize::new(usize::MAX);

fn unix_now() -> usize {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as usize
}

/// A helper that fails from an instant on: the page renders at load, and no longer at the edge.
fn until(
    _: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    RENDERS.fetch_add(1, Ordering::SeqCst);
    if unix_now() >= FAIL_FROM.load(Ordering::SeqCst) {
        return Err(RenderError::from(
            rocket_maintenance::handlebars::RenderErrorReason::Other("not any more".into()),
        ));
    }
    out.write("ok")?;
    Ok(())
}

#[rocket::async_test]
async fn an_edge_whose_page_cannot_render_backs_off() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("page.html.hbs"),
        "<p>{{message}} {{until}}</p>",
    )
    .unwrap();
    let edge = unix_now() + 2;
    let edge_time = rocket_maintenance::control::format_time(
        SystemTime::UNIX_EPOCH + Duration::from_secs(edge as u64),
    );
    FAIL_FROM.store(edge, Ordering::SeqCst);
    let toml = format!(
        "template_dir = {:?}\n[maintenance]\nenabled = true\ntemplate = \"page\"\nretry_after = {edge_time:?}\n",
        dir.path().display().to_string()
    );
    let f = common::figment(&toml);
    let g = f.clone();
    let rocket = rocket::custom(f).mount("/", routes![]).attach(
        Maintenance::custom(move || g.clone())
            .handlebars(|hbs| hbs.register_helper("until", Box::new(until))),
    );
    let client = common::client(rocket).await;
    let handle = common::handle(&client);
    let generation = handle.status().generation();
    rocket::tokio::time::sleep(Duration::from_millis(5500)).await;
    // The edge came 2 s in; in the 3.5 s after it, a spinning scheduler renders thousands of
    // times, a backing-off one a handful (1 s, 2 s, …).
    let renders = RENDERS.load(Ordering::SeqCst);
    assert!(
        renders <= 8,
        "{renders} renders: the scheduler spins on an edge it cannot build"
    );
    assert_eq!(
        handle.status().generation(),
        generation,
        "the state in force was kept"
    );
    let res = client.get("/").dispatch().await;
    assert_eq!(res.status(), rocket::http::Status::ServiceUnavailable);
}
