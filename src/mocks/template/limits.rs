//! Bounds on one response's rendering, so no template (or request feeding
//! one) can hang the server or exhaust its memory: the bytes written, the
//! helper calls and loop iterations run, and the bytes copied to assign
//! variables. Helpers are called by the engine with no way to carry our
//! state, so the budget lives in a thread-local for the length of a render
//! (rendering is synchronous: it never moves threads mid-way).

use std::cell::Cell;

use handlebars::{Output, RenderError, RenderErrorReason};

/// Largest rendered output of one response (a body, or a header value).
/// Larger than any mock response we have seen; what it stops is a `range`
/// or `each` that multiplies a request into gigabytes.
pub const MAX_OUTPUT_BYTES: usize = 16 * 1024 * 1024;
/// Helper calls plus loop iterations in one response: a few thousand in the
/// largest real templates; nested loops over a request's arrays stop here.
pub const MAX_STEPS: u64 = 1_000_000;
/// Bytes copied into the model by assigning helpers (`val assign=`,
/// `parseJson 'name'`, ...), each of which copies the model.
pub const MAX_COPIED_BYTES: usize = 64 * 1024 * 1024;

#[derive(Clone, Copy)]
struct Budget {
    output_bytes: usize,
    steps: u64,
    copied_bytes: usize,
}

thread_local! {
    static BUDGET: Cell<Option<Budget>> = const { Cell::new(None) };
}

/// One response's budget, from `start` until dropped. Nested sessions (a
/// `jsonBody`'s strings) share the outer one.
pub struct Session {
    outer: bool,
}

impl Session {
    pub fn start() -> Session {
        let outer = BUDGET.with(|b| b.get().is_none());
        if outer {
            BUDGET.with(|b| {
                b.set(Some(Budget {
                    output_bytes: 0,
                    steps: 0,
                    copied_bytes: 0,
                }))
            });
        }
        Session { outer }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.outer {
            BUDGET.with(|b| b.set(None));
        }
    }
}

fn spend(f: impl FnOnce(&mut Budget) -> Result<(), String>) -> Result<(), String> {
    BUDGET.with(|cell| match cell.get() {
        Some(mut budget) => {
            let result = f(&mut budget);
            cell.set(Some(budget));
            result
        }
        None => Ok(()),
    })
}

/// Counts `n` helper calls or loop iterations.
pub fn steps(n: usize) -> Result<(), RenderError> {
    spend(|b| {
        b.steps = b.steps.saturating_add(n as u64);
        if b.steps > MAX_STEPS {
            return Err(format!(
                "the template ran over {MAX_STEPS} helper calls and loop iterations"
            ));
        }
        Ok(())
    })
    .map_err(|e| RenderErrorReason::Other(e).into())
}

/// Counts `n` bytes copied by an assignment.
pub fn copied(n: usize) -> Result<(), RenderError> {
    spend(|b| {
        b.copied_bytes = b.copied_bytes.saturating_add(n);
        if b.copied_bytes > MAX_COPIED_BYTES {
            return Err(format!(
                "the template's assignments copied over {MAX_COPIED_BYTES} bytes"
            ));
        }
        Ok(())
    })
    .map_err(|e| RenderErrorReason::Other(e).into())
}

/// About how many bytes `value` holds (its text, and a few bytes a node),
/// counted no further than past [`MAX_COPIED_BYTES`], without recursion (a
/// value can be nested as deep as assignments made it).
pub fn size_of(value: &serde_json::Value) -> usize {
    use serde_json::Value;
    const NODE: usize = 8;
    let mut total = 0usize;
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        if total > MAX_COPIED_BYTES {
            break;
        }
        total += NODE;
        match value {
            Value::String(text) => total += text.len(),
            Value::Array(items) => pending.extend(items),
            Value::Object(members) => {
                for (name, member) in members {
                    total += name.len();
                    pending.push(member);
                }
            }
            _ => {}
        }
    }
    total
}

/// Counts `n` bytes written, or about to be made by a helper (checked
/// before a large string is built, so it is never built).
pub fn output(n: usize) -> Result<(), Exceeded> {
    spend(|b| {
        b.output_bytes = b.output_bytes.saturating_add(n);
        if b.output_bytes > MAX_OUTPUT_BYTES {
            return Err(format!(
                "the rendered response is over {MAX_OUTPUT_BYTES} bytes"
            ));
        }
        Ok(())
    })
    .map_err(Exceeded)
}

/// Why a render stopped: it went over its budget.
#[derive(Debug)]
pub struct Exceeded(pub String);

/// Output that stops the render once the response's output is too large.
/// Every output is one of these, a block rendered for a helper included, so
/// nothing is built past the cap.
#[derive(Default)]
pub struct CappedOutput(pub String);

impl Output for CappedOutput {
    fn write(&mut self, seg: &str) -> Result<(), std::io::Error> {
        output(seg.len()).map_err(|e| std::io::Error::other(e.0))?;
        self.0.push_str(seg);
        Ok(())
    }
}
