//! Fakes of paid or external services, as real HTTP servers on loopback that speak
//! the providers' wire formats, errors included.

pub mod openai;

pub use openai::{Behavior, FakeOpenAi, EMBEDDING_DIMS};
pub mod line;

pub use line::{FakeLine, LineCall};
pub mod oidc;

pub use oidc::{FakeOidc, OidcFault, OidcUser};
pub mod stripe;

pub use stripe::{ApiLayout, EventFixture, FakeStripe, StripeCall, WebhookDelivery};
