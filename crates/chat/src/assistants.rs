//! Named assistants: a system prompt, a model, a temperature, the knowledge bases
//! they may use, and a greeting. Three ship built in; the config file and the
//! database add more later.

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Assistant {
    pub id: String,
    pub name_ja: String,
    pub name_en: String,
    #[serde(skip)]
    pub system_prompt: String,
    /// Overrides the upstream's default model.
    pub model: Option<String>,
    pub temperature: Option<f32>,
    /// Knowledge bases this assistant may retrieve from.
    pub knowledge_bases: Vec<String>,
    /// Answer only from the knowledge bases: with nothing relevant found, say so and
    /// offer a handoff instead of asking the model.
    pub knowledge_only: bool,
    pub greeting_ja: String,
    pub greeting_en: String,
}

/// The set of assistants.
#[derive(Debug, Clone)]
pub struct Assistants {
    list: Vec<Assistant>,
}

impl Default for Assistants {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Assistants {
    /// `default`, `concierge` and `mnp-support`.
    pub fn builtin() -> Self {
        let a =
            |id: &str, ja: &str, en: &str, prompt: &str, temp: f32, kbs: &[&str], g_ja: &str, g_en: &str| Assistant {
                id: id.into(),
                name_ja: ja.into(),
                name_en: en.into(),
                system_prompt: prompt.into(),
                model: None,
                temperature: Some(temp),
                knowledge_bases: kbs.iter().map(|s| s.to_string()).collect(),
                knowledge_only: !kbs.is_empty(),
                greeting_ja: g_ja.into(),
                greeting_en: g_en.into(),
            };
        Self {
            list: vec![
                a(
                    "default",
                    "TENMON-ARK",
                    "TENMON-ARK",
                    "あなたは TENMON-ARK（天門アーク）の AI アシスタントです。利用者の言語（既定は日本語）で、正確・簡潔・丁寧に答えてください。\
                     分からないことは推測せず、分からないと伝えてください。回答は Markdown で書いて構いませんが、HTML は使わないでください。",
                    0.7,
                    &[],
                    "こんにちは。TENMON-ARK です。何でもお尋ねください。",
                    "Hello, this is TENMON-ARK. Ask me anything.",
                ),
                a(
                    "concierge",
                    "コンシェルジュ",
                    "Concierge",
                    "あなたは TENMON-ARK のコンシェルジュです。初めての訪問者に、TENMON-ARK でできること（AI チャット、FAQ 検索、携帯電話番号ポータビリティ（MNP）のサポート）を案内し、\
                     目的に合った窓口（一般チャットは default、MNP の手続きは mnp-support）へ導いてください。短く、温かく、利用者の言語で答えてください。",
                    0.5,
                    &[],
                    "ようこそ TENMON-ARK へ。ご用件をお聞かせください。ご案内いたします。",
                    "Welcome to TENMON-ARK. Tell me what you need and I will guide you.",
                ),
                a(
                    "mnp-support",
                    "MNPサポート",
                    "MNP Support",
                    "あなたは携帯電話番号ポータビリティ（MNP）のカスタマーサポートです。提供されたナレッジベースの内容だけに基づいて、丁寧な日本語（利用者が英語なら英語）で答えてください。\
                     ナレッジベースに答えがない場合は、推測せず、分からない旨を伝えて、担当窓口への引き継ぎを提案してください。事業者によって異なる点は、その旨を明記してください。",
                    0.2,
                    &["mnp"],
                    "MNP（番号そのまま乗り換え）のご相談を承ります。ご質問をどうぞ。",
                    "I can help with mobile number portability (MNP). What would you like to know?",
                ),
            ],
        }
    }

    /// Add assistants, replacing built-ins of the same id.
    pub fn with(mut self, extra: Vec<Assistant>) -> Self {
        for a in extra {
            match self.list.iter_mut().find(|x| x.id == a.id) {
                Some(slot) => *slot = a,
                None => self.list.push(a),
            }
        }
        self
    }

    /// A regular expression matching exactly the assistant ids (for the API schema).
    pub fn id_pattern(&self) -> String {
        let ids: Vec<&str> = self.list.iter().map(|a| a.id.as_str()).collect();
        format!("^({})$", ids.join("|"))
    }

    pub fn get(&self, id: &str) -> Option<&Assistant> {
        self.list.iter().find(|a| a.id == id)
    }

    pub fn all(&self) -> &[Assistant] {
        &self.list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_assistants_replace_and_extend() {
        let mut custom = Assistants::builtin().get("default").unwrap().clone();
        custom.system_prompt = "custom".into();
        let mut extra = custom.clone();
        extra.id = "sales".into();
        let all = Assistants::builtin().with(vec![custom, extra]);
        assert_eq!(all.get("default").unwrap().system_prompt, "custom");
        assert!(all.get("sales").is_some());
        assert_eq!(all.id_pattern(), "^(default|concierge|mnp-support|sales)$");
    }
}
