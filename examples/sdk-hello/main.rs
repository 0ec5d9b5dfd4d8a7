//! A second provider on `src/sdk`, with no Defentry in it: `hello_greeting` turns a name into
//! a greeting. It shows the whole contract in a few dozen lines: a schema, a typed model, a
//! plan that says what apply will do, and apply doing exactly that.
//!
//! Built by `cargo build --example terraform-provider-hello`; `tests/e2e_sdk_example.rs` runs it
//! under Terraform through `dev_overrides` for `example.com/demo/hello`.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tfsdk::cty::{Type, Value};
use tfsdk::model::{from_value, to_value, Maybe};
use tfsdk::object::ObjectType;
use tfsdk::plugin::{serve, ServeOpts};
use tfsdk::provider::{ConfigureRequest, ConfigureResponse};
use tfsdk::resource::*;
use tfsdk::schema::{Attribute, Block, Schema};
use tfsdk::{Context, Diagnostic, Provider, ProviderServer};

#[derive(Clone)]
struct Hello;

#[async_trait]
impl ObjectType for Hello {
    fn type_name(&self) -> &'static str {
        "hello"
    }

    fn schema(&self) -> Schema {
        Schema::new(Block::new(vec![]))
    }
}

#[async_trait]
impl Provider for Hello {
    type Data = ();
    async fn configure(&self, _: &Context, _: ConfigureRequest, resp: &mut ConfigureResponse<()>) {
        resp.data = Some(());
    }
    fn resources(&self) -> Vec<Arc<dyn Resource<()>>> {
        vec![Arc::new(Greeting)]
    }
}

struct Greeting;

/// The resource's configuration, plan and state in one struct, named as in the schema.
#[derive(Serialize, Deserialize)]
struct Model {
    // `Maybe`: during plan a value may be unknown (here `name = var.x` from another resource).
    name: Maybe<String>,
    id: Maybe<String>,
    message: Maybe<String>,
}

fn schema() -> Schema {
    Schema::new(Block::new(vec![
        Attribute::required("name", Type::String).requires_replace(),
        Attribute::computed("id", Type::String),
        Attribute::computed("message", Type::String),
    ]))
}

impl Model {
    fn read(v: &Value) -> Result<Self, Diagnostic> {
        Ok(from_value(v)?)
    }
    fn write(&self) -> Result<Value, Diagnostic> {
        Ok(to_value(self, &schema().block.implied_type())?)
    }
}

#[async_trait]
impl ObjectType for Greeting {
    fn type_name(&self) -> &'static str {
        "hello_greeting"
    }

    fn schema(&self) -> Schema {
        schema()
    }
}

#[async_trait]
impl Resource<()> for Greeting {
    /// The message is known as soon as the name is, so the plan shows it.
    async fn modify_plan(&self, _: &Context, _: &(), req: PlanRequest, resp: &mut PlanResponse) {
        let result = Model::read(&req.config).and_then(|config| {
            let mut plan = Model::read(&resp.planned_state)?;
            plan.message = config.name.map(|n| format!("Hello, {n}!"));
            plan.write()
        });
        match result {
            Ok(planned) => resp.planned_state = planned,
            Err(d) => resp.diagnostics.push(d),
        }
    }
    /// Fills in what the plan left unknown; everything else stays as planned.
    async fn create(&self, _: &Context, _: &(), req: CreateRequest, resp: &mut ApplyResponse) {
        let result = Model::read(&req.planned_state).and_then(|mut m| {
            let name = m.name.known().cloned().unwrap_or_default();
            m.id = Maybe::Known(name.clone());
            m.message = Maybe::Known(format!("Hello, {name}!"));
            m.write()
        });
        match result {
            Ok(state) => resp.new_state = state,
            Err(d) => resp.diagnostics.push(d),
        }
    }
    /// Nothing exists outside Terraform, so there is nothing to delete.
    async fn delete(&self, _: &Context, _: &(), _: DeleteRequest, _: &mut DeleteResponse) {}
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let opts = ServeOpts {
        provider_address: "example.com/demo/hello".to_owned(),
        debug: std::env::args().any(|a| a == "--debug"),
    };
    if let Err(e) = serve(ProviderServer::new(Hello), opts).await {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
