//! Group commit for the SQLite event log.
//!
//! SQLite has one writer. What bounded persisted chat turns per second was not SQLite
//! but the round trips to sqlx's connection thread: a turn's three appends took about
//! eighteen (BEGIN, one per statement, COMMIT), each a cross-thread wake-up, all
//! queued on that one connection. Here an append is built by its caller as one
//! multi-statement query (events, projections, the conversation's last sequence)
//! inside its own savepoint, and the appends waiting for the writer are written
//! together, one transaction per batch: a conflict undoes only its own append, and
//! nobody is told "stored" before the batch's COMMIT.

use crate::events::{EventPayload, MessageStatus, NewEvent, StoredEvent};
use crate::StoreError;
use sqlx::sqlite::{SqliteArguments, SqlitePool};
use sqlx::{Arguments, Encode, Sqlite, Type};
use tokio::sync::{mpsc, oneshot};

/// At most this many appends share one transaction.
const MAX_BATCH: usize = 128;

/// SQL with its arguments, built up statement by statement.
#[derive(Default)]
pub(crate) struct Statements {
    pub(crate) sql: String,
    pub(crate) args: SqliteArguments<'static>,
}

impl Statements {
    fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self.sql.push_str(";\n");
        self
    }

    fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: Encode<'static, Sqlite> + Type<Sqlite> + Send + 'static,
    {
        // Encoding into SqliteArguments only stores the value: it cannot fail.
        let _ = self.args.add(value);
        self
    }

    /// Execute everything as one query (one round trip to the connection thread).
    pub(crate) async fn execute<'c, E>(self, executor: E) -> Result<(), sqlx::Error>
    where
        E: sqlx::Executor<'c, Database = Sqlite>,
    {
        sqlx::query_with(&self.sql, self.args).execute(executor).await.map(|_| ())
    }

    /// The projection of one event: the conversations and messages tables follow the
    /// log (they can be rebuilt from it: `replay`).
    pub(crate) fn project(&mut self, stream_id: &str, seq: i64, at: i64, payload: &EventPayload) {
        match payload {
            EventPayload::ConversationCreated { owner_id, title, assistant } => {
                self.push(
                    "INSERT INTO conversations (id, owner_id, title, assistant, last_seq, created_at, updated_at, deleted)
                     VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
                )
                .bind(stream_id.to_string())
                .bind(owner_id.clone())
                .bind(title.clone())
                .bind(assistant.clone())
                .bind(seq)
                .bind(at)
                .bind(at);
            }
            EventPayload::ConversationRenamed { title } => {
                self.push("UPDATE conversations SET title = ? WHERE id = ?")
                    .bind(title.clone())
                    .bind(stream_id.to_string());
            }
            EventPayload::ConversationOwnerChanged { owner_id } => {
                self.push("UPDATE conversations SET owner_id = ? WHERE id = ?")
                    .bind(owner_id.clone())
                    .bind(stream_id.to_string());
            }
            EventPayload::ConversationDeleted {} => {
                self.push("UPDATE conversations SET deleted = 1 WHERE id = ?").bind(stream_id.to_string());
            }
            EventPayload::UserMessage { message_id, content } => {
                self.insert_message(message_id, stream_id, seq, "user", content, MessageStatus::Complete, None, at);
            }
            EventPayload::AssistantStarted { message_id, model } => {
                self.insert_message(
                    message_id,
                    stream_id,
                    seq,
                    "assistant",
                    "",
                    MessageStatus::Streaming,
                    Some(model),
                    at,
                );
            }
            EventPayload::AssistantDelta { message_id, text } => {
                self.push("UPDATE messages SET content = content || ?, updated_at = ? WHERE id = ?")
                    .bind(text.clone())
                    .bind(at)
                    .bind(message_id.clone());
            }
            EventPayload::Sources { message_id, sources } => {
                self.push("UPDATE messages SET sources = ?, updated_at = ? WHERE id = ?")
                    .bind(sources.to_string())
                    .bind(at)
                    .bind(message_id.clone());
            }
            EventPayload::AssistantCompleted { message_id, model, finish_reason, usage, latency_ms } => {
                self.push(
                    "UPDATE messages SET status = 'complete', model = ?, finish_reason = ?, prompt_tokens = ?,
                     completion_tokens = ?, latency_ms = ?, updated_at = ? WHERE id = ?",
                )
                .bind(model.clone())
                .bind(finish_reason.clone())
                .bind(i64::from(usage.prompt_tokens))
                .bind(i64::from(usage.completion_tokens))
                .bind(*latency_ms as i64)
                .bind(at)
                .bind(message_id.clone());
            }
            EventPayload::AssistantFailed { message_id, latency_ms, .. } => {
                self.finish(message_id, MessageStatus::Failed, Some(*latency_ms), at);
            }
            EventPayload::AssistantCancelled { message_id, latency_ms } => {
                self.finish(message_id, MessageStatus::Cancelled, Some(*latency_ms), at);
            }
            EventPayload::AssistantInterrupted { message_id } => {
                self.finish(message_id, MessageStatus::Interrupted, None, at);
            }
        }
    }

    /// The conversation's last sequence and activity time, once per append.
    pub(crate) fn touch(&mut self, stream_id: &str, seq: i64, at: i64) {
        self.push("UPDATE conversations SET last_seq = ?, updated_at = ? WHERE id = ?")
            .bind(seq)
            .bind(at)
            .bind(stream_id.to_string());
    }

    #[expect(clippy::too_many_arguments, reason = "one column each; a struct would only rename them")]
    fn insert_message(
        &mut self,
        id: &str,
        conversation_id: &str,
        seq: i64,
        role: &'static str,
        content: &str,
        status: MessageStatus,
        model: Option<&String>,
        at: i64,
    ) {
        self.push(
            "INSERT INTO messages (id, conversation_id, seq, role, content, status, model, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(conversation_id.to_string())
        .bind(seq)
        .bind(role)
        .bind(content.to_string())
        .bind(status.as_str())
        .bind(model.cloned())
        .bind(at)
        .bind(at);
    }

    fn finish(&mut self, id: &str, status: MessageStatus, latency_ms: Option<u64>, at: i64) {
        self.push("UPDATE messages SET status = ?, latency_ms = COALESCE(?, latency_ms), updated_at = ? WHERE id = ?")
            .bind(status.as_str())
            .bind(latency_ms.map(|v| v as i64))
            .bind(at)
            .bind(id.to_string());
    }
}

/// One append waiting for the writer.
struct Job {
    stream_id: String,
    first_seq: i64,
    statements: Statements,
    stored: Vec<StoredEvent>,
    reply: oneshot::Sender<Result<Vec<StoredEvent>, StoreError>>,
}

/// The queue in front of the writer connection.
#[derive(Debug)]
pub(crate) struct Appender {
    queue: mpsc::Sender<Job>,
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the database writer has stopped".into())
}

impl Appender {
    /// Start the writer task. It ends when the store (the last sender) is dropped.
    pub(crate) fn start(writer: SqlitePool) -> Self {
        let (queue, rx) = mpsc::channel(4 * MAX_BATCH);
        // The writer must outlive every caller: an append is answered only after its
        // batch commits, whoever stops waiting. It ends with the store, and shutdown
        // drains the turns that feed it.
        #[expect(clippy::disallowed_methods, reason = "the store's own writer, not a request's task")]
        tokio::spawn(run(writer, rx));
        Self { queue }
    }

    /// Append `events` at `expected_next` and the following sequence numbers.
    pub(crate) async fn append(
        &self,
        stream_id: &str,
        expected_next: i64,
        events: &[NewEvent],
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let mut statements = Statements::default();
        statements.push("SAVEPOINT append");
        statements.sql.push_str("INSERT INTO events (stream_id, seq, event_type, payload, created_at) VALUES ");
        let mut stored = Vec::with_capacity(events.len());
        for (i, event) in events.iter().enumerate() {
            let seq = expected_next + i as i64;
            statements.sql.push_str(if i == 0 { "(?, ?, ?, ?, ?)" } else { ", (?, ?, ?, ?, ?)" });
            statements
                .bind(stream_id.to_string())
                .bind(seq)
                .bind(event.payload.kind())
                .bind(serde_json::to_string(&event.payload)?)
                .bind(event.at_ms);
            stored.push(StoredEvent {
                stream_id: stream_id.to_string(),
                seq,
                payload: event.payload.clone(),
                at_ms: event.at_ms,
            });
        }
        statements.sql.push_str(";\n");
        for e in &stored {
            statements.project(stream_id, e.seq, e.at_ms, &e.payload);
        }
        if let Some(last) = stored.last() {
            statements.touch(stream_id, last.seq, last.at_ms);
        }
        statements.push("RELEASE append");
        let (reply, answer) = oneshot::channel();
        let job = Job { stream_id: stream_id.to_string(), first_seq: expected_next, statements, stored, reply };
        self.queue.send(job).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run(writer: SqlitePool, mut rx: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        write_batch(&writer, std::mem::take(&mut batch)).await;
    }
}

/// Write every job in one transaction; answer each after the commit.
async fn write_batch(writer: &SqlitePool, jobs: Vec<Job>) {
    let mut tx = match writer.begin().await {
        Ok(tx) => tx,
        Err(e) => {
            let e = StoreError::from(e);
            return answer_all(jobs.into_iter().map(|j| j.reply), &e);
        }
    };
    let mut answers = Vec::with_capacity(jobs.len());
    for job in jobs {
        let Err(e) = job.statements.execute(&mut *tx).await else {
            answers.push((job.reply, Ok(job.stored)));
            continue;
        };
        // Undo this append only; the batch goes on.
        if let Err(undo) = sqlx::query("ROLLBACK TO append; RELEASE append").execute(&mut *tx).await {
            tracing::error!(error = %undo, "could not undo a failed append; the batch is abandoned");
            let failed = StoreError::from(undo);
            let replies = answers.into_iter().map(|(reply, _)| reply).chain(std::iter::once(job.reply));
            return answer_all(replies, &failed);
        }
        let e = if is_event_conflict(&e) {
            StoreError::Conflict { stream_id: job.stream_id, seq: job.first_seq }
        } else {
            StoreError::from(e)
        };
        answers.push((job.reply, Err(e)));
    }
    match tx.commit().await {
        Ok(()) => {
            for (reply, result) in answers {
                let _ = reply.send(result);
            }
        }
        Err(e) => answer_all(answers.into_iter().map(|(reply, _)| reply), &StoreError::from(e)),
    }
}

/// Another writer took this (stream, sequence): the caller re-reads and retries.
fn is_event_conflict(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation() && db.message().contains("events."))
}

/// Tell every waiting caller the batch failed (nothing of it was stored).
fn answer_all(replies: impl Iterator<Item = oneshot::Sender<Result<Vec<StoredEvent>, StoreError>>>, e: &StoreError) {
    for reply in replies {
        let copy = match e {
            StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
            other => StoreError::Unavailable(other.to_string()),
        };
        let _ = reply.send(Err(copy));
    }
}
