//! The webhook body as LINE sends it. Only what the bot uses is typed; unknown
//! fields and event types are accepted and ignored, as LINE adds new ones.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct WebhookBody {
    #[serde(default)]
    pub destination: Option<String>,
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: String,
    /// Milliseconds since the epoch, when LINE created the event.
    #[serde(default)]
    pub timestamp: i64,
    #[serde(default)]
    pub source: Option<Source>,
    #[serde(default)]
    pub reply_token: Option<String>,
    #[serde(default)]
    pub webhook_event_id: Option<String>,
    #[serde(default)]
    pub delivery_context: Option<DeliveryContext>,
    /// `active`, or `standby` while another module channel owns the chat.
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub message: Option<Message>,
    #[serde(default)]
    pub postback: Option<Postback>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub group_id: Option<String>,
    #[serde(default)]
    pub room_id: Option<String>,
}

impl Source {
    /// Where answers go: the group or room when there is one, else the user.
    pub fn chat_id(&self) -> Option<&str> {
        self.group_id.as_deref().or(self.room_id.as_deref()).or(self.user_id.as_deref())
    }

    pub fn is_user(&self) -> bool {
        self.kind == "user"
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryContext {
    #[serde(default)]
    pub is_redelivery: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Message {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub text: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Postback {
    pub data: String,
}
