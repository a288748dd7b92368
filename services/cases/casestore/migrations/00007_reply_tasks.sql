-- +goose Up
-- Replies by post and call-backs are work for the mailroom and the call
-- centre: done when someone says so.
CREATE TABLE reply_tasks_done (
    event_id  uuid PRIMARY KEY,
    done_by   text NOT NULL,
    done_at   timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE reply_tasks_done;
