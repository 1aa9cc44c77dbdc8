-- Every process caches hot messages in memory; a message deleted through one
-- process must leave the caches of the others. Each deleted digest is
-- announced (lower-case hex) on a channel the processes LISTEN to. A trigger,
-- so that deletes made by hand in SQL are announced too.
CREATE FUNCTION echobase_messages_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('echobase_messages_deleted', encode(OLD.digest, 'hex'));
    RETURN NULL;
END;
$$;

CREATE TRIGGER messages_deleted_notify
    AFTER DELETE ON messages
    FOR EACH ROW EXECUTE FUNCTION echobase_messages_deleted();
