//! What the server's own outbound requests (stubs' webhooks, proxy stubs)
//! share: telling a failure without its URL, which may hold credentials.

/// What went wrong, with its causes; never the URL.
pub fn describe_failure(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    }
    .to_owned();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Whether an error of type `T` (such as an allow list's refusal from a
/// resolver) is among the causes of `error`.
pub fn caused_by<T: std::error::Error + 'static>(error: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if cause.is::<T>() {
            return true;
        }
        source = cause.source();
    }
    false
}
