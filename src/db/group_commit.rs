//! Group commit: many concurrent writers, one transaction, one sync.
//!
//! SQLite has one writer at a time and, with `synchronous=FULL`, every commit
//! pays an fsync. Left to a connection pool, concurrent writes spin on the
//! write lock (the busy handler sleeps between tries) and each pays its own
//! fsync. Instead, callers hand their write to a [`GroupCommit`]: a bounded
//! queue in front of one writer task. The task takes whatever has queued up
//! (up to a maximum), writes it in one transaction through a [`GroupWriter`],
//! and answers each caller only after the commit, so an answer still means
//! "durable". While one group commits, the next one queues: under load the
//! groups grow by themselves and the fsyncs are shared; with one writer alone
//! a group is one job and nothing waits for a timer.
//!
//! If a group fails, every job in it is retried on its own, so one bad job
//! (a constraint violation, say) fails only its own caller.
//!
//! A job type is usually an enum of every write the store makes (insert,
//! update, delete): they then all go through the one writer, in order, and
//! never contend for SQLite's write lock inside the process.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt as _;
use tokio::sync::{mpsc, oneshot};

/// Writes a group of jobs in one transaction.
pub trait GroupWriter: Send + Sync + 'static {
    /// One write, as queued by a caller.
    type Job: Send + Sync + 'static;
    /// What a caller gets back for its job once the group is committed.
    type Output: Send + 'static;
    /// The store's error; it must be able to say that the writer is gone.
    type Error: From<GroupCommitError> + Send + 'static;

    /// Writes `jobs` in one transaction and commits it. On success, returns
    /// exactly one output per job, in the order of `jobs`. On error, nothing
    /// of the group may have been committed (the transaction is rolled back):
    /// each job is then retried alone.
    fn write_group(
        &self,
        jobs: &[Self::Job],
    ) -> impl Future<Output = Result<Vec<Self::Output>, Self::Error>> + Send;
}

/// Why a job got no answer from its writer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupCommitError {
    #[error("the {0} writer has stopped")]
    Stopped(&'static str),
    #[error("the {writer} writer answered {got} results for {expected} jobs")]
    ResultCount {
        writer: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("the {0} writer panicked while writing this job")]
    Panicked(&'static str),
}

/// Sizes of a [`GroupCommit`].
#[derive(Debug, Clone, Copy)]
pub struct GroupCommitOptions {
    /// Names the writer in errors and in the `db_group_commit_jobs` metric.
    pub name: &'static str,
    /// Jobs waiting for the writer before callers wait to queue (back-pressure).
    pub queue_capacity: usize,
    /// Most jobs written in one transaction.
    pub max_group: usize,
}

impl GroupCommitOptions {
    pub fn new(name: &'static str) -> Self {
        GroupCommitOptions {
            name,
            queue_capacity: 4096,
            max_group: 256,
        }
    }
}

struct Pending<W: GroupWriter> {
    job: W::Job,
    reply: oneshot::Sender<Result<W::Output, W::Error>>,
}

/// The queue in front of one writer task. Cheap to clone; the task ends when
/// the last clone is dropped, after answering every job it has taken.
pub struct GroupCommit<W: GroupWriter> {
    queue: mpsc::Sender<Pending<W>>,
    name: &'static str,
}

impl<W: GroupWriter> Clone for GroupCommit<W> {
    fn clone(&self) -> Self {
        GroupCommit {
            queue: self.queue.clone(),
            name: self.name,
        }
    }
}

impl<W: GroupWriter> std::fmt::Debug for GroupCommit<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<W: GroupWriter> GroupCommit<W> {
    /// Starts the writer task on the current tokio runtime.
    pub fn spawn(writer: W, options: GroupCommitOptions) -> Self {
        let (queue, receiver) = mpsc::channel(options.queue_capacity.max(1));
        tokio::spawn(run_writer(writer, receiver, options));
        GroupCommit {
            queue,
            name: options.name,
        }
    }

    /// Queues `job` and waits until the group holding it is committed.
    ///
    /// If the caller stops waiting (its request was cancelled) before the
    /// writer takes the job, the job is dropped unwritten; once taken, it is
    /// written whether or not anyone still waits for the answer.
    pub async fn submit(&self, job: W::Job) -> Result<W::Output, W::Error> {
        let (reply, answer) = oneshot::channel();
        let stopped = || W::Error::from(GroupCommitError::Stopped(self.name));
        self.queue
            .send(Pending { job, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run_writer<W: GroupWriter>(
    writer: W,
    mut queue: mpsc::Receiver<Pending<W>>,
    options: GroupCommitOptions,
) {
    let max_group = options.max_group.max(1);
    let mut pending = Vec::with_capacity(max_group);
    let mut jobs = Vec::with_capacity(max_group);
    let mut replies = Vec::with_capacity(max_group);
    while queue.recv_many(&mut pending, max_group).await > 0 {
        for Pending { job, reply } in pending.drain(..) {
            // Nobody waits for it any more: not acknowledged, so not owed.
            if !reply.is_closed() {
                jobs.push(job);
                replies.push(reply);
            }
        }
        if jobs.is_empty() {
            continue;
        }
        metrics::histogram!("db_group_commit_jobs", "writer" => options.name)
            .record(jobs.len() as f64);
        match write_guarded(&writer, &jobs, options.name).await {
            Ok(outputs) => {
                for (reply, output) in replies.drain(..).zip(outputs) {
                    let _ = reply.send(Ok(output));
                }
            }
            // One bad job must not fail the others: retry each on its own.
            Err(_) if jobs.len() > 1 => {
                for (job, reply) in jobs.iter().zip(replies.drain(..)) {
                    let result = write_guarded(&writer, std::slice::from_ref(job), options.name)
                        .await
                        .and_then(|mut outputs| {
                            outputs.pop().ok_or_else(|| {
                                GroupCommitError::ResultCount {
                                    writer: options.name,
                                    expected: 1,
                                    got: 0,
                                }
                                .into()
                            })
                        });
                    let _ = reply.send(result);
                }
            }
            Err(error) => {
                if let Some(reply) = replies.pop() {
                    let _ = reply.send(Err(error));
                }
            }
        }
        jobs.clear();
        replies.clear();
    }
}

/// One call of the writer, with its contract checked: a panic or a wrong
/// number of outputs becomes an error for the group instead of a dead task.
async fn write_guarded<W: GroupWriter>(
    writer: &W,
    jobs: &[W::Job],
    name: &'static str,
) -> Result<Vec<W::Output>, W::Error> {
    let outputs = AssertUnwindSafe(writer.write_group(jobs))
        .catch_unwind()
        .await
        .map_err(|_| GroupCommitError::Panicked(name))??;
    if outputs.len() != jobs.len() {
        return Err(GroupCommitError::ResultCount {
            writer: name,
            expected: jobs.len(),
            got: outputs.len(),
        }
        .into());
    }
    Ok(outputs)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tokio::sync::Notify;

    use super::*;

    #[derive(Debug, PartialEq, Eq)]
    enum TestError {
        Bad(u32),
        Commit(GroupCommitError),
    }

    impl From<GroupCommitError> for TestError {
        fn from(error: GroupCommitError) -> Self {
            TestError::Commit(error)
        }
    }

    /// Doubles each job; a group holding 13 fails as a whole; 99 panics.
    /// Records the groups it was given, and can hold its first group.
    #[derive(Clone, Default)]
    struct Doubler {
        groups: Arc<Mutex<Vec<Vec<u32>>>>,
        hold_first: Option<Arc<Notify>>,
    }

    impl GroupWriter for Doubler {
        type Job = u32;
        type Output = u32;
        type Error = TestError;

        async fn write_group(&self, jobs: &[u32]) -> Result<Vec<u32>, TestError> {
            let first = {
                let mut groups = self.groups.lock().unwrap();
                groups.push(jobs.to_vec());
                groups.len() == 1
            };
            if let (true, Some(hold)) = (first, &self.hold_first) {
                hold.notified().await;
            }
            if jobs.contains(&99) {
                panic!("job 99 panics");
            }
            if jobs.contains(&13) {
                return Err(TestError::Bad(13));
            }
            Ok(jobs.iter().map(|j| j * 2).collect())
        }
    }

    fn options() -> GroupCommitOptions {
        GroupCommitOptions {
            name: "test",
            queue_capacity: 64,
            max_group: 16,
        }
    }

    /// Waits (without a clock) until `n` jobs are queued behind the writer.
    async fn until_queued<W: GroupWriter>(commit: &GroupCommit<W>, n: usize) {
        while commit.queue.max_capacity() - commit.queue.capacity() < n {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn each_caller_gets_the_output_of_its_own_job() {
        let commit = GroupCommit::spawn(Doubler::default(), options());
        let jobs = (0..40u32).filter(|n| *n != 13);
        let answers = futures_util::future::join_all(jobs.clone().map(|n| commit.submit(n))).await;
        let expected: Vec<Result<u32, TestError>> = jobs.map(|n| Ok(n * 2)).collect();
        assert_eq!(answers, expected);
    }

    type Answer = tokio::task::JoinHandle<Result<u32, TestError>>;

    /// A writer holding its first group (the job `first`) open, with `rest`
    /// submitted one task each and queued behind it.
    struct Held {
        groups: Arc<Mutex<Vec<Vec<u32>>>>,
        hold: Arc<Notify>,
        first: Answer,
        rest: Vec<Answer>,
    }

    async fn queued_behind_a_held_group(first: u32, rest: &[u32]) -> Held {
        let hold = Arc::new(Notify::new());
        let writer = Doubler {
            hold_first: Some(hold.clone()),
            ..Doubler::default()
        };
        let groups = writer.groups.clone();
        let commit = GroupCommit::spawn(writer, options());
        let submit = |n: u32| {
            let commit = commit.clone();
            tokio::spawn(async move { commit.submit(n).await })
        };
        let first = submit(first);
        while groups.lock().unwrap().is_empty() {
            tokio::task::yield_now().await;
        }
        let rest: Vec<Answer> = rest.iter().map(|n| submit(*n)).collect();
        until_queued(&commit, rest.len()).await;
        Held {
            groups,
            hold,
            first,
            rest,
        }
    }

    #[tokio::test]
    async fn jobs_queued_during_a_commit_share_the_next_group() {
        let held = queued_behind_a_held_group(1, &[2, 3, 4, 5, 6]).await;
        held.hold.notify_one();
        assert_eq!(held.first.await.unwrap(), Ok(2));
        for (n, task) in (2..=6u32).zip(held.rest) {
            assert_eq!(task.await.unwrap(), Ok(n * 2));
        }
        let groups = held.groups.lock().unwrap().clone();
        assert_eq!(groups[0], vec![1]);
        let mut second = groups[1].clone();
        second.sort_unstable();
        assert_eq!(second, vec![2, 3, 4, 5, 6], "one transaction for the five");
        assert_eq!(groups.len(), 2);
    }

    #[tokio::test]
    async fn a_failing_job_fails_alone_when_its_group_is_retried() {
        let held = queued_behind_a_held_group(0, &[4, 13, 5]).await;
        held.hold.notify_one();
        assert_eq!(held.first.await.unwrap(), Ok(0));
        let mut answers = Vec::new();
        for task in held.rest {
            answers.push(task.await.unwrap());
        }
        assert_eq!(answers, vec![Ok(8), Err(TestError::Bad(13)), Ok(10)]);
    }

    #[tokio::test]
    async fn a_panicking_write_is_an_error_and_the_writer_keeps_going() {
        let commit = GroupCommit::spawn(Doubler::default(), options());
        assert_eq!(
            commit.submit(99).await,
            Err(TestError::Commit(GroupCommitError::Panicked("test")))
        );
        assert_eq!(commit.submit(21).await, Ok(42));
    }
}
