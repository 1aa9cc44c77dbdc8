//! When a connection has waited too long: for a request head
//! (`limits.header_read_timeout`, slowloris) or with no byte moving either
//! way (`limits.idle_timeout`). The hot path only sets flags in the
//! [`ConnectionState`]; the connection loop times them (see [`Timeouts`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::connection::ConnectionFault;

/// A future that is polled again only once its own waker has fired. The
/// connection loop wakes for every request, and polling a watch channel's
/// `changed()` each time takes the channel's waiter lock (~1% of the CPU of
/// a request), a timer's poll reads the timer wheel's state; shutdown and
/// the timeout checks are rare, so they wait for their wake-up instead.
pub(super) struct PolledWhenWoken<F> {
    pub(super) future: Pin<Box<F>>,
    pub(super) wake: Arc<WakeFlag>,
}

/// Set by the inner future's waker; it then wakes the connection's task.
pub(super) struct WakeFlag {
    pub(super) woken: AtomicBool,
    pub(super) task: futures_util::task::AtomicWaker,
}

impl std::task::Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

impl<F: Future> PolledWhenWoken<F> {
    pub(super) fn new(future: F) -> Self {
        PolledWhenWoken {
            future: Box::pin(future),
            // Woken at first, so the first poll registers the inner waker.
            wake: Arc::new(WakeFlag {
                woken: AtomicBool::new(true),
                task: futures_util::task::AtomicWaker::new(),
            }),
        }
    }
}

impl<F: Future> PolledWhenWoken<F> {
    /// Changes the future (a timer's deadline, say) and polls it at the
    /// next poll, so that it registers its waker again.
    pub(super) fn rearm(&mut self, change: impl FnOnce(Pin<&mut F>)) {
        change(self.future.as_mut());
        self.wake.woken.store(true, Ordering::Release);
    }
}

impl<F: Future> Future for PolledWhenWoken<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.wake.task.register(cx.waker());
        if !self.wake.woken.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        let waker = std::task::Waker::from(self.wake.clone());
        self.future.as_mut().poll(&mut Context::from_waker(&waker))
    }
}

/// A response's body, which tells the connection when it is done: from then
/// on the next request head is due within `limits.header_read_timeout`.
/// (Done is when hyper drops it: written out, or the connection gone.)
pub(super) struct ResponseBody {
    pub(super) inner: axum::body::Body,
    pub(super) state: Arc<ConnectionState>,
    /// The request this answers, by its number on the connection.
    pub(super) request: u64,
}

impl hyper::body::Body for ResponseBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for ResponseBody {
    fn drop(&mut self) {
        self.state.await_head(self.request);
    }
}

/// What the parts of one connection share (one allocation per connection).
///
/// The hot path only sets flags; the connection loop reads the clock when it
/// checks them (every eighth of the shorter timeout), so a request costs no
/// clock read here. A wait or a silence is then timed from the check that
/// first saw it: a timeout of T acts between T and T + 2 checks (1.25 T).
pub(super) struct ConnectionState {
    /// Set whenever a byte moves either way; the loop clears it.
    pub(super) active: AtomicBool,
    /// Counts the waits for a request head: at the start, and each time a
    /// response is done; odd while a request is being answered.
    pub(super) head_waits: AtomicU64,
    /// Request heads received so far.
    pub(super) requests: AtomicU64,
    /// Set by the service when a response asks for a fault; set once, as the
    /// fault ends the connection.
    pub(super) fault: OnceLock<ConnectionFault>,
}

impl ConnectionState {
    pub(super) fn new() -> Self {
        ConnectionState {
            active: AtomicBool::new(false),
            head_waits: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            fault: OnceLock::new(),
        }
    }

    /// Returns the request's number on this connection.
    pub(super) fn head_received(&self) -> u64 {
        self.head_waits.fetch_or(1, Ordering::Relaxed);
        self.requests.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The response to request `answered` is done: a new wait for a head
    /// begins. (One finished after a later head arrived, as with
    /// pipelining, starts nothing: both run on the connection's task, so
    /// this cannot race the next head.)
    pub(super) fn await_head(&self, answered: u64) {
        if self.requests.load(Ordering::Relaxed) == answered {
            let waits = self.head_waits.load(Ordering::Relaxed);
            // Odd (answering) to the next even number: a new wait.
            self.head_waits.store((waits | 1) + 1, Ordering::Relaxed);
        }
    }

    /// The current wait for a head, if the connection is waiting for one.
    pub(super) fn head_wait(&self) -> Option<u64> {
        let waits = self.head_waits.load(Ordering::Relaxed);
        waits.is_multiple_of(2).then_some(waits)
    }

    pub(super) fn touch(&self) {
        self.active.store(true, Ordering::Relaxed);
    }

    /// Whether a byte moved since the last call.
    pub(super) fn was_active(&self) -> bool {
        self.active.swap(false, Ordering::Relaxed)
    }
}

/// The connection loop's view of its timeouts, timed from its checks.
pub(super) struct Timeouts {
    pub(super) last_active: Instant,
    /// The wait for a head being timed, and since when.
    pub(super) head_wait: Option<(u64, Instant)>,
}

impl Timeouts {
    pub(super) fn new(now: Instant) -> Self {
        Timeouts {
            last_active: now,
            head_wait: Some((0, now)),
        }
    }

    /// Which limit, if any, the connection is over at `now`.
    pub(super) fn check(
        &mut self,
        state: &ConnectionState,
        now: Instant,
        head_timeout: Duration,
        idle_timeout: Duration,
    ) -> Option<&'static str> {
        if state.was_active() {
            self.last_active = now;
        }
        self.head_wait = match (state.head_wait(), self.head_wait) {
            (None, _) => None,
            (Some(wait), Some((timed, since))) if wait == timed => Some((timed, since)),
            (Some(wait), _) => Some((wait, now)),
        };
        if self
            .head_wait
            .is_some_and(|(_, since)| now - since >= head_timeout)
        {
            return Some("header_read_timeout");
        }
        (now - self.last_active >= idle_timeout).then_some("idle_timeout")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn a_head_is_due_from_the_start_and_after_each_response_but_not_during_one() {
        let state = ConnectionState::new();
        let t0 = Instant::now();
        let mut timeouts = Timeouts::new(t0);
        let check = |timeouts: &mut Timeouts, at: u64| {
            state.touch(); // never idle here
            timeouts.check(&state, t0 + SECOND * at as u32, 10 * SECOND, 60 * SECOND)
        };
        assert_eq!(check(&mut timeouts, 9), None);
        assert_eq!(check(&mut timeouts, 10), Some("header_read_timeout"));

        let mut timeouts = Timeouts::new(t0);
        let first = state.head_received();
        assert_eq!(check(&mut timeouts, 30), None, "answering: no head due");
        state.await_head(first);
        assert_eq!(
            check(&mut timeouts, 31),
            None,
            "a new wait, timed from here"
        );
        assert_eq!(check(&mut timeouts, 40), None);
        assert_eq!(check(&mut timeouts, 41), Some("header_read_timeout"));
    }

    #[test]
    fn a_response_finished_after_the_next_head_starts_no_wait() {
        let state = ConnectionState::new();
        let first = state.head_received();
        let _second = state.head_received();
        state.await_head(first);
        assert_eq!(state.head_wait(), None);
    }

    #[test]
    fn a_connection_is_idle_once_no_byte_moved_for_the_idle_timeout() {
        let state = ConnectionState::new();
        let t0 = Instant::now();
        let mut timeouts = Timeouts::new(t0);
        state.head_received(); // no head deadline in the way
        state.touch();
        assert_eq!(
            timeouts.check(&state, t0 + 50 * SECOND, 10 * SECOND, 60 * SECOND),
            None
        );
        assert_eq!(
            timeouts.check(&state, t0 + 109 * SECOND, 10 * SECOND, 60 * SECOND),
            None
        );
        assert_eq!(
            timeouts.check(&state, t0 + 110 * SECOND, 10 * SECOND, 60 * SECOND),
            Some("idle_timeout")
        );
    }

    #[tokio::test]
    async fn polled_when_woken_resolves_once_its_future_can() {
        let (tx, rx) = tokio::sync::oneshot::channel::<u8>();
        let mut gated = std::pin::pin!(PolledWhenWoken::new(rx));
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        for _ in 0..3 {
            assert!(gated.as_mut().poll(&mut cx).is_pending());
        }
        tx.send(7).unwrap();
        assert_eq!(gated.await.unwrap(), 7);
    }
}
