//! The module interface: which modules exist ([`Module`]), and in
//! [`mount`] what a module gets to build its routes and what it gives back.
//!
//! This file imports only the setting values (to read a module's name from
//! the settings): settings, the security layer and the modules all name
//! modules through it.

use std::str::FromStr;

/// The modules echobase can serve; each can be switched off.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Module {
    Echo,
    Mocks,
    People,
    Events,
    Messages,
    Resources,
}

/// In a response's extensions: the module whose fallback answered a
/// request no route matched (the mocks' stubs), for the request metrics.
#[derive(Debug, Clone, Copy)]
pub struct ServedBy(pub Module);

impl Module {
    pub const ALL: [Module; 6] = [
        Module::Echo,
        Module::Mocks,
        Module::People,
        Module::Events,
        Module::Messages,
        Module::Resources,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Module::Echo => "echo",
            Module::Mocks => "mocks",
            Module::People => "people",
            Module::Events => "events",
            Module::Messages => "messages",
            Module::Resources => "resources",
        }
    }
}

impl crate::setting::SettingValue for Module {
    fn from_setting(value: &toml::Value) -> Result<Self, String> {
        crate::setting::text(value)?.trim().parse()
    }

    fn shown(&self) -> String {
        self.name().to_owned()
    }
}

impl FromStr for Module {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Module::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown module `{s}` (expected one of echo, mocks, people, events, messages, resources)"
                )
            })
    }
}

pub mod mount;
